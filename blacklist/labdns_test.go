package blacklist

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/internal/dnsserve"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// labEntry is what a lab zone answers for one name.
type labEntry struct {
	codes []string // A records
	txt   string   // TXT record, "" for none
}

// labZone is one DNSBL zone served by labDNS.
type labZone struct {
	entries map[string]labEntry // relative name ("99.2.0.192", "spam.example") → answer
	all     *labEntry           // when set, every name in the zone gets this answer
	rcode   int                 // when non-zero, every query gets this RCODE
	drop    bool                // never answer (the client times out)
	// lie, when set, rewrites the honest answer into a lying one.
	lie func(req, m *dns.Msg) *dns.Msg
}

// labDNS is an in-process DNSBL server on 127.0.0.1, UDP only like
// rbldnsd, answering like a recursive resolver that reaches the zones.
type labDNS struct {
	Addr    string
	zones   map[string]*labZone
	delay   time.Duration
	queries atomic.Int64
	srv     *dnsserve.Server
}

func newLabDNS(zones map[string]*labZone, delay time.Duration) (*labDNS, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &labDNS{Addr: pc.LocalAddr().String(), zones: zones, delay: delay}
	l.srv = dnsserve.Start(pc, nil, dns.HandlerFunc(l.serve))
	return l, nil
}

func startLabDNS(tb testing.TB, zones map[string]*labZone, delay time.Duration) *labDNS {
	tb.Helper()
	l, err := newLabDNS(zones, delay)
	require.NoError(tb, err)
	tb.Cleanup(l.Close)
	return l
}

func (l *labDNS) Close() { _ = l.srv.Close() }

// Resolver returns the production resolver pointed at the lab server.
func (l *labDNS) Resolver(timeout time.Duration) DNSResolver {
	return DNSResolver{Client: &dnsclient.Client{Servers: []string{l.Addr}, Timeout: timeout}}
}

func (l *labDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	l.queries.Add(1)
	if l.delay > 0 {
		time.Sleep(l.delay)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	var zone *labZone
	var rel, best string
	for zn, z := range l.zones {
		if r, ok := strings.CutSuffix(name, "."+zn); ok && len(zn) > len(best) {
			zone, rel, best = z, r, zn
		}
	}
	if zone != nil && zone.lie != nil {
		real, lie := w, zone.lie
		defer func() { _ = real.WriteMsg(lie(req, m)) }()
		zone = &labZone{entries: zone.entries, all: zone.all, rcode: zone.rcode}
		w = discardWriter{w}
	}
	switch {
	case zone == nil:
		m.Rcode = dns.RcodeNameError
	case zone.drop:
		return
	case zone.rcode != 0:
		m.Rcode = zone.rcode
	default:
		e, ok := zone.entries[rel]
		if zone.all != nil {
			e, ok = *zone.all, true
		}
		if !ok {
			m.Rcode = dns.RcodeNameError
			break
		}
		switch q.Qtype {
		case dns.TypeA:
			for _, c := range e.codes {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IP(netip.MustParseAddr(c).AsSlice()),
				})
			}
		case dns.TypeTXT:
			if e.txt != "" {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
					Txt: []string{e.txt},
				})
			}
		}
	}
	_ = w.WriteMsg(m)
}

// Lab zones shared by the tests. Names follow RFC 2606 / RFC 5737 / RFC
// 3849: nothing here exists outside the lab.
const (
	labIP        = "ip.lab.test"        // IP list: lists 127.0.0.2, 192.0.2.99, 2001:db8::99
	labDom       = "dom.lab.test"       // domain list: lists test, spam.example, phish.example
	labPublic    = "public.lab.test"    // answers 127.255.255.254 to everything
	labTypo      = "typo.lab.test"      // answers 127.255.255.252 to everything
	labQuota     = "quota.lab.test"     // answers 127.255.255.255 to everything
	labDBLIP     = "dblip.lab.test"     // domain list answering 127.0.1.255 (IP asked)
	labBits      = "bits.lab.test"      // URIBL-style bitmask domain list
	labRewrite   = "rewrite.lab.test"   // answers 198.51.100.10 (NXDOMAIN rewriting)
	labServfail  = "servfail.lab.test"  // SERVFAIL
	labRefused   = "refused.lab.test"   // REFUSED
	labBlackhole = "blackhole.lab.test" // never answers
	labWild      = "wild.lab.test"      // retired list: lists everything, 127.0.0.1 included
)

