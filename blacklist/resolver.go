package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// Resolver asks the A and TXT questions a DNSBL check needs. An answer
// with any RCODE (NXDOMAIN, SERVFAIL…) is an Answer, not an error: the
// error is for "no answer at all" (timeout, network), so Decode can tell
// "not listed" from "could not ask". Tests supply a map-backed fake;
// production uses DNSResolver.
type Resolver interface {
	LookupA(ctx context.Context, name string) (Answer, error)
	LookupTXT(ctx context.Context, name string) (Answer, error)
}

// HostResolver finds the addresses of a host-name target. It returns an
// error wrapping ErrHostNotFound when the name has no A/AAAA records
// (NXDOMAIN or NODATA), and any other error when resolution failed and
// might succeed later. The command adapts package mx's resolver to it, so
// host names resolve exactly as MX hosts do.
type HostResolver interface {
	LookupHost(ctx context.Context, name string) ([]netip.Addr, error)
}

// MXLookup finds a domain's MX hosts and their addresses, so that a
// domain target also checks the addresses its mail comes from and goes
// to ("is this domain's mail listed?"). It returns no hosts, and no
// error, for a domain without MX records (its own addresses are its
// implicit MX and are checked anyway) or with a null MX.
type MXLookup interface {
	LookupMX(ctx context.Context, domain string) ([]MXHost, error)
}

// MXHost is one MX target of a domain target.
type MXHost struct {
	Name  string
	Addrs []netip.Addr
}

// DNSResolver is the production Resolver: it asks through dnsclient, so
// every answer passes dnsclient.Validate — the same check MX answers pass —
// before it is decoded, and queries go over UDP first and over TCP only when an answer is truncated
// (rbldnsd, which serves most DNSBLs, answers UDP only).
type DNSResolver struct {
	Client *dnsclient.Client
}

// LookupA asks for the A records of name.
func (r DNSResolver) LookupA(ctx context.Context, name string) (Answer, error) {
	return r.lookup(ctx, name, dns.TypeA)
}

// LookupTXT asks for the TXT records of name.
func (r DNSResolver) LookupTXT(ctx context.Context, name string) (Answer, error) {
	return r.lookup(ctx, name, dns.TypeTXT)
}

func (r DNSResolver) lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	m, err := r.Client.Query(ctx, name, qtype)
	if errors.Is(err, dnsclient.ErrBadAnswer) {
		return Answer{}, fmt.Errorf("%w: %s %s: %w", ErrBadAnswer, name, dns.TypeToString[qtype], err)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %s %s: %w", ErrNoAnswer, name, dns.TypeToString[qtype], err)
	}
	return AnswerFromMsg(m), nil
}
