package report

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lines from the seeds (/work/shared/seeds: German hosting docs) and
// from real Postfix logs.
var seedLines = []string{
	"5: HTO01FLQJSLO [09/Mar/2021:09:02:11 +0100] 2021-03-09 09:02:11+01:00 c4avsmail04 postfix/smtp[5196]: A6B12241F2: to=<test@t-online.de>, relay=mx01.t-online.de[194.25.134.72]:25, delay=6.1, delays=2.4/0/0.19/3.5, dsn=2.0.0, status=sent (250 2.0.0 Message accepted.)",
	"5:HTO01FLQJSLO [09/Mar/2021:12:40:13 +0100] 2021-03-09 12:40:13+01:00 c4avsmail04 postfix/smtp[8996]: E6C1D24606: host mx01.kundenserver.de[xxx.xx.xxx.xx] refused to talk to me: 554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=80.150.6.137&c=bl",
	"Sep 12 10:15:30 mailserver postfix/smtp[1234]: 3B2E160C2A: to=<empfaenger@example.com>, relay=smtp.example.com[192.168.1.100]:25, delay=0.45, delays=0.1/0.02/0.2/0.13, dsn=2.0.0, status=sent (250 2.0.0 OK)",
	" Nov  4 20:53:55 vml000087 postfix/lmtp[4942]: 8EC29C00088: to=<django@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.07, delays=0.02/0.02/0/0.03, dsn=2.1.5, status=deliverable (250 2.1.5 OK)",
	" Nov  4 20:53:58 vml000087 postfix/lmtp[4942]: 904BBC00088: to=<django@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=4.4, delays=4.3/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <django@nausch.org> OAlZJdMuWVRiJQAArK2B9Q Saved)",
	" Nov  4 21:09:50 vml000087 postfix/lmtp[5001]: 14246C00088: to=<paeddrigg@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.08, delays=0.03/0.01/0.01/0.02, dsn=5.1.1, status=undeliverable (host 10.0.0.77[10.0.0.77] said: 550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org (in reply to RCPT TO command))",
	" Nov  4 21:09:53 vml000087 postfix/smtpd[4994]: NOQUEUE: reject: RCPT from vml000020.dmz.nausch.org[10.0.0.20]: 450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed; from=<michael@nausch.org> to=<paeddrigg@nausch.org> proto=SMTP helo=<pml010048>",
	"Mar 14 02:44:00 letterman postfix/smtp[53185]: BB40124D8D: to=<example@hotmai.com>, relay=none, delay=3804, delays=3804/0/0.01/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=hotmai.com type=A: Host found but no data record of requested type)",
	"Jan  1 00:00:00 mx postfix/smtp[1]: 4F00A1: to=<u@example.org>, orig_to=<alias@example.org>, relay=none, delay=30, delays=0.01/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.org[192.0.2.1]:25: Connection timed out)",
	"to=<user1@example.com>, relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.1.0, status=bounced (Domain example.com does not accept mail (nullMX))",
}

