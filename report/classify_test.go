package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

// Real reply texts, with their sources: the seeds (Postfix/Dovecot
// maillogs from German hosting docs), Postfix smtpd/postscreen, Dovecot,
// Exim, Gmail, Microsoft, 1&1/IONOS, GMX, T-Online and Spamhaus.
func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		cat   Category
		perm  Permanence
	}{
		{"seed dovecot lmtp user doesn't exist", "550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org", CategoryUserUnknown, PermanencePermanent},
		{"seed postfix unverified address", "450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed", CategoryUserUnknown, PermanenceTemporary},
		{"seed 1&1 black listed greeting", "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=80.150.6.137&c=bl", CategoryBlocklisted, PermanencePermanent},
		{"seed success", "250 2.1.5 OK", CategoryDeliverable, PermanenceSuccess},
		{"seed t-online accepted", "250 2.0.0 Message accepted.", CategoryDeliverable, PermanenceSuccess},
		{"postfix user unknown", "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in virtual mailbox table", CategoryUserUnknown, PermanencePermanent},
		{"postfix relay access denied", "554 5.7.1 <a@example.net>: Relay access denied", CategoryRelayDenied, PermanencePermanent},
		{"qmail rcpthosts", "553 sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)", CategoryRelayDenied, PermanencePermanent},
		{"postfix rbl", "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.9", CategoryBlocklisted, PermanencePermanent},
		{"postfix no reverse hostname", "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]", CategoryReverseDNS, PermanenceTemporary},
		{"postfix helo", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", CategoryReverseDNS, PermanencePermanent},
		{"postfix starttls required", "530 5.7.0 Must issue a STARTTLS command first", CategoryTLSRequired, PermanencePermanent},
		{"postfix too many connections", "421 4.7.0 mx.example.org Error: too many connections from 192.0.2.9", CategoryConnectionLimit, PermanenceTemporary},
		{"out of connection slots", "421 4.3.2 mx.example.org out of connection slots, try again later", CategoryConnectionLimit, PermanenceTemporary},
		{"postfix too many recipients per message", "452 4.5.3 Error: too many recipients", CategoryProtocolError, PermanenceTemporary},
		{"postfix size", "552 5.3.4 Message size exceeds fixed limit", CategoryMessageSize, PermanencePermanent},
		{"postfix not logged in", "553 5.7.1 <a@example.org>: Sender address rejected: not logged in", CategoryAuthRequired, PermanencePermanent},
		{"postfix insufficient storage", "452 4.3.1 Insufficient system storage", CategoryServerError, PermanenceTemporary},
		{"postgrey", "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html", CategoryGreylisted, PermanenceTemporary},
		{"rspamd greylist", "451 4.7.1 Try again later", CategoryGreylisted, PermanenceTemporary},
		{"postscreen busy", "421 4.3.2 Service currently unavailable", CategoryServerError, PermanenceTemporary},
		{"dovecot quota", "552 5.2.2 <a@example.org> Quota exceeded (mailbox for user is full)", CategoryMailboxFull, PermanencePermanent},
		{"dovecot temp", "451 4.3.0 <a@example.org> Temporary internal failure", CategoryServerError, PermanenceTemporary},
		{"exim unrouteable", "550 Unrouteable address", CategoryUserUnknown, PermanencePermanent},
		{"exim blacklist", "550 Rejected because 192.0.2.9 is in a black list at zen.spamhaus.org", CategoryBlocklisted, PermanencePermanent},
		{"exim too many", "421 Too many concurrent SMTP connections; please try again later.", CategoryConnectionLimit, PermanenceTemporary},
		{"gmail no such user", "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp", CategoryUserUnknown, PermanencePermanent},
		{"gmail disabled", "550-5.2.1 The email account that you tried to reach is disabled. Learn more at 550 5.2.1  https://support.google.com/mail/?p=DisabledUser x - gsmtp", CategoryMailboxDisabled, PermanencePermanent},
		{"gmail over quota", "452-4.2.2 The email account that you tried to reach is over quota. Please direct 452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp x - gsmtp", CategoryMailboxFull, PermanenceTemporary},
		{"gmail unsolicited rate", "421-4.7.0 [192.0.2.9 15] Our system has detected an unusual rate of unsolicited mail originating from your IP address. 421 4.7.0 To protect our users from spam, mail sent from your IP address has been temporarily rate limited.", CategoryRateLimited, PermanenceTemporary}, // Gmail 4.7.28/4.7.0 "temporarily rate limited": a rate limit (team brief, rule gmail-rate-limit)
		{"gmail dmarc", "550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users 550 5.7.26 and has been blocked.", CategoryPolicy, PermanencePermanent},
		{"gmail ptr", "550-5.7.25 [192.0.2.9] The IP address sending this message does not have a PTR record setup. 550 5.7.25 Learn more at https://support.google.com/mail/answer/81126 x - gsmtp", CategoryReverseDNS, PermanencePermanent},
		{"gmail receiving rate", "452-4.2.1 The user you are trying to contact is receiving mail at a rate that 452 4.2.1 prevents additional messages from being delivered.", CategoryRateLimited, PermanenceTemporary},
		{"gmail spam content", "550-5.7.1 [192.0.2.9] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. 550 5.7.1 Learn more at https://support.google.com/mail/?p=UnsolicitedMessageError x - gsmtp", CategoryContentSpam, PermanencePermanent},
		{"gmail auth", "530-5.7.0 Authentication Required. Learn more at 530 5.7.0  https://support.google.com/mail/?p=WantAuthError", CategoryAuthRequired, PermanencePermanent},
		{"microsoft dbeb", "550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [AM0PR01.eurprd01.prod.outlook.com]", CategoryUserUnknown, PermanencePermanent},
		{"microsoft block list", "550 5.7.1 Unfortunately, messages from [192.0.2.9] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", CategoryBlocklisted, PermanencePermanent},
		{"microsoft banned ip", "550 5.7.606 Access denied, banned sending IP [192.0.2.9]. To request removal from this list please visit https://sender.office.com/", CategoryBlocklisted, PermanencePermanent},
		{"microsoft throttled", "451 4.7.500 Server busy. Please try again later from [192.0.2.9]. (S77719)", CategoryRateLimited, PermanenceTemporary},
		{"microsoft concurrent", "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel", CategoryConnectionLimit, PermanenceTemporary},
		{"microsoft relay", "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", CategoryRelayDenied, PermanencePermanent},
		{"microsoft mailbox unavailable", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)", CategoryUserUnknown, PermanencePermanent},
		{"gmx black listed", "554-gmx.net (mxgmx114) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://postmaster.gmx.net/en/error-messages?ip=192.0.2.9&c=bl", CategoryBlocklisted, PermanencePermanent},
		{"gmx mailbox unavailable", "550 Requested action not taken: mailbox unavailable", CategoryUserUnknown, PermanencePermanent},
		{"gmx storage", "552 Requested mail action aborted: exceeded storage allocation", CategoryMailboxFull, PermanencePermanent},
		{"t-online BL", "554 IP=192.0.2.9 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)", CategoryBlocklisted, PermanencePermanent},
		{"generic 4xx", "451 4.3.5 Server configuration problem", CategoryServerError, PermanenceTemporary},
		{"syntax", "500 5.5.1 Command unrecognized", CategoryProtocolError, PermanencePermanent},
		{"generic 5xx", "554 5.7.1 <a@example.org>: Recipient address rejected: Go away", CategoryOther, PermanencePermanent},
		{"bare 550 no text", "550", CategoryOther, PermanencePermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := probe.ParseReply(tt.reply)
			require.NoError(t, err)
			cat, perm := Classify(r.Code, r.Enhanced, r.Text())
			assert.Equal(t, tt.cat, cat, "category")
			assert.Equal(t, tt.perm, perm, "permanence")
		})
	}
}

