package probe

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func baseConfig(server string) Config {
	srv, _ := ParseServer(server)
	return Config{Server: srv, HELO: "probe.example.net", From: "postmaster@probe.example.net",
		Timeout: 2 * time.Second, Deadline: 10 * time.Second, STARTTLS: TLSNever}
}

func knownUsers(users ...string) func(string) error {
	return func(to string) error {
		for _, u := range users {
			if strings.EqualFold(to, u) {
				return nil
			}
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: "<" + to + "> User doesn't exist: " + to}
	}
}

func TestProbeGoSMTP(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		name := "smtp"
		if lmtp {
			name = "lmtp"
		}
		t.Run(name, func(t *testing.T) {
			addr, rec := testServer(t, lmtp, knownUsers("alice@lab.test"))
			cfg := baseConfig(addr)
			if lmtp {
				cfg.Protocol = ProtocolLMTP
			}
			res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "alice@lab.test"), mustTarget(t, "nobody@lab.test")})
			require.NoError(t, err)
			require.Len(t, res.Recipients, 2)

			ok := res.Recipients[0]
			require.NotNil(t, ok.Reply)
			assert.Equal(t, 250, ok.Reply.Code)
			assert.Equal(t, PhaseRCPT, ok.Phase)
			assert.NoError(t, ok.Err)

			bad := res.Recipients[1]
			require.NotNil(t, bad.Reply)
			assert.Equal(t, 550, bad.Reply.Code)
			assert.Equal(t, "5.1.1", bad.Reply.Enhanced)
			assert.Equal(t, "550 5.1.1 <nobody@lab.test> User doesn't exist: nobody@lab.test", bad.Reply.Text())
			assert.Same(t, ok.Attempt, bad.Attempt, "recipients of one domain share one session")

			// One session, both RCPTs, RSET and QUIT, never DATA.
			requireNoData(t, rec)
			cmds := rec.Lines()
			hello := "EHLO"
			if lmtp {
				hello = "LHLO"
			}
			assert.Equal(t, []string{hello + " probe.example.net", "MAIL FROM:<postmaster@probe.example.net>",
				"RCPT TO:<alice@lab.test>", "RCPT TO:<nobody@lab.test>", "RSET", "QUIT"}, cmds)
		})
	}
}