func TestParsePostfixLine(t *testing.T) {
	pl, err := ParsePostfixLine(seedLines[0])
	require.NoError(t, err)
	assert.Equal(t, LineDelivery, pl.Kind)
	assert.Equal(t, "postfix/smtp", pl.Program)
	assert.Equal(t, "5196", pl.PID)
	assert.Equal(t, "A6B12241F2", pl.QueueID)
	assert.Equal(t, "test@t-online.de", pl.To)
	assert.Equal(t, "mx01.t-online.de[194.25.134.72]:25", pl.Relay)
	assert.Equal(t, 6100*time.Millisecond, pl.Delay)
	assert.True(t, pl.HasDelays)
	assert.Equal(t, [4]time.Duration{2400 * time.Millisecond, 0, 190 * time.Millisecond, 3500 * time.Millisecond}, pl.Delays)
	assert.Equal(t, "2.0.0", pl.DSN)
	assert.Equal(t, "sent", pl.Status)
	assert.Equal(t, "250 2.0.0 Message accepted.", pl.Reason)
	assert.Equal(t, "250 2.0.0 Message accepted.", pl.Reply)

	pl, err = ParsePostfixLine(seedLines[5])
	require.NoError(t, err)
	assert.Equal(t, "undeliverable", pl.Status)
	assert.Equal(t, "10.0.0.77[10.0.0.77]", pl.Host)
	assert.Equal(t, "RCPT TO", pl.Command)
	assert.Equal(t, "550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org", pl.Reply)

	pl, err = ParsePostfixLine(seedLines[6])
	require.NoError(t, err)
	assert.Equal(t, LineReject, pl.Kind)
	assert.Equal(t, "NOQUEUE", pl.QueueID)
	assert.Equal(t, "RCPT TO", pl.Command)
	assert.Equal(t, "vml000020.dmz.nausch.org[10.0.0.20]", pl.Host)
	assert.Equal(t, "450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed", pl.Reply)
	assert.Equal(t, "michael@nausch.org", pl.From)
	assert.Equal(t, "paeddrigg@nausch.org", pl.To)
	assert.Equal(t, "SMTP", pl.Proto)
	assert.Equal(t, "pml010048", pl.Helo)

	pl, err = ParsePostfixLine(seedLines[1])
	require.NoError(t, err)
	assert.Equal(t, LineNote, pl.Kind)
	assert.Equal(t, "mx01.kundenserver.de[xxx.xx.xxx.xx]", pl.Host)
	assert.True(t, strings.HasPrefix(pl.Reply, "554-kundenserver.de"))

	pl, err = ParsePostfixLine(seedLines[8])
	require.NoError(t, err)
	assert.Equal(t, "alias@example.org", pl.OrigTo)
	assert.Equal(t, "connect to mx.example.org[192.0.2.1]:25: Connection timed out", pl.Reason)
	assert.Empty(t, pl.Reply)

	pl, err = ParsePostfixLine(seedLines[9])
	require.NoError(t, err)
	assert.Equal(t, "Domain example.com does not accept mail (nullMX)", pl.Reason, "nested parentheses survive")

	for _, bad := range []string{"", "hello world", "Nov  4 20:53:54 vml000087 postfix/smtpd[4934]: connect from x[10.0.0.20]", "550 5.1.1 no"} {
		_, err := ParsePostfixLine(bad)
		assert.ErrorIs(t, err, ErrNotPostfixLine, bad)
	}
}

func TestExplainText(t *testing.T) {
	tests := []struct {
		in       string
		code     int
		enhanced string
		cat      Category
		perm     Permanence
		status   string
		dsn      string
	}{
		{"550 5.1.1 <a@b> User unknown", 550, "5.1.1", CategoryUserUnknown, PermanencePermanent, "", ""},
		{"554-a\n554-IP address is black listed.\n554 c", 554, "", CategoryBlocklisted, PermanencePermanent, "", ""},
		{"554-a 554-IP address is black listed. 554 c", 554, "", CategoryBlocklisted, PermanencePermanent, "", ""},
		{seedLines[0], 250, "2.0.0", CategoryDelivered, PermanenceSuccess, "sent", "2.0.0"},
		{seedLines[3], 250, "2.1.5", CategoryDeliverable, PermanenceSuccess, "deliverable", "2.1.5"},
		{seedLines[5], 550, "5.1.1", CategoryUserUnknown, PermanencePermanent, "undeliverable", "5.1.1"},
		{seedLines[6], 450, "4.1.1", CategoryUserUnknown, PermanenceTemporary, "", ""},
		{seedLines[7], 0, "5.4.4", CategoryDNSFailure, PermanencePermanent, "bounced", "5.4.4"},
		{seedLines[8], 0, "4.4.1", CategoryConnectionTimeout, PermanenceTemporary, "deferred", "4.4.1"},
		{seedLines[9], 0, "5.1.0", CategoryNullMX, PermanencePermanent, "bounced", "5.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			e, err := ExplainText(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.enhanced, e.Enhanced)
			assert.Equal(t, tt.cat, e.Category)
			assert.Equal(t, tt.perm, e.Permanence)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.dsn, e.DSN)
			assert.NotEmpty(t, e.Explanation.What)
		})
	}
	_, err := ExplainText("  \n")
	assert.ErrorIs(t, err, ErrEmptyInput)
	// Well-formed text the classifier cannot place still gets an answer.
	e, err := ExplainText("this is not a reply")
	require.NoError(t, err)
	assert.Equal(t, CategoryOther, e.Category)
	assert.Equal(t, PermanenceUnknown, e.Permanence)
}

// FuzzParsePostfixLine: the parser must never panic, and what it
// returns must come from the line.
func FuzzParsePostfixLine(f *testing.F) {
	for _, l := range seedLines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		pl, err := ParsePostfixLine(line)
		if err != nil {
			return
		}
		for _, s := range []string{pl.To, pl.Relay, pl.DSN, pl.Status, pl.Reply, pl.QueueID, pl.Program} {
			if !strings.Contains(line, s) {
				t.Fatalf("field %q not in line %q", s, line)
			}
		}
		if pl.Kind != LineDelivery && pl.Kind != LineReject && pl.Kind != LineNote {
			t.Fatalf("kind %q", pl.Kind)
		}
		_, _ = ExplainText(line)
	})
}

