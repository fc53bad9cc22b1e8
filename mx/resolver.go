package mx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/mailprobe/mailprobe/internal/ctxend"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/peertext"
)

// Family selects which address records of a host are looked up and used
// (the -4 / -6 flags, Postfix's inet_protocols).
type Family int

const (
	FamilyAny  Family = iota // A and AAAA; A addresses listed first
	FamilyIPv4               // A only (-4)
	FamilyIPv6               // AAAA only (-6)
)

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return "any"
}

// qtypes is the order in which address types are asked and listed. For
// FamilyAny it is Postfix's order for inet_protocols=all: A, then AAAA.
func (f Family) qtypes() []uint16 {
	switch f {
	case FamilyIPv4:
		return []uint16{dns.TypeA}
	case FamilyIPv6:
		return []uint16{dns.TypeAAAA}
	}
	return []uint16{dns.TypeA, dns.TypeAAAA}
}

// DefaultMaxCNAME is the CNAME hop limit when Resolver.MaxCNAME is zero.
// It matches the small fixed limits of resolver libraries (Postfix's
// dns_lookup allows 10 indirections, glibc 16); 8 is ample for real
// CDN-style chains and stops loops quickly.
const DefaultMaxCNAME = 8

// DefaultMaxHosts is the number of MX hosts looked up when
// Resolver.MaxHosts is zero. Real domains list a handful; an answer with
// thousands (a 64 KB TCP answer holds about 2,800) would cost thousands of
// address queries for hosts no MTA ever reaches: Postfix tries at most
// smtp_mx_address_limit (5) addresses. 64 keeps every plausible set,
// including the lab's 32-MX answer, whole.
const DefaultMaxHosts = 64

// maxParallel bounds the queries one Resolve or LookupHost has in flight:
// enough to look up every host of a typical MX set at once, few enough
// not to flood a resolver with a domain that lists 40 MX hosts.
const maxParallel = 8

