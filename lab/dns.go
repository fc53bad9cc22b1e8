package lab

import (
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
)

const (
	zoneOrigin   = "lab.test."
	servfailName = "servfail.lab.test."
)

// zone is the lab's authoritative data, built once per process from the
// scenarios' records: it holds no per-Lab state (no ports).
type zone struct {
	names map[string][]dns.RR // owner name (lower case, FQDN) → records
	soa   dns.RR
}

var labZone struct {
	once sync.Once
	z    *zone
	err  error
}

func getZone() (*zone, error) {
	labZone.once.Do(func() {
		z := &zone{names: make(map[string][]dns.RR)}
		seen := make(map[string]bool)
		add := func(text string) error {
			if seen[text] {
				return nil
			}
			seen[text] = true
			rr, err := dns.NewRR(text)
			if err != nil {
				return fmt.Errorf("lab: zone record %q: %w", text, err)
			}
			name := strings.ToLower(rr.Header().Name)
			z.names[name] = append(z.names[name], rr)
			if rr.Header().Rrtype == dns.TypeSOA {
				z.soa = rr
			}
			return nil
		}
		for _, text := range extraRecords {
			if err := add(text); err != nil {
				labZone.err = err
				return
			}
		}
		for _, sc := range scenarioTemplates {
			for _, text := range sc.DNS {
				if err := add(text); err != nil {
					labZone.err = err
					return
				}
			}
		}
		labZone.z = z
	})
	return labZone.z, labZone.err
}

// exists reports whether name owns records or is an empty non-terminal
// (an ancestor of a name that does), which answers NODATA, not NXDOMAIN
// (RFC 8020).
func (z *zone) exists(name string) bool {
	if _, ok := z.names[name]; ok {
		return true
	}
	suffix := "." + name
	for n := range z.names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// ServeDNS answers as an authoritative server for lab.test: AA set,
// REFUSED outside the zone (no recursion offered), SERVFAIL for
// servfail.lab.test and below, CNAMEs chased inside the zone, NXDOMAIN or
// NODATA with the SOA in the authority section (RFC 2308), address glue
// for MX targets, and truncation (TC) when a UDP answer exceeds the
// client's buffer (512 bytes, or its EDNS0 size).
func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := z.answer(req)
	dnsserve.Fit(w, req, m)
	_ = w.WriteMsg(m)
}

func (z *zone) answer(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Compress = true
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if !dns.IsSubDomain(zoneOrigin, name) || q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	if dns.IsSubDomain(servfailName, name) {
		m.Authoritative = false
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	// Follow CNAMEs inside the zone as an authoritative server does
	// (RFC 1034 §4.3.2), with a bound so the loop1/loop2 pair ends.
	for hops := 0; hops < 8; hops++ {
		rrs, ok := z.names[name]
		if !ok {
			if !z.exists(name) {
				m.Rcode = dns.RcodeNameError
			}
			m.Ns = []dns.RR{z.soa}
			return m
		}
		var cname *dns.CNAME
		var found []dns.RR
		for _, rr := range rrs {
			if c, isC := rr.(*dns.CNAME); isC && q.Qtype != dns.TypeCNAME {
				cname = c
			}
			if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
				found = append(found, dns.Copy(rr))
			}
		}
		if cname != nil && len(found) == 0 {
			m.Answer = append(m.Answer, dns.Copy(cname))
			name = strings.ToLower(cname.Target)
			if !dns.IsSubDomain(zoneOrigin, name) {
				return m
			}
			continue
		}
		if len(found) == 0 {
			m.Ns = []dns.RR{z.soa}
			return m
		}
		m.Answer = append(m.Answer, found...)
		if q.Qtype == dns.TypeMX {
			m.Extra = z.glue(found)
		}
		return m
	}
	return m
}

func (z *zone) glue(mxs []dns.RR) []dns.RR {
	var extra []dns.RR
	for _, rr := range mxs {
		mx, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		for _, a := range z.names[strings.ToLower(mx.Mx)] {
			if a.Header().Rrtype == dns.TypeA || a.Header().Rrtype == dns.TypeAAAA {
				extra = append(extra, dns.Copy(a))
			}
		}
	}
	return extra
}
