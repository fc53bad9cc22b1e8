package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/internal/golden"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// sampleResult is a probe of three recipients over two domains: a dead
// primary MX and a live backup that knows one user, and a null MX.
func sampleResult(t *testing.T) *probe.Result {
	ms := time.Millisecond
	t0 := time.Date(2026, 3, 9, 9, 2, 5, 0, time.UTC)
	route := &mx.Route{Domain: "example.org", Hosts: []mx.MXHost{
		{Preference: 10, Name: "mx1.example.org", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		{Preference: 20, Name: "mx2.example.org", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}},
	}}
	dead := &probe.Attempt{Host: "mx1.example.org", Address: "192.0.2.1", Port: 25, Network: "tcp",
		Err:   &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseConnect},
		Steps: []probe.Step{{Phase: probe.PhaseConnect, Start: t0, Duration: 5 * time.Second, Err: "connect: timed out"}},
		Setup: 5 * time.Second}
	greet := mustReply(t, "220 mx2.example.org ESMTP Postfix")
	ehlo := mustReply(t, "250-mx2.example.org\n250-PIPELINING\n250-SIZE 10240000\n250-STARTTLS\n250 8BITMIME")
	ok := mustReply(t, "250 2.1.5 Ok")
	unknown := mustReply(t, "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table")
	live := &probe.Attempt{Host: "mx2.example.org", Address: "192.0.2.2", Port: 25, Network: "tcp", Local: "192.0.2.200:41234",
		Greeting:   greet,
		Extensions: map[string]string{"PIPELINING": "", "SIZE": "10240000", "STARTTLS": "", "8BITMIME": ""},
		TLS: &probe.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "mx2.example.org",
			Subject: "CN=mx2.example.org", Issuer: "CN=Example CA", DNSNames: []string{"mx2.example.org"},
			NotBefore: t0.AddDate(0, -1, 0), NotAfter: t0.AddDate(0, 2, 0), Verified: true},
		Steps: []probe.Step{
			{Phase: probe.PhaseConnect, Duration: 12 * ms},
			{Phase: probe.PhaseGreeting, Reply: greet, Duration: 30 * ms},
			{Phase: probe.PhaseEHLO, Command: "EHLO probe.example.net", Reply: ehlo, Duration: 8 * ms},
			{Phase: probe.PhaseMAIL, Command: "MAIL FROM:<postmaster@probe.example.net>", Reply: mustReply(t, "250 2.1.0 Ok"), Duration: 9 * ms},
			{Phase: probe.PhaseRCPT, Command: "RCPT TO:<user@example.org>", Reply: ok, Duration: 9 * ms},
			{Phase: probe.PhaseRCPT, Command: "RCPT TO:<nobody@example.org>", Reply: unknown, Duration: 9 * ms},
		},
		Setup: 80 * ms, Transaction: 27 * ms}
	live.Rcpts = []probe.RcptResult{
		{Recipient: "user@example.org", Phase: probe.PhaseRCPT, Reply: ok},
		{Recipient: "nobody@example.org", Phase: probe.PhaseRCPT, Reply: unknown},
	}
	dead.Rcpts = []probe.RcptResult{
		{Recipient: "user@example.org", Phase: probe.PhaseConnect, Err: dead.Err},
		{Recipient: "nobody@example.org", Phase: probe.PhaseConnect, Err: dead.Err},
	}
	d1 := &probe.DomainResult{Domain: "example.org", Route: route, DNSDuration: 21 * ms, Attempts: []*probe.Attempt{dead, live}}
	nullRoute := &mx.Route{Domain: "example.com", Err: &mx.Error{Kind: mx.ErrNullMX, Name: "example.com", Type: "MX"}}
	d2 := &probe.DomainResult{Domain: "example.com", Route: nullRoute, DNSDuration: 4 * ms}
	no := false
	out := func(rcpt string, d *probe.DomainResult, a *probe.Attempt, r *probe.Reply, err error, ph probe.Phase) *probe.Outcome {
		o := &probe.Outcome{Recipient: rcpt, Domain: d, Attempt: a, Reply: r, Err: err, Phase: ph, DNS: d.DNSDuration}
		if a != nil {
			o.Setup, o.Transaction = dead.Setup+a.Setup, a.Transaction
			o.CatchAll = &no
		}
		o.Total = o.DNS + o.Setup + o.Transaction
		return o
	}
	return &probe.Result{
		Started: t0, Duration: 5150 * ms,
		Config: probe.ConfigSummary{Protocol: probe.ProtocolSMTP, HELO: "probe.example.net", From: "postmaster@probe.example.net",
			Port: 25, STARTTLS: probe.TLSAuto},
		Domains: []*probe.DomainResult{d1, d2},
		Recipients: []*probe.Outcome{
			out("user@example.org", d1, live, ok, nil, probe.PhaseRCPT),
			out("nobody@example.org", d1, live, unknown, nil, probe.PhaseRCPT),
			out("info@example.com", d2, nil, nil, nullRoute.Err, probe.PhaseDNS),
		},
		DNSBL: []blacklist.Result{
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "zen.spamhaus.org", Status: blacklist.Clean, Codes: []string{}, Meanings: []string{}},
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "bl.spamcop.net", Status: blacklist.Unknown, Codes: []string{}, Meanings: []string{}, Error: "timeout"},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	res := sampleResult(t)
	var b bytes.Buffer
	require.NoError(t, Text(&b, res, TextOptions{}))
	golden.Check(t, "probe.txt", b.Bytes())

	b.Reset()
	require.NoError(t, Text(&b, res, TextOptions{Color: true}))
	assert.Contains(t, b.String(), ansiGreen+"deliverable"+ansiReset)
	assert.Contains(t, b.String(), ansiRed+"undeliverable"+ansiReset)

	b.Reset()
	require.NoError(t, JSON(&b, res))
	golden.Check(t, "probe.json", b.Bytes())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, SchemaProbe, doc["schema"])
	for _, k := range []string{"recipients", "mx", "hosts", "dnsbl", "config"} {
		assert.Contains(t, doc, k)
	}

	b.Reset()
	require.NoError(t, Postfix(&b, res))
	golden.Check(t, "probe.postfix", b.Bytes())

	routes := []*mx.Route{res.Domains[0].Route, res.Domains[1].Route}
	b.Reset()
	require.NoError(t, MXText(&b, routes, TextOptions{}))
	golden.Check(t, "mx.txt", b.Bytes())
	b.Reset()
	require.NoError(t, MXJSON(&b, routes))
	golden.Check(t, "mx.json", b.Bytes())
}

