package fakemta

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScriptGreetingShapes(t *testing.T) {
	tests := []struct{ script, want string }{
		{"drop-after-greeting", "220 drop.lab.test ESMTP\r\n"},
		{"ansi-escape", "220 \x1b[2J\x1b]0;pwned\x07 evil ESMTP\r\n"},
		{"binary", "\x00\x01\x02\x03\xff\xfe\xfd\x80\x81\x1b\x07\x7f\r\n\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\r\n"},
		{"http-server", "HTTP/1.1 400 Bad Request\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			s := ServeShipped(t, tt.script)
			c := Dial(t, "tcp", s.Addr())
			got := make([]byte, len(tt.want))
			_, err := io.ReadFull(c.BR, got)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestScriptBigLineAndTrickle(t *testing.T) {
	s := ServeShipped(t, "megabyte-line")
	c := Dial(t, "tcp", s.Addr())
	line, err := c.BR.ReadString('\n')
	require.NoError(t, err)
	assert.Len(t, line, 1<<20)
	assert.True(t, strings.HasPrefix(line, "250 xxx"))
	assert.True(t, strings.HasSuffix(line, "x\r\n"))

	tr := ServeText(t, t.Name(), "trickle 1ms 220 {client} drip\nclose")
	assert.Equal(t, "220 127.0.0.1 drip\r\n", Dial(t, "tcp", tr.Addr()).ReadAll())
}

func TestScriptEndlessReplyEndsWhenTheClientLeaves(t *testing.T) {
	s := ServeShipped(t, "endless-multiline")
	c := Dial(t, "tcp", s.Addr())
	c.Reply()
	c.Send("EHLO probe.lab.test")
	for i := 0; i < 5000; i++ {
		line, err := c.BR.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "250-endless.lab.test keeps talking\r\n", line)
	}
	require.NoError(t, c.c.Close())
	NoGoroutineLeak(t, func() { require.NoError(t, s.Close()) })
}

func TestScriptExpectAnswersOtherCommands(t *testing.T) {
	s := ServeShipped(t, "drop-after-mail")
	c := Dial(t, "tcp", s.Addr())
	c.Reply()
	assert.Equal(t, []string{"503 5.5.1 Error: bad sequence of commands"}, c.Cmd("MAIL FROM:<a@b>"), "MAIL before EHLO")
	assert.Equal(t, []string{"250 2.0.0 Ok"}, c.Cmd("NOOP"))
	assert.Equal(t, []string{"250 drop.lab.test"}, c.Cmd("EHLO probe.lab.test"))
	c.Send("MAIL FROM:<a@b>")
	assert.Empty(t, c.ReadAll(), "dropped after MAIL without a reply")
	assert.Equal(t, []string{"MAIL", "NOOP", "EHLO", "MAIL"}, Verbs(s.Commands(), "script:drop-after-mail"))

	q := ServeShipped(t, "421-at-rcpt")
	c = Dial(t, "tcp", q.Addr())
	c.Reply()
	c.Cmd("EHLO probe.lab.test")
	assert.Equal(t, []string{"221 2.0.0 Bye"}, c.Cmd("QUIT"), "QUIT while waiting for MAIL")
	assert.Empty(t, c.ReadAll())
}

func TestScriptAnswersDATAAndRecordsIt(t *testing.T) {
	s := ServeShipped(t, "answers-data")
	c := Dial(t, "tcp", s.Addr())
	c.Reply()
	c.Cmd("EHLO probe.lab.test")
	c.Cmd("MAIL FROM:<a@probe.lab.test>")
	c.Cmd("RCPT TO:<b@lab.test>")
	assert.False(t, s.SawVerb("DATA"))
	assert.Equal(t, "354", c.Cmd("DATA")[0][:3])
	assert.True(t, s.SawVerb("data"))
	cmds := s.Commands()
	require.Len(t, cmds, 4)
	assert.Equal(t, Command{Server: "script:answers-data", Local: s.Addr(), Remote: c.c.LocalAddr().String(), Line: "DATA"}, cmds[3])
}

func TestScriptRecordsWhileItDoesNotRead(t *testing.T) {
	s := ServeText(t, t.Name(), "send 220 busy.lab.test ESMTP\nsleep 1h\nclose")
	c := Dial(t, "tcp", s.Addr())
	c.Reply()
	c.Send("EHLO probe.lab.test")
	c.Send("DATA")
	require.Eventually(t, func() bool { return s.SawVerb("DATA") }, 10*time.Second, 5*time.Millisecond, "DATA recorded during the sleep")
	NoGoroutineLeak(t, func() { require.NoError(t, s.Close()) })
	assert.Empty(t, c.ReadAll(), "Close ended the connection")
}

func TestScriptCloseEndsHangingConnections(t *testing.T) {
	for _, name := range []string{"no-greeting", "greeting-then-silence", "slow-greeting"} {
		t.Run(name, func(t *testing.T) {
			NoGoroutineLeak(t, func() {
				s, err := StartScript(name)
				require.NoError(t, err)
				c := Dial(t, "tcp", s.Addr())
				c.Send("EHLO probe.lab.test")
				require.Eventually(t, func() bool { return s.SawVerb("EHLO") }, 10*time.Second, 5*time.Millisecond, "EHLO recorded")
				require.NoError(t, s.Close())
				_ = c.ReadAll()
			})
		})
	}
}

func TestScriptTLS(t *testing.T) {
	roots, err := ScriptRootCAs()
	require.NoError(t, err)
	tests := []struct {
		script string
		check  func(t *testing.T, err error)
	}{
		{"starttls-valid", func(t *testing.T, err error) { require.NoError(t, err) }},
		{"starttls-self-signed", func(t *testing.T, err error) {
			var e x509.UnknownAuthorityError
			require.ErrorAs(t, err, &e)
		}},
		{"starttls-expired", func(t *testing.T, err error) {
			var e x509.CertificateInvalidError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, x509.Expired, e.Reason)
		}},
		{"starttls-wrong-name", func(t *testing.T, err error) {
			var e x509.HostnameError
			require.ErrorAs(t, err, &e)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			s := ServeShipped(t, tt.script)
			c := Dial(t, "tcp", s.Addr())
			c.Reply()
			assert.Contains(t, c.Cmd("EHLO probe.lab.test"), "250 STARTTLS")
			assert.Equal(t, []string{"220 2.0.0 Ready to start TLS"}, c.Cmd("STARTTLS"))
			var verifyErr error
			cfg := &tls.Config{ServerName: "localhost", InsecureSkipVerify: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					opts := x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots}
					_, verifyErr = cs.PeerCertificates[0].Verify(opts)
					return nil
				}}
			require.NoError(t, c.StartTLS(cfg))
			tt.check(t, verifyErr)
			c.Cmd("EHLO probe.lab.test")
			c.Cmd("MAIL FROM:<a@probe.lab.test>")
			assert.Equal(t, []string{"250 2.1.5 Ok"}, c.Cmd("RCPT TO:<b@lab.test>"))
			c.Cmd("QUIT")
			// Only plaintext lines are recorded: no TLS records.
			assert.Equal(t, []string{"EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "QUIT"}, Verbs(s.Commands(), "script:"+tt.script))
			for _, cmd := range s.Commands() {
				assert.True(t, strings.IndexFunc(cmd.Line, func(r rune) bool { return !unicode.IsPrint(r) }) < 0, "%q", cmd.Line)
			}
		})
	}
}

func TestScriptTLSHandshakeGarbage(t *testing.T) {
	s := ServeShipped(t, "starttls-garbage")
	c := Dial(t, "tcp", s.Addr())
	c.Reply()
	c.Cmd("EHLO probe.lab.test")
	c.Cmd("STARTTLS")
	err := c.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	require.Error(t, err)
	var rh tls.RecordHeaderError
	assert.True(t, errors.As(err, &rh), "%v", err)
}

func TestNewScriptServerRejectsAnEmptyScript(t *testing.T) {
	_, err := NewScriptServer(&Script{Name: "empty"})
	assert.ErrorIs(t, err, ErrScriptSyntax)
	_, err = StartScript("no-such-script")
	assert.ErrorIs(t, err, ErrUnknownScript)
}