// Postfix's own reasons (no reply code): explain and maillog input.
func TestClassifyPostfixReasons(t *testing.T) {
	tests := []struct {
		dsn, reason string
		cat         Category
		perm        Permanence
	}{
		{"4.4.1", "connect to mx.example.org[192.0.2.1]:25: Connection refused", CategoryConnectionRefused, PermanenceTemporary},
		{"4.4.1", "connect to mx.example.org[192.0.2.1]:25: Connection timed out", CategoryConnectionTimeout, PermanenceTemporary},
		{"4.4.1", "connect to mx.example.org[192.0.2.1]:25: No route to host", CategoryConnectionRefused, PermanenceTemporary},
		{"4.4.2", "conversation with mx.example.org[192.0.2.1] timed out while receiving the initial server greeting", CategoryConnectionTimeout, PermanenceTemporary},
		{"4.4.2", "lost connection with mx.example.org[192.0.2.1] while receiving the initial server greeting", CategoryServerError, PermanenceTemporary},
		{"4.4.3", "Host or domain name not found. Name service error for name=example.org type=MX: Host not found, try again", CategoryDNSFailure, PermanenceTemporary},
		{"5.4.4", "Host or domain name not found. Name service error for name=example.invalid type=A: Host not found", CategoryDNSFailure, PermanencePermanent},
		{"5.1.0", "Domain example.com does not accept mail (nullMX)", CategoryNullMX, PermanencePermanent},
		{"4.7.5", "Cannot start TLS: handshake failure", CategoryProtocolError, PermanenceTemporary},
		{"4.7.4", "TLS is required, but was not offered by host mx.example.org[192.0.2.1]", CategoryTLSRequired, PermanenceTemporary},
		{"5.4.6", "mail for example.org loops back to myself", CategoryOther, PermanencePermanent},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			cat, perm := Classify(0, tt.dsn, tt.reason)
			assert.Equal(t, tt.cat, cat)
			assert.Equal(t, tt.perm, perm)
		})
	}
}

