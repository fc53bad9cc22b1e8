package blacklist

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Mention is what a server's refusal says about blocklists: the zones it
// names and the addresses it says it saw. A refusal that names its list
// is the best evidence there is — the probe must ask that list too, or an
// explanation built on other lists' silence is a guess.
type Mention struct {
	// Zones are the DNSBL zones the text names (Postfix's "blocked using
	// ZONE"), or implies by a provider's name or URL ("blocked using
	// Spamhaus", "https://www.spamcop.net/bl.shtml?…"), in order of
	// appearance, without duplicates.
	Zones []string
	// Addrs are the client addresses the server says it saw
	// ("Client host [192.0.2.1]", "ip=192.0.2.1", "Mail from IP
	// 192.0.2.1"). When present, they — not the probe's local address —
	// are what the server checked.
	Addrs []netip.Addr
}

// providerZones maps a provider's name, as refusals and their URLs spell
// it, to the IP list that provider publishes. Microsoft's "blocked using
// Spamhaus" (sendgrid/docs#6275) names no zone; Barracuda's replies say
// "blocked using Barracuda Reputation" with a barracudanetworks.com URL
// (getconversio/email-deep-validator#20). The marker is matched in the
// lower-cased text.
var providerZones = []struct{ marker, zone string }{
	{"spamhaus", "zen.spamhaus.org"},
	{"spamcop", "bl.spamcop.net"},
	{"barracuda", "b.barracudacentral.org"},
	{"nixspam", "ix.dnsbl.manitu.net"},
	{"dnsbl.manitu", "ix.dnsbl.manitu.net"},
	{"psbl", "psbl.surriel.com"},
}

// The patterns are compiled on the first refusal that is read, not at
// program start: most runs (every accepted probe) never read one, and a
// whole `mailprobe probe` process is a few milliseconds (issue 12 item 5).
var mentionRx = sync.OnceValue(func() (rx struct{ zoneAfter, urlHost, bracketIP, paramIP, wordIP *regexp.Regexp }) {
	// The wordings that put a zone right after them: Postfix's
	// reject_rbl_client ("Client host [IP] blocked using ZONE;", smtpd_check.c),
	// Exim's default dnslists message ("is in a black list at ZONE") and
	// Debian's exim4 template ("is listed at $dnslist_domain").
	rx.zoneAfter = regexp.MustCompile(`(?i)\b(?:blocked using|listed (?:at|in|on|by)|black ?list(?:ed)? (?:at|in)|rbl(?: list)?:)\s+([a-z0-9_][a-z0-9_.-]*[a-z0-9])`)
	rx.urlHost = regexp.MustCompile(`(?i)https?://([a-z0-9.-]+)`)
	// Addresses the server names as the client's: in brackets (Postfix's
	// "Client host [IP]", Microsoft's "[IP]"), as an ip= query parameter,
	// or after "IP" / "IP address".
	rx.bracketIP = regexp.MustCompile(`\[([0-9a-fA-F:.]+)\]`)
	rx.paramIP = regexp.MustCompile(`(?i)[?&](?:ip|query|searchterm)=([0-9a-fA-F:.]+)`)
	rx.wordIP = regexp.MustCompile(`(?i)\bIP(?: address)?\s+([0-9]{1,3}(?:\.[0-9]{1,3}){3})\b`)
	return rx
})

// Mentioned reads a refusal text (any MTA's, multi-line replies joined)
// for the lists it names and the addresses it says it saw. known are the
// lists configured for this run: a URL whose host is one of their zones
// (or below one) names that zone too.
func Mentioned(text string, known []List) Mention {
	var m Mention
	addZone := func(z string) {
		z = normalizeName(z)
		if z != "" && !slices.Contains(m.Zones, z) {
			m.Zones = append(m.Zones, z)
		}
	}
	rx := mentionRx()
	lower := strings.ToLower(text)
	for _, sm := range rx.zoneAfter.FindAllStringSubmatch(lower, -1) {
		name := strings.TrimRight(sm[1], ".")
		if strings.Contains(name, ".") && checkDomainName(name) == nil {
			addZone(name)
		}
	}
	for _, sm := range rx.urlHost.FindAllStringSubmatch(lower, -1) {
		host := strings.TrimSuffix(sm[1], ".")
		for _, l := range known {
			if host == l.Zone || strings.HasSuffix(host, "."+l.Zone) {
				addZone(l.Zone)
			}
		}
	}
	for _, p := range providerZones {
		if strings.Contains(lower, p.marker) {
			// A zone of this provider named explicitly (zen.spamhaus.org,
			// sbl.spamhaus.org, dbl.spamhaus.org) is more exact than the
			// provider's default zone.
			named := false
			for _, z := range m.Zones {
				if strings.Contains(z, p.marker) {
					named = true
				}
			}
			if !named {
				addZone(p.zone)
			}
		}
	}
	addAddr := func(s string) {
		a, err := netip.ParseAddr(strings.TrimRight(s, "."))
		if err != nil {
			return
		}
		if a = a.Unmap(); !a.IsUnspecified() && !slices.Contains(m.Addrs, a) {
			m.Addrs = append(m.Addrs, a)
		}
	}
	for _, re := range []*regexp.Regexp{rx.bracketIP, rx.paramIP, rx.wordIP} {
		for _, sm := range re.FindAllStringSubmatch(text, -1) {
			addAddr(sm[1])
		}
	}
	return m
}

// ListsFor returns lists plus an IP list for every named zone that lists
// lacks: the built-in definition when the zone is one of DefaultLists
// (so its codes are read right), else a list with no documented codes.
// Named zones that are domain lists are left out, since what a refusal
// names next to a client address is an IP list.
func ListsFor(lists []List, named []string) []List {
	out := slices.Clone(lists)
	defaults := DefaultLists()
	for _, z := range named {
		if slices.ContainsFunc(out, func(l List) bool { return l.Zone == z }) {
			continue
		}
		l := List{Zone: z, Kind: KindIP}
		for _, d := range defaults {
			if d.Zone == z {
				l = d
			}
		}
		if l.Kind == KindIP {
			out = append(out, l)
		}
	}
	return out
}