// The regexps the hand-written cutters replaced, kept here as the
// reference they must agree with.
var (
	oldSyslogTag = regexp.MustCompile(`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)\[(\d+)\]:\s+`)
	oldSaid      = regexp.MustCompile(`^host (\S+\[[^\]]*\]) said: (.*) \(in reply to (.+?) command\)$`)
	oldReject    = regexp.MustCompile(`^(?:reject|milter-reject|discard|hold|warn): (\S+) from (\S+?): (.*)$`)
)

// FuzzCuttersMatchRegexps: on any line the hand-written cutters find
// what the old regexps found.
func FuzzCuttersMatchRegexps(f *testing.F) {
	for _, l := range seedLines {
		f.Add(l)
	}
	f.Add("host mx[1.2.3.4] said: 550 x (in reply to RCPT TO command)")
	f.Add("reject: RCPT from a[1.2.3.4]: 554 5.7.1 x; from=<a> to=<b> proto=ESMTP helo=<c>")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if m := oldSyslogTag.FindStringSubmatchIndex(s); m != nil {
			prog, pid, end, ok := findSyslogTag(s)
			if !ok || prog != s[m[2]:m[3]] || pid != s[m[4]:m[5]] || end != m[1] {
				t.Fatalf("syslog tag of %q: regexp %q %q %d, cutter %q %q %d %v", s, s[m[2]:m[3]], s[m[4]:m[5]], m[1], prog, pid, end, ok)
			}
		}
		if m := oldSaid.FindStringSubmatch(s); m != nil {
			host, rest, ok := cutHost(s, "host ", " said: ")
			i := strings.LastIndex(rest, " (in reply to ")
			if !ok || host != m[1] || i < 0 || rest[:i] != m[2] {
				t.Fatalf("said of %q: regexp %q, cutter %q %q %v", s, m[1:], host, rest, ok)
			}
		}
		if m := oldReject.FindStringSubmatch(s); m != nil && !strings.ContainsAny(s, "\n\r\t\f\v") {
			cmd, host, body, ok := cutReject(s)
			if !ok || cmd != m[1] || host != m[2] || body != m[3] {
				t.Fatalf("reject of %q: regexp %q, cutter %q %q %q %v", s, m[1:], cmd, host, body, ok)
			}
		}
	})
}

// Column-aligned quotes of Postfix lines (postfix-logwatch's #TD test
// data, jsoref/logwatch-mirror:scripts/services/postfix@be8b7fd2cd925c7de9443f7c341f647075811a9c):
// runs of spaces between the fields, and "reject:" without "NOQUEUE: ",
// which must not be read as a long queue ID.
func TestParsePostfixLineAligned(t *testing.T) {
	for _, tc := range []struct {
		line                           string
		kind                           LineKind
		cmd, host, to, from, status, r string
	}{
		{line: "reject:         RCPT from host[10.0.0.1]: 452                         Insufficient system storage;                                      from=<f@sample.com> to=<eto@sample.net>",
			kind: LineReject, cmd: "RCPT TO", host: "host[10.0.0.1]", to: "eto@sample.net", from: "f@sample.com",
			r: "452                         Insufficient system storage"},
		{line: "reject:      CONNECT from unk[unknown]:  421 4.7.1                    Client host rejected: cannot find your reverse hostname, [unknown];                                         proto=SMTP",
			kind: LineReject, cmd: "CONNECT", host: "unk[unknown]",
			r: " 421 4.7.1                    Client host rejected: cannot find your reverse hostname, [unknown];                                         proto=SMTP"},
		{line: "to=<envto@example.com>,                  relay=none,  delay=0,                                       status=bounced (Host or domain name not found. Name service error for name=unknown.com type=A: Host not found)",
			kind: LineDelivery, to: "envto@example.com", status: "bounced",
			r: "Host or domain name not found. Name service error for name=unknown.com type=A: Host not found"},
	} {
		pl, err := ParsePostfixLine(tc.line)
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.kind, pl.Kind, tc.line)
		assert.Equal(t, tc.cmd, pl.Command, tc.line)
		assert.Equal(t, tc.host, pl.Host, tc.line)
		assert.Equal(t, tc.to, pl.To, tc.line)
		assert.Equal(t, tc.from, pl.From, tc.line)
		assert.Equal(t, tc.status, pl.Status, tc.line)
		assert.Equal(t, tc.r, pl.Reason, tc.line)
		assert.Empty(t, pl.QueueID, tc.line)
	}
}
