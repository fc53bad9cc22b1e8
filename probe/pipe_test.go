package probe_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
)

// pipeRun runs script on the server end of a net.Pipe and the probe's
// session on the other: the protocol with no socket, no dialling, no DNS.
func pipeRun(t *testing.T, cfg probe.Config, script string, rcpts ...string) (*probe.Attempt, []string) {
	t.Helper()
	sc, err := fakemta.ParseScript(t.Name(), script)
	require.NoError(t, err)
	nc, srv, err := fakemta.PipeScript(sc)
	require.NoError(t, err)
	defer srv.Close()
	if cfg.HELO == "" {
		cfg.HELO = "probe.lab.test"
	}
	if cfg.From == "" {
		cfg.From = "postmaster@probe.lab.test"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	var addrs []probe.Address
	for _, r := range rcpts {
		a, err := probe.ParseAddress("recipient", r)
		require.NoError(t, err)
		addrs = append(addrs, a)
	}
	att, err := probe.RunConn(context.Background(), cfg, nc, "mx.lab.test", addrs)
	require.NoError(t, err)
	_ = srv.Close() // the commands are all in once the script is ended
	require.False(t, srv.SawVerb("DATA"), "a probe never sends DATA")
	return att, srv.Lines()
}

const noReply = -1

func TestPipeSession(t *testing.T) {
	tests := []struct {
		name   string
		cfg    probe.Config
		script string
		rcpts  []string
		sent   []string    // the exact command lines, in order
		codes  []int       // per recipient; 0: no reply
		kind   error       // the attempt's error kind; nil: none
		phase  probe.Phase // of that error
		ext    []string    // extensions the attempt recorded
	}{
		{
			name: "pipelined transaction, QUIT apart for two recipients",
			script: `send 220 mx.lab.test ESMTP
expect EHLO
send 250-mx.lab.test
send 250-PIPELINING
send 250 ENHANCEDSTATUSCODES
expect MAIL
send 250 2.1.0 Ok
expect RCPT
send 250 2.1.5 Ok
expect RCPT
send 550 5.1.1 <nobody@lab.test>: Recipient address rejected: User unknown
expect RSET
send 250 2.0.0 Ok
expect QUIT
send 221 2.0.0 Bye
close`,
			rcpts: []string{"alice@lab.test", "nobody@lab.test"},
			sent: []string{"EHLO probe.lab.test", "MAIL FROM:<postmaster@probe.lab.test>",
				"RCPT TO:<alice@lab.test>", "RCPT TO:<nobody@lab.test>", "RSET", "QUIT"},
			codes: []int{250, 550},
			ext:   []string{"ENHANCEDSTATUSCODES", "PIPELINING"},
		},
		{
			name: "HELO after a 502 to EHLO, lock-step without PIPELINING",
			script: `send 220 old.lab.test SMTP
expect EHLO
send 502 5.5.2 Error: command not recognized
expect HELO
send 250 old.lab.test
expect MAIL
send 250 Ok
expect RCPT
send 250 Ok
expect RSET
send 250 Ok
expect QUIT
send 221 Bye
close`,
			rcpts: []string{"alice@lab.test"},
			sent:  []string{"EHLO probe.lab.test", "HELO probe.lab.test", "MAIL FROM:<postmaster@probe.lab.test>", "RCPT TO:<alice@lab.test>", "RSET", "QUIT"},
			codes: []int{250},
		},
		{
			name: "LMTP says LHLO",
			cfg:  probe.Config{Protocol: probe.ProtocolLMTP},
			script: `send 220 lmtp.lab.test LMTP
expect LHLO
send 250-lmtp.lab.test
send 250 PIPELINING
expect MAIL
send 250 2.1.0 Ok
expect RCPT
send 550 5.1.1 User doesn't exist
expect RSET
send 250 2.0.0 Ok
expect QUIT
send 221 2.0.0 Bye
close`,
			rcpts: []string{"nobody@lab.test"},
			sent:  []string{"LHLO probe.lab.test", "MAIL FROM:<postmaster@probe.lab.test>", "RCPT TO:<nobody@lab.test>", "RSET", "QUIT"},
			codes: []int{550},
			ext:   []string{"PIPELINING"},
		},
		{
			name: "421 after MAIL answers the recipient and ends the session",
			script: `send 220 mx.lab.test ESMTP
expect EHLO
send 250 mx.lab.test
expect MAIL
send 421 4.7.0 mx.lab.test Error: too many errors
close`,
			rcpts: []string{"alice@lab.test"},
			sent:  []string{"EHLO probe.lab.test", "MAIL FROM:<postmaster@probe.lab.test>"},
			codes: []int{421},
			kind:  probe.ErrRejected, phase: probe.PhaseMAIL,
		},
		{
			name: "a reply that is not SMTP is a protocol error, without QUIT",
			script: `send 220 mx.lab.test ESMTP
expect EHLO
send HTTP/1.1 400 Bad Request
close`,
			rcpts: []string{"alice@lab.test"},
			sent:  []string{"EHLO probe.lab.test"},
			codes: []int{0}, // the malformed line is kept, with no code
			kind:  probe.ErrProtocol, phase: probe.PhaseEHLO,
		},
		{
			name:   "silence after the greeting: the phase timeout",
			cfg:    probe.Config{Timeout: 200 * time.Millisecond},
			script: "send 220 mx.lab.test ESMTP\nhang",
			rcpts:  []string{"alice@lab.test"},
			sent:   []string{"EHLO probe.lab.test"},
			codes:  []int{noReply},
			kind:   probe.ErrTimeout, phase: probe.PhaseEHLO,
		},
		{
			name:   "the probe deadline cuts a phase short: ErrDeadline, not ErrTimeout",
			cfg:    probe.Config{Timeout: 5 * time.Second, Deadline: 200 * time.Millisecond},
			script: "send 220 mx.lab.test ESMTP\nhang",
			rcpts:  []string{"alice@lab.test"},
			sent:   []string{"EHLO probe.lab.test"},
			codes:  []int{noReply},
			kind:   probe.ErrDeadline, phase: probe.PhaseEHLO,
		},
		{
			name: "STARTTLS over the pipe, then EHLO again",
			cfg:  probe.Config{STARTTLS: probe.TLSAlways, TLSRoots: x509.NewCertPool()},
			script: `send 220 mx.lab.test ESMTP
expect EHLO
send 250-mx.lab.test
send 250 STARTTLS
expect STARTTLS
send 220 2.0.0 Ready to start TLS
tls self-signed
expect EHLO
send 250-mx.lab.test
send 250 PIPELINING
expect MAIL
send 250 2.1.0 Ok
expect RCPT
send 250 2.1.5 Ok
expect RSET
send 250 2.0.0 Ok
expect QUIT
send 221 2.0.0 Bye
close`,
			rcpts: []string{"alice@lab.test"},
			// RFC 3207 §4.2: EHLO again inside TLS.
			sent: []string{"EHLO probe.lab.test", "STARTTLS", "EHLO probe.lab.test",
				"MAIL FROM:<postmaster@probe.lab.test>", "RCPT TO:<alice@lab.test>", "RSET", "QUIT"},
			codes: []int{250},
			ext:   []string{"PIPELINING"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			att, sent := pipeRun(t, tt.cfg, tt.script, tt.rcpts...)
			assert.Equal(t, tt.sent, sent)
			require.Len(t, att.Rcpts, len(tt.rcpts))
			for i, want := range tt.codes {
				r := att.Rcpts[i]
				if want == noReply {
					assert.Nil(t, r.Reply, "recipient %d", i)
					continue
				}
				require.NotNil(t, r.Reply, "recipient %d", i)
				assert.Equal(t, want, r.Reply.Code, "recipient %d", i)
			}
			if tt.kind == nil {
				assert.Nil(t, att.Err)
			} else {
				require.NotNil(t, att.Err)
				assert.ErrorIs(t, att.Err, tt.kind)
				assert.Equal(t, tt.phase, att.Err.Phase)
			}
			for _, e := range tt.ext {
				assert.Contains(t, att.Extensions, e)
			}
		})
	}
}
