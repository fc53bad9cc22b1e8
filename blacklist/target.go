package blacklist

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrBadTarget is wrapped by ParseTarget's errors: the input is neither an
// IP address nor a usable domain name.
var ErrBadTarget = errors.New("not an IP address or domain name")

// ErrNameTooLong is wrapped when a query name would exceed the 253
// characters DNS allows (RFC 1035 §2.3.4): a long domain on a long zone.
var ErrNameTooLong = errors.New("query name longer than 253 characters")

// Target is one thing to check. Build it with TargetIP, TargetHost,
// TargetDomain or ParseTarget.
type Target struct {
	// Name is what the user asked about, as shown in results.
	Name string
	// Addr, when valid, is checked against the IP lists.
	Addr netip.Addr
	// Resolve asks for Name's A and AAAA records, each checked against
	// the IP lists (a host name).
	Resolve bool
	// Domain checks Name itself against the domain lists.
	Domain bool
}

// TargetIP checks addr on the IP lists. An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is checked as the IPv4 address it carries: that is
// the address the lists know.
func TargetIP(addr netip.Addr) Target {
	addr = addr.Unmap().WithZone("")
	return Target{Name: addr.String(), Addr: addr}
}

// TargetHost resolves name (A and AAAA) and checks each address on the IP
// lists.
func TargetHost(name string) Target {
	return Target{Name: normalizeName(name), Resolve: true}
}

// TargetDomain checks name on the domain lists (RFC 5782 §2.3).
func TargetDomain(name string) Target {
	return Target{Name: normalizeName(name), Domain: true}
}

// ParseTarget reads a command-line target: an IPv4 or IPv6 address
// becomes TargetIP; a name is both a host (its addresses go to the IP
// lists) and a domain (it goes to the domain lists). A name with no
// addresses is then checked on the domain lists only.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("%w: %q: remove the %%zone; DNSBLs list global addresses", ErrBadTarget, s)
		}
		return TargetIP(a), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return ParseTarget(s[1 : len(s)-1])
	}
	if strings.Contains(s, "/") {
		return Target{}, fmt.Errorf("%w: %q: address ranges are not supported, give single addresses", ErrBadTarget, s)
	}
	name := normalizeName(s)
	if err := checkDomainName(name); err != nil {
		return Target{}, fmt.Errorf("%w: %q: %w", ErrBadTarget, s, err)
	}
	return Target{Name: name, Resolve: true, Domain: true}, nil
}

func normalizeName(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// checkDomainName applies the host-name rules that matter for building a
// query: LDH labels (underscore tolerated, as DNS itself allows it) of 1–63
// octets, 253 octets in all, and a last label that is not all digits
// (which would be a mistyped IPv4 address such as 192.0.2).
func checkDomainName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return errors.New("label longer than 63 characters")
		}
		for _, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			case r > 0x7f:
				return errors.New("non-ASCII name: give the A-label (xn--…) form")
			default:
				return fmt.Errorf("character %q not allowed in a domain name", r)
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("label starts or ends with a hyphen")
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return errors.New("looks like an incomplete IP address")
	}
	return nil
}

// QueryName builds the DNS name asked of list l. For an IP list, addr is
// written in reverse: IPv4 octets (RFC 5782 §2.1: 192.0.2.99 becomes
// 99.2.0.192.zone), IPv6 as 32 reversed nibbles (RFC 5782 §2.4). An
// IPv4-mapped IPv6 address is written as IPv4. For a domain list, the
// domain is prepended unchanged (RFC 5782 §2.3).
func QueryName(l List, addr netip.Addr, domain string) (string, error) {
	var b strings.Builder
	switch l.Kind {
	case KindDomain:
		if domain == "" {
			return "", fmt.Errorf("%w: domain list %s needs a domain", ErrBadTarget, l.Zone)
		}
		b.WriteString(domain)
	default:
		if !addr.IsValid() {
			return "", fmt.Errorf("%w: IP list %s needs an address", ErrBadTarget, l.Zone)
		}
		writeReversed(&b, addr)
	}
	b.WriteByte('.')
	b.WriteString(strings.TrimSuffix(l.Zone, "."))
	if b.Len() > 253 {
		return "", fmt.Errorf("%w: %s", ErrNameTooLong, b.String())
	}
	return b.String(), nil
}

func writeReversed(b *strings.Builder, addr netip.Addr) {
	addr = addr.Unmap()
	if addr.Is4() {
		o := addr.As4()
		fmt.Fprintf(b, "%d.%d.%d.%d", o[3], o[2], o[1], o[0])
		return
	}
	const hex = "0123456789abcdef"
	o := addr.As16()
	for i := len(o) - 1; i >= 0; i-- {
		if i < len(o)-1 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[o[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[o[i]>>4])
	}
}
