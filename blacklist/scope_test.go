package blacklist

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"193.99.144.80":        true,
		"2a00:1450:4001::1b":   true,
		"::ffff:193.99.144.80": true,
		"127.0.0.2":            false, // RFC 5782 §5: every list's "listed" test point
		"::1":                  false,
		"10.1.2.3":             false,
		"172.16.0.1":           false,
		"192.168.1.1":          false,
		"100.64.0.1":           false,
		"169.254.1.1":          false,
		"0.1.2.3":              false,
		"192.0.2.1":            false,
		"198.51.100.7":         false,
		"203.0.113.9":          false,
		"198.18.0.1":           false,
		"240.0.0.1":            false,
		"255.255.255.255":      false,
		"fd00::1":              false,
		"fe80::1":              false,
		"2001:db8::1":          false,
		"3fff::1":              false,
		"ff02::1":              false,
	} {
		assert.Equal(t, want, PublicAddr(netip.MustParseAddr(addr)), addr)
	}
}

// countingResolver answers 127.0.0.2 (listed) to every query, as a public
// list does for its RFC 5782 test point, and counts the queries (the
// checker asks concurrently).
type countingResolver struct {
	mu    *sync.Mutex
	asked map[string]int
}

func newCountingResolver() countingResolver {
	return countingResolver{mu: &sync.Mutex{}, asked: map[string]int{}}
}

func (r countingResolver) LookupA(ctx context.Context, name string) (Answer, error) {
	r.mu.Lock()
	r.asked[name]++
	r.mu.Unlock()
	return listedResolver{name: true}.LookupA(ctx, name)
}

func (r countingResolver) LookupTXT(ctx context.Context, name string) (Answer, error) {
	return listedResolver{}.LookupTXT(ctx, name)
}

// TestPublicListsSkipSpecialAddrs: a probe sent from 127.0.0.2, or a
// domain whose DNS points its MX at 127.0.0.2, must not read "listed on
// Spamhaus": the public lists are not asked about addresses that cannot
// be Internet senders unless the user names one, while an admin's own
// list (--lists) is asked about anything.
func TestPublicListsSkipSpecialAddrs(t *testing.T) {
	zen := DefaultLists()[0]
	own := List{Zone: "rbl.corp.example", Kind: KindIP}
	require.True(t, zen.Public)
	require.False(t, own.Public)
	run := func(c *Checker, targets ...Target) ([]string, map[string]int) {
		r := newCountingResolver()
		c.Resolver = r
		var got []string
		for _, res := range c.Check(context.Background(), targets) {
			got = append(got, fmt.Sprintf("%s %s %s", res.Address, res.List, res.Status))
		}
		return got, r.asked
	}

	// Addresses the probe used (AddrChecker): loopback and private ones
	// stay off the public list, a public one is asked.
	a := AddrChecker{Checker: &Checker{Lists: []List{zen, own}}}
	r := newCountingResolver()
	a.Checker.Resolver = r
	var got []string
	for _, res := range a.CheckAddrs(context.Background(), []netip.Addr{ip("127.0.0.2"), ip("10.0.0.5"), ip("193.99.144.80")}, nil) {
		got = append(got, fmt.Sprintf("%s %s %s", res.Address, res.List, res.Status))
		if res.Address != "193.99.144.80" && res.List == zen.Zone {
			assert.ErrorIs(t, res.Err, ErrNotPublic)
		}
	}
	assert.Equal(t, []string{
		"127.0.0.2 zen.spamhaus.org unknown", "127.0.0.2 rbl.corp.example listed",
		"10.0.0.5 zen.spamhaus.org unknown", "10.0.0.5 rbl.corp.example listed",
		"193.99.144.80 zen.spamhaus.org listed", "193.99.144.80 rbl.corp.example listed",
	}, got)
	assert.Zero(t, r.asked["2.0.0.127.zen.spamhaus.org"])
	assert.Zero(t, r.asked["5.0.0.10.zen.spamhaus.org"])

	// A user who names 127.0.0.2 tests the list: it is asked.
	got, asked := run(&Checker{Lists: []List{zen}}, TargetIP(ip("127.0.0.2")))
	assert.Equal(t, []string{"127.0.0.2 zen.spamhaus.org listed"}, got)
	assert.Equal(t, 1, asked["2.0.0.127.zen.spamhaus.org"])

	// Addresses that DNS supplied (a host's A records, a domain's MX
	// hosts) are the domain owner's word, not the user's.
	got, asked = run(&Checker{Lists: []List{zen},
		Hosts: mxTestHosts{"lying.example": {ip("127.0.0.2")}},
		MX:    fakeMX{"lying.example": {{Name: "mx.lying.example", Addrs: []netip.Addr{ip("192.168.0.25")}}}},
	}, mustParse(t, "lying.example"))
	assert.Equal(t, []string{"127.0.0.2 zen.spamhaus.org unknown", "192.168.0.25 zen.spamhaus.org unknown"}, got)
	assert.Empty(t, asked)

	// --lists naming a built-in zone keeps it public, with or without a kind.
	for _, spec := range []string{"zen.spamhaus.org", "zen.spamhaus.org=ip", "defaults"} {
		ls, err := ParseLists(spec)
		require.NoError(t, err)
		assert.True(t, ls[0].Public, spec)
	}
	ls, err := ParseLists("rbl.corp.example")
	require.NoError(t, err)
	assert.False(t, ls[0].Public)
}
