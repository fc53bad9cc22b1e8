package postfixconf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testConfig(p map[string]string) *Config {
	c := &Config{P: map[string]string{}, RejectCode: 450, DeferCode: 450, PollCount: 3, PollDelay: 3 * time.Second,
		PosExpire: 31 * 24 * time.Hour, PosRefresh: 7 * 24 * time.Hour, NegExpire: 3 * 24 * time.Hour, NegRefresh: 3 * time.Hour}
	for k, v := range p {
		c.P[k] = v
	}
	return c
}

// The wordings are smtpd_check.c's; the 550 and 450 replies below are also
// what the real Postfix of scripts/postfix-verify-up answered (see
// integration/postfixverify_test.go, which compares every prediction with
// it byte for byte).
func TestPredictReply(t *testing.T) {
	const why = "host 127.0.2.24[127.0.2.24] said: 550 5.1.1 <nobody@it.test> User doesn't exist: nobody@it.test (in reply to RCPT TO command)"
	long := strings.Repeat("x", 300)
	cases := []struct {
		name      string
		cfg       *Config
		st        VerifyStatus
		text      string
		wantPred  Prediction
		wantReply string
	}{
		{"deliverable", testConfig(nil), VerifyOK, "250 2.1.5 OK", PredictAccept, "250 2.1.5 Ok"},
		{"bounce with reject code 550", func() *Config { c := testConfig(nil); c.RejectCode = 550; return c }(), VerifyBounce, why,
			PredictReject, "550 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: " + why},
		// the default unverified_recipient_reject_code is 450: a bounce reads "unverified address"
		{"bounce with the default 450", testConfig(nil), VerifyBounce, why,
			PredictDefer, "450 4.1.1 <nobody@it.test>: Recipient address rejected: unverified address: " + why},
		{"deferred", testConfig(nil), VerifyDefer, "connect to pv.it.test[private/dovecot-lmtp]: No such file or directory",
			PredictDefer, "450 4.1.1 <nobody@it.test>: Recipient address rejected: unverified address: connect to pv.it.test[private/dovecot-lmtp]: No such file or directory"},
		{"in progress", testConfig(nil), VerifyPending, InProgressText,
			PredictDefer, "450 4.1.1 <nobody@it.test>: Recipient address rejected: unverified address: Address verification in progress"},
		{"4xx text cut at 250", testConfig(nil), VerifyDefer, long,
			PredictDefer, "450 4.1.1 <nobody@it.test>: Recipient address rejected: unverified address: " + long[:250]},
		{"reject reason replaces the text", func() *Config {
			c := testConfig(map[string]string{"unverified_recipient_reject_reason": "Address lookup failed"})
			c.RejectCode = 550
			return c
		}(), VerifyBounce, why, PredictReject, "550 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: Address lookup failed"},
		{"soft_bounce turns 5 into 4", func() *Config {
			c := testConfig(map[string]string{"soft_bounce": "yes"})
			c.RejectCode = 550
			return c
		}(), VerifyBounce, why, PredictDefer, "450 4.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: " + why},
		{"554 keeps dsn class 5", func() *Config { c := testConfig(nil); c.RejectCode = 554; return c }(), VerifyBounce, "x",
			PredictReject, "554 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: x"},
		{"a bad code becomes 450 4.7.1", func() *Config { c := testConfig(nil); c.RejectCode = 650; return c }(), VerifyBounce, "x",
			PredictDefer, "450 4.7.1 Service unavailable"},
		{"controls become spaces", func() *Config { c := testConfig(nil); c.RejectCode = 550; return c }(), VerifyBounce, "a\tb\x01c",
			PredictReject, "550 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: a b c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, r := c.cfg.PredictReply("nobody@it.test", c.st, c.text)
			assert.Equal(t, c.wantPred, p)
			assert.Equal(t, c.wantReply, r)
		})
	}
	c := testConfig(nil)
	c.RejectCode = 550
	_, r := c.PredictReply("nobody@it.test", VerifyBounce, strings.Repeat("y", 600))
	assert.Len(t, r, smtpdReplyMax, "smtpd truncates replies to 510 bytes")
}

func TestUnlistedReply(t *testing.T) {
	c := testConfig(nil)
	p, r, ok := c.unlistedReply("postmaster@it.test", ClassRelay)
	require.True(t, ok)
	assert.Equal(t, PredictReject, p)
	// what the test instance answered for postmaster@it.test, absent from relay_recipients
	assert.Equal(t, "550 5.1.1 <postmaster@it.test>: Recipient address rejected: User unknown in relay recipient table", r)
	_, r, _ = testConfig(map[string]string{"unknown_virtual_mailbox_reject_code": "450"}).unlistedReply("a@v.test", ClassVirtual)
	assert.Equal(t, "450 4.1.1 <a@v.test>: Recipient address rejected: User unknown in virtual mailbox table", r)
	_, _, ok = c.unlistedReply("a@l.test", ClassLocal)
	assert.False(t, ok)
}

