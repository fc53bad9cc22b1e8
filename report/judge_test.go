package report

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

func mustReply(t testing.TB, text string) *probe.Reply {
	t.Helper()
	r, err := probe.ParseReply(text)
	require.NoError(t, err)
	return r
}

func tcpAttempt(host, addr string, port int) *probe.Attempt {
	return &probe.Attempt{Host: host, Address: addr, Port: port, Network: "tcp", Local: "192.0.2.200:40000"}
}

// fixture builds a one-recipient result around one deciding attempt.
func fixture(rcpt string, a *probe.Attempt, ph probe.Phase, r *probe.Reply, err error) (*probe.Outcome, *probe.Result) {
	dom := &probe.DomainResult{Domain: rcpt[strings.IndexByte(rcpt, '@')+1:]}
	if a != nil {
		dom.Attempts = append(dom.Attempts, a)
	}
	o := &probe.Outcome{Recipient: rcpt, Domain: dom, Attempt: a, Phase: ph, Reply: r, Err: err,
		DNS: 20 * time.Millisecond, Setup: 190 * time.Millisecond, Transaction: 30 * time.Millisecond, Total: 240 * time.Millisecond}
	res := &probe.Result{Config: probe.ConfigSummary{Protocol: probe.ProtocolSMTP, HELO: "probe.example.net",
		From: "postmaster@probe.example.net", Port: 25, STARTTLS: probe.TLSAuto},
		Domains: []*probe.DomainResult{dom}, Recipients: []*probe.Outcome{o}}
	return o, res
}

