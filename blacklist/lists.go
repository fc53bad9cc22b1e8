package blacklist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ErrBadListSpec is wrapped by every error ParseLists returns.
var ErrBadListSpec = errors.New("bad DNSBL list specification")

// List is one DNS blocklist: the zone queried and how to read its answers.
//
// RFC 5782 §2.1 says any A record in 127.0.0.0/8 means "listed", and
// lists use the last octets to say why. Large lists also use reserved
// answers to say "I will not answer you" (Spamhaus 127.255.255.254 for a
// query through a public resolver, URIBL 127.0.0.1 for a refused query).
// Those are kept apart in ErrorCodes, because reading them as listings is
// the classic DNSBL false positive: every address looks listed.
type List struct {
	Zone string // e.g. zen.spamhaus.org, without trailing dot
	Kind Kind   // what is prepended: reversed IP (KindIP) or a domain (KindDomain)
	Name string // human name, e.g. "Spamhaus ZEN"; may be empty
	// Codes maps a returned A record to what it means on this list.
	Codes map[netip.Addr]string
	// Bits, for bitmask lists (URIBL, SURBL), maps a bit of the last
	// octet of a 127.0.0.x answer to its meaning. A list with Bits
	// decodes 127.0.0.x as a set of sub-lists rather than by Codes.
	Bits map[uint8]string
	// ErrorCodes are answers that mean "query refused / error", never
	// "listed": the list's way of declining to answer this resolver.
	ErrorCodes map[netip.Addr]string
	// RefusesPublicResolvers is true for lists known to refuse, or
	// answer with an error code, queries that arrive through large
	// public resolvers (Google, Cloudflare, Quad9, OpenDNS…).
	RefusesPublicResolvers bool
	// TestListed and TestClean override the RFC 5782 §5 test points
	// (127.0.0.2 / 127.0.0.1 for IP lists, "test" / "invalid" for domain
	// lists) for lists that publish different ones. Empty means the RFC's.
	TestListed, TestClean string
	// Public marks a list of the public Internet (the built-in ones, and
	// entries of --lists that name one of their zones): it is never asked
	// about an address PublicAddr rejects that the user did not name
	// (scope.go).
	Public bool
}

// spamhausErrors are the answers Spamhaus (and lists copying its
// convention) return instead of a listing when refusing a query.
func spamhausErrors() map[netip.Addr]string {
	return map[netip.Addr]string{
		ip("127.255.255.252"): "error: typo in the DNSBL zone name, or zone not served to this resolver",
		ip("127.255.255.254"): "error: query through a public/open resolver, refused by Spamhaus",
		ip("127.255.255.255"): "error: excessive number of queries from this resolver",
	}
}

