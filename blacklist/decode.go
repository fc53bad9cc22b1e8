package blacklist

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/peertext"
)

// Reasons a Result is Unknown; Result.Err wraps one of them.
var (
	// ErrErrorCode: the list answered with one of its error codes
	// (Spamhaus 127.255.255.254, URIBL 127.0.0.1…). It refused to say.
	ErrErrorCode = errors.New("list answered with an error code, not a listing")
	// ErrOutsideLoopback: an A answer outside 127.0.0.0/8. RFC 5782 §2.1
	// keeps DNSBL answers in 127/8; anything else is a resolver rewriting
	// NXDOMAIN into an advertising or portal address.
	ErrOutsideLoopback = errors.New("answer outside 127.0.0.0/8: the resolver rewrites answers")
	// ErrResolver: SERVFAIL, REFUSED or another failure RCODE.
	ErrResolver = errors.New("resolver failure")
	// ErrNoAnswer: the query got no answer at all (timeout, network).
	ErrNoAnswer = errors.New("no answer")
	// ErrBadAnswer: what came back was not an answer to the question
	// (dnsclient.Validate): the query echoed, another question answered,
	// records owned by another name. It says neither "listed" nor "clean".
	ErrBadAnswer = errors.New("the resolver's answer does not answer the question asked")
	// ErrHostNotFound: a host-name target has no A or AAAA records.
	ErrHostNotFound = errors.New("host name has no addresses")
	// ErrNotPublic: the address (loopback, private, CGNAT, documentation…)
	// cannot be an Internet sender, so a public list was not asked about
	// it (scope.go); name it yourself to ask anyway.
	ErrNotPublic = errors.New("not asked: not a public Internet address")
)

// Answer is what a resolver said to one question, reduced to what DNSBL
// decoding needs.
type Answer struct {
	Rcode int          // dns.RcodeSuccess, dns.RcodeNameError (NXDOMAIN), …
	Addrs []netip.Addr // A records in the answer section
	TXT   []string     // TXT records, each record's strings concatenated
}

// AnswerFromMsg extracts an Answer from a DNS message. Records of other
// types (a CNAME the resolver followed, a stray AAAA) are skipped. AAAA
// answers are kept as addresses so that a broken list or resolver
// returning them is reported as outside 127/8 rather than silently clean.
func AnswerFromMsg(m *dns.Msg) Answer {
	a := Answer{Rcode: m.Rcode}
	for _, rr := range m.Answer {
		switch r := rr.(type) {
		case *dns.A:
			if addr, ok := netip.AddrFromSlice(r.A); ok {
				a.Addrs = append(a.Addrs, addr.Unmap())
			}
		case *dns.AAAA:
			if addr, ok := netip.AddrFromSlice(r.AAAA); ok {
				a.Addrs = append(a.Addrs, addr)
			}
		case *dns.TXT:
			// The list's own words, shown to the user: neutralised here,
			// where they enter a result (miekg/dns already writes
			// non-printable octets as \DDD; this also covers whatever
			// a future decoder lets through).
			a.TXT = append(a.TXT, peertext.Neutralise(strings.Join(r.Txt, "")))
		}
	}
	return a
}

// Verdict is the decoded meaning of one A answer from one list.
type Verdict struct {
	Status   Status
	Codes    []string // answers, sorted, e.g. 127.0.0.2
	Meanings []string // one per code
	Err      error    // set when Status is Unknown
}

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// errorRange is 127.255.255.0/24, where Spamhaus and the lists and
// mirrors that copy its convention put their error answers
// (127.255.255.252 typo'd zone, .254 public/open resolver, .255 over
// quota; https://www.spamhaus.org/resource-hub/dnsbl/using-our-public-mirrors-check-your-return-codes-now./).
// No list uses it for listings, so on any list it is an error unless the
// list's spec declares the code a listing.
var errorRange = netip.MustParsePrefix("127.255.255.0/24")

// Decode reads the answer to an A query on list l. The rules, in order:
//
//   - NXDOMAIN, or NOERROR with no A record: Clean (RFC 5782 §2.1).
//   - any other RCODE (SERVFAIL, REFUSED…): Unknown. A list that could
//     not be asked has not said "clean".
//   - any answer outside 127.0.0.0/8: Unknown, the resolver rewrites.
//   - any answer that is one of the list's ErrorCodes, or lies in
//     127.255.255.0/24 without being declared a listing code of the list:
//     Unknown. Even one error code among real codes makes the whole answer
//     untrustworthy.
//   - otherwise: Listed, each code with its meaning.
func Decode(l List, a Answer) Verdict {
	switch a.Rcode {
	case dns.RcodeNameError:
		return Verdict{Status: Clean}
	case dns.RcodeSuccess:
	default:
		return Verdict{Status: Unknown, Err: fmt.Errorf("%w: %s", ErrResolver, rcodeName(a.Rcode))}
	}
	if len(a.Addrs) == 0 {
		return Verdict{Status: Clean}
	}
	addrs := append([]netip.Addr(nil), a.Addrs...)
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	v := Verdict{Status: Listed}
	var errs []string
	var sentinel error
	for i, addr := range addrs {
		if i > 0 && addr == addrs[i-1] {
			continue
		}
		v.Codes = append(v.Codes, addr.String())
		switch {
		case !addr.Is4() || !loopback.Contains(addr):
			v.Meanings = append(v.Meanings, "error: not a DNSBL answer (outside 127.0.0.0/8): the resolver rewrites answers")
			errs = append(errs, addr.String())
			if sentinel == nil {
				sentinel = ErrOutsideLoopback
			}
		case l.ErrorCodes[addr] != "":
			m := l.ErrorCodes[addr]
			v.Meanings = append(v.Meanings, m)
			errs = append(errs, addr.String()+" "+m)
			sentinel = ErrErrorCode
		case errorRange.Contains(addr) && l.Codes[addr] == "":
			m := "error: 127.255.255.0/24 is the DNSBL error range (typo'd zone, query through a public resolver, or over quota), not a listing"
			v.Meanings = append(v.Meanings, m)
			errs = append(errs, addr.String()+" "+m)
			sentinel = ErrErrorCode
		default:
			v.Meanings = append(v.Meanings, meaning(l, addr))
		}
	}
	if sentinel != nil {
		v.Status = Unknown
		v.Err = fmt.Errorf("%w: %s", sentinel, strings.Join(errs, "; "))
	}
	return v
}

// meaning names a listing code. Bitmask lists (Bits set) encode several
// sub-lists in the last octet of 127.0.0.x; the others map whole codes.
func meaning(l List, addr netip.Addr) string {
	if m, ok := l.Codes[addr]; ok {
		return m
	}
	o := addr.As4()
	if len(l.Bits) > 0 && o[1] == 0 && o[2] == 0 && o[3] != 0 {
		var parts []string
		for bit := 1; bit <= 128; bit <<= 1 {
			if o[3]&uint8(bit) == 0 {
				continue
			}
			if m, ok := l.Bits[uint8(bit)]; ok {
				parts = append(parts, m)
			} else {
				parts = append(parts, fmt.Sprintf("bit %d (not documented for this list)", bit))
			}
		}
		return strings.Join(parts, "; ")
	}
	return "listed (code not documented for this list)"
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE %d", rc)
}