func TestJudge(t *testing.T) {
	mxA := func() *probe.Attempt { return tcpAttempt("mx.example.org", "192.0.2.1", 25) }
	tests := []struct {
		name     string
		build    func(t *testing.T) (*probe.Outcome, *probe.Result)
		status   Status
		dsn      string
		relay    string
		category Category
		reason   string
	}{
		{
			name: "RCPT 250",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseRCPT, mustReply(t, "250 2.1.5 OK"), nil)
			},
			status: StatusDeliverable, dsn: "2.1.5", relay: "mx.example.org[192.0.2.1]:25", category: CategoryDeliverable,
			reason: "250 2.1.5 OK",
		},
		{
			name: "RCPT 250 without enhanced code",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseRCPT, mustReply(t, "250 Ok"), nil)
			},
			status: StatusDeliverable, dsn: "2.0.0", relay: "mx.example.org[192.0.2.1]:25", category: CategoryDeliverable,
			reason: "250 Ok",
		},
		{
			name: "RCPT 550 (seed: Dovecot LMTP)",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := tcpAttempt("10.0.0.77", "10.0.0.77", 24)
				return fixture("paeddrigg@nausch.org", a, probe.PhaseRCPT, mustReply(t, "550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org"), nil)
			},
			status: StatusUndeliverable, dsn: "5.1.1", relay: "10.0.0.77[10.0.0.77]:24", category: CategoryUserUnknown,
			reason: "host 10.0.0.77[10.0.0.77] said: 550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org (in reply to RCPT TO command)",
		},
		{
			name: "RCPT 450 4.1.1 unverified address",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("paeddrigg@nausch.org", mxA(), probe.PhaseRCPT, mustReply(t, "450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed"), nil)
			},
			status: StatusDeferred, dsn: "4.1.1", relay: "mx.example.org[192.0.2.1]:25", category: CategoryUserUnknown,
			reason: "host mx.example.org[192.0.2.1] said: 450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed (in reply to RCPT TO command)",
		},
		{
			name: "RCPT 452 mailbox full",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseRCPT, mustReply(t, "452 4.2.2 Mailbox full"), nil)
			},
			status: StatusDeferred, dsn: "4.2.2", relay: "mx.example.org[192.0.2.1]:25", category: CategoryMailboxFull,
			reason: "host mx.example.org[192.0.2.1] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)",
		},
		{
			name: "RCPT 550 without enhanced code",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseRCPT, mustReply(t, "550 No such user here"), nil)
			},
			status: StatusUndeliverable, dsn: "5.0.0", relay: "mx.example.org[192.0.2.1]:25", category: CategoryUserUnknown,
			reason: "host mx.example.org[192.0.2.1] said: 550 No such user here (in reply to RCPT TO command)",
		},
		{
			name: "MAIL FROM rejected",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseMAIL, mustReply(t, "553 5.7.1 <x@y>: Sender address rejected: not logged in"), nil)
			},
			status: StatusUndeliverable, dsn: "5.7.1", relay: "mx.example.org[192.0.2.1]:25", category: CategoryAuthRequired,
			reason: "host mx.example.org[192.0.2.1] said: 553 5.7.1 <x@y>: Sender address rejected: not logged in (in reply to MAIL FROM command)",
		},
		{
			name: "greeting 421 out of connection slots",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseGreeting, mustReply(t, "421 4.3.2 mx.example.org out of connection slots"), nil)
			},
			status: StatusDeferred, dsn: "4.3.2", relay: "mx.example.org[192.0.2.1]:25", category: CategoryConnectionLimit,
			reason: "host mx.example.org[192.0.2.1] refused to talk to me: 421 4.3.2 mx.example.org out of connection slots",
		},
		{
			name: "greeting 554 multi-line black listed (smtp_skip_5xx_greeting)",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := tcpAttempt("mx01.kundenserver.de", "192.0.2.10", 25)
				r := mustReply(t, "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available\n554-No SMTP service\n554-IP address is black listed.\n554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=192.0.2.200&c=bl")
				return fixture("a@example.de", a, probe.PhaseGreeting, r, nil)
			},
			status: StatusDeferred, dsn: "4.0.0", relay: "mx01.kundenserver.de[192.0.2.10]:25", category: CategoryBlocklisted,
			reason: "host mx01.kundenserver.de[192.0.2.10] refused to talk to me: 554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=192.0.2.200&c=bl",
		},
		{
			name: "EHLO 421",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseEHLO, mustReply(t, "421 4.7.0 Try again later, closing connection"), nil)
			},
			status: StatusDeferred, dsn: "4.7.0", relay: "mx.example.org[192.0.2.1]:25", category: CategoryServerError,
			reason: "host mx.example.org[192.0.2.1] refused to talk to me: 421 4.7.0 Try again later, closing connection",
		},
		{
			name: "connect refused",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Local = ""
				a.Err = &probe.Error{Kind: probe.ErrRefused, Phase: probe.PhaseConnect, Err: syscall.ECONNREFUSED}
				return fixture("a@example.org", a, probe.PhaseConnect, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.1", relay: "none", category: CategoryConnectionRefused,
			reason: "connect to mx.example.org[192.0.2.1]:25: Connection refused",
		},
		{
			name: "connect timeout (only MX: port 25 blocked)",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseConnect}
				return fixture("a@example.org", a, probe.PhaseConnect, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.1", relay: "none", category: CategoryConnectionTimeout,
			reason: "connect to mx.example.org[192.0.2.1]:25: Connection timed out",
		},
		{
			name: "no route to host",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrUnreachable, Phase: probe.PhaseConnect, Detail: "No route to host", Err: syscall.EHOSTUNREACH}
				return fixture("a@example.org", a, probe.PhaseConnect, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.1", relay: "none", category: CategoryConnectionRefused,
			reason: "connect to mx.example.org[192.0.2.1]:25: No route to host",
		},
		{
			name: "greeting timeout",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseGreeting}
				return fixture("a@example.org", a, probe.PhaseGreeting, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.2", relay: "mx.example.org[192.0.2.1]:25", category: CategoryConnectionTimeout,
			reason: "conversation with mx.example.org[192.0.2.1] timed out while receiving the initial server greeting",
		},
		{
			name: "RCPT timeout",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrDeadline, Phase: probe.PhaseRCPT}
				return fixture("a@example.org", a, probe.PhaseRCPT, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.2", relay: "mx.example.org[192.0.2.1]:25", category: CategoryConnectionTimeout,
			reason: "conversation with mx.example.org[192.0.2.1] timed out while sending RCPT TO",
		},
		{
			name: "lost connection after EHLO",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrLost, Phase: probe.PhaseEHLO}
				return fixture("a@example.org", a, probe.PhaseEHLO, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.4.2", relay: "mx.example.org[192.0.2.1]:25", category: CategoryServerError,
			reason: "lost connection with mx.example.org[192.0.2.1] while performing the EHLO handshake",
		},
		{
			name: "TLS handshake failure",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrTLS, Phase: probe.PhaseTLS, Detail: "remote error: tls: handshake failure"}
				return fixture("a@example.org", a, probe.PhaseTLS, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.7.5", relay: "mx.example.org[192.0.2.1]:25", category: CategoryProtocolError,
			reason: "Cannot start TLS: handshake failure",
		},
		{
			name: "TLS required, not offered",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := mxA()
				a.Err = &probe.Error{Kind: probe.ErrTLSRequired, Phase: probe.PhaseSTARTTLS}
				return fixture("a@example.org", a, probe.PhaseSTARTTLS, nil, a.Err)
			},
			status: StatusDeferred, dsn: "4.7.4", relay: "mx.example.org[192.0.2.1]:25", category: CategoryTLSRequired,
			reason: "TLS is required, but was not offered by host mx.example.org[192.0.2.1]",
		},
		{
			name: "server requires STARTTLS",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", mxA(), probe.PhaseMAIL, mustReply(t, "530 5.7.0 Must issue a STARTTLS command first"), nil)
			},
			status: StatusUndeliverable, dsn: "5.7.0", relay: "mx.example.org[192.0.2.1]:25", category: CategoryTLSRequired,
			reason: "host mx.example.org[192.0.2.1] said: 530 5.7.0 Must issue a STARTTLS command first (in reply to MAIL FROM command)",
		},
		{
			name: "DNS NXDOMAIN",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.invalid", nil, probe.PhaseDNS, nil, &mx.Error{Kind: mx.ErrNXDomain, Name: "example.invalid", Type: "MX", Rcode: "NXDOMAIN"})
			},
			status: StatusUndeliverable, dsn: "5.4.4", relay: "none", category: CategoryDNSFailure,
			reason: "Host or domain name not found. Name service error for name=example.invalid type=AAAA: Host not found",
		},
		{
			name: "DNS SERVFAIL",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", nil, probe.PhaseDNS, nil, &mx.Error{Kind: mx.ErrServFail, Name: "example.org", Type: "MX", Rcode: "SERVFAIL", Temporary: true})
			},
			status: StatusDeferred, dsn: "4.4.3", relay: "none", category: CategoryDNSFailure,
			reason: "Host or domain name not found. Name service error for name=example.org type=MX: Host not found, try again",
		},
		{
			name: "null MX",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.com", nil, probe.PhaseDNS, nil, &mx.Error{Kind: mx.ErrNullMX, Name: "example.com", Type: "MX"})
			},
			status: StatusUndeliverable, dsn: "5.1.0", relay: "none", category: CategoryNullMX,
			reason: "Domain example.com does not accept mail (nullMX)",
		},
		{
			name: "MX host without address",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				o, res := fixture("a@example.org", nil, probe.PhaseDNS, nil, &mx.Error{Kind: mx.ErrNoAddress, Name: "example.org", Type: "MX"})
				o.Domain.Route = &mx.Route{Domain: "example.org", Hosts: []mx.MXHost{
					{Preference: 10, Name: "gone.example.org", Err: &mx.Error{Kind: mx.ErrNoHostAddress, Name: "gone.example.org", Type: "AAAA"}},
				}}
				return o, res
			},
			status: StatusUndeliverable, dsn: "5.4.4", relay: "none", category: CategoryDNSFailure,
			reason: "Host or domain name not found. Name service error for name=gone.example.org type=AAAA: Host found but no data record of requested type",
		},
		{
			name: "no MX and no A",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", nil, probe.PhaseDNS, nil, &mx.Error{Kind: mx.ErrNoData, Name: "example.org", Type: "MX"})
			},
			status: StatusUndeliverable, dsn: "5.4.4", relay: "none", category: CategoryDNSFailure,
			reason: "Host or domain name not found. Name service error for name=example.org type=AAAA: Host found but no data record of requested type",
		},
		{
			name: "not checked",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				return fixture("a@example.org", nil, "", nil, &probe.Error{Kind: probe.ErrNotChecked, Phase: probe.PhaseConnect, Detail: "the probe deadline passed"})
			},
			status: StatusNotChecked, dsn: "4.0.0", relay: "none", category: CategoryOther,
			reason: "not checked: the probe deadline passed",
		},
		{
			name: "LMTP over a unix socket",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := &probe.Attempt{Host: "private/dovecot-lmtp", Network: "unix"}
				o, res := fixture("django@nausch.org", a, probe.PhaseRCPT, mustReply(t, "250 2.1.5 OK"), nil)
				res.Config.Protocol, res.Config.HELO = probe.ProtocolLMTP, "mx01.nausch.org"
				return o, res
			},
			status: StatusDeliverable, dsn: "2.1.5", relay: "mx01.nausch.org[private/dovecot-lmtp]", category: CategoryDeliverable,
			reason: "250 2.1.5 OK",
		},
		{
			name: "unix socket missing",
			build: func(t *testing.T) (*probe.Outcome, *probe.Result) {
				a := &probe.Attempt{Host: "/run/dovecot/lmtp", Network: "unix"}
				a.Err = &probe.Error{Kind: probe.ErrUnreachable, Phase: probe.PhaseConnect, Err: syscall.ENOENT, Detail: "dial unix /run/dovecot/lmtp: connect: no such file or directory"}
				o, res := fixture("a@example.org", a, probe.PhaseConnect, nil, a.Err)
				res.Config.HELO = "mx.example.org"
				return o, res
			},
			status: StatusDeferred, dsn: "4.4.1", relay: "none", category: CategoryConnectionRefused,
			reason: "connect to mx.example.org[/run/dovecot/lmtp]: No such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, res := tt.build(t)
			v := Judge(o, res)
			assert.Equal(t, tt.status, v.Status, "status")
			assert.Equal(t, tt.dsn, v.DSN, "dsn")
			assert.Equal(t, tt.relay, v.Relay, "relay")
			assert.Equal(t, tt.category, v.Category, "category")
			assert.Equal(t, tt.reason, v.Reason, "reason")
			assert.NotEmpty(t, v.Explanation.What)
			assert.NotEmpty(t, v.Explanation.Cause)
			assert.NotEmpty(t, v.Explanation.Next)
			want := fmt.Sprintf("to=<%s>, relay=%s, delay=0.24, delays=0.02/0/0.19/0.03, dsn=%s, status=%s (%s)",
				o.Recipient, tt.relay, tt.dsn, tt.status, tt.reason)
			assert.Equal(t, want, v.Line())
		})
	}
}

