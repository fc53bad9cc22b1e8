package dnsclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// ErrBadAnswer: the resolver sent a message with the right ID that is not
// an answer to the question asked — the query echoed back (QR bit clear),
// another opcode, another question, or an answer section holding records
// for other names only. Such a message is never believed: it cannot say
// "listed" for a DNSBL nor give an MX route.
var ErrBadAnswer = errors.New("DNS message does not answer the question asked")

// maxChain bounds the CNAME chain followed inside one answer section when
// deciding which owner names belong to the answer. Package mx applies its
// own, smaller, hop limit on top.
const maxChain = 16

// Validate checks that resp answers q and returns the part of resp that may
// be believed. It is the one validation every lookup goes through (MX,
// host addresses, DNSBL A and TXT), so that no caller can believe an
// answer another caller would reject. The checks follow what a stub
// resolver does before it trusts a message (glibc's res_send
// res_queriesmatch and getanswer_r, RFC 1035 §4.1.1, RFC 5452 §9.1):
//
//   - the ID is the query's (ErrIDMismatch);
//   - the QR bit is set: a resolver, middlebox or reflector that echoes
//     the query sends back a message with no answer and RCODE 0, which
//     would otherwise read as "no records" — "clean" to a DNSBL check;
//   - the opcode is the query's;
//   - the question section is the one question asked (name compared
//     case-insensitively, type and class equal). Servers may omit the
//     question in a failure reply (SERVFAIL, REFUSED, FORMERR…); that is
//     accepted for those RCODEs only, since they carry no data;
//   - the answer section is reduced to records owned by the name asked or
//     by the CNAME chain that starts there, of the asked type (or CNAME)
//     and class IN. Records for other names are dropped, as glibc's
//     getanswer_r skips them ("asked for X, got Y"); when the answer held
//     such records and nothing else, the message is rejected rather than
//     read as NODATA;
//   - NXDOMAIN keeps only the CNAME chain (RFC 6604 §3: the RCODE is about
//     the chain's end). Any other record it carries is dropped: glibc's
//     res_query returns HOST_NOT_FOUND for NXDOMAIN whatever the answer
//     count, so Postfix sees NXDOMAIN, and so do we;
//   - any other failure RCODE keeps no records at all.
//
// The authority and additional sections are returned as they are; no
// caller reads them for data. resp itself is not modified.
//
// That the answer came from the address asked is guaranteed by the
// transport: UDP queries use a connected socket, so the kernel drops
// datagrams from any other address or port, and TCP is one connection.
func Validate(q, resp *dns.Msg) (*dns.Msg, error) {
	if resp == nil {
		return nil, fmt.Errorf("%w: no message", ErrBadAnswer)
	}
	if resp.Id != q.Id {
		return nil, fmt.Errorf("%w: answer ID %d, query ID %d", ErrIDMismatch, resp.Id, q.Id)
	}
	if !resp.Response {
		return nil, fmt.Errorf("%w: QR bit not set: the query came back, not an answer", ErrBadAnswer)
	}
	if resp.Opcode != q.Opcode {
		return nil, fmt.Errorf("%w: opcode %s, asked %s", ErrBadAnswer, opcodeName(resp.Opcode), opcodeName(q.Opcode))
	}
	if len(q.Question) != 1 {
		return nil, fmt.Errorf("%w: the query must carry exactly one question", ErrBadAnswer)
	}
	want := q.Question[0]
	dataRcode := resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError
	switch {
	case len(resp.Question) == 0 && dataRcode:
		return nil, fmt.Errorf("%w: no question section in a %s answer", ErrBadAnswer, rcodeName(resp.Rcode))
	case len(resp.Question) == 0:
		// A failure without the question: informative, carries no data.
	case len(resp.Question) > 1:
		return nil, fmt.Errorf("%w: %d questions in the answer, one asked", ErrBadAnswer, len(resp.Question))
	default:
		got := resp.Question[0]
		if !strings.EqualFold(dns.CanonicalName(got.Name), dns.CanonicalName(want.Name)) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
			return nil, fmt.Errorf("%w: it answers %s %s %s, not %s %s %s", ErrBadAnswer,
				got.Name, className(got.Qclass), typeName(got.Qtype),
				want.Name, className(want.Qclass), typeName(want.Qtype))
		}
	}

	out := resp.Copy()
	out.Answer = nil
	if !dataRcode {
		return out, nil
	}
	owners := chainOwners(resp.Answer, dns.CanonicalName(want.Name))
	var foreign []string
	for _, rr := range resp.Answer {
		h := rr.Header()
		if !relevant(h.Rrtype, want.Qtype) {
			continue // DNSSEC records, a DNAME beside its synthesised CNAME…
		}
		owned := owners[dns.CanonicalName(h.Name)] && h.Class == dns.ClassINET
		switch {
		case owned && h.Rrtype == dns.TypeCNAME:
			out.Answer = append(out.Answer, rr)
		case owned && h.Rrtype == want.Qtype && resp.Rcode == dns.RcodeSuccess:
			out.Answer = append(out.Answer, rr)
		case owned && resp.Rcode == dns.RcodeNameError:
			// NXDOMAIN is NXDOMAIN, whatever else came with it.
		default:
			foreign = append(foreign, h.Name+" "+typeName(h.Rrtype))
		}
	}
	if len(foreign) > 0 && len(out.Answer) == 0 && resp.Rcode == dns.RcodeSuccess {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], fmt.Sprintf("and %d more", len(foreign)-3))
		}
		return nil, fmt.Errorf("%w: asked for %s %s, the answer holds only %s", ErrBadAnswer,
			want.Name, typeName(want.Qtype), strings.Join(foreign, ", "))
	}
	return out, nil
}

// chainOwners returns the names whose records answer a question for name:
// name itself and every CNAME target reachable from it within the answer.
func chainOwners(rrs []dns.RR, name string) map[string]bool {
	owners := map[string]bool{name: true}
	cur := name
	for range maxChain {
		next := ""
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && c.Hdr.Class == dns.ClassINET && dns.CanonicalName(c.Hdr.Name) == cur {
				next = dns.CanonicalName(c.Target)
				break
			}
		}
		if next == "" || owners[next] {
			break
		}
		owners[next] = true
		cur = next
	}
	return owners
}

// relevant reports whether a record of type t in the answer section claims
// to answer a question of type qtype: records of the asked type, CNAMEs,
// and any other data type (an AAAA where A was asked is a wrong answer,
// not an aside). DNSSEC records and DNAMEs accompany an answer without
// being one.
func relevant(t, qtype uint16) bool {
	switch t {
	case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeDNAME, dns.TypeOPT:
		return t == qtype
	}
	return true
}

func opcodeName(op int) string {
	if s, ok := dns.OpcodeToString[op]; ok {
		return s
	}
	return fmt.Sprintf("OPCODE%d", op)
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func className(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return fmt.Sprintf("CLASS%d", c)
}