func TestExplainedTextGolden(t *testing.T) {
	var b bytes.Buffer
	for _, l := range []string{seedLines[5], seedLines[6], "421 4.3.2 mx.example.org out of connection slots"} {
		e, err := ExplainText(l)
		require.NoError(t, err)
		require.NoError(t, ExplainedText(&b, e))
		b.WriteString("--\n")
	}
	golden.Check(t, "explain.txt", b.Bytes())
}

func BenchmarkJudgeAll(b *testing.B) {
	res := sampleResult(&testing.T{})
	for b.Loop() {
		_ = JudgeAll(res)
	}
}

func BenchmarkClassify(b *testing.B) {
	text := "550-5.1.1 The email account that you tried to reach does not exist. Please try 550 5.1.1 double-checking the recipient's email address"
	for b.Loop() {
		_, _ = Classify(550, "5.1.1", text)
	}
}

// TestMXNoAddressNamesTheHost: when no MX host has an address, the route
// error shown is the host's own lookup error, as Postfix reports it, not
// a "domain does not exist".
func TestMXNoAddressNamesTheHost(t *testing.T) {
	rt := &mx.Route{Domain: "noaddr.example", Family: mx.FamilyAny,
		Err: &mx.Error{Kind: mx.ErrNoAddress, Name: "noaddr.example", Type: "MX"},
		Hosts: []mx.MXHost{{Preference: 10, Name: "gone.noaddr.example",
			Err: &mx.Error{Kind: mx.ErrNoHostAddress, Name: "gone.noaddr.example", Type: "AAAA", Rcode: "NOERROR"}}}}
	var b bytes.Buffer
	require.NoError(t, MXText(&b, []*mx.Route{rt}, TextOptions{}))
	assert.Contains(t, b.String(), "error: Host or domain name not found. Name service error for name=gone.noaddr.example type=AAAA: Host found but no data record of requested type")
	assert.NotContains(t, b.String(), "does not exist in DNS")
	b.Reset()
	require.NoError(t, MXJSON(&b, []*mx.Route{rt}))
	assert.Contains(t, b.String(), "name=gone.noaddr.example type=AAAA")
}

// TestWhoActsOnUnknownText: text that states no known cause does not
// blame the sender; it says who has to find out.
func TestWhoActsOnUnknownText(t *testing.T) {
	for text, want := range map[string]string{
		"550 Access denied":               "Who acts:      unclear from the text; you, the sending side, have to find out",
		"550 5.1.1 No such user":          "Who acts:      the recipient or their admin",
		"554 5.7.1 Spam message rejected": "Who acts:      you, the sending side (your IP",
	} {
		e, err := ExplainText(text)
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, ExplainedText(&b, e))
		assert.Contains(t, b.String(), want, text)
	}
}

// TestUnverifiedBackendUnreachable: a receiving Postfix whose verify(8)
// probe cannot reach its own backend logs "unverified address: connect to
// …": the cause is that connection, and the log's owner has to act — not
// an unknown user (the rule postfix-unverified-unreachable; the line is
// https://github.com/modoboa/modoboa/issues/1131).
func TestUnverifiedBackendUnreachable(t *testing.T) {
	e, err := ExplainText("Jun  1 11:46:57 icrvsgw003-wina postfix/smtpd[14628]: NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 450 4.1.1 <recipient@otherdomain.com>: Recipient address rejected: unverified address: connect to modoboa.server.com[private/dovecot-lmtp]: No such file or directory; from=<sender@domain.com> to=<recipient@otherdomain.com> proto=ESMTP helo=<smtp10.domain.com>")
	require.NoError(t, err)
	assert.Equal(t, CategoryConnectionRefused, e.Category)
	assert.Equal(t, PermanenceTemporary, e.Permanence)
	assert.Equal(t, PartyLocal, e.Party)
	assert.Contains(t, e.Explanation.What, "one of your own mail services failed")
}