func TestJudgeExplanations(t *testing.T) {
	t.Run("blocklisted cites DNSBL listing of the local address", func(t *testing.T) {
		a := tcpAttempt("mx.example.de", "192.0.2.10", 25)
		o, res := fixture("a@example.de", a, probe.PhaseGreeting, mustReply(t, "554 5.7.1 Service unavailable; Client host [192.0.2.200] blocked using zen.spamhaus.org"), nil)
		res.DNSBL = []blacklist.Result{
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "zen.spamhaus.org", Status: blacklist.Listed, Codes: []string{"127.0.0.2"}, Meanings: []string{"SBL"}},
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "bl.spamcop.net", Status: blacklist.Clean},
			{Target: "mx.example.de", Address: "192.0.2.10", List: "zen.spamhaus.org", Status: blacklist.Listed},
		}
		v := Judge(o, res)
		assert.Equal(t, CategoryBlocklisted, v.Category)
		assert.Contains(t, v.Explanation.Cause, "zen.spamhaus.org lists 192.0.2.200 (127.0.0.2: SBL)")
		assert.NotContains(t, v.Explanation.Cause, "192.0.2.10", "the MX's own listing is not evidence against us")
		assert.Contains(t, v.Explanation.Next, "delisting")
		assert.Contains(t, v.Explanation.Next, "smtp_skip_5xx_greeting")
	})
	t.Run("blocklisted, no list has the address: provider's own", func(t *testing.T) {
		o, res := fixture("a@example.de", tcpAttempt("mx.example.de", "192.0.2.10", 25), probe.PhaseRCPT, mustReply(t, "550 5.7.1 IP address is black listed"), nil)
		res.DNSBL = []blacklist.Result{
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "zen.spamhaus.org", Status: blacklist.Clean},
			{Target: "192.0.2.200", Address: "192.0.2.200", List: "bl.spamcop.net", Status: blacklist.Clean},
		}
		v := Judge(o, res)
		assert.Equal(t, "None of the 2 checked lists has 192.0.2.200, so the block is most likely the provider's own list.", v.Explanation.Cause)
	})
	t.Run("blocklisted, DNSBL not checked", func(t *testing.T) {
		o, res := fixture("a@example.de", tcpAttempt("mx.example.de", "192.0.2.10", 25), probe.PhaseRCPT, mustReply(t, "550 5.7.1 IP address is black listed"), nil)
		assert.Contains(t, Judge(o, res).Explanation.Cause, "--dnsbl")
	})
	t.Run("every MX times out on port 25", func(t *testing.T) {
		a1, a2 := tcpAttempt("mx1.example.org", "192.0.2.1", 25), tcpAttempt("mx2.example.org", "192.0.2.2", 25)
		a1.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseConnect}
		a2.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseConnect}
		o, res := fixture("a@example.org", a2, probe.PhaseConnect, nil, a2.Err)
		o.Domain.Attempts = []*probe.Attempt{a1, a2}
		v := Judge(o, res)
		assert.Contains(t, v.Explanation.Cause, "outbound port 25 is probably blocked")
		assert.Contains(t, v.Explanation.What, "All 2 connection attempts")
		require.Len(t, v.PassedOver, 1)
		assert.Equal(t, "connect to mx1.example.org[192.0.2.1]:25: Connection timed out", v.PassedOver[0].Reason)
		// Last attempt's error is the one in the line, like Postfix.
		assert.Equal(t, "connect to mx2.example.org[192.0.2.2]:25: Connection timed out", v.Reason)
	})
	t.Run("one MX answers: no port 25 claim", func(t *testing.T) {
		a1, a2 := tcpAttempt("mx1.example.org", "192.0.2.1", 25), tcpAttempt("mx2.example.org", "192.0.2.2", 25)
		a1.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseConnect}
		a2.Err = &probe.Error{Kind: probe.ErrTimeout, Phase: probe.PhaseGreeting}
		o, res := fixture("a@example.org", a2, probe.PhaseGreeting, nil, a2.Err)
		o.Domain.Attempts = []*probe.Attempt{a1, a2}
		assert.NotContains(t, Judge(o, res).Explanation.Cause, "port 25")
	})
	t.Run("catch-all", func(t *testing.T) {
		yes, no := true, false
		o, res := fixture("a@example.org", tcpAttempt("mx.example.org", "192.0.2.1", 25), probe.PhaseRCPT, mustReply(t, "250 2.1.5 Ok"), nil)
		o.CatchAll = &yes
		assert.Contains(t, Judge(o, res).Explanation.Cause, "cannot tell a real mailbox from a catch-all")
		o.CatchAll = &no
		assert.Contains(t, Judge(o, res).Explanation.Cause, "really checks recipients")
	})
	t.Run("greylisting", func(t *testing.T) {
		o, res := fixture("a@example.org", tcpAttempt("mx.example.org", "192.0.2.1", 25), probe.PhaseRCPT,
			mustReply(t, "450 4.7.1 <a@example.org>: Recipient address rejected: Greylisted for 300 seconds"), nil)
		v := Judge(o, res)
		assert.Equal(t, CategoryGreylisted, v.Category)
		assert.Contains(t, v.Explanation.Next, "Probe again")
	})
	t.Run("skipped host is passed over with its reason", func(t *testing.T) {
		a1, a2 := tcpAttempt("mx1.example.org", "192.0.2.1", 25), tcpAttempt("mx2.example.org", "192.0.2.2", 25)
		a2.Skipped = "an earlier MX host gave a definitive answer"
		o, res := fixture("a@example.org", a1, probe.PhaseRCPT, mustReply(t, "250 2.1.5 Ok"), nil)
		o.Domain.Attempts = []*probe.Attempt{a1, a2}
		v := Judge(o, res)
		require.Len(t, v.PassedOver, 1)
		assert.Equal(t, PassedOver{Host: "mx2.example.org", Address: "192.0.2.2", Port: 25, Reason: "skipped: an earlier MX host gave a definitive answer"}, v.PassedOver[0])
	})
	t.Run("IPv6 relay", func(t *testing.T) {
		o, res := fixture("a@example.org", tcpAttempt("mx.example.org", netip.MustParseAddr("2001:db8::25").String(), 25), probe.PhaseRCPT, mustReply(t, "250 2.1.5 Ok"), nil)
		assert.Equal(t, "mx.example.org[2001:db8::25]:25", Judge(o, res).Relay)
	})
}