func TestErrorTransportResult(t *testing.T) {
	for _, c := range []struct {
		transport, nexthop string
		st                 VerifyStatus
		dsn, text          string
	}{
		{"error", "5.1.2 this domain no longer receives mail", VerifyBounce, "5.1.2", "this domain no longer receives mail"},
		{"error", "User unknown", VerifyBounce, "5.0.0", "User unknown"},
		{"error", "4.3.5 later", VerifyDefer, "4.3.5", "later"},
		{"retry", "4.3.2 try later", VerifyDefer, "4.3.2", "try later"},
		{"retry", "5.1.1 no", VerifyDefer, "4.1.1", "no"},
	} {
		st, dsn, text := errorTransportResult(c.transport, c.nexthop)
		assert.Equal(t, c.st, st, c.nexthop)
		assert.Equal(t, c.dsn, dsn, c.nexthop)
		assert.Equal(t, c.text, text, c.nexthop)
	}
}

// A verify cache entry as the test instance wrote it (postmap -s of its
// verify_cache after the seeding RCPT of scripts/postfix-verify-up).
const seededEntry = "1:0:1796181317:connect to pv.it.test[private/dovecot-lmtp]: No such file or directory"

func TestCacheEntry(t *testing.T) {
	e, ok := ParseCacheEntry(seededEntry)
	require.True(t, ok)
	assert.Equal(t, VerifyDefer, e.Status)
	assert.True(t, e.Probed.IsZero())
	assert.Equal(t, int64(1796181317), e.Updated.Unix())
	assert.Equal(t, "connect to pv.it.test[private/dovecot-lmtp]: No such file or directory", e.Text)

	for _, bad := range []string{"", "1:0:0:x", "9:0:1:x", "a:0:1:x", "1:0:1"} {
		_, ok := ParseCacheEntry(bad)
		assert.False(t, ok, bad)
	}
	// a text with colons keeps them
	e, ok = ParseCacheEntry("2:0:5:host a[b]:25 said: 550 x")
	require.True(t, ok)
	assert.Equal(t, "host a[b]:25 said: 550 x", e.Text)

	c := testConfig(nil)
	upd := time.Unix(1796181317, 0)
	for _, tc := range []struct {
		name    string
		raw     string
		now     time.Time
		current bool
	}{
		{"fresh negative", seededEntry, upd.Add(time.Hour), true},
		{"negative past expire", seededEntry, upd.Add(c.NegExpire + time.Second), false},
		{"positive within 31 days", "0:0:1796181317:ok", upd.Add(30 * 24 * time.Hour), true},
		{"positive expired", "0:0:1796181317:ok", upd.Add(32 * 24 * time.Hour), false},
		// an outstanding probe sent less than 1000 s ago keeps an expired entry
		{"expired but probe outstanding", "1:1796440000:1796181317:x", time.Unix(1796440500, 0), true},
	} {
		e, ok := ParseCacheEntry(tc.raw)
		require.True(t, ok, tc.name)
		c.judgeCache(&e, tc.now)
		assert.Equal(t, tc.current, e.Current, tc.name)
	}
	e, _ = ParseCacheEntry(seededEntry)
	c.judgeCache(&e, upd)
	assert.Equal(t, upd.Add(3*time.Hour), e.RefreshAt, "address_verify_negative_refresh_time")
}

func TestPostmapOutput(t *testing.T) {
	var b bytes.Buffer
	res := &Result{Recipient: "nobody@it.test", Prediction: PredictReject,
		PredictedReply: "550 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: host 127.0.2.24[127.0.2.24] said: 550 5.1.1 <nobody@it.test> User doesn't exist: nobody@it.test (in reply to RCPT TO command)"}
	require.NoError(t, Postmap(&b, res))
	// access(5) "5NN text": smtpd answers with the code, the DSN and "<addr>: Recipient
	// address rejected: " + text, i.e. exactly the predicted reply
	assert.Equal(t, "nobody@it.test  550 5.1.1 undeliverable address: host 127.0.2.24[127.0.2.24] said: 550 5.1.1 <nobody@it.test> User doesn't exist: nobody@it.test (in reply to RCPT TO command)\n", b.String())
	b.Reset()
	require.NoError(t, Postmap(&b, &Result{Recipient: "a@it.test", Prediction: PredictDefer, PredictedReply: "450 4.1.1 x"}))
	assert.Empty(t, b.String(), "only refusals")
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		unit byte
		want time.Duration
	}{{"3s", 's', 3 * time.Second}, {"3", 'h', 3 * time.Hour}, {"31d", 's', 31 * 24 * time.Hour}, {"1w", 'd', 7 * 24 * time.Hour}} {
		d, err := ParseTime(c.in, c.unit)
		require.NoError(t, err)
		assert.Equal(t, c.want, d, c.in)
	}
	for _, bad := range []string{"", "x", "3y", "-1s"} {
		_, err := ParseTime(bad, 's')
		assert.Error(t, err, bad)
	}
}
