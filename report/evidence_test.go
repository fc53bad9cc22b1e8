package report

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// TestBlocklistEvidenceUnknownIsNotClean: #10 item 1. Only lists that
// answered "not listed" count as clean; a list the reply names is cited;
// the reply's own address beats the guess about private addresses.
func TestBlocklistEvidenceUnknownIsNotClean(t *testing.T) {
	// The lab's wording with a list that answers REFUSED, as the issue saw it.
	const reply = "554 5.7.1 Service unavailable; Client host [127.0.0.10] blocked using bl.lab.test"
	refused := func(list string) blacklist.Result {
		return blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: list, Status: blacklist.Unknown, Error: "resolver failure: REFUSED"}
	}
	build := func(t *testing.T, rs ...blacklist.Result) (*probe.Outcome, *probe.Result) {
		a := tcpAttempt("mx1.blocked.lab.test", "127.0.0.16", 25)
		a.Local = "127.0.0.10:40000"
		o, res := fixture("a@blocked.lab.test", a, probe.PhaseRCPT, mustReply(t, reply), nil)
		res.LocalPrivate = true
		res.ServerSaw = []string{"127.0.0.10"}
		res.DNSBLNamed = []string{"bl.lab.test"}
		res.DNSBL = rs
		return o, res
	}
	t.Run("every list refused", func(t *testing.T) {
		o, res := build(t, refused("zen.spamhaus.org"), refused("bl.spamcop.net"), refused("bl.lab.test"))
		c := Judge(o, res).Explanation.Cause
		assert.NotContains(t, c, "provider's own list")
		assert.NotContains(t, c, "None of the")
		assert.Contains(t, c, "No list could be asked about 127.0.0.10")
		assert.Contains(t, c, "not the same as clean")
		assert.Contains(t, c, "bl.lab.test could not be asked about 127.0.0.10 (resolver failure: REFUSED)")
		assert.NotContains(t, c, "private", "the reply names the address the server saw")
	})
	t.Run("some clean, some refused", func(t *testing.T) {
		o, res := build(t, blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: "bl.spamcop.net", Status: blacklist.Clean},
			refused("zen.spamhaus.org"), refused("bl.lab.test"))
		c := Judge(o, res).Explanation.Cause
		assert.Contains(t, c, "1 list answered that 127.0.0.10 is not listed; 2 lists could not be asked")
		assert.NotContains(t, c, "provider's own list")
	})
	t.Run("the named list lists it", func(t *testing.T) {
		o, res := build(t, blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: "bl.spamcop.net", Status: blacklist.Clean},
			blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: "bl.lab.test", Status: blacklist.Listed, Codes: []string{"127.0.0.2"}})
		c := Judge(o, res).Explanation.Cause
		assert.Contains(t, c, "Listed: bl.lab.test lists 127.0.0.10 (127.0.0.2)")
	})
	t.Run("the named list does not list it now", func(t *testing.T) {
		o, res := build(t, blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: "bl.lab.test", Status: blacklist.Clean})
		c := Judge(o, res).Explanation.Cause
		assert.Contains(t, c, "Named in the reply: bl.lab.test does not list 127.0.0.10 now")
		assert.NotContains(t, c, "provider's own list", "the reply names a public list")
	})
	t.Run("the server saw another address than ours", func(t *testing.T) {
		o, res := build(t, blacklist.Result{Target: "192.0.2.200", Address: "192.0.2.200", List: "bl.lab.test", Status: blacklist.Listed, Codes: []string{"127.0.0.2"}})
		res.ServerSaw = []string{"192.0.2.200"}
		c := Judge(o, res).Explanation.Cause
		assert.Contains(t, c, "bl.lab.test lists 192.0.2.200")
		assert.Contains(t, c, "The reply says the server saw 192.0.2.200; that address was checked.")
		assert.NotContains(t, c, "private")
	})
	t.Run("no address named: private note stays", func(t *testing.T) {
		o, res := build(t, blacklist.Result{Target: "127.0.0.10", Address: "127.0.0.10", List: "bl.spamcop.net", Status: blacklist.Clean})
		res.ServerSaw, res.DNSBLNamed = nil, nil
		c := Judge(o, res).Explanation.Cause
		assert.Contains(t, c, "None of the 1 checked lists has 127.0.0.10, so the block is most likely the provider's own list.")
		assert.Contains(t, c, "private")
	})
}

// TestBlockLike: #10 item 3, the classifier's side: which refusals make
// --dnsbl auto ask the lists.
func TestBlockLike(t *testing.T) {
	tests := []struct {
		phase probe.Phase
		reply string
		want  bool
	}{
		{probe.PhaseRCPT, "554 5.7.1 Service unavailable; Client host [127.0.2.66] blocked using dnsbl.test; Listed for testing, see https://dnsbl.test/query?ip=127.0.2.66", true},
		{probe.PhaseGreeting, "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available\r\n554-No SMTP service\r\n554-IP address is black listed.\r\n554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=127.0.0.1&c=bl", true},
		{probe.PhaseRCPT, "450 4.7.1 <alice@greylist.lab.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylist.lab.test.html", false},
		{probe.PhaseRCPT, "550 5.1.1 <carol@it.test> User doesn't exist: carol@it.test", false},
		{probe.PhaseRCPT, "452 4.2.2 <alice@full.it.test>: Recipient address rejected: Mailbox full", false},
		{probe.PhaseRCPT, "554 5.7.1 <a@example.org>: Relay access denied", false},
		{probe.PhaseGreeting, "421 newd1.sm66.com out of connection slots", false},
		{probe.PhaseRCPT, "250 2.1.5 Ok", false},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			assert.Equal(t, tt.want, BlockLike(tt.phase, mustReply(t, tt.reply)))
		})
	}
}

