package postfixconf

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

// acceptAll is an in-process server that accepts every RCPT after a
// pause, and records what the client said.
type acceptAll struct {
	delay time.Duration
	mu    sync.Mutex
	helo  []string
	from  []string
	rcpts []string
	data  bool
}

func (b *acceptAll) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.helo = append(b.helo, c.Hostname())
	b.mu.Unlock()
	return &acceptSession{b}, nil
}

type acceptSession struct{ b *acceptAll }

func (s *acceptSession) Reset()        {}
func (s *acceptSession) Logout() error { return nil }
func (s *acceptSession) Mail(from string, _ *smtp.MailOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.from = append(s.b.from, from)
	return nil
}
func (s *acceptSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	time.Sleep(s.b.delay)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.rcpts = append(s.b.rcpts, to)
	return nil
}
func (s *acceptSession) Data(io.Reader) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.data = true
	return errors.New("DATA must never arrive")
}

// TestVerifyWarnings runs Verify against a catch-all backend that answers
// slower than smtpd waits (address_verify_poll_count = 1), in a
// configuration without relay_recipient_maps: the prediction is accept,
// and the three warnings say why that means little.
func TestVerifyWarnings(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	be := &acceptAll{delay: 20 * time.Millisecond}
	srv := smtp.NewServer(be)
	srv.Domain = "catch.test"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tools := &Tools{Dir: configDir(t, "catchall", "@PORT@", port), Timeout: 20 * time.Second}
	c, err := Load(context.Background(), tools)
	require.NoError(t, err)
	r := NewResolver(c, tools)
	o := probe.DefaultOptions()
	o.Timeout = 5 * time.Second
	var emitted []string
	rep, err := r.Verify(context.Background(), []Recipient{{Address: "a@catch.test"}, {Address: "b@catch.test"}},
		Options{Probe: o, CatchAllCheck: true, Emit: func(res *Result) { emitted = append(emitted, res.Recipient) }})
	require.NoError(t, err)
	assert.Equal(t, []string{"a@catch.test", "b@catch.test"}, emitted, "each once, in input order; not the catch-all probe")
	require.Len(t, rep.Results, 2)
	for _, res := range rep.Results {
		assert.Equal(t, "smtp:[127.0.0.1]:"+port, res.Route.String())
		assert.Equal(t, PredictAccept, res.Prediction)
		assert.Equal(t, "250 2.1.5 Ok", res.PredictedReply)
		assert.Equal(t, "450 4.1.1 <"+res.Recipient+">: Recipient address rejected: unverified address: Address verification in progress", res.FirstReply)
	}
	kinds := map[string]string{}
	for _, w := range rep.Warnings {
		kinds[w.Kind] = w.Text
	}
	assert.Contains(t, kinds, "catch-all")
	assert.Contains(t, kinds, "poll-count")
	assert.Contains(t, kinds["missing-recipient-map"], "relay_recipient_maps is empty")

	be.mu.Lock()
	defer be.mu.Unlock()
	assert.False(t, be.data, "never DATA")
	// the verify service's sender ($double_bounce_sender@$myorigin) and smtp_helo_name
	assert.Contains(t, be.from, "double-bounce@mx.example.test")
	assert.Contains(t, be.helo, "verify-helo.example.test")
	assert.Len(t, be.rcpts, 3, "two recipients and one random local part")
	require.Len(t, rep.Stats, 1)
	if rep.Stats[0].SlowRcpts > 0 {
		// A machine so loaded that 20 ms answers took probe.SlowRcpt
		// makes the batch treat the backend as a verifying front and
		// spread it over more sessions, by design (probe/batch_worker.go);
		// reuse is asserted only when the answers were fast.
		t.Logf("backend judged slow (%v for %d RCPTs): session reuse not asserted", rep.Stats[0].SlowRcptTime, rep.Stats[0].SlowRcpts)
		return
	}
	assert.Len(t, be.helo, 1, "one session for the nexthop")
	assert.Equal(t, 1, rep.Stats[0].Sessions)
}

// onlyFrom closes connections that do not come from one address.
type onlyFrom struct {
	net.Listener
	from string
}

func (l onlyFrom) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if h, _, _ := net.SplitHostPort(c.RemoteAddr().String()); h == l.from {
			return c, nil
		}
		c.Close()
	}
}

// TestVerifyBindOnly: the probe connects from smtp_bind_address and is
// answered; the default source is not, and the warning says so.
func TestVerifyBindOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.5.30:0")
	require.NoError(t, err)
	be := &acceptAll{}
	srv := smtp.NewServer(be)
	srv.Domain = "bind.test"
	go func() { _ = srv.Serve(onlyFrom{ln, "127.0.5.66"}) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tools := &Tools{Dir: configDir(t, "bindonly", "@PORT@", port), Timeout: 20 * time.Second}
	c, err := Load(context.Background(), tools)
	require.NoError(t, err)
	o := probe.DefaultOptions()
	o.Timeout = 5 * time.Second
	rep, err := NewResolver(c, tools).Verify(context.Background(), []Recipient{{Address: "a@bind.test"}}, Options{Probe: o})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, PredictAccept, rep.Results[0].Prediction, "%+v", rep.Results[0])
	var kinds []string
	for _, w := range rep.Warnings {
		kinds = append(kinds, w.Kind)
	}
	assert.Contains(t, kinds, "bind-only")
	assert.NotContains(t, kinds, "missing-recipient-map")
}
