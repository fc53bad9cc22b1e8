package blacklist

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckLab runs the production resolver against the UDP-only lab
// server: one target against one list per case, for IPv4, IPv6, IPv4-mapped
// IPv6 and domains, with listings, non-listings and every error answer.
func TestCheckLab(t *testing.T) {
	lab := startLabDNS(t, labZones(), 0)
	tests := []struct {
		name     string
		target   Target
		list     string
		status   Status
		codes    []string
		meanings []string
		reason   string
		err      error // sentinel the result's Err must wrap
	}{
		{name: "IPv4 listed with two codes and TXT", target: TargetIP(ip("192.0.2.99")), list: labIP, status: Listed,
			codes: []string{"127.0.0.2", "127.0.0.4"}, meanings: []string{"spam source", "exploited host"},
			reason: "Listed: see http://lab.test/192.0.2.99"},
		{name: "IPv4 not listed", target: TargetIP(ip("192.0.2.1")), list: labIP, status: Clean},
		{name: "IPv6 listed by nibbles", target: TargetIP(ip("2001:db8::99")), list: labIP, status: Listed,
			codes: []string{"127.0.0.3"}, meanings: []string{"listed (code not documented for this list)"}},
		{name: "IPv6 not listed", target: TargetIP(ip("2001:db8::1")), list: labIP, status: Clean},
		{name: "IPv4-mapped IPv6 asked as IPv4", target: TargetIP(ip("::ffff:192.0.2.99")), list: labIP, status: Listed,
			codes: []string{"127.0.0.2", "127.0.0.4"}, meanings: []string{"spam source", "exploited host"},
			reason: "Listed: see http://lab.test/192.0.2.99"},
		{name: "domain listed with TXT", target: TargetDomain("spam.example"), list: labDom, status: Listed,
			codes: []string{"127.0.1.2"}, meanings: []string{"spam domain"}, reason: "spam domain spam.example"},
		{name: "domain listed without TXT", target: TargetDomain("Phish.Example."), list: labDom, status: Listed,
			codes: []string{"127.0.1.4"}, meanings: []string{"phishing domain"}},
		{name: "domain not listed", target: TargetDomain("good.example"), list: labDom, status: Clean},
		{name: "public resolver refused", target: TargetIP(ip("192.0.2.1")), list: labPublic, status: Unknown,
			codes: []string{"127.255.255.254"}, meanings: []string{"error: query through a public/open resolver, refused by Spamhaus"}, err: ErrErrorCode,
			reason: "public resolver refused"}, // an error answer's TXT says why, as a listing's does
		{name: "typo'd zone", target: TargetIP(ip("192.0.2.1")), list: labTypo, status: Unknown,
			codes: []string{"127.255.255.252"}, meanings: []string{"error: typo in the DNSBL zone name, or zone not served to this resolver"}, err: ErrErrorCode},
		{name: "over quota", target: TargetIP(ip("2001:db8::1")), list: labQuota, status: Unknown,
			codes: []string{"127.255.255.255"}, meanings: []string{"error: excessive number of queries from this resolver"}, err: ErrErrorCode},
		{name: "IP asked of a domain list", target: TargetDomain("good.example"), list: labDBLIP, status: Unknown,
			codes: []string{"127.0.1.255"}, meanings: []string{"error: an IP address was asked of a domain list"}, err: ErrErrorCode},
		{name: "URIBL refused", target: TargetDomain("refused.example"), list: labBits, status: Unknown,
			codes: []string{"127.0.0.1"}, meanings: []string{"error: query refused (public resolver or over the free-use limit)"}, err: ErrErrorCode},
		{name: "URIBL black", target: TargetDomain("black.example"), list: labBits, status: Listed,
			codes: []string{"127.0.0.2"}, meanings: []string{"URIBL black: domain seen in spam, high confidence"}},
		{name: "URIBL grey and red", target: TargetDomain("greyred.example"), list: labBits, status: Listed,
			codes: []string{"127.0.0.12"}, meanings: []string{"URIBL grey: domain in bulk or grey-area mail; URIBL red: domain in newly observed spam"}},
		{name: "URIBL undocumented bit", target: TargetDomain("odd.example"), list: labBits, status: Listed,
			codes: []string{"127.0.0.32"}, meanings: []string{"bit 32 (not documented for this list)"}},
		{name: "answer outside 127/8", target: TargetIP(ip("192.0.2.1")), list: labRewrite, status: Unknown,
			codes:    []string{"198.51.100.10"},
			meanings: []string{"error: not a DNSBL answer (outside 127.0.0.0/8): the resolver rewrites answers"}, err: ErrOutsideLoopback},
		{name: "SERVFAIL", target: TargetIP(ip("192.0.2.1")), list: labServfail, status: Unknown, err: ErrResolver},
		{name: "REFUSED", target: TargetDomain("spam.example"), list: labServfail, status: Unknown, err: ErrResolver},
		{name: "timeout", target: TargetIP(ip("192.0.2.1")), list: labBlackhole, status: Unknown, err: ErrNoAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := pickLists(tt.list)
			if tt.name == "REFUSED" {
				l = []List{{Zone: labRefused, Kind: KindDomain}}
			}
			c := &Checker{Resolver: lab.Resolver(300 * time.Millisecond), Lists: l, Timeout: 300 * time.Millisecond}
			rs := c.Check(context.Background(), []Target{tt.target})
			require.Len(t, rs, 1)
			r := rs[0]
			assert.Equal(t, tt.status, r.Status, "error: %s", r.Error)
			assert.Equal(t, tt.codes, r.Codes)
			assert.Equal(t, tt.meanings, r.Meanings)
			assert.Equal(t, tt.reason, r.Reason)
			assert.Equal(t, tt.target.Name, r.Target)
			if tt.err != nil {
				require.ErrorIs(t, r.Err, tt.err)
				assert.Equal(t, r.Err.Error(), r.Error)
			} else {
				assert.NoError(t, r.Err)
				assert.Empty(t, r.Error)
			}
		})
	}
}

