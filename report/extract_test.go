package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadTextKinds: each MTA's words are recognised and the reply, the
// status and the recipient are pulled out of them. Real texts; sources
// as in testdata/explain/corpus.jsonl.
func TestReadTextKinds(t *testing.T) {
	tests := []struct {
		name, text string
		kind       TextKind
		code       int
		enhanced   string
		status     string
		cat        Category
		perm       Permanence
	}{
		// Exim/exim test/log@13835a3: a delivery ("=>") is Exim's by the
		// main-log shape alone (date, message ID, flag), and delivered.
		{"exim delivery flag", `1999-03-02 09:44:33 10HmaY-000000005vi-0000 => userx@test.ex <Userx-S@Test.Ex> R=localuser_ss T=delivery_s H=127.0.0.1 [127.0.0.1] C="250 OK"`, KindExim, 250, "", "sent", CategoryDelivered, PermanenceSuccess},
		{"exim local delivery", "1999-03-02 09:44:33 10HmaX-000000005vi-0000 => CALLER <CALLER@the.local.host.name> R=localuser T=local_delivery", KindExim, 0, "", "sent", CategoryDelivered, PermanenceSuccess},
		// https://github.com/notqmail/notqmail/issues/244
		{"qmail-send line", "delivery 245: failure: Unable_to_run_qmail-remote./", KindQmail, 0, "", "bounced", CategoryOther, PermanencePermanent},
		// Exim/exim test/log/0051@13835a3
		{"exim bounce flag", "1999-03-02 09:44:33 10HmaY-000000005vi-0000 ** userx@bad.ex : Unrouteable address", KindExim, 0, "", "bounced", CategoryUserUnknown, PermanencePermanent},
		// fail2ban tests/files/logs/sendmail-reject@deffcbc
		{"sendmail check_rcpt", "Feb 25 03:01:10 kismet sm-acceptingconnections[27713]: s1P819mk027713: ruleset=check_rcpt, arg1=<asservnew@freemailhost.ru>, relay=128-68-136-133.broadband.corbina.ru [128.68.136.133], reject=550 5.7.1 <asservnew@freemailhost.ru>... Relaying denied. Proper authentication required.", KindSendmail, 550, "5.7.1", "", CategoryRelayDenied, PermanencePermanent},
		// fail2ban tests/files/logs/courier-smtp@deffcbc
		{"courier", "Apr 10 03:47:57 web courieresmtpd: error,relay=::ffff:1.2.3.4,ident=tmf,from=<tmf@example.com>,to=<mailman-subscribe@example.com>: 550 User unknown.", KindCourier, 550, "", "", CategoryUserUnknown, PermanencePermanent},
		// docker-mailserver/docker-mailserver issue 1508
		{"dovecot lmtp", "May 11 11:35:36 mail dovecot: lmtp(quotauser@otherdomain.tld)<1522><2E+aO4c4uV7yBQAAUIhAew>: sieve: msgid=<20200511113535.889CA28724D@mail.my-domain.com>: failed to store into mailbox 'INBOX': Quota exceeded (mailbox for user is full)", KindDovecot, 0, "", "", CategoryMailboxFull, PermanenceUnknown},
		// sisimai/set-of-emails maildir/bsd/lhost-exchange2007-01.eml@18e585c
		{"exchange hash form", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", KindMicrosoftNDR, 550, "5.1.1", "", CategoryUserUnknown, PermanencePermanent},
		// sisimai/set-of-emails maildir/bsd/lhost-gmail-01.eml@18e585c
		{"gmail dsn", "Technical details of permanent failure: \nGoogle tried to deliver your message, but it was rejected by the server for the recipient domain example.jp by mx.example.jp. [192.0.2.153].\nThe error that the other server returned was:\n550 5.1.1 <userunknown@example.jp>... User Unknown", KindGmailDSN, 550, "5.1.1", "", CategoryUserUnknown, PermanencePermanent},
		// fail2ban tests/files/logs/postfix@deffcbc
		{"postfix cleanup milter-reject", "Mar 7 02:09:33 server postfix/smtpd[27246]: 1D8CC1CA0A7F: milter-reject: DATA from 66-220-155-151.mail-mail.facebook.com[192.0.2.151]: 550 5.7.1 Command rejected; from=<security@mail.example.com> to=<hostmaster@example.com> proto=ESMTP helo=<192-0-2-151.mail-mail.example.com>", KindPostfix, 550, "5.7.1", "", CategoryOther, PermanencePermanent},
		// A bare multi-line reply cut before its final line (the Gmail
		// text of TestClassify, seen in maillogs as separate lines).
		{"continuation lines only", "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or", KindReply, 550, "5.1.1", "", CategoryUserUnknown, PermanencePermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ExplainText(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.kind, e.Kind, "kind")
			assert.Equal(t, tt.code, e.Code, "code")
			if tt.enhanced != "" {
				assert.Equal(t, tt.enhanced, e.Enhanced, "enhanced")
			}
			assert.Equal(t, tt.status, e.Status, "status")
			assert.Equal(t, tt.cat, e.Category, "category")
			assert.Equal(t, tt.perm, e.Permanence, "permanence")
		})
	}
}

// TestEximMainlog: the shape check takes Exim's date, optional
// milliseconds, zone and pid, then a message ID of either length and a
// flag; anything else is left to the other checks.
func TestEximMainlog(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		// Exim/exim test/log@13835a3
		{"1999-03-02 09:44:33 10HmaX-000000005vi-0000 => CALLER <CALLER@the.local.host.name> R=localuser T=local_delivery", true},
		// https://github.com/drlight17/mta-log-parser/issues/22 (after the syslog tag)
		{"2025-02-14 18:12:33.501 [47012] 1tixMn-00000000C5j-1wRa ** test@domain.ru F=<root@domain.ru> P=<root@domain.ru> R=dovecot_user T=dovecot_delivery: Child process of dovecot_delivery transport returned 127 (could mean unable to exec or command does not exist) from command: /usr/local/libexec/dovecot/deliver DT=0.004s", true},
		// logstash-plugins/logstash-patterns-core spec/patterns/exim_spec.rb@1974fdd
		{"2020-02-11 17:09:47 1j1Z2g-00Faoy-Uh ** admin@example.net R=virtual_aliases: No such person at this address.", true},
		{"1999-03-02 09:44:33 10HmaX-000000005vi-0000 Completed", false},
		{"2024-08-26T01:33:38.572449+00:00 machine postfix/smtpd[60203]: NOQUEUE: reject: RCPT from unknown[192.168.1.1]", false},
		{"1999-03-02 09:44:33", false},
	} {
		assert.Equal(t, tc.want, eximMainlog(tc.s), tc.s)
	}
}
