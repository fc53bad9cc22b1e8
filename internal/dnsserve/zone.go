package dnsserve

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Zone is the handler of tests that need a few names answered: it
// answers authoritatively from a fixed set of records, as a zone's
// server does (RFC 1034 §4.3.2, RFC 2308): the records of the asked name
// and type, CNAMEs followed inside the set; NODATA (NOERROR, no answer)
// for a name that owns records of other types; NXDOMAIN for a name that
// owns none. Over UDP the answer is cut to the client's buffer (512
// bytes, or its EDNS0 size) with TC set. The lab's zone, the mx tests'
// misbehaving resolver and the DNSBL tests' lists answer more than this
// and keep handlers of their own on the same Server.
type Zone struct {
	names map[string][]dns.RR

	mu      sync.Mutex
	queries map[string]int // "name/TYPE" → count
}

// NewZone parses records in zone-file syntax ("a.test. 300 IN MX 10
// mx.a.test.").
func NewZone(records ...string) (*Zone, error) {
	z := &Zone{names: map[string][]dns.RR{}, queries: map[string]int{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			return nil, fmt.Errorf("dnsserve: record %q: %w", s, err)
		}
		if rr == nil {
			return nil, fmt.Errorf("dnsserve: record %q is empty", s)
		}
		name := strings.ToLower(rr.Header().Name)
		z.names[name] = append(z.names[name], rr)
	}
	return z, nil
}

// Queries is how often name (with trailing dot) was asked for qtype.
func (z *Zone) Queries(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[strings.ToLower(name)+"/"+dns.TypeToString[qtype]]
}

// ServeDNS answers one query from the records.
func (z *Zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	m.Authoritative = true
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	z.mu.Lock()
	z.queries[name+"/"+dns.TypeToString[q.Qtype]]++
	z.mu.Unlock()
	if _, ok := z.names[name]; !ok {
		m.Rcode = dns.RcodeNameError
	}
	// A bound on the chain, so a CNAME loop in the records ends.
	for hops := 0; hops < 8; hops++ {
		var cname *dns.CNAME
		found := false
		for _, rr := range z.names[name] {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil {
			break
		}
		m.Answer = append(m.Answer, cname)
		name = strings.ToLower(cname.Target)
	}
	Fit(w, req, m)
	_ = w.WriteMsg(m)
}

// Fit cuts m, over UDP, to the client's buffer: 512 bytes, or the EDNS0
// size it announced if larger (RFC 6891 §6.2.5), setting TC when records
// were left out (RFC 1035 §4.1.1), as a real server does; the client
// then asks again over TCP. Over TCP m is left alone.
func Fit(w dns.ResponseWriter, req, m *dns.Msg) {
	if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
		return
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
		size = int(opt.UDPSize())
	}
	m.Truncate(size)
}