// TestGoldenTranscripts compares the exact bytes the client writes with
// what RFC 5321 and RFC 2920 prescribe, for scripted server replies (the
// shape of go-smtp's client_test.go).
func TestGoldenTranscripts(t *testing.T) {
	ehloPipe := "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
	tests := []struct {
		name     string
		greeting string
		replies  []string
		rcpts    []string
		want     string // bytes the client must send
		code     int    // first recipient's deciding reply code
		phase    Phase
	}{
		{
			name:     "pipelined: MAIL, RCPT, RSET and QUIT in one write",
			greeting: "220 mx.test ESMTP\r\n",
			replies:  []string{ehloPipe, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"},
			rcpts:    []string{"a@lab.test"},
			want:     "EHLO probe.example.net\r\nMAIL FROM:<postmaster@probe.example.net>\r\nRCPT TO:<a@lab.test>\r\nRSET\r\nQUIT\r\n",
			code:     250, phase: PhaseRCPT,
		},
		{
			name:     "lock-step without PIPELINING",
			greeting: "220 mx.test ESMTP\r\n",
			replies:  []string{"250-mx.test\r\n250 SIZE 1000\r\n", "250 Ok\r\n", "550 5.1.1 No such user\r\n", "250 Ok\r\n", "221 Bye\r\n"},
			rcpts:    []string{"a@lab.test"},
			want:     "EHLO probe.example.net\r\nMAIL FROM:<postmaster@probe.example.net>\r\nRCPT TO:<a@lab.test>\r\nRSET\r\nQUIT\r\n",
			code:     550, phase: PhaseRCPT,
		},
		{
			name:     "EHLO unknown: HELO fallback",
			greeting: "220 old.test SMTP\r\n",
			replies:  []string{"502 5.5.2 Command not recognized\r\n", "250 old.test\r\n", "250 Ok\r\n", "250 Ok\r\n", "250 Ok\r\n", "221 Bye\r\n"},
			rcpts:    []string{"a@lab.test"},
			want:     "EHLO probe.example.net\r\nHELO probe.example.net\r\nMAIL FROM:<postmaster@probe.example.net>\r\nRCPT TO:<a@lab.test>\r\nRSET\r\nQUIT\r\n",
			code:     250, phase: PhaseRCPT,
		},
		{
			name:     "MAIL refused: no RCPT, QUIT",
			greeting: "220 mx.test ESMTP\r\n",
			replies:  []string{"250 mx.test\r\n", "553 5.7.1 Sender address rejected\r\n", "221 Bye\r\n"},
			rcpts:    []string{"a@lab.test"},
			want:     "EHLO probe.example.net\r\nMAIL FROM:<postmaster@probe.example.net>\r\nQUIT\r\n",
			code:     553, phase: PhaseMAIL,
		},
		{
			name:     "greeting 554: QUIT and nothing else",
			greeting: "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available\r\n554-No SMTP service\r\n554-IP address is black listed.\r\n554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=192.0.2.1&c=bl\r\n",
			replies:  []string{"221 Bye\r\n"},
			rcpts:    []string{"a@lab.test"},
			want:     "QUIT\r\n",
			code:     554, phase: PhaseGreeting,
		},
		{
			name:     "421 at greeting: the server closes, nothing is sent",
			greeting: "421 newd1.sm66.com out of connection slots\r\n",
			rcpts:    []string{"a@lab.test"},
			want:     "",
			code:     421, phase: PhaseGreeting,
		},
		{
			name:     "452 4.5.3 too many recipients: a new transaction for the rest",
			greeting: "220 mx.test ESMTP\r\n",
			replies: []string{ehloPipe, "250 Ok\r\n", "250 Ok\r\n", "452 4.5.3 Error: too many recipients\r\n", "250 Ok\r\n",
				"250 Ok\r\n", "250 Ok\r\n", "250 Ok\r\n", "221 Bye\r\n"},
			rcpts: []string{"a@lab.test", "b@lab.test"},
			want: "EHLO probe.example.net\r\nMAIL FROM:<postmaster@probe.example.net>\r\nRCPT TO:<a@lab.test>\r\nRCPT TO:<b@lab.test>\r\nRSET\r\n" +
				"MAIL FROM:<postmaster@probe.example.net>\r\nRCPT TO:<b@lab.test>\r\nRSET\r\nQUIT\r\n",
			code: 250, phase: PhaseRCPT,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, rec := scriptServer(t, tt.greeting, tt.replies)
			var targets []Target
			for _, r := range tt.rcpts {
				targets = append(targets, mustTarget(t, r))
			}
			res, err := Run(context.Background(), baseConfig(addr), targets)
			require.NoError(t, err)
			o := res.Recipients[0]
			require.NotNil(t, o.Reply, "outcome: %+v", o)
			assert.Equal(t, tt.code, o.Reply.Code)
			assert.Equal(t, tt.phase, o.Phase)
			require.Eventually(t, func() bool { return strings.Join(rec.Lines(), "\r\n")+"\r\n" == tt.want || tt.want == "" }, time.Second, 10*time.Millisecond)
			got := ""
			for _, c := range rec.Lines() {
				got += c + "\r\n"
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTooManyRecipientsDecidesOnRetry(t *testing.T) {
	// First transaction: a accepted, b limited; second: b refused.
	addr, rec := scriptServer(t, "220 mx.test ESMTP\r\n", []string{
		"250 mx.test\r\n", // EHLO, no PIPELINING: lock-step
		"250 Ok\r\n", "250 Ok\r\n", "452 4.5.3 Error: too many recipients\r\n", "250 Ok\r\n",
		"250 Ok\r\n", "550 5.1.1 unknown\r\n", "250 Ok\r\n", "221 Bye\r\n",
	})
	res, err := Run(context.Background(), baseConfig(addr), []Target{mustTarget(t, "a@lab.test"), mustTarget(t, "b@lab.test")})
	require.NoError(t, err)
	assert.Equal(t, 250, res.Recipients[0].Reply.Code)
	assert.Equal(t, 550, res.Recipients[1].Reply.Code)
	requireNoDataIn(t, rec.Lines())
	assert.Equal(t, []string{"EHLO probe.example.net",
		"MAIL FROM:<postmaster@probe.example.net>", "RCPT TO:<a@lab.test>", "RCPT TO:<b@lab.test>", "RSET",
		"MAIL FROM:<postmaster@probe.example.net>", "RCPT TO:<b@lab.test>", "RSET", "QUIT"}, rec.Lines())
}

func TestLMTPUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "lmtp")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	fakemta.StartSMTP(t, &fakemta.SMTP{Listener: l, LMTP: true, Domain: "backend.test", Rcpt: knownUsers("alice@lab.test")})
	t.Cleanup(func() { _ = os.Remove(sock) })

	cfg := baseConfig("unix:" + sock)
	cfg.Protocol = ProtocolLMTP
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "alice@lab.test"), mustTarget(t, "bob@lab.test")})
	require.NoError(t, err)
	assert.Equal(t, 250, res.Recipients[0].Reply.Code)
	assert.Equal(t, 550, res.Recipients[1].Reply.Code)
	assert.Equal(t, "unix", res.Recipients[0].Attempt.Network)
	assert.Equal(t, sock, res.Recipients[0].Attempt.Host)
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	res, err := Run(context.Background(), baseConfig(addr), []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, ErrRefused)
	assert.Equal(t, PhaseConnect, o.Phase)
	assert.Nil(t, o.Reply)
}

func TestGreetingTimeout(t *testing.T) {
	cfg := baseConfig(fakemta.ServeText(t, "silent", "hang").Addr())
	cfg.Timeout = 200 * time.Millisecond
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, ErrTimeout)
	assert.Equal(t, PhaseGreeting, o.Phase)
}

func TestCatchAllCheckWithServer(t *testing.T) {
	acceptAll := func(string) error { return nil }
	addr, rec := testServer(t, false, acceptAll)
	cfg := baseConfig(addr)
	cfg.CatchAllCheck = true
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test"), mustTarget(t, "b@lab.test")})
	require.NoError(t, err)
	for _, o := range res.Recipients {
		require.NotNil(t, o.CatchAll, o.Recipient)
		assert.True(t, *o.CatchAll)
	}
	requireNoData(t, rec)

	// Recipients of two domains: a random local part would speak for one
	// domain only, so no catch-all verdict is given.
	res, err = Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test"), mustTarget(t, "b@other.test")})
	require.NoError(t, err)
	assert.Nil(t, res.Recipients[0].CatchAll)
}

func TestUTF8SenderNeedsSMTPUTF8(t *testing.T) {
	addr, rec := testServer(t, false, knownUsers("a@lab.test"), func(s *smtp.Server) { s.EnableSMTPUTF8 = false })
	cfg := baseConfig(addr)
	cfg.From = "jörg@bücher.example"
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, ErrNoSMTPUTF8)
	assert.Equal(t, PhaseMAIL, o.Phase)
	for _, c := range rec.Lines() {
		assert.NotContains(t, c, "jörg", "the UTF-8 sender must not be sent")
	}
}