// Querier asks one DNS question. *dnsclient.Client is the one that goes on
// the wire; tests hand the Resolver a table of answers instead, with no
// socket at all.
type Querier interface {
	Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// Resolver finds where a domain's mail goes. The zero value is not usable:
// DNS must be set. A Resolver is safe for concurrent use.
type Resolver struct {
	DNS      Querier
	Family   Family
	MaxCNAME int // CNAME hop limit per lookup; 0 means DefaultMaxCNAME
	// MaxHosts caps the MX hosts looked up, in preference order; 0 means
	// DefaultMaxHosts. The rest are dropped with a warning.
	MaxHosts int
}

func (r *Resolver) maxHosts() int {
	if r.MaxHosts > 0 {
		return r.MaxHosts
	}
	return DefaultMaxHosts
}

func (r *Resolver) maxCNAME() int {
	if r.MaxCNAME > 0 {
		return r.MaxCNAME
	}
	return DefaultMaxCNAME
}

// Resolve returns the delivery route for domain: the MX hosts in the order
// an MTA tries them, each with its addresses. It never returns nil; a
// failure of the whole route is in Route.Err, the failure of one host in
// that host's Err.
//
// domain may carry a trailing dot and any case; IDNA A-labels are taken
// as they are. It is not otherwise validated: the caller validates
// addresses before asking.
func (r *Resolver) Resolve(ctx context.Context, domain string) *Route {
	name := normalize(domain)
	route := &Route{Domain: name}
	if r == nil || r.DNS == nil {
		route.Err = &Error{Kind: ErrUnreachable, Name: name, Type: "MX", Temporary: true, Err: dnsclient.ErrNoServers}
		return route
	}
	route.Family = r.Family
	sem := make(chan struct{}, maxParallel)

	ans, err := r.lookup(ctx, sem, name, dns.TypeMX)
	route.CNAMEs = ans.chain
	if err != nil {
		route.Err = err
		return route
	}
	if len(ans.rrs) == 0 {
		r.implicit(ctx, sem, route)
		return route
	}

	var mxs []*dns.MX
	nulls := 0
	for _, rr := range ans.rrs {
		mx := rr.(*dns.MX)
		if mx.Mx == "." {
			nulls++
			continue
		}
		mxs = append(mxs, mx)
	}
	if len(mxs) == 0 {
		// RFC 7505 §3: a single MX with an empty target ("." in
		// presentation form) says the domain accepts no mail. It should
		// have preference 0; any other number changes nothing, since "."
		// has no address either way.
		route.Err = &Error{Kind: ErrNullMX, Name: name, Type: "MX", Rcode: "NOERROR"}
		if nulls > 1 {
			route.Warnings = append(route.Warnings, fmt.Sprintf("%d null MX records; RFC 7505 §3 allows exactly one", nulls))
		}
		if p := ans.rrs[0].(*dns.MX).Preference; nulls == 1 && p != 0 {
			route.Warnings = append(route.Warnings, fmt.Sprintf("null MX has preference %d; RFC 7505 §3 says 0", p))
		}
		return route
	}
	if nulls > 0 {
		// RFC 7505 §3: a null MX must be the only MX record. Mixed with
		// real ones it is an error in the zone; an MTA finds no address
		// for "." and moves on to the other hosts, and so do we.
		route.Warnings = append(route.Warnings, `null MX record (target ".") listed among other MX records was ignored; RFC 7505 §3 requires it to be the only MX record`)
	}

	route.Hosts = make([]MXHost, 0, len(mxs))
	for _, mx := range mxs {
		// miekg/dns gives names in presentation form, every octet
		// outside printable ASCII as \DDD, so a hostile label arrives
		// escaped; the neutraliser keeps that true whatever the decoder.
		route.Hosts = append(route.Hosts, MXHost{Preference: mx.Preference, Name: peertext.Neutralise(trimDot(strings.ToLower(mx.Mx)))})
	}
	// RFC 5321 §5.1: lowest preference first. Equal preferences are sorted
	// by name so runs compare; Postfix shuffles them instead (see doc.go).
	slices.SortStableFunc(route.Hosts, func(a, b MXHost) int {
		if a.Preference != b.Preference {
			return int(a.Preference) - int(b.Preference)
		}
		return strings.Compare(a.Name, b.Name)
	})
	// A host listed twice is one host: keep its best preference, so it is
	// looked up once and dialled once.
	seenHost := make(map[string]bool, len(route.Hosts))
	dups := 0
	route.Hosts = slices.DeleteFunc(route.Hosts, func(h MXHost) bool {
		if seenHost[h.Name] {
			dups++
			return true
		}
		seenHost[h.Name] = true
		return false
	})
	if dups > 0 {
		route.Warnings = append(route.Warnings, fmt.Sprintf("%d duplicate MX record(s) name a host already listed; each host is used once, at its lowest preference", dups))
	}
	// Hosts are looked up MaxHosts at a time, in preference order. Only
	// when none of a chunk has an address does the next chunk follow:
	// Postfix looks up every MX host, so a usable host far down the list
	// still counts, but a list of thousands costs one chunk in the usual
	// case, and the caller's deadline bounds the rest.
	all := route.Hosts
	n := r.maxHosts()
	route.Hosts = nil
	var hostWarnings []string
	for first := true; len(all) > len(route.Hosts) && (first || ctx.Err() == nil); first = false {
		chunk := all[len(route.Hosts):min(len(all), len(route.Hosts)+n)]
		hostWarnings = append(hostWarnings, r.lookupHosts(ctx, sem, chunk)...)
		route.Hosts = all[:len(route.Hosts)+len(chunk)]
		if slices.ContainsFunc(chunk, func(h MXHost) bool { return h.Err == nil && len(h.Addresses) > 0 }) {
			break
		}
	}
	if len(route.Hosts) < len(all) {
		route.Warnings = append(route.Warnings, fmt.Sprintf("the domain lists %d MX hosts; only the first %d by preference were looked up (an MTA tries at most a few: Postfix smtp_mx_address_limit is 5 addresses)", len(all), len(route.Hosts)))
	}
	route.Hosts = slices.Clip(route.Hosts)
	route.Warnings = append(route.Warnings, hostWarnings...)

	usable, temporary, stopped := false, false, false
	for _, h := range route.Hosts {
		if h.Err == nil && len(h.Addresses) > 0 {
			usable = true
		}
		if h.Err != nil && h.Err.Temporary {
			temporary = true
		}
		stopped = stopped || h.Err != nil && errors.Is(h.Err, ErrStopped)
	}
	switch {
	case !usable && stopped:
		// Not an answer: the lookups were stopped before they finished.
		route.Err = &Error{Kind: ErrStopped, Name: name, Type: "MX", Temporary: true, Err: context.Cause(ctx)}
	case !usable:
		// Each host's own Err says why it failed; the route error only
		// says that nothing is left, temporary if any host might recover.
		route.Err = &Error{Kind: ErrNoAddress, Name: name, Type: "MX", Temporary: temporary}
	}
	return route
}

// lookupHosts finds the addresses of hosts (in place), concurrently
// within sem, and returns their warnings in host order.
func (r *Resolver) lookupHosts(ctx context.Context, sem chan struct{}, hosts []MXHost) []string {
	warnings := make([][]string, len(hosts))
	var wg sync.WaitGroup
	for i := range hosts {
		h := &hosts[i]
		if isIPLiteral(h.Name) {
			// Postfix's smtp_addr_one() "interprets a numerical name as
			// an address" and dials it, so we do too, with a warning:
			// RFC 5321 §5.1 wants a host name there.
			h.IPLiteral = true
			ip, _ := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h.Name, "["), "]"))
			ip = ip.Unmap()
			if r.Family == FamilyIPv4 && !ip.Is4() || r.Family == FamilyIPv6 && ip.Is4() {
				h.Err = &Error{Kind: ErrMXIsIP, Name: h.Name, Type: "MX"}
				continue
			}
			if !hostAddr(ip) {
				h.Err = &Error{Kind: ErrNoHostAddress, Name: h.Name, Type: "MX", Err: fmt.Errorf("address %s: %w", ip, ErrBadHostAddress)}
				continue
			}
			h.Addresses = []netip.Addr{ip}
			warnings[i] = []string{fmt.Sprintf("MX target %s is an IP address, not a host name (RFC 5321 §5.1); MTAs such as Postfix dial it anyway", h.Name)}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := r.hostAddrs(ctx, sem, h.Name)
			h.Addresses, h.CNAMEs, h.Err, warnings[i] = res.addrs, res.chain, res.err, res.warnings
		}()
	}
	wg.Wait()
	var out []string
	for _, w := range warnings {
		out = append(out, w...)
	}
	return out
}

