package mx

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/internal/dnsserve"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// misbehaviour is how the test resolver treats a name (or name/TYPE).
type misbehaviour int

const (
	behave           misbehaviour = iota
	servfail                      // RCODE SERVFAIL
	refused                       // RCODE REFUSED
	notimp                        // RCODE NOTIMP
	silent                        // never answers
	wrongID                       // answers with the query ID flipped
	garbage                       // answers with a message cut mid-record
	wrongQuestion                 // answers a different question
	truncateUDP                   // UDP answers carry TC and no records
	cnameOnly                     // answers with the name's CNAME alone, no chasing
	echo                          // sends the query back as it came (QR bit clear)
	foreignOwner                  // the records, renamed to another name
	nxdomainWithData              // NXDOMAIN, with the records anyway
	wrongOpcode                   // the answer, with opcode STATUS
	wrongClass                    // the answer, with the question's class CHAOS
	caseFlipped                   // the answer, with the question name upper-cased (0x20 mixing: valid)
)

// fakeResolver is an in-process recursive resolver on loopback, served by
// dnsserve (UDP and TCP on one port), answering from zone text fixtures.
type fakeResolver struct {
	Addr string

	zone  map[string]map[uint16][]dns.RR // canonical owner → type → records
	rules map[string]misbehaviour        // "name." or "name./TYPE"

	mu  sync.Mutex
	log []queryLog
}

type queryLog struct {
	Name, Type, Net string
}

// newFakeResolver loads the zone files and the per-name misbehaviours,
// without serving them.
func newFakeResolver(t testing.TB, rules map[string]misbehaviour, zoneFiles ...string) *fakeResolver {
	t.Helper()
	f := &fakeResolver{zone: map[string]map[uint16][]dns.RR{}, rules: map[string]misbehaviour{}}
	for k, v := range rules {
		name, typ, _ := strings.Cut(k, "/")
		key := dns.CanonicalName(name)
		if typ != "" {
			key += "/" + typ
		}
		f.rules[key] = v
	}
	for _, file := range zoneFiles {
		f.loadZone(t, file)
	}
	return f
}

// startFakeResolver serves the zone files under testdata/ with the given
// per-name misbehaviours until the test ends.
func startFakeResolver(t testing.TB, rules map[string]misbehaviour, zoneFiles ...string) *fakeResolver {
	t.Helper()
	f := newFakeResolver(t, rules, zoneFiles...)

	srv, err := dnsserve.Listen("127.0.0.1", f)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	f.Addr = srv.Addr
	return f
}

func (f *fakeResolver) loadZone(t testing.TB, file string) {
	t.Helper()
	fh, err := os.Open(file)
	require.NoError(t, err)
	defer fh.Close()
	zp := dns.NewZoneParser(fh, "", file)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		owner := dns.CanonicalName(h.Name)
		if f.zone[owner] == nil {
			f.zone[owner] = map[uint16][]dns.RR{}
		}
		f.zone[owner][h.Rrtype] = append(f.zone[owner][h.Rrtype], rr)
	}
	require.NoError(t, zp.Err())
}

// client returns a dnsclient for this resolver with a short timeout, so
// the silent cases end quickly.
func (f *fakeResolver) client() *dnsclient.Client {
	return &dnsclient.Client{Servers: []string{f.Addr}, Timeout: 200 * time.Millisecond}
}

// queries returns the transports ("udp", "tcp") used to ask name/qtype.
func (f *fakeResolver) queries(name, qtype string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var nets []string
	for _, q := range f.log {
		if q.Name == dns.CanonicalName(name) && q.Type == qtype {
			nets = append(nets, q.Net)
		}
	}
	return nets
}

func (f *fakeResolver) rule(name string, qtype uint16) misbehaviour {
	if b, ok := f.rules[name+"/"+dns.TypeToString[qtype]]; ok {
		return b
	}
	return f.rules[name]
}

func (f *fakeResolver) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	network := w.LocalAddr().Network()
	f.mu.Lock()
	f.log = append(f.log, queryLog{Name: name, Type: dns.TypeToString[q.Qtype], Net: network})
	f.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	switch f.rule(name, q.Qtype) {
	case silent:
		return
	case servfail:
		m.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(m)
		return
	case refused:
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	case notimp:
		m.Rcode = dns.RcodeNotImplemented
		_ = w.WriteMsg(m)
		return
	case wrongQuestion:
		m.Question[0].Name = "elsewhere.test."
	case echo:
		_ = w.WriteMsg(req)
		return
	case wrongOpcode:
		m.Opcode = dns.OpcodeStatus
	case wrongClass:
		m.Question[0].Qclass = dns.ClassCHAOS
	case caseFlipped:
		m.Question[0].Name = strings.ToUpper(m.Question[0].Name)
	case truncateUDP:
		if network == "udp" {
			m.Truncated = true
			_ = w.WriteMsg(m)
			return
		}
	}

	f.answer(m, name, q.Qtype)

	// Over TCP, compress as real resolvers do, so that the largest
	// answers (2,800 MX) fit the 64 KB a TCP message can carry. UDP
	// answers stay uncompressed, which keeps the 32-MX answer over the
	// UDP limit and the TCP retry tested.
	m.Compress = network == "tcp"
	// A real resolver never sends more than the client's EDNS0 buffer
	// size (512 without EDNS0) over UDP: it truncates and sets TC.
	dnsserve.Fit(w, req, m)
	switch f.rule(name, q.Qtype) {
	case foreignOwner:
		for i, rr := range m.Answer {
			rr = dns.Copy(rr)
			rr.Header().Name = "elsewhere.test."
			m.Answer[i] = rr
		}
	case nxdomainWithData:
		m.Rcode = dns.RcodeNameError
	case wrongID:
		m.Id ^= 0xffff
	case garbage:
		buf, err := m.Pack()
		if err != nil {
			return
		}
		// The header still promises the records the cut removed.
		_, _ = w.Write(buf[:len(buf)-3])
		return
	}
	_ = w.WriteMsg(m)
}

// answer fills m like a recursive resolver: the CNAME chain from name (up
// to 12 hops, stopping at a repeat), then the records of qtype at its end,
// or NXDOMAIN if the end does not exist.
func (f *fakeResolver) answer(m *dns.Msg, name string, qtype uint16) {
	cur := name
	seen := map[string]bool{cur: true}
	for hop := 0; hop < 12; hop++ {
		rrset := f.zone[cur]
		if rrset == nil {
			m.Rcode = dns.RcodeNameError
			return
		}
		if rrs := rrset[qtype]; len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			return
		}
		cname := rrset[dns.TypeCNAME]
		if len(cname) == 0 {
			return // NODATA
		}
		m.Answer = append(m.Answer, cname[0])
		target := dns.CanonicalName(cname[0].(*dns.CNAME).Target)
		if seen[target] || f.rule(cur, qtype) == cnameOnly {
			return
		}
		seen[target] = true
		cur = target
	}
}

// errKind returns the sentinel an *Error carries, or nil.
func errKind(e *Error) error {
	if e == nil {
		return nil
	}
	return e.Kind
}

// zoneQuerier answers from a fakeResolver's zone in-process: an
// mx.Querier with no socket, as the Resolver's tests need.
type zoneQuerier struct{ f *fakeResolver }

func (q zoneQuerier) Query(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(name), qtype)
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	q.f.answer(m, dns.CanonicalName(name), qtype)
	return m, nil
}
