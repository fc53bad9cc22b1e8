package main

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
)

// countingServer closes every connection at once and counts them: bad
// input must never open one.
func countingServer(t *testing.T) *fakemta.ScriptServer {
	t.Helper()
	return fakemta.ServeText(t, "close", "close")
}

func TestBadInputNeverReachesTheWire(t *testing.T) {
	srv := countingServer(t)
	base := []string{"probe", "--server", srv.Addr(), "--dnsbl", "never", "--starttls", "never"}
	long64 := strings.Repeat("a", 65)
	tests := []struct {
		name string
		args []string
		want string // part of the error message
	}{
		{"CR LF in recipient", []string{"user@lab.test\r\nDATA"}, "carriage return"},
		{"LF in recipient", []string{"user@lab.test\nRCPT TO:<x@y.z>"}, "line feed"},
		{"NUL in recipient", []string{"us\x00er@lab.test"}, "NUL"},
		{"escape in recipient", []string{"us\x1ber@lab.test"}, "control character"},
		{"local part over 64", []string{long64 + "@lab.test"}, "local part is 65 octets"},
		{"address over 254", []string{"a@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 10) + ".org"}, "limit is 254"},
		{"missing domain", []string{"user@"}, "missing domain"},
		{"invalid domain", []string{"user@exa_mple..org"}, "empty label"},
		{"LF in --from", []string{"--from", "a@b.example\nRCPT TO:<x@y.z>", "user@lab.test"}, "--from"},
		{"NUL in --helo", []string{"--helo", "probe\x00.example", "user@lab.test"}, "--helo"},
		{"space in --helo", []string{"--helo", "probe example", "user@lab.test"}, "--helo"},
		{"bad --server", []string{"--server", "unix:relative", "--protocol", "lmtp", "user@lab.test"}, "absolute path"},
		{"bad --server port", []string{"--server", "127.0.0.1:99999", "user@lab.test"}, "port"},
		{"bad --protocol", []string{"--protocol", "pop3", "user@lab.test"}, "--protocol"},
		{"bad --starttls", []string{"--starttls", "maybe", "user@lab.test"}, "--starttls"},
		{"-4 and -6", []string{"-4", "-6", "user@lab.test"}, "-4 and -6"},
		{"unknown flag", []string{"--no-such-flag", "user@lab.test"}, "unknown flag"},
		{"bad --output", []string{"-o", "xml", "user@lab.test"}, "--output"},
		{"no recipient", []string{}, "at least one"},
		{"missing --rcpt-file", []string{"--rcpt-file", "/nonexistent/mailprobe-rcpts"}, "nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), "", append(append([]string{}, base...), tt.args...)...)
			assert.Equal(t, ExitUsage, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "\x00", "control characters must be quoted in messages")
		})
	}
	assert.Zero(t, srv.Conns(), "bad input opened a connection")
}

// TestSMTPUTF8OnlyWhenOffered: a UTF-8 address goes out only to a server
// that offers SMTPUTF8 (RFC 6531); otherwise the probe says why it
// cannot ask, as Postfix does, without sending the address.
func TestSMTPUTF8OnlyWhenOffered(t *testing.T) {
	for _, offer := range []bool{true, false} {
		addr := startBatchServer(t, &fakemta.SMTP{Configure: func(s *smtp.Server) { s.EnableSMTPUTF8 = offer }})
		code, stdout, stderr := runCLI(t, context.Background(), "", "probe", "--server", addr,
			"--dnsbl", "never", "--starttls", "never", "-o", "postfix", "jörg@bücher.example")
		if offer {
			// The server answered the RCPT itself: the address went out.
			assert.Contains(t, stdout, "said: 550 5.1.1 <jörg@bücher.example>", "stderr: %s", stderr)
			assert.NotContains(t, stdout, "SMTPUTF8")
		} else {
			assert.Equal(t, ExitUndeliverable, code, "stdout: %s stderr: %s", stdout, stderr)
			assert.Contains(t, stdout, "SMTPUTF8")
			assert.Contains(t, stdout, "dsn=5.6.7")
		}
	}
}
