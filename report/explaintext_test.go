package report

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzExplainText covers the text readers (bare replies, every MTA's
// log line and bounce forms, NDRs, DSNs): any input gets a well-formed
// answer and never a panic, and the same answer twice (the cache). Seeds
// are real corpus texts (testdata/fuzz/FuzzExplainText.sources.txt).
func FuzzExplainText(f *testing.F) {
	f.Add("550 5.1.1 <a@b> User unknown")
	f.Add("delivery 245: failure: Unable_to_run_qmail-remote./")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ExplainText(s)
		if err != nil {
			if err != ErrEmptyInput {
				t.Fatalf("error %v for %q", err, s)
			}
			return
		}
		if !slices.Contains(Categories, e.Category) {
			t.Fatalf("category %q for %q", e.Category, s)
		}
		if !slices.Contains([]Permanence{PermanenceSuccess, PermanenceTemporary, PermanencePermanent, PermanenceUnknown}, e.Permanence) {
			t.Fatalf("permanence %q for %q", e.Permanence, s)
		}
		if !slices.Contains(Parties, e.Party) || e.Party != e.Explanation.Party {
			t.Fatalf("party %q/%q for %q", e.Party, e.Explanation.Party, s)
		}
		if _, ok := kindNames[e.Kind]; !ok {
			t.Fatalf("kind %q for %q", e.Kind, s)
		}
		if e.Code != 0 && (e.Code < 200 || e.Code > 599) {
			t.Fatalf("code %d for %q", e.Code, s)
		}
		if e.Explanation.What == "" || e.Explanation.Next == "" {
			t.Fatalf("empty explanation for %q", s)
		}
		again, _ := ExplainText(s)
		if again.Category != e.Category || again.Permanence != e.Permanence || again.Party != e.Party {
			t.Fatalf("second answer differs for %q", s)
		}
	})
}

// Who has to act when the log line's context, not the reply, says it:
// smtpd rejecting a client for its own trouble, Postfix smtp(8) failing
// to log in to the next hop, a warning about one of master.cf's own
// services. Texts from testdata/explain/corpus.jsonl (sources there).
func TestExplainTextPartyFromContext(t *testing.T) {
	for _, tc := range []struct {
		text  string
		cat   Category
		party Party
	}{
		{"reject:         MAIL from host[10.0.0.1]: 451 4.3.0 <f@example.com>:  Temporary lookup failure;                                         from=<f@example.com>                     proto=ESMTP helo=<example.com>", CategoryServerError, PartyLocal},
		{"SASL authentication failed; server example.com[10.0.0.1] said: 535 Error: authentication failed", CategoryAuthRequired, PartyLocal},
		{"warning: problem talking to service private/scache: Connection timed out", CategoryConnectionTimeout, PartyLocal},
		{"reject:         RCPT from host[10.0.0.1]: 450 4.1.2 <to@example.com>: Recipient address rejected: Domain not found;                      from=<f@sample.net> to=<eto@example.com> proto=ESMTP helo=<sample.net>", CategoryDNSFailure, PartySender},
		{"Jun 29 13:54:29 server exim[1234]: H=(smtpclient.test) [1.136.28.14]:17125 X=TLS1.3:TLS_AES_128_GCM_SHA256:128 CV=no F=<info@toto.com.au> rejected RCPT <tutu@titi.com.au>: SMTP AUTH is required for message submission on port 587", CategoryAuthRequired, PartySender},
		// An instance of smtp_proto.c's format string (not a recorded log line).
		{"to=<a@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1, delays=0/0/1/0, dsn=4.7.4, status=deferred (TLS is required, but host mx.example.org[192.0.2.1] refused to start TLS: 454 4.7.0 TLS not available due to local problem)", CategoryTLSRequired, PartyLocal},
		{"relay=a.b.c[x.x.x.x]:25, delay=151584, delays=151578/0.02/6.2/0, dsn=4.7.0, status=deferred (SASL authentication failed: server a.b.c[x.x.x.x] offered no compatible authentication mechanisms for this type of connection security)", CategoryAuthRequired, PartyLocal},
	} {
		e, err := ExplainText(tc.text)
		require.NoError(t, err)
		assert.Equal(t, tc.cat, e.Category, tc.text)
		assert.Equal(t, tc.party, e.Party, tc.text)
	}
}

// A reply in a comma-separated field (Exchange's SMTP protocol log,
// crowdsecurity/hub:.tests/exchange-smtp-bf/exchange-smtp-bf.log) counts
// with its enhanced code; a bare number after a comma does not (the
// second text is a constructed negative case, not a recorded line).
func TestExplainTextCommaField(t *testing.T) {
	e, err := ExplainText(`2022-07-20T21:12:06.270Z,EXCHANGE-1\Default Frontend EXCHANGE-1,08DA4F7C11473A60,9,192.168.9.241:25,192.168.9.212:53722,>,535 5.7.3 Authentication unsuccessful,`)
	require.NoError(t, err)
	assert.Equal(t, 535, e.Code)
	assert.Equal(t, "5.7.3", e.Enhanced)
	assert.Equal(t, CategoryAuthRequired, e.Category)
	assert.Equal(t, PermanencePermanent, e.Permanence)

	e, err = ExplainText("Jun 17 14:37:39 robin sm-mta[2794]: 55HIbcGI002794: from=<root@yourhost.com>, size=108,550 bytes")
	require.NoError(t, err)
	assert.Equal(t, 0, e.Code)
}
