package lab

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func addr(l *Lab, ip string) string { return net.JoinHostPort(ip, strconv.Itoa(l.Port())) }

func TestDeliverableScenariosAcceptTheRecipient(t *testing.T) {
	l := startLab(t, Options{})
	tests := []struct{ ip, rcpt, want string }{
		{"127.0.0.10", "alice@accept.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.10", "ALICE@accept.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.13", "alice@backup.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.23", "alice@implicit.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.26", "x7q2k9zz@catchall.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.26", "anything@anywhere.example", "250 2.1.5 Ok"},
		{"127.0.0.12", "alice@unknown.lab.test", "250 2.1.5 OK"},
		{"127.0.0.19", "django@verify.lab.test", "250 2.1.5 Ok"},
		{"127.0.0.17", "alice@quota.lab.test", "250 2.1.5 Ok"},
	}
	for _, tt := range tests {
		t.Run(tt.rcpt, func(t *testing.T) {
			c := fakemta.Dial(t, "tcp", addr(l, tt.ip))
			assert.Regexp(t, `^220 \S+ ESMTP`, c.Reply()[0])
			c.Cmd("EHLO probe.lab.test")
			assert.Equal(t, "250", c.Cmd("MAIL FROM:<postmaster@probe.lab.test>")[0][:3])
			assert.Equal(t, []string{tt.want}, c.Cmd("RCPT TO:<"+tt.rcpt+">"))
			assert.Equal(t, "250", c.Cmd("RSET")[0][:3])
			assert.Equal(t, "221", c.Cmd("QUIT")[0][:3])
		})
	}
}

func TestGreylistingDefersTheFirstTryOfATriplet(t *testing.T) {
	l := startLab(t, Options{})
	try := func(from, rcpt string) string {
		c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.14"))
		c.Reply()
		c.Cmd("EHLO probe.lab.test")
		c.Cmd("MAIL FROM:<" + from + ">")
		return c.Cmd("RCPT TO:<" + rcpt + ">")[0]
	}
	const deferred = "450 4.7.1 <alice@greylist.lab.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylist.lab.test.html"
	assert.Equal(t, deferred, try("a@probe.lab.test", "alice@greylist.lab.test"))
	assert.Equal(t, "250 2.1.5 Ok", try("a@probe.lab.test", "alice@greylist.lab.test"), "the retry passes")
	assert.Equal(t, deferred, try("b@probe.lab.test", "alice@greylist.lab.test"), "another sender is another triplet")
	assert.True(t, strings.HasPrefix(try("a@probe.lab.test", "nobody@greylist.lab.test"), "450 4.7.1 "))
	assert.True(t, strings.HasPrefix(try("a@probe.lab.test", "nobody@greylist.lab.test"), "550 5.1.1 "), "after greylisting, the mailbox check")

	l.ResetGreylist()
	assert.Equal(t, deferred, try("a@probe.lab.test", "alice@greylist.lab.test"))

	other := startLab(t, Options{})
	c := fakemta.Dial(t, "tcp", addr(other, "127.0.0.14"))
	c.Reply()
	c.Cmd("EHLO probe.lab.test")
	c.Cmd("MAIL FROM:<a@probe.lab.test>")
	assert.Equal(t, deferred, c.Cmd("RCPT TO:<alice@greylist.lab.test>")[0], "a new lab has its own greylist")
}

func TestGreetingTimeRefusals(t *testing.T) {
	l := startLab(t, Options{})

	t.Run("421 out of connection slots, then close", func(t *testing.T) {
		c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.15"))
		assert.Equal(t, []string{"421 mx1.busy.lab.test out of connection slots"}, c.Reply())
		assert.Empty(t, c.ReadAll())
	})
	t.Run("554 black listed, then only QUIT", func(t *testing.T) {
		c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.16"))
		assert.Equal(t, []string{
			"554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available",
			"554-No SMTP service",
			"554-IP address is black listed.",
			"554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=127.0.0.1&c=bl",
		}, c.Reply())
		assert.Equal(t, []string{"503 5.5.1 Error: bad sequence of commands"}, c.Cmd("EHLO probe.lab.test"))
		assert.Equal(t, "221", c.Cmd("QUIT")[0][:3])
		assert.Empty(t, c.ReadAll())
	})
}

func TestSilentServerNeverGreets(t *testing.T) {
	t.Run("holds the connection and records what arrives", func(t *testing.T) {
		l := startLab(t, Options{})
		c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.22"))
		c.Send("EHLO impatient.lab.test")
		require.Eventually(t, func() bool {
			return strings.Join(fakemta.Verbs(l.Commands(), "mx1.silent.lab.test"), " ") == "EHLO"
		}, 10*time.Second, 5*time.Millisecond, "the silent server records EHLO")
	})
	t.Run("SilentGreetingTimeout closes without a byte", func(t *testing.T) {
		l := startLab(t, Options{SilentGreetingTimeout: 20 * time.Millisecond})
		c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.22"))
		assert.Empty(t, c.ReadAll())
	})
}

func TestDeadMXRefusesConnections(t *testing.T) {
	l := startLab(t, Options{})
	for _, ip := range []string{"127.0.0.11", "127.0.0.20", "127.0.0.21"} {
		_, err := net.Dial("tcp", addr(l, ip))
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%s: %v", ip, err)
	}
}

func TestSTARTTLSWithTheSelfSignedCertificate(t *testing.T) {
	l := startLab(t, Options{})
	c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.24"))
	c.Reply()
	assert.Contains(t, c.Cmd("EHLO probe.lab.test"), "250-STARTTLS")
	assert.Equal(t, []string{"220 2.0.0 Ready to start TLS"}, c.Cmd("STARTTLS"))

	roots := x509.NewCertPool()
	roots.AddCert(l.Certificate())
	require.NoError(t, c.StartTLS(&tls.Config{ServerName: "mx1.tls.lab.test", RootCAs: roots}),
		"the certificate is for the MX name; only its authority is unknown")
	assert.Equal(t, "mx1.tls.lab.test", l.Certificate().Subject.CommonName)
	assert.Equal(t, l.Certificate().Issuer.String(), l.Certificate().Subject.String(), "self-signed")

	ehlo := c.Cmd("EHLO probe.lab.test")
	assert.NotContains(t, ehlo, "250-STARTTLS", "not offered again inside TLS")
	c.Cmd("MAIL FROM:<postmaster@probe.lab.test>")
	assert.Equal(t, []string{"250 2.1.5 Ok"}, c.Cmd("RCPT TO:<alice@tls.lab.test>"))
	data := c.Cmd("DATA")
	assert.NotEqual(t, "354", data[0][:3], "the lab never takes a message")
	c.Cmd("QUIT")

	// The recorder sits above TLS: the commands after STARTTLS are
	// plaintext in the record, DATA included.
	assert.Equal(t, []string{"EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"}, fakemta.Verbs(l.Commands(), "mx1.tls.lab.test"))
	assert.True(t, l.SawVerb("data"))
}

func TestSTARTTLSRequiredButBroken(t *testing.T) {
	l := startLab(t, Options{})
	c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.25"))
	c.Reply()
	assert.Contains(t, c.Cmd("EHLO probe.lab.test"), "250-STARTTLS")
	assert.Equal(t, []string{"454 4.7.0 TLS not available due to local problem"}, c.Cmd("STARTTLS"))
	assert.Equal(t, []string{"530 5.7.0 Must issue a STARTTLS command first"}, c.Cmd("MAIL FROM:<postmaster@probe.lab.test>"))
}

func TestLMTPBackend(t *testing.T) {
	l := startLab(t, Options{})
	for _, target := range []struct{ network, addr string }{{"tcp", addr(l, "127.0.0.27")}, {"unix", l.LMTPSocket()}} {
		t.Run(target.network, func(t *testing.T) {
			c := fakemta.Dial(t, target.network, target.addr)
			assert.Equal(t, "220 lmtp.lab.test LMTP Service Ready", c.Reply()[0])
			assert.Equal(t, "500", c.Cmd("EHLO probe.lab.test")[0][:3], "LMTP wants LHLO")
			assert.Equal(t, "250", c.Cmd("LHLO probe.lab.test")[0][:3])
			c.Cmd("MAIL FROM:<postmaster@probe.lab.test>")
			assert.Equal(t, []string{"250 2.1.5 OK"}, c.Cmd("RCPT TO:<django@lmtp.lab.test>"))
			assert.Equal(t, []string{"550 5.1.1 <paeddrigg@lmtp.lab.test> User doesn't exist: paeddrigg@lmtp.lab.test"},
				c.Cmd("RCPT TO:<paeddrigg@lmtp.lab.test>"))
			c.Cmd("QUIT")
		})
	}
	var remotes []string
	for _, cmd := range l.Commands() {
		if cmd.Verb() == "LHLO" {
			remotes = append(remotes, cmd.Remote)
		}
	}
	require.Len(t, remotes, 2)
	assert.Equal(t, "unix", remotes[1])
}

func TestDATAIsRefusedAndRecorded(t *testing.T) {
	l := startLab(t, Options{})
	assert.False(t, l.SawVerb("DATA"))
	c := fakemta.Dial(t, "tcp", addr(l, "127.0.0.10"))
	c.Reply()
	c.Cmd("EHLO probe.lab.test")
	c.Cmd("MAIL FROM:<postmaster@probe.lab.test>")
	c.Cmd("RCPT TO:<alice@accept.lab.test>")
	assert.Equal(t, []string{"502 5.5.1 Missing RCPT TO command."}, c.Cmd("DATA"), "accepted recipients are not counted by go-smtp")
	// The chunk follows BDAT even when BDAT is refused (RFC 3030 §2).
	// One write, so the chunk is there whenever the server reads it.
	c.Write("BDAT 10 LAST\r\n0123456789")
	assert.Equal(t, []string{"502 5.5.1 Missing RCPT TO command."}, c.Reply())
	c.Cmd("QUIT")

	assert.True(t, l.SawVerb("DATA"))
	assert.True(t, l.SawVerb("bdat"))
	cmds := l.Commands()
	require.NotEmpty(t, cmds)
	assert.Equal(t, "mx1.accept.lab.test", cmds[0].Server)
	assert.Equal(t, addr(l, "127.0.0.10"), cmds[0].Local)
	assert.Equal(t, "EHLO probe.lab.test", cmds[0].Line)
	assert.Equal(t, "127.0.0.1", strings.Split(cmds[0].Remote, ":")[0])
}

func TestSessionRefusesDataEvenIfReached(t *testing.T) {
	s := &session{}
	err := s.Data(strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
	var se *smtp.SMTPError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code)
}