// nibbles of 2001:db8::99, as written by RFC 5782 §2.4.
const v6Nibbles = "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

func labZones() map[string]*labZone {
	return map[string]*labZone{
		labIP: {entries: map[string]labEntry{
			"2.0.0.127":  {codes: []string{"127.0.0.2"}, txt: "test point"},
			"99.2.0.192": {codes: []string{"127.0.0.4", "127.0.0.2"}, txt: "Listed: see http://lab.test/192.0.2.99"},
			v6Nibbles:    {codes: []string{"127.0.0.3"}},
		}},
		labDom: {entries: map[string]labEntry{
			"test":          {codes: []string{"127.0.1.2"}},
			"spam.example":  {codes: []string{"127.0.1.2"}, txt: "spam domain spam.example"},
			"phish.example": {codes: []string{"127.0.1.4"}},
		}},
		labPublic:    {all: &labEntry{codes: []string{"127.255.255.254"}, txt: "public resolver refused"}},
		labTypo:      {all: &labEntry{codes: []string{"127.255.255.252"}}},
		labQuota:     {all: &labEntry{codes: []string{"127.255.255.255"}}},
		labDBLIP:     {all: &labEntry{codes: []string{"127.0.1.255"}}},
		labRewrite:   {all: &labEntry{codes: []string{"198.51.100.10"}}},
		labServfail:  {rcode: dns.RcodeServerFailure},
		labRefused:   {rcode: dns.RcodeRefused},
		labBlackhole: {drop: true},
		labWild:      {all: &labEntry{codes: []string{"127.0.0.2"}}},
		labBits: {entries: map[string]labEntry{
			"test":            {codes: []string{"127.0.0.2"}},
			"black.example":   {codes: []string{"127.0.0.2"}},
			"greyred.example": {codes: []string{"127.0.0.12"}},
			"odd.example":     {codes: []string{"127.0.0.32"}},
			"refused.example": {codes: []string{"127.0.0.1"}},
		}},
	}
}

// labLists are List definitions for labZones, with the real lists'
// conventions (Spamhaus error codes, URIBL bitmask).
func labLists() map[string]List {
	spam := spamhausErrors()
	dbl := spamhausErrors()
	dbl[ip("127.0.1.255")] = "error: an IP address was asked of a domain list"
	uribl := DefaultLists()[6]
	uribl.Zone = labBits
	uribl.TestListed = ""
	return map[string]List{
		labIP: {Zone: labIP, Kind: KindIP, Codes: map[netip.Addr]string{
			ip("127.0.0.2"): "spam source", ip("127.0.0.4"): "exploited host",
		}, ErrorCodes: spam},
		labDom:       {Zone: labDom, Kind: KindDomain, Codes: map[netip.Addr]string{ip("127.0.1.2"): "spam domain", ip("127.0.1.4"): "phishing domain"}, ErrorCodes: dbl},
		labPublic:    {Zone: labPublic, Kind: KindIP, ErrorCodes: spam},
		labTypo:      {Zone: labTypo, Kind: KindIP, ErrorCodes: spam},
		labQuota:     {Zone: labQuota, Kind: KindIP, ErrorCodes: spam},
		labDBLIP:     {Zone: labDBLIP, Kind: KindDomain, ErrorCodes: dbl},
		labBits:      uribl,
		labRewrite:   {Zone: labRewrite, Kind: KindIP},
		labServfail:  {Zone: labServfail, Kind: KindIP},
		labRefused:   {Zone: labRefused, Kind: KindIP},
		labBlackhole: {Zone: labBlackhole, Kind: KindIP},
		labWild:      {Zone: labWild, Kind: KindIP},
	}
}

func pickLists(zones ...string) []List {
	all := labLists()
	out := make([]List, len(zones))
	for i, z := range zones {
		out[i] = all[z]
	}
	return out
}

// discardWriter swallows the honest answer so that a lying zone can send
// its rewrite instead.
type discardWriter struct{ dns.ResponseWriter }

func (discardWriter) WriteMsg(*dns.Msg) error { return nil }
