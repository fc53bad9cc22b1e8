package blacklist

import "net/netip"

// Public lists (the built-in ones, List.Public) list addresses that send
// mail on the Internet. Asking them about an address that cannot be such a
// sender is worse than useless: RFC 5782 §5 makes 127.0.0.2 every list's
// "listed" test point, so a probe sent from 127.0.0.2, or a domain whose
// lying DNS points its MX at 127.0.0.2, would read "listed on Spamhaus";
// and a private address only leaks the local network's layout to the
// list operators. The probe checks such addresses on the lists an admin
// named with --lists (a lab's or a company's own rbldnsd), never on the
// public ones.

// special are the IANA special-purpose ranges whose addresses never
// reach a public list as a sender (RFC 6890 and its registries), beyond
// what netip's predicates already tell (loopback, RFC 1918/RFC 4193
// private, link-local, multicast, unspecified).
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // RFC 1122 §3.2.1.3 "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // RFC 6598 carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // RFC 6890 IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // RFC 5737 TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // RFC 2544 benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // RFC 5737 TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // RFC 5737 TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // RFC 1112 reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // RFC 8215 local-use NAT64
	netip.MustParsePrefix("100::/64"),        // RFC 6666 discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // RFC 3849 documentation
	netip.MustParsePrefix("3fff::/20"),       // RFC 9637 documentation
}

// PublicAddr reports whether a can be a mail sender on the public
// Internet, and so can be on a public list.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