// TestMXHostWithoutAddressIsNotAMissingDomain: #10 item 5. A domain
// whose MX host has no address exists; the explanation names the host
// and does not send the admin back to `mailprobe mx`.
func TestMXHostWithoutAddressIsNotAMissingDomain(t *testing.T) {
	rt := &mx.Route{Domain: "noaddr.lab.test",
		Hosts: []mx.MXHost{{Preference: 10, Name: "mx1.noaddr.lab.test",
			Err: &mx.Error{Kind: mx.ErrNXDomain, Name: "mx1.noaddr.lab.test", Type: "AAAA", Rcode: "NXDOMAIN"}}},
		Err: &mx.Error{Kind: mx.ErrNoAddress, Name: "noaddr.lab.test", Type: "MX"}}
	var b bytes.Buffer
	require.NoError(t, MXText(&b, []*mx.Route{rt}, TextOptions{}))
	out := b.String()
	assert.Contains(t, out, "The domain noaddr.lab.test exists and has MX records, but its MX host mx1.noaddr.lab.test does not exist")
	assert.NotContains(t, out, "does not exist in DNS")
	assert.NotContains(t, out, "`mailprobe mx")
}

// TestLooksLMTP: #10 item 6. SMTP spoken to an LMTP server — a greeting
// that says LMTP on any port, or port 24 refusing EHLO with 500 — is
// reported as "use --protocol lmtp"; a plain SMTP refusal is not.
func TestLooksLMTP(t *testing.T) {
	build := func(t *testing.T, port int, greeting string) Verdict {
		a := tcpAttempt("backend.example.org", "192.0.2.24", port)
		a.Greeting = mustReply(t, greeting)
		ehlo := mustReply(t, "500 5.5.1 Unknown command")
		a.Steps = []probe.Step{{Phase: probe.PhaseGreeting, Reply: a.Greeting}, {Phase: probe.PhaseEHLO, Command: "EHLO probe.example.net", Reply: ehlo}}
		a.Err = &probe.Error{Kind: probe.ErrRejected, Phase: probe.PhaseHELO, Reply: ehlo}
		o, res := fixture("a@example.org", a, probe.PhaseHELO, ehlo, nil)
		return Judge(o, res)
	}
	assert.Contains(t, build(t, 2424, "220 backend.example.org Cyrus LMTP v3.6 server ready").Explanation.Next, "use --protocol lmtp")
	assert.Contains(t, build(t, 24, "220 vm Dovecot (Debian) ready.").Explanation.Next, "use --protocol lmtp")
	assert.NotContains(t, build(t, 25, "220 mx.example.org ESMTP").Explanation.Next, "--protocol lmtp")
}

// TestBlocklistEvidenceNotPublic: a loopback or private address was kept
// off the public lists (blacklist/scope.go); that is neither "clean" nor
// the lists' failure, and the text says what to do instead.
func TestBlocklistEvidenceNotPublic(t *testing.T) {
	notAsked := func(list string) blacklist.Result {
		err := fmt.Errorf("%w: 10.0.0.5", blacklist.ErrNotPublic)
		return blacklist.Result{Target: "10.0.0.5", Address: "10.0.0.5", List: list, Status: blacklist.Unknown, Err: err, Error: err.Error()}
	}
	a := tcpAttempt("mx1.blocked.lab.test", "127.0.0.16", 25)
	a.Local = "10.0.0.5:40000"
	o, res := fixture("a@blocked.lab.test", a, probe.PhaseRCPT, mustReply(t, "554 5.7.1 Service unavailable; Client host [10.0.0.5] blocked using zen.spamhaus.org"), nil)
	res.LocalPrivate = true
	res.DNSBL = []blacklist.Result{notAsked("zen.spamhaus.org"), notAsked("bl.spamcop.net")}
	c := Judge(o, res).Explanation.Cause
	assert.Contains(t, c, "The public lists were not asked about 10.0.0.5: not a public Internet address")
	assert.Contains(t, c, "--public-ip")
	assert.NotContains(t, c, "No list could be asked", "not asking is no failure of the lists")
	assert.NotContains(t, c, "provider's own list")

	var b bytes.Buffer
	require.NoError(t, Text(&b, res, TextOptions{}))
	assert.Contains(t, b.String(), "DNSBL: 0 listed, 0 clean, 0 unknown\n  not asked of the public lists: 10.0.0.5 (not public Internet addresses)\n")
}
