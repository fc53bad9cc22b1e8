package blacklist

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
)

// listedResolver lists exactly the query names in listed (127.0.0.2).
type listedResolver map[string]bool

func (r listedResolver) LookupA(_ context.Context, name string) (Answer, error) {
	if r[name] {
		return Answer{Rcode: dns.RcodeSuccess, Addrs: []netip.Addr{ip("127.0.0.2")}}, nil
	}
	return Answer{Rcode: dns.RcodeNameError}, nil
}

func (r listedResolver) LookupTXT(context.Context, string) (Answer, error) {
	return Answer{Rcode: dns.RcodeNameError}, nil
}

type mxTestHosts map[string][]netip.Addr

func (f mxTestHosts) LookupHost(_ context.Context, name string) ([]netip.Addr, error) {
	if as, ok := f[name]; ok {
		return as, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrHostNotFound, name)
}

type fakeMX map[string][]MXHost

func (f fakeMX) LookupMX(_ context.Context, domain string) ([]MXHost, error) { return f[domain], nil }

// TestDomainTargetChecksMXHosts: #10 item 5. A domain target checks its
// MX hosts' addresses too (once each), and a mail domain without
// addresses of its own is not unknown.
func TestDomainTargetChecksMXHosts(t *testing.T) {
	c := &Checker{
		Resolver: listedResolver{"2.2.0.192.bl.test": true},
		Hosts:    mxTestHosts{"both.example": {ip("192.0.2.1")}},
		MX: fakeMX{
			"example.org":  {{Name: "mx1.example.org", Addrs: []netip.Addr{ip("192.0.2.2")}}, {Name: "mx2.example.org", Addrs: []netip.Addr{ip("192.0.2.3")}}},
			"both.example": {{Name: "both.example", Addrs: []netip.Addr{ip("192.0.2.1")}}},
		},
		Lists: []List{{Zone: "bl.test", Kind: KindIP}},
	}
	rs := c.Check(context.Background(), []Target{mustParse(t, "example.org"), mustParse(t, "both.example")})
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Target, r.Via, r.Address, r.Status))
	}
	assert.Equal(t, []string{
		"example.org mx1.example.org 192.0.2.2 listed",
		"example.org mx2.example.org 192.0.2.3 clean",
		"both.example  192.0.2.1 clean", // its own address, checked once
	}, got)
}

func mustParse(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestDomainTargetMXAddrsBounded: the domain's DNS decides how many MX
// host addresses there are, and each is asked of every list. At most
// MaxMXAddrs are checked; the rest make the domain unknown on every list
// (never clean: one of them may be the listed one).
func TestDomainTargetMXAddrsBounded(t *testing.T) {
	var hosts []MXHost
	for h := range 10 {
		var as []netip.Addr
		for i := range 20 {
			as = append(as, ip(fmt.Sprintf("192.0.%d.%d", h, i+1)))
		}
		hosts = append(hosts, MXHost{Name: fmt.Sprintf("mx%d.example.org", h), Addrs: as})
	}
	c := &Checker{
		Resolver: listedResolver{},
		Hosts:    mxTestHosts{},
		MX:       fakeMX{"example.org": hosts},
		Lists:    []List{{Zone: "bl.test", Kind: KindIP}},
	}
	rs := c.Check(context.Background(), []Target{mustParse(t, "example.org")})
	checked, unknown := 0, 0
	for _, r := range rs {
		switch r.Status {
		case Clean:
			checked++
		case Unknown:
			unknown++
			assert.Contains(t, r.Error, "168 more MX host addresses not checked (at most 32 per domain)")
		}
	}
	assert.Equal(t, MaxMXAddrs, checked)
	assert.Equal(t, 1, unknown, "the addresses left out make the domain unknown, not clean")
}