// TestCheckLabOrderAndHosts checks a mixed run: several targets, several
// lists, a host name resolved to two addresses, in deterministic order.
func TestCheckLabOrderAndHosts(t *testing.T) {
	lab := startLabDNS(t, labZones(), 0)
	hosts := fakeHosts{"mail.example": {ip("192.0.2.99"), ip("2001:db8::99"), ip("::ffff:192.0.2.99")}}
	c := &Checker{
		Resolver: lab.Resolver(time.Second), Hosts: hosts,
		Lists: pickLists(labIP, labDom, labServfail), Concurrency: 3,
	}
	targets := []Target{TargetIP(ip("192.0.2.1")), {Name: "mail.example", Resolve: true, Domain: true}, TargetDomain("spam.example")}
	rs := c.Check(context.Background(), targets)
	type row struct {
		target, address, list string
		status                Status
	}
	var got []row
	for _, r := range rs {
		got = append(got, row{r.Target, r.Address, r.List, r.Status})
	}
	assert.Equal(t, []row{
		{"192.0.2.1", "192.0.2.1", labIP, Clean},
		{"192.0.2.1", "192.0.2.1", labServfail, Unknown},
		{"mail.example", "mail.example", labDom, Clean},
		{"mail.example", "192.0.2.99", labIP, Listed},
		{"mail.example", "192.0.2.99", labServfail, Unknown},
		{"mail.example", "2001:db8::99", labIP, Listed},
		{"mail.example", "2001:db8::99", labServfail, Unknown},
		{"spam.example", "spam.example", labDom, Listed},
	}, got)
	assert.Equal(t, "99.2.0.192."+labIP, rs[3].Query)
	assert.Equal(t, v6Nibbles+"."+labIP, rs[5].Query)
}

type fakeHosts map[string][]netip.Addr

var errFakeServfail = errors.New("fake SERVFAIL")

func (f fakeHosts) LookupHost(_ context.Context, name string) ([]netip.Addr, error) {
	if name == "servfail.example" {
		return nil, errFakeServfail
	}
	if as, ok := f[name]; ok {
		return as, nil
	}
	return nil, ErrHostNotFound
}

