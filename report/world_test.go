package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The text normalisations the held-out set called for (see
// testdata/explain/heldout.jsonl): Python smtplib's exception form and a
// gateway's repeated reply code.
func TestPythonSMTPError(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"smtp failed: (550, b'The mail may contain inappropriate words or content.')", "smtp failed: 550 The mail may contain inappropriate words or content."},
		{"(550, b'5.7.1 message content rejected')", "550 5.7.1 message content rejected"},
		{"hostmx01.logix.in: (554, b'pune2.logix.in\\nIP blacklisted in http://www.senderbase.org')", "hostmx01.logix.in: 554 pune2.logix.in IP blacklisted in http://www.senderbase.org"},
		{`(421, "4.7.0 Try again later")`, "421 4.7.0 Try again later"},
		// After an app's own words without a colon the reply starts a line,
		// so the code is read as a reply, not a number in prose.
		{"邮件发送失败：邮件数据错误 (550, b'The mail may contain inappropriate words or content.')", "邮件发送失败：邮件数据错误\n550 The mail may contain inappropriate words or content."},
		{"(in reply to RCPT TO command)", "(in reply to RCPT TO command)"},
		{"delays=(550, b'unterminated", "delays=(550, b'unterminated"},
		{"(250, b'ok')", "(250, b'ok')"},
	} {
		assert.Equal(t, tc.want, pythonSMTPError(tc.in), tc.in)
	}
}

func TestRepeatedReplyCode(t *testing.T) {
	r := bareReply("550-REJECTED - Server at [test.co.uk] (NOT JUNKEMAILFILTER) rejected message - 550 550 65.49.42.68 is not allowed to send mail from email.example.com")
	if assert.NotNil(t, r) {
		assert.Equal(t, 550, r.Code)
		assert.Contains(t, r.Text(), "is not allowed to send mail")
	}
}

func TestOffRangeReplyStart(t *testing.T) {
	for in, want := range map[string]bool{
		"571 5.7.1 Message refused, DMARC verification Failed.":    true,
		"591 sofia@example.com your host [1.2.3.4] is blacklisted": true,
		"571 Delivery not authorized, message refused":             true,
		"550 5.1.1 User unknown":                                   false, // in range: replyStart's
		"599":                                                      false,
		"571 1234 items":                                           false,
		"671 Not a class":                                          false,
	} {
		assert.Equal(t, want, offRangeReplyStart(in), in)
	}
	r := bareReply("591 sofia@example.com your host [1.2.3.4] is blacklisted by dnsbl.sorbs.net.")
	if assert.NotNil(t, r) {
		assert.Equal(t, 591, r.Code)
	}
}

// A session transcript: the refusal, not the greeting, is the reply.
func TestTranscriptPrefersFailure(t *testing.T) {
	r := embeddedReply("--- Session Transcript ---\nWaiting for protocol initiation...\n220 turbosport.com ESMTP MDaemon 3.5.2 ready\nRCPT To:<b@turbosport.com>\n552 Message for <b@turbosport.com> would exceed mailbox quota\nQUIT")
	if assert.NotNil(t, r) {
		assert.Equal(t, 552, r.Code)
	}
	r = embeddedReply("Remote host said: 250 2.1.5 Ok")
	if assert.NotNil(t, r) {
		assert.Equal(t, 250, r.Code)
	}
}

// An indented continuation line of a Postfix bounce paragraph starts a
// reply; a delivery line quoted from "status=" on still gives its
// permanence; a pasted session that starts with the greeting goes on to
// its refusal.
func TestIndentedAndQuotedForms(t *testing.T) {
	r := embeddedReply("host mx00.emig.gmx.net[212.227.15.9] refused to talk to me:\n    554-gmx.net (mxgmx014) Nemesis ESMTP Service not available 554-No SMTP\n    service 554 For explanation visit https://example.net")
	if assert.NotNil(t, r) {
		assert.Equal(t, 554, r.Code)
	}
	e, err := ExplainText("status=deferred (TLS is required, but was not offered by host mail.myhost.net[x.x.x.x])")
	assert.NoError(t, err)
	assert.Equal(t, PermanenceTemporary, e.Permanence)
	r = embeddedReply("220 mx.example.net ESMTP ready\nHELO x\n250 mx.example.net Hello\nRCPT TO: a\n550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus.")
	if assert.NotNil(t, r) {
		assert.Equal(t, 550, r.Code)
	}
}

// OpenSMTPD's remote delivery lines name their outcome.
func TestOpenSMTPDRelayOutcome(t *testing.T) {
	e, err := ExplainText("Oct  7 00:39:51 host smtpd[8204]: relay: TempFail for da22753dbfba3245: session=0000000000000000, from=someone@example.com, to=dest@example.com, rcpt=<->, source=-, relay=mysmtp.local, delay=1d4h26m40s, stat=No MX found for domain")
	assert.NoError(t, err)
	assert.Equal(t, KindOpenSMTPD, e.Kind)
	assert.Equal(t, PermanenceTemporary, e.Permanence)
	assert.Equal(t, CategoryDNSFailure, e.Category)
}