// implicit fills route for a domain without MX records: RFC 5321 §5.1
// treats its own address records as one MX of preference 0.
func (r *Resolver) implicit(ctx context.Context, sem chan struct{}, route *Route) {
	res := r.hostAddrs(ctx, sem, route.Domain)
	route.Warnings = append(route.Warnings, res.warnings...)
	if res.err != nil && !res.err.Temporary {
		// The name exists (the MX query said NOERROR) but offers neither
		// MX nor address: nowhere to deliver. Type names the address
		// query, as Postfix's "Name service error for name=D type=AAAA".
		route.Err = &Error{Kind: ErrNoData, Name: route.Domain, Type: res.err.Type, Rcode: "NOERROR"}
		return
	}
	route.Implicit = true
	route.Hosts = []MXHost{{Name: route.Domain, CNAMEs: res.chain, Addresses: res.addrs, Err: res.err}}
	if res.err != nil {
		// Temporary: the fallback itself could not be looked up; Postfix
		// names that query ("type=A: Host not found, try again").
		route.Err = res.err
	}
}

// LookupHost returns the addresses of a host name (A then AAAA, each
// sorted, as Family allows), following CNAMEs, and the CNAME chain it
// followed. It serves --server HOST and DNSBL host targets. A failure of
// one address family is ignored when the other gave addresses. An IP
// address ("192.0.2.1", "[2001:db8::1]") is returned as it is, without a
// query, if Family allows it: --server takes addresses as well as names.
func (r *Resolver) LookupHost(ctx context.Context, name string) ([]netip.Addr, []string, *Error) {
	name = normalize(name)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")); err == nil {
		a = a.Unmap()
		if (a.Is4() && r.Family == FamilyIPv6) || (a.Is6() && r.Family == FamilyIPv4) {
			return nil, nil, &Error{Kind: ErrNoHostAddress, Name: name, Type: dns.TypeToString[r.Family.qtypes()[0]],
				Err: fmt.Errorf("address %s is not of family %s", a, r.Family)}
		}
		return []netip.Addr{a}, nil, nil
	}
	if r == nil || r.DNS == nil {
		return nil, nil, &Error{Kind: ErrUnreachable, Name: name, Type: "A", Temporary: true, Err: dnsclient.ErrNoServers}
	}
	res := r.hostAddrs(ctx, make(chan struct{}, maxParallel), name)
	return res.addrs, res.chain, res.err
}

// hostResult is what the address lookups of one host found.
type hostResult struct {
	addrs    []netip.Addr
	chain    []string
	err      *Error // set only when addrs is empty
	warnings []string
}