func TestCheckHostFailures(t *testing.T) {
	res := &fakeResolver{a: map[string]Answer{}}
	ipList := List{Zone: "ip.bl.test", Kind: KindIP}
	domList := List{Zone: "dom.bl.test", Kind: KindDomain}
	tests := []struct {
		name   string
		lists  []List
		target Target
		want   []Status
		err    error
	}{
		{name: "domain without addresses: domain lists only", lists: []List{ipList, domList},
			target: Target{Name: "noaddr.example", Resolve: true, Domain: true}, want: []Status{Clean}},
		{name: "domain without addresses, no domain list", lists: []List{ipList},
			target: Target{Name: "noaddr.example", Resolve: true, Domain: true}, want: []Status{Unknown}, err: ErrHostNotFound},
		{name: "host without addresses", lists: []List{ipList, domList},
			target: TargetHost("noaddr.example"), want: []Status{Unknown}, err: ErrHostNotFound},
		{name: "host resolution fails", lists: []List{domList, ipList},
			target: Target{Name: "servfail.example", Resolve: true, Domain: true}, want: []Status{Clean, Unknown}, err: errFakeServfail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Resolver: res, Hosts: fakeHosts{}, Lists: tt.lists}
			rs := c.Check(context.Background(), []Target{tt.target})
			var got []Status
			for _, r := range rs {
				got = append(got, r.Status)
				if r.Status == Unknown {
					assert.ErrorIs(t, r.Err, tt.err)
					assert.Empty(t, r.Address)
					assert.Equal(t, "ip.bl.test", r.List)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("no host resolver", func(t *testing.T) {
		c := &Checker{Resolver: res, Lists: []List{ipList}}
		rs := c.Check(context.Background(), []Target{TargetHost("mail.example")})
		require.Len(t, rs, 1)
		assert.Equal(t, Unknown, rs[0].Status)
		assert.Contains(t, rs[0].Error, "no host resolver")
	})
}

func TestHealthLab(t *testing.T) {
	lab := startLabDNS(t, labZones(), 0)
	c := &Checker{
		Resolver: lab.Resolver(300 * time.Millisecond),
		Lists: append(pickLists(labIP, labDom, labBits, labPublic, labWild, labServfail, labBlackhole),
			List{Zone: "typo-nx.lab.test", Kind: KindIP}),
		Timeout: 300 * time.Millisecond,
	}
	hs := c.Health(context.Background())
	got := map[string]HealthStatus{}
	for _, h := range hs {
		got[h.List] = h.Status
		if h.Status == HealthOK {
			assert.Empty(t, h.Problem)
		} else {
			assert.NotEmpty(t, h.Problem, h.List)
		}
	}
	assert.Equal(t, map[string]HealthStatus{
		labIP:              HealthOK,
		labDom:             HealthOK,
		labBits:            HealthOK,
		labPublic:          HealthUnusable,
		labWild:            HealthBroken,
		labServfail:        HealthUnusable,
		labBlackhole:       HealthUnusable,
		"typo-nx.lab.test": HealthBroken,
	}, got)
	require.Len(t, hs, 8)
	assert.Equal(t, labIP, hs[0].List, "list order kept")
	assert.Equal(t, "2.0.0.127."+labIP, hs[0].Positive.Query)
	assert.Equal(t, "1.0.0.127."+labIP, hs[0].Negative.Query)
	assert.Equal(t, "test."+labDom, hs[1].Positive.Query)
	assert.Equal(t, "invalid."+labDom, hs[1].Negative.Query)
	assert.Contains(t, hs[4].Problem, "127.0.0.1")
	assert.Contains(t, hs[3].Problem, "127.255.255.254")
}

// fakeResolver answers from maps; names absent are NXDOMAIN. It counts
// TXT queries, and can hold every A query until a given number are in
// flight, to prove the concurrency bound is reached and never exceeded.
type fakeResolver struct {
	a, txt   map[string]Answer
	errs     map[string]error
	txtAsked []string
	mu       sync.Mutex
	gate     *gate
}

func (f *fakeResolver) LookupA(ctx context.Context, name string) (Answer, error) {
	if f.gate != nil {
		if err := f.gate.pass(ctx); err != nil {
			return Answer{}, err
		}
	}
	if err := f.errs[name]; err != nil {
		return Answer{}, err
	}
	if a, ok := f.a[name]; ok {
		return a, nil
	}
	return Answer{Rcode: 3}, nil
}

func (f *fakeResolver) LookupTXT(_ context.Context, name string) (Answer, error) {
	f.mu.Lock()
	f.txtAsked = append(f.txtAsked, name)
	f.mu.Unlock()
	if a, ok := f.txt[name]; ok {
		return a, nil
	}
	return Answer{Rcode: 3}, nil
}

// gate holds callers until want are waiting together, then lets them all
// through; it records the most callers ever inside at once.
type gate struct {
	want            int
	mu              sync.Mutex
	inside, maxSeen int
	open            chan struct{}
}

func newGate(want int) *gate {
	return &gate{want: want, open: make(chan struct{})}
}

func (g *gate) pass(ctx context.Context) error {
	g.mu.Lock()
	g.inside++
	g.maxSeen = max(g.maxSeen, g.inside)
	if g.inside == g.want {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.inside--; g.mu.Unlock() }()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestCheckMock(t *testing.T) {
	list := List{Zone: "bl.test", Kind: KindIP, Codes: map[netip.Addr]string{ip("127.0.0.2"): "spam"}}
	res := &fakeResolver{
		a: map[string]Answer{
			"2.2.0.192.bl.test": {Rcode: 0, Addrs: []netip.Addr{ip("127.0.0.2")}},
			"3.2.0.192.bl.test": {Rcode: 0},
		},
		txt: map[string]Answer{
			"2.2.0.192.bl.test": {Rcode: 0, TXT: []string{"first", "second"}},
		},
		errs: map[string]error{"4.2.0.192.bl.test": errors.New("network unreachable")},
	}
	c := &Checker{Resolver: res, Lists: []List{list}}
	rs := c.Check(context.Background(), []Target{
		TargetIP(ip("192.0.2.1")), TargetIP(ip("192.0.2.2")), TargetIP(ip("192.0.2.3")), TargetIP(ip("192.0.2.4")),
	})
	require.Len(t, rs, 4)
	assert.Equal(t, []Status{Clean, Listed, Clean, Unknown}, []Status{rs[0].Status, rs[1].Status, rs[2].Status, rs[3].Status})
	assert.Equal(t, "first; second", rs[1].Reason)
	assert.Equal(t, []string{"2.2.0.192.bl.test"}, res.txtAsked, "TXT is asked only for listings")
	assert.Contains(t, rs[3].Error, "network unreachable")
}

func TestCheckConcurrencyBound(t *testing.T) {
	for _, bound := range []int{1, 4, 32} {
		var lists []List
		for i := range 40 {
			lists = append(lists, List{Zone: "l" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".test", Kind: KindIP})
		}
		g := newGate(bound)
		res := &fakeResolver{gate: g}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := &Checker{Resolver: res, Lists: lists, Concurrency: bound}
		rs := c.Check(ctx, []Target{TargetIP(ip("192.0.2.1"))})
		cancel()
		require.Len(t, rs, 40)
		for _, r := range rs {
			require.Equal(t, Clean, r.Status, r.Error)
		}
		assert.Equal(t, bound, g.maxSeen, "bound %d reached and never exceeded", bound)
	}
}

func TestCheckTimeoutIsPerQuery(t *testing.T) {
	// The blackhole list must not make the other lists time out: each
	// query has its own deadline.
	lab := startLabDNS(t, labZones(), 0)
	c := &Checker{Resolver: lab.Resolver(200 * time.Millisecond), Lists: pickLists(labBlackhole, labIP), Timeout: 200 * time.Millisecond}
	rs := c.Check(context.Background(), []Target{TargetIP(ip("192.0.2.99"))})
	require.Len(t, rs, 2)
	assert.Equal(t, Unknown, rs[0].Status)
	assert.ErrorIs(t, rs[0].Err, ErrNoAnswer)
	assert.Equal(t, Listed, rs[1].Status)
}

func TestPublicResolverWarning(t *testing.T) {
	tests := []struct {
		servers []string
		want    string // substring; "" means no warning
	}{
		{[]string{"127.0.0.1:53"}, ""},
		{[]string{"8.8.8.8:53"}, "8.8.8.8:53 (Google Public DNS)"},
		{[]string{"127.0.0.53:53", "[2606:4700:4700::1111]:53"}, "(Cloudflare)"},
		{[]string{"9.9.9.9"}, "Quad9"},
		{[]string{"208.67.220.220:53"}, "zen.spamhaus.org, b.barracudacentral.org, dbl.spamhaus.org, multi.uribl.com, multi.surbl.org refuse queries"},
		{[]string{"[::ffff:1.0.0.1]:53"}, "Cloudflare"},
	}
	for _, tt := range tests {
		w := PublicResolverWarning(tt.servers, DefaultLists())
		if tt.want == "" {
			assert.Empty(t, w, tt.servers)
		} else {
			assert.Contains(t, w, tt.want, tt.servers)
		}
	}
	assert.Contains(t, PublicResolverWarning([]string{"1.1.1.1:53"}, []List{{Zone: "bl.example.org"}}), "Spamhaus, URIBL")
}

// TestCheckLyingResolver: answers that are not answers to the DNSBL
// question (dnsclient.Validate) are neither "listed" nor "clean". Each
// zone lists every name with 127.0.0.2 when asked honestly; its lie
// rewrites that answer.
func TestCheckLyingResolver(t *testing.T) {
	listed := &labEntry{codes: []string{"127.0.0.2"}, txt: "listed"}
	zone := func(lie func(req, m *dns.Msg) *dns.Msg) *labZone { return &labZone{all: listed, lie: lie} }
	renamed := func(name string) func(req, m *dns.Msg) *dns.Msg {
		return func(_, m *dns.Msg) *dns.Msg {
			for _, rr := range m.Answer {
				rr.Header().Name = name
			}
			return m
		}
	}
	clean := &labZone{rcode: dns.RcodeNameError}
	zones := map[string]*labZone{
		"honest.lab.test": {all: listed},
		// An echo of the query: RCODE 0, no answer — read naively, "clean".
		"echo.lab.test": {all: listed, lie: func(req, _ *dns.Msg) *dns.Msg { return req }},
		// The echo of a clean zone's question is just as wrong.
		"echoclean.lab.test": {rcode: dns.RcodeNameError, lie: func(req, _ *dns.Msg) *dns.Msg { return req }},
		// An answer to another question: read naively, "listed".
		"otherq.lab.test": zone(func(_, m *dns.Msg) *dns.Msg {
			m.Question[0].Name = "2.0.0.127.otherq.lab.test."
			for _, rr := range m.Answer {
				rr.Header().Name = "2.0.0.127.otherq.lab.test."
			}
			return m
		}),
		// The A record owned by another name, under the right question.
		"owner.lab.test": zone(renamed("2.0.0.127.owner.lab.test.")),
		// An AAAA where A was asked.
		"aaaa.lab.test": zone(func(_, m *dns.Msg) *dns.Msg {
			h := *m.Answer[0].Header()
			h.Rrtype = dns.TypeAAAA
			m.Answer = []dns.RR{&dns.AAAA{Hdr: h, AAAA: net.ParseIP("::ffff:127.0.0.2")}}
			return m
		}),
		// Another opcode.
		"opcode.lab.test": zone(func(_, m *dns.Msg) *dns.Msg { m.Opcode = dns.OpcodeNotify; return m }),
		// NXDOMAIN that carries the A record anyway: glibc (and so
		// Postfix's reject_rbl_client) reads NXDOMAIN, not listed.
		"nxdata.lab.test": zone(func(_, m *dns.Msg) *dns.Msg { m.Rcode = dns.RcodeNameError; return m }),
		// A NOERROR answer without question section.
		"noq.lab.test":   zone(func(_, m *dns.Msg) *dns.Msg { m.Question = nil; return m }),
		"clean.lab.test": clean,
	}
	lab := startLabDNS(t, zones, 0)
	tests := []struct {
		zone   string
		status Status
		err    error
	}{
		{zone: "honest.lab.test", status: Listed},
		{zone: "clean.lab.test", status: Clean},
		{zone: "echo.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "echoclean.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "otherq.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "owner.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "aaaa.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "opcode.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "noq.lab.test", status: Unknown, err: ErrBadAnswer},
		{zone: "nxdata.lab.test", status: Clean},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			c := &Checker{Resolver: lab.Resolver(150 * time.Millisecond), Lists: []List{{Zone: tt.zone, Kind: KindIP}}, Timeout: 150 * time.Millisecond}
			rs := c.Check(context.Background(), []Target{TargetIP(ip("192.0.2.7"))})
			require.Len(t, rs, 1)
			assert.Equal(t, tt.status, rs[0].Status, "error: %s", rs[0].Error)
			if tt.err != nil {
				assert.ErrorIs(t, rs[0].Err, tt.err)
				assert.Empty(t, rs[0].Codes, "no code from an answer that was not believed")
			}
		})
	}
}
