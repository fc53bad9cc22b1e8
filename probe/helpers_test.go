package probe

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/require"
)

// recorder taps what clients send to a test server, line by line, so
// tests can assert that no DATA or BDAT ever arrives.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if n := len(r.lines); n > 0 && !strings.HasSuffix(r.lines[n-1], "\n") {
			r.lines[n-1] += l
			continue
		}
		r.lines = append(r.lines, l)
	}
}

func (r *recorder) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.lines))
	for i, l := range r.lines {
		out[i] = strings.TrimRight(l, "\r\n")
	}
	return out
}

// requireNoData fails when a command that could transfer a message was
// ever received.
func requireNoData(t *testing.T, r *recorder) {
	t.Helper()
	requireNoDataIn(t, r.commands())
}

func requireNoDataIn(t *testing.T, cmds []string) {
	t.Helper()
	for _, c := range cmds {
		v := strings.ToUpper(strings.Fields(c + " x")[0])
		require.NotContains(t, []string{"DATA", "BDAT"}, v, "the probe sent %q", c)
	}
}

type tapListener struct {
	net.Listener
	rec *recorder
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{c, l.rec}, nil
}

type tapConn struct {
	net.Conn
	rec *recorder
}

func (c tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.rec.add(b[:n])
	return n, err
}

// backend is a go-smtp backend whose RCPT answer comes from a function.
type backend struct {
	rcpt func(to string) error
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session_{b}, nil }

type session_ struct{ b *backend }

func (s *session_) Reset()                                    {}
func (s *session_) Logout() error                             { return nil }
func (s *session_) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *session_) Data(io.Reader) error                      { return errors.New("DATA must never arrive") }
func (s *session_) Rcpt(to string, _ *smtp.RcptOptions) error { return s.b.rcpt(to) }

// testServer starts a go-smtp server on 127.0.0.1:0 (model: go-smtp's
// server_test.go) and returns its address and command recorder.
func testServer(t *testing.T, lmtp bool, rcpt func(string) error, opts ...func(*smtp.Server)) (string, *recorder) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rec := &recorder{}
	s := smtp.NewServer(&backend{rcpt: rcpt})
	s.Domain = "mx.test"
	s.LMTP = lmtp
	s.AllowInsecureAuth = true
	for _, o := range opts {
		o(s)
	}
	go func() { _ = s.Serve(tapListener{l, rec}) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String(), rec
}

// scriptServer is a raw server for golden transcripts (fakemta's canned
// mode): it sends greeting, then for each line it reads, the next canned
// reply, and records what the client sent.
func scriptServer(t *testing.T, greeting string, replies []string) (string, *fakemta.Server) {
	t.Helper()
	s := fakemta.StartCanned(t, greeting, replies)
	return s.Addr, s
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	a, err := ParseTarget(s)
	require.NoError(t, err)
	return Target{Address: a}
}