// hostAddrs asks for the host's A and AAAA records concurrently and merges
// them in the fixed order A, AAAA.
func (r *Resolver) hostAddrs(ctx context.Context, sem chan struct{}, host string) hostResult {
	types := r.Family.qtypes()
	answers := make([]answer, len(types))
	errs := make([]*Error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = r.lookup(ctx, sem, host, t)
		}()
	}
	wg.Wait()

	var res hostResult
	var bogus []string // addresses no mail host can have (hostAddr)
	bogusType := ""
	for i, t := range types {
		if res.chain == nil {
			res.chain = answers[i].chain
		}
		if errs[i] == nil && len(answers[i].rrs) == 0 {
			// NODATA: the name exists without records of this type.
			errs[i] = &Error{Kind: ErrNoHostAddress, Name: host, Type: dns.TypeToString[t], Rcode: "NOERROR"}
		}
		var addrs []netip.Addr
		for _, rr := range answers[i].rrs {
			a, ok := rrAddr(rr)
			switch {
			case !ok:
			case !hostAddr(a):
				bogus = append(bogus, a.String())
				if bogusType == "" {
					bogusType = dns.TypeToString[t]
				}
			default:
				addrs = append(addrs, a)
			}
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		res.addrs = append(res.addrs, slices.Compact(addrs)...)
	}
	if len(bogus) > 0 {
		bad := fmt.Errorf("address %s: %w", strings.Join(slices.Compact(bogus), ", "), ErrBadHostAddress)
		if len(res.addrs) == 0 {
			// Dialled, 0.0.0.0 or :: would reach this very machine, whose
			// answer would be reported as the recipient's.
			res.err = &Error{Kind: ErrNoHostAddress, Name: host, Type: bogusType, Err: bad}
			return res
		}
		res.warnings = append(res.warnings, host+": "+bad.Error())
	}
	if len(res.addrs) > 0 {
		for _, e := range errs {
			// A host without AAAA is normal; anything worse is worth a
			// line, since the other family may be what fails tomorrow.
			if e != nil && !errors.Is(e, ErrNoHostAddress) {
				res.warnings = append(res.warnings, e.Error())
			}
		}
		return res
	}
	// No address at all. Report the most hopeful failure (a temporary one
	// means retrying may work), and among equals the last type asked:
	// Postfix keeps the message of its last lookup, hence "type=AAAA:
	// Host not found" on a dual-stack MTA.
	for _, e := range errs {
		if res.err == nil || e.Temporary || !res.err.Temporary {
			res.err = e
		}
	}
	return res
}

// hostAddr reports whether a can be the address of a remote host. A DNS
// answer can hold anything; connecting to the unspecified address
// (0.0.0.0/8 "this network", RFC 1122 §3.2.1.3, or ::) reaches this
// machine, multicast and the limited broadcast address no single host.
// Postfix dials them and, reaching itself, reports that the mail "loops
// back to myself"; a probe reaching this machine would report its own
// MTA's answer as the recipient's, so such an address is never dialled.
func hostAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), a.IsMulticast():
		return false
	case a.Is4() && (a.As4()[0] == 0 || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})):
		return false
	}
	return true
}

func rrAddr(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(v.A)
		return a.Unmap(), ok && a.Unmap().Is4()
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA)
		return a, ok && len(v.AAAA) == 16
	}
	return netip.Addr{}, false
}

// answer is the outcome of one name/type lookup after following CNAMEs.
type answer struct {
	rrs   []dns.RR // records of the asked type owned by the chain's end
	chain []string // CNAME targets followed, in order, without trailing dot
}