// DefaultLists returns the well-known lists checked when --lists is not
// given: IP lists first, then domain lists. Each call returns fresh maps,
// so callers may modify the result.
func DefaultLists() []List {
	zen := map[netip.Addr]string{
		ip("127.0.0.2"):  "SBL: Spamhaus Block List, known spam source or spam operation",
		ip("127.0.0.3"):  "SBL CSS: low-reputation or snowshoe spam source",
		ip("127.0.0.4"):  "XBL: exploited host (malware, botnet, open proxy)",
		ip("127.0.0.5"):  "XBL: exploited host (malware, botnet, open proxy)",
		ip("127.0.0.6"):  "XBL: exploited host (malware, botnet, open proxy)",
		ip("127.0.0.7"):  "XBL: exploited host (malware, botnet, open proxy)",
		ip("127.0.0.9"):  "DROP: hijacked or spammer-controlled netblock (Don't Route Or Peer)",
		ip("127.0.0.10"): "PBL: end-user address range that should not send mail directly (ISP-maintained)",
		ip("127.0.0.11"): "PBL: end-user address range that should not send mail directly (Spamhaus-maintained)",
	}
	dbl := map[netip.Addr]string{
		ip("127.0.1.2"):   "spam domain",
		ip("127.0.1.4"):   "phishing domain",
		ip("127.0.1.5"):   "malware domain",
		ip("127.0.1.6"):   "botnet command-and-control domain",
		ip("127.0.1.102"): "abused legitimate domain: spam",
		ip("127.0.1.103"): "abused legitimate domain: spammed redirector or URL shortener",
		ip("127.0.1.104"): "abused legitimate domain: phishing",
		ip("127.0.1.105"): "abused legitimate domain: malware",
		ip("127.0.1.106"): "abused legitimate domain: botnet command-and-control",
	}
	dblErr := spamhausErrors()
	dblErr[ip("127.0.1.255")] = "error: an IP address was asked of a domain list"
	lists := []List{
		{Zone: "zen.spamhaus.org", Kind: KindIP, Name: "Spamhaus ZEN", Codes: zen, ErrorCodes: spamhausErrors(), RefusesPublicResolvers: true},
		{Zone: "bl.spamcop.net", Kind: KindIP, Name: "SpamCop", Codes: map[netip.Addr]string{
			ip("127.0.0.2"): "reported as a spam source by SpamCop users",
		}},
		{Zone: "b.barracudacentral.org", Kind: KindIP, Name: "Barracuda Reputation Block List", Codes: map[netip.Addr]string{
			ip("127.0.0.2"): "poor sending reputation (Barracuda BRBL)",
		}, RefusesPublicResolvers: true},
		{Zone: "ix.dnsbl.manitu.net", Kind: KindIP, Name: "NiX Spam", Codes: map[netip.Addr]string{
			ip("127.0.0.2"): "sent spam to NiX Spam traps",
		}},
		{Zone: "psbl.surriel.com", Kind: KindIP, Name: "Passive Spam Block List", Codes: map[netip.Addr]string{
			ip("127.0.0.2"): "sent mail to PSBL spam traps",
		}},
		{Zone: "dbl.spamhaus.org", Kind: KindDomain, Name: "Spamhaus DBL", Codes: dbl, ErrorCodes: dblErr,
			RefusesPublicResolvers: true, TestListed: "dbltest.com"},
		{Zone: "multi.uribl.com", Kind: KindDomain, Name: "URIBL", Bits: map[uint8]string{
			2: "URIBL black: domain seen in spam, high confidence",
			4: "URIBL grey: domain in bulk or grey-area mail",
			8: "URIBL red: domain in newly observed spam",
		}, ErrorCodes: map[netip.Addr]string{
			ip("127.0.0.1"): "error: query refused (public resolver or over the free-use limit)",
		}, RefusesPublicResolvers: true, TestListed: "test.uribl.com"},
		{Zone: "multi.surbl.org", Kind: KindDomain, Name: "SURBL", Bits: map[uint8]string{
			8:   "SURBL PH: phishing",
			16:  "SURBL MW: malware",
			64:  "SURBL ABUSE: spam and abuse",
			128: "SURBL CR: cracked (compromised) site",
		}, ErrorCodes: map[netip.Addr]string{
			ip("127.0.0.1"): "error: query blocked (public resolver or over the free-use limit)",
		}, RefusesPublicResolvers: true},
	}
	for i := range lists {
		lists[i].Public = true
	}
	return lists
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// ParseLists reads a --lists value. It is either a comma-separated list of
// entries, or a file: "@PATH", or any value naming an existing file. A
// file holds one entry per line; blank lines and lines starting with '#'
// are ignored, and meanings may contain commas.
//
// An entry is
//
//	ZONE[=KIND][:CODE=MEANING[;CODE=MEANING...]]
//
// KIND is "ip" (the default) or "domain". CODE is an answer such as
// 127.0.0.2; prefix it with '!' to declare an error code (an answer that
// means "query refused", never "listed", e.g. !127.255.255.254=public
// resolver); write "&N" to declare bit N of a bitmask list (URIBL/SURBL
// style, e.g. &2=black). The entry "defaults" stands for DefaultLists().
// An entry for a zone in DefaultLists without its own KIND inherits the
// default's kind and codes; codes given are merged over them.
//
// Examples:
//
//	zen.spamhaus.org,bl.example.org:127.0.0.2=spam source;!127.0.0.255=refused
//	defaults,rhsbl.example.net=domain:127.0.0.2=spam domain
//	@/etc/mailprobe/lists.txt
func ParseLists(spec string) ([]List, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadListSpec)
	}
	var entries []string
	path, isFile := strings.CutPrefix(spec, "@")
	if !isFile {
		if fi, err := os.Stat(spec); err == nil && fi.Mode().IsRegular() {
			isFile = true
		}
	}
	if isFile {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadListSpec, err)
		}
		defer f.Close()
		entries, err = readListLines(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadListSpec, path, err)
		}
	} else {
		entries = strings.Split(spec, ",")
	}

	var lists []List
	seen := map[string]bool{}
	add := func(l List) {
		if !seen[l.Zone] {
			seen[l.Zone] = true
			lists = append(lists, l)
		}
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.EqualFold(e, "defaults") {
			for _, l := range DefaultLists() {
				add(l)
			}
			continue
		}
		l, err := parseListEntry(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadListSpec, e, err)
		}
		add(l)
	}
	if len(lists) == 0 {
		return nil, fmt.Errorf("%w: no lists", ErrBadListSpec)
	}
	return lists, nil
}

func readListLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

func parseListEntry(e string) (List, error) {
	head, codes, hasCodes := strings.Cut(e, ":")
	zone, kind, hasKind := strings.Cut(head, "=")
	zone = normalizeName(zone)
	if err := checkDomainName(zone); err != nil {
		return List{}, fmt.Errorf("zone: %w", err)
	}
	if !strings.Contains(zone, ".") {
		return List{}, fmt.Errorf("zone %q: want a DNS zone such as bl.example.org", zone)
	}
	l := List{Zone: zone, Kind: KindIP}
	for _, d := range DefaultLists() {
		if d.Zone == zone {
			if !hasKind {
				l = d
			}
			l.Public = true
		}
	}
	if hasKind {
		switch Kind(strings.ToLower(strings.TrimSpace(kind))) {
		case KindIP:
			l.Kind = KindIP
		case KindDomain:
			l.Kind = KindDomain
		default:
			return List{}, fmt.Errorf("kind %q: want ip or domain", kind)
		}
	}
	if !hasCodes {
		return l, nil
	}
	for _, c := range strings.Split(codes, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		k, meaning, ok := strings.Cut(c, "=")
		k, meaning = strings.TrimSpace(k), strings.TrimSpace(meaning)
		if !ok || meaning == "" {
			return List{}, fmt.Errorf("code %q: want CODE=MEANING", c)
		}
		switch {
		case strings.HasPrefix(k, "&"):
			n, err := strconv.ParseUint(k[1:], 10, 8)
			if err != nil || n == 0 || n&(n-1) != 0 {
				return List{}, fmt.Errorf("bit %q: want &1, &2, &4 … &128", k)
			}
			if l.Bits == nil {
				l.Bits = map[uint8]string{}
			}
			l.Bits[uint8(n)] = meaning
		case strings.HasPrefix(k, "!"):
			a, err := parseCode(k[1:])
			if err != nil {
				return List{}, err
			}
			if l.ErrorCodes == nil {
				l.ErrorCodes = map[netip.Addr]string{}
			}
			l.ErrorCodes[a] = meaning
		default:
			a, err := parseCode(k)
			if err != nil {
				return List{}, err
			}
			if l.Codes == nil {
				l.Codes = map[netip.Addr]string{}
			}
			l.Codes[a] = meaning
		}
	}
	return l, nil
}

// parseCode accepts only 127.0.0.0/8: RFC 5782 §2.1 keeps DNSBL answers
// there, and we treat anything outside as a resolver rewriting answers.
func parseCode(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || !loopback.Contains(a) {
		return netip.Addr{}, fmt.Errorf("code %q: want an IPv4 address in 127.0.0.0/8", s)
	}
	return a, nil
}
