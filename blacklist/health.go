package blacklist

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// HealthStatus says whether a list can be used from this resolver.
type HealthStatus string

const (
	// HealthOK: the list lists its positive test point and not its
	// negative one (RFC 5782 §5).
	HealthOK HealthStatus = "ok"
	// HealthBroken: the list answered, but wrongly — it does not list
	// 127.0.0.2 ("test"), so it is dead, renamed or filtered; or it lists
	// 127.0.0.1 ("invalid"), so it would report every address listed
	// (what retired lists do when they wildcard their zone).
	HealthBroken HealthStatus = "broken"
	// HealthUnusable: the list did not answer usably from this resolver:
	// error codes, SERVFAIL, REFUSED, rewritten answers or timeouts.
	HealthUnusable HealthStatus = "unusable"
)

// Health is the RFC 5782 §5 self-test of one list.
type Health struct {
	List    string       `json:"list"`
	Status  HealthStatus `json:"status"`
	Problem string       `json:"problem,omitempty"`
	// Positive is the lookup of the test point that must be listed
	// (127.0.0.2, or "test" for domain lists), Negative of the one that
	// must not be (127.0.0.1, or "invalid").
	Positive Result `json:"positive"`
	Negative Result `json:"negative"`
}

// testPoints returns the job for the must-be-listed and must-not-be-listed
// entries of l (RFC 5782 §5).
func testPoints(l List) (pos, neg job, err error) {
	p, n := l.TestListed, l.TestClean
	if l.Kind == KindDomain {
		if p == "" {
			p = "test"
		}
		if n == "" {
			n = "invalid"
		}
		return job{target: p, address: p, list: l, domain: p}, job{target: n, address: n, list: l, domain: n}, nil
	}
	if p == "" {
		p = "127.0.0.2"
	}
	if n == "" {
		n = "127.0.0.1"
	}
	pa, err1 := netip.ParseAddr(p)
	na, err2 := netip.ParseAddr(n)
	if err1 != nil || err2 != nil {
		return job{}, job{}, fmt.Errorf("%w: %s: bad test point", ErrBadListSpec, l.Zone)
	}
	return job{target: p, address: p, list: l, addr: pa}, job{target: n, address: n, list: l, addr: na}, nil
}

// Health runs the RFC 5782 §5 test on every list, all concurrently, and
// returns one Health per list in c.Lists order.
func (c *Checker) Health(ctx context.Context) []Health {
	var jobs []job
	out := make([]Health, len(c.Lists))
	for i, l := range c.Lists {
		out[i].List = l.Zone
		pos, neg, err := testPoints(l)
		if err != nil {
			pos.failure, neg.failure = err, err
			pos.list, neg.list = l, l
		}
		jobs = append(jobs, pos, neg)
	}
	rs := c.run(ctx, jobs)
	for i := range out {
		h := &out[i]
		h.Positive, h.Negative = rs[2*i], rs[2*i+1]
		h.Status, h.Problem = judgeHealth(h.Positive, h.Negative)
	}
	return out
}

func judgeHealth(pos, neg Result) (HealthStatus, string) {
	switch {
	case pos.Status == Unknown:
		return HealthUnusable, fmt.Sprintf("cannot be used from this resolver: test point %s: %s", pos.Address, pos.Error)
	case neg.Status == Unknown:
		return HealthUnusable, fmt.Sprintf("cannot be used from this resolver: test point %s: %s", neg.Address, neg.Error)
	case neg.Status == Listed:
		return HealthBroken, fmt.Sprintf("lists %s, which must never be listed (RFC 5782 §5): the list is retired or wildcarded and would report everything as listed", neg.Address)
	case pos.Status != Listed:
		return HealthBroken, fmt.Sprintf("does not list test point %s (RFC 5782 §5): the zone is wrong, the list is dead, or the resolver filters it", pos.Address)
	}
	return HealthOK, ""
}

// publicResolvers are well-known open resolvers. Spamhaus, URIBL, SURBL
// and Barracuda refuse queries that arrive through them, because the
// combined traffic of everybody using them would exceed any free-use
// limit, and the list cannot tell who asks.
var publicResolvers = map[netip.Addr]string{
	ip("8.8.8.8"):              "Google Public DNS",
	ip("8.8.4.4"):              "Google Public DNS",
	ip("2001:4860:4860::8888"): "Google Public DNS",
	ip("2001:4860:4860::8844"): "Google Public DNS",
	ip("1.1.1.1"):              "Cloudflare",
	ip("1.0.0.1"):              "Cloudflare",
	ip("2606:4700:4700::1111"): "Cloudflare",
	ip("2606:4700:4700::1001"): "Cloudflare",
	ip("9.9.9.9"):              "Quad9",
	ip("149.112.112.112"):      "Quad9",
	ip("2620:fe::fe"):          "Quad9",
	ip("2620:fe::9"):           "Quad9",
	ip("208.67.222.222"):       "OpenDNS",
	ip("208.67.220.220"):       "OpenDNS",
	ip("2620:119:35::35"):      "OpenDNS",
	ip("2620:119:53::53"):      "OpenDNS",
}

// PublicResolver reports whether server (an address, or host:port as in
// dnsclient.Client.Servers) is a well-known public resolver, and whose.
func PublicResolver(server string) (string, bool) {
	host := server
	if h, _, err := net.SplitHostPort(server); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return "", false
	}
	name, ok := publicResolvers[a.Unmap().WithZone("")]
	return name, ok
}

// PublicResolverWarning returns a warning to show before any result when
// one of servers is a public resolver and some of lists refuse those, or
// "" when there is nothing to warn about.
func PublicResolverWarning(servers []string, lists []List) string {
	var pubs []string
	for _, s := range servers {
		if name, ok := PublicResolver(s); ok {
			pubs = append(pubs, fmt.Sprintf("%s (%s)", s, name))
		}
	}
	if len(pubs) == 0 {
		return ""
	}
	var refusing []string
	for _, l := range lists {
		if l.RefusesPublicResolvers {
			refusing = append(refusing, l.Zone)
		}
	}
	msg := fmt.Sprintf("resolver %s is a public resolver", strings.Join(pubs, ", "))
	if len(refusing) > 0 {
		verb := "refuses"
		if len(refusing) > 1 {
			verb = "refuse"
		}
		msg += fmt.Sprintf("; %s %s queries through it (error codes such as 127.255.255.254, or no answer), so those results will be unknown", strings.Join(refusing, ", "), verb)
	} else {
		msg += "; Spamhaus, URIBL, SURBL and others refuse queries through it"
	}
	return msg + ". Use your own recursive resolver (e.g. a local unbound) with --resolver"
}