// lookup asks for name/qtype and follows CNAMEs: first within each answer
// (a recursive resolver returns the whole chain), then by asking again for
// the chain's end when an answer stops at a CNAME (an authoritative server
// only returns its own zone's part). RFC 1034 §3.6.2. NODATA is an empty
// answer and a nil error; errors name the name asked for, as Postfix does.
func (r *Resolver) lookup(ctx context.Context, sem chan struct{}, name string, qtype uint16) (answer, *Error) {
	typ := dns.TypeToString[qtype]
	mkErr := func(kind error, rcode string, temporary bool, err error) *Error {
		return &Error{Kind: kind, Name: name, Type: typ, Rcode: rcode, Temporary: temporary, Err: err}
	}
	cur := dns.CanonicalName(name)
	seen := map[string]bool{cur: true}
	var ans answer
	for {
		msg, qerr := r.query(ctx, sem, cur, qtype)
		if qerr != nil && ctxend.Ended(ctx) {
			// The caller stopped the lookup (Ctrl-C, the probe deadline, a
			// scrape timeout): no answer, and not the resolver's fault.
			// Err is the context's cause, so the caller can tell which.
			return ans, mkErr(ErrStopped, "", true, context.Cause(ctx))
		}
		if qerr != nil {
			return ans, mkErr(transportKind(qerr), "", true, qerr)
		}
		rcode := dns.RcodeToString[msg.Rcode]
		switch msg.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
		case dns.RcodeServerFailure:
			return ans, mkErr(ErrServFail, rcode, true, nil)
		case dns.RcodeRefused:
			return ans, mkErr(ErrRefused, rcode, true, nil)
		default:
			if rcode == "" {
				rcode = fmt.Sprintf("RCODE%d", msg.Rcode)
			}
			return ans, mkErr(ErrBadRcode, rcode, true, nil)
		}

		advanced := false
		for {
			target, ok := cnameOf(msg.Answer, cur)
			if !ok {
				break
			}
			if seen[target] || len(ans.chain) >= r.maxCNAME() {
				// Real recursive resolvers answer SERVFAIL here, so an
				// MTA defers: Temporary, though only a zone fix helps.
				ans.chain = append(ans.chain, peertext.Neutralise(trimDot(target)))
				what := "too long (limit " + fmt.Sprint(r.maxCNAME()) + ")"
				if seen[target] {
					what = "loops"
				}
				return ans, mkErr(ErrCNAMELoop, rcode, true,
					fmt.Errorf("CNAME chain %s %s", strings.Join(append([]string{trimDot(name)}, ans.chain...), " -> "), what))
			}
			seen[target] = true
			ans.chain = append(ans.chain, peertext.Neutralise(trimDot(target)))
			cur = target
			advanced = true
		}
		for _, rr := range msg.Answer {
			h := rr.Header()
			if h.Rrtype == qtype && h.Class == dns.ClassINET && dns.CanonicalName(h.Name) == cur {
				ans.rrs = append(ans.rrs, rr)
			}
		}
		if len(ans.rrs) > 0 {
			return ans, nil
		}
		if msg.Rcode == dns.RcodeNameError {
			// RFC 6604 §3: after a CNAME the RCODE is about the chain's end.
			var detail error
			if len(ans.chain) > 0 {
				detail = fmt.Errorf("CNAME target %s does not exist", trimDot(cur))
			}
			return ans, mkErr(ErrNXDomain, rcode, false, detail)
		}
		if !advanced {
			return ans, nil // NODATA
		}
		// The answer ended at a CNAME without records: ask for the target.
		// Each round trip must advance the chain, so this ends within
		// MaxCNAME queries.
	}
}

// query sends one question, holding a slot of sem while it is in flight.
func (r *Resolver) query(ctx context.Context, sem chan struct{}, name string, qtype uint16) (*dns.Msg, error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-sem }()
	return r.DNS.Query(ctx, name, qtype)
}

// transportKind maps a failure to get any answer onto a sentinel.
func transportKind(err error) error {
	var dnsErr *dns.Error
	switch {
	case errors.Is(err, dnsclient.ErrIDMismatch):
		return ErrIDMismatch
	case errors.Is(err, dnsclient.ErrBadAnswer):
		// dnsclient.Validate: an echoed query, an answer to another
		// question, records for other names only. Never believed.
		return ErrMalformed
	case errors.Is(err, dnsclient.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	case errors.As(err, &dnsErr):
		// miekg/dns could not unpack the message (short, overflowing,
		// bad compression pointer…).
		return ErrMalformed
	}
	return ErrUnreachable
}

// cnameOf returns the target of the CNAME owned by name in rrs.
func cnameOf(rrs []dns.RR, name string) (string, bool) {
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(c.Hdr.Name) == name {
			return dns.CanonicalName(c.Target), true
		}
	}
	return "", false
}

// isIPLiteral reports whether an MX target is an address written where a
// host name belongs: "192.0.2.1" (four numeric labels) or, rarer,
// "[192.0.2.1]" or an IPv6 address squeezed into one label.
func isIPLiteral(host string) bool {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	_, err := netip.ParseAddr(h)
	return err == nil
}

func normalize(domain string) string {
	return trimDot(strings.ToLower(domain))
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }
