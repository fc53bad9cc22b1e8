package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSentWithoutReply: a Postfix status=sent line is a delivery
// (category delivered), whether its reason is the receiving server's
// reply or the words of a delivery agent on the logging host; only the
// latter is not explained as a reply after DATA, and discard(8)'s "sent"
// is explained as the discard it is. A 2xx at RCPT stays deliverable.
func TestSentWithoutReply(t *testing.T) {
	tests := []struct {
		name, text string
		cat        Category
		what       string // a part of Explanation.What
	}{
		{"reply after DATA",
			// seed 001 (German maillog article, its example line)
			"Sep 12 10:15:30 mailserver postfix/smtp[1234]: 3B2E160C2A: to=<empfaenger@example.com>, relay=smtp.example.com[192.168.1.100]:25, delay=0.45, delays=0.1/0.02/0.2/0.13, dsn=2.0.0, status=sent (250 2.0.0 OK)",
			CategoryDelivered, "accepted it after DATA"},
		{"pipe to dovecot",
			// whyscream/postfix-grok-patterns:test/pipe_0001.yaml@e9f1a59ccd97199f32ddbaa7b35334df05a4fd88
			"0F5383D: to=<tom@example.com>, relay=dovecot, delay=4.3, delays=4.1/0.01/0/0.15, dsn=2.0.0, status=sent (delivered via dovecot service)",
			CategoryDelivered, "own delivery agent: delivered via dovecot service"},
		{"virtual maildir",
			// kumina/postfix_exporter:postfix_exporter_test.go@a6f58e9b2b2b4decc7e65c5a34b4fd53cd6665f1
			"Apr  7 15:35:20 123-mail postfix/virtual[20235]: 199041033BE: to=<me@domain.fr>, relay=virtual, delay=0.08, delays=0.08/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
			CategoryDelivered, "own delivery agent: delivered to maildir"},
		{"discard transport",
			// loopback Postfix 3.7.11, the maillog test's sending instance (maillog/testdata/logs/own-delivery.log)
			"Dec 02 03:25:26 sender postfix-maillog/discard[29204]: 11D3998A449: to=<tester@sender.maillog.test>, relay=none, delay=0.01, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (sender.maillog.test)",
			CategoryDelivered, "discarded the message on purpose"},
		{"verify probe at RCPT",
			// seed 004 (nausch.org wiki, Postfix/Dovecot), address verification
			"Nov  4 20:53:55 vml000087 postfix/lmtp[4942]: 8EC29C00088: to=<django@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.07, delays=0.02/0.02/0/0.03, dsn=2.1.5, status=deliverable (250 2.1.5 OK)",
			CategoryDeliverable, "accepted RCPT TO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ExplainText(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.cat, e.Category)
			assert.Equal(t, PermanenceSuccess, e.Permanence)
			assert.Contains(t, e.Explanation.What, tt.what)
		})
	}
	// a probe's RCPT 2xx is deliverable, never delivered
	c, _ := Classify(250, "2.1.5", "OK")
	assert.Equal(t, CategoryDeliverable, c)
}

// TestQmailNoConnection: qmail-remote's "wasn't able to establish an
// SMTP connection" is a failure to connect (seed 002, the OVH page, where
// telnet to the MX is refused or times out), never a server that
// "accepted the connection, then stopped answering".
func TestQmailNoConnection(t *testing.T) {
	// seed 002 (OVH help page, `tail -f /var/log/qmail/current`)
	e, err := ExplainText("@400000003f88003f221f1d74 delivery 67496: deferral: Sorry,[7]_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/")
	require.NoError(t, err)
	assert.Equal(t, PermanenceTemporary, e.Permanence)
	assert.NotContains(t, e.Explanation.What, "accepted the connection")
	assert.Contains(t, e.Explanation.What, "connection")
}