// format_tv(…, 2, 2) as log_adhoc.c calls it; expected values worked out
// from format_tv.c and checked against the seed lines (delay=6.1,
// delays=2.4/0/0.19/3.5; delay=0.45; delay=0.07; delays=4.3/0/0/0.1).
func TestFormatDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{4 * ms, "0"},
		{5 * ms, "0.01"},
		{70 * ms, "0.07"},
		{190 * ms, "0.19"},
		{194 * ms, "0.19"},
		{195 * ms, "0.2"},
		{450 * ms, "0.45"},
		{100 * ms, "0.1"},
		{999 * ms, "1"},
		{2400 * ms, "2.4"},
		{3500 * ms, "3.5"},
		{6100 * ms, "6.1"},
		{6140 * ms, "6.1"},
		{9960 * ms, "10"},
		{12300 * ms, "12"},
		{154400 * ms, "154"},
		{3804 * time.Second, "3804"},
		{-time.Second, "0"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, FormatDelay(tt.d), "%v", tt.d)
	}
}

func TestRank(t *testing.T) {
	v := func(s Status) Verdict { return Verdict{Status: s} }
	assert.Equal(t, RankOK, RankVerdicts(nil))
	assert.Equal(t, RankOK, RankVerdicts([]Verdict{v(StatusDeliverable), v(StatusDeliverable)}))
	assert.Equal(t, RankUndeliverable, RankVerdicts([]Verdict{v(StatusDeferred), v(StatusUndeliverable)}))
	assert.Equal(t, RankDeferred, RankVerdicts([]Verdict{v(StatusDeliverable), v(StatusDeferred)}))
	assert.Equal(t, RankDeferred, RankVerdicts([]Verdict{v(StatusNotChecked)}))
	s := NewBatchSummary()
	s.ByStatus[StatusDeliverable] = 2
	s.ByStatus[BatchStatusSkipped] = 1
	assert.Equal(t, RankOK, RankBatch(s))
	s.ByStatus[BatchStatusInvalid] = 1
	assert.Equal(t, RankUndeliverable, RankBatch(s))
	assert.Equal(t, RankDeferred, Explained{Status: "undeliverable", DSN: "4.1.1"}.Rank())
	assert.Equal(t, RankUndeliverable, Explained{Status: "undeliverable", DSN: "5.1.1"}.Rank())
	assert.Equal(t, RankOK, Explained{Permanence: PermanenceSuccess}.Rank())
	assert.Equal(t, RankDeferred, Explained{Permanence: PermanenceUnknown}.Rank())
}
