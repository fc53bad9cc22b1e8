package blacklist

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryName(t *testing.T) {
	ipl := List{Zone: "zen.spamhaus.org", Kind: KindIP}
	doml := List{Zone: "dbl.spamhaus.org.", Kind: KindDomain}
	tests := []struct {
		name   string
		list   List
		addr   string
		domain string
		want   string
		err    error
	}{
		{"IPv4 reversed (RFC 5782 §2.1)", ipl, "192.0.2.99", "", "99.2.0.192.zen.spamhaus.org", nil},
		{"IPv4 test point", ipl, "127.0.0.2", "", "2.0.0.127.zen.spamhaus.org", nil},
		// RFC 5782 §2.4's own example.
		{"IPv6 nibbles (RFC 5782 §2.4)", ipl, "2001:db8:1:2:3:4:567:89ab", "",
			"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org", nil},
		{"IPv6 compressed", ipl, "2001:db8::1", "",
			"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org", nil},
		{"IPv4-mapped IPv6 as IPv4", ipl, "::ffff:198.51.100.7", "", "7.100.51.198.zen.spamhaus.org", nil},
		{"domain prepended (RFC 5782 §2.3)", doml, "", "example.com", "example.com.dbl.spamhaus.org", nil},
		{"domain list without domain", doml, "192.0.2.1", "", "", ErrBadTarget},
		{"IP list without address", ipl, "", "example.com", "", ErrBadTarget},
		{"too long", doml, "", strings.Repeat("a.", 120) + "example", "", ErrNameTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr // the zero Addr: no address
			if tt.addr != "" {
				a = ip(tt.addr)
			}
			got, err := QueryName(tt.list, a, tt.domain)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  string // substring; "" means success
	}{
		{in: "192.0.2.1", want: Target{Name: "192.0.2.1", Addr: ip("192.0.2.1")}},
		{in: " 2001:DB8::1 ", want: Target{Name: "2001:db8::1", Addr: ip("2001:db8::1")}},
		{in: "[2001:db8::1]", want: Target{Name: "2001:db8::1", Addr: ip("2001:db8::1")}},
		{in: "::ffff:192.0.2.1", want: Target{Name: "192.0.2.1", Addr: ip("192.0.2.1")}},
		{in: "Mail.Example.COM.", want: Target{Name: "mail.example.com", Resolve: true, Domain: true}},
		{in: "_dmarc.example.com", want: Target{Name: "_dmarc.example.com", Resolve: true, Domain: true}},
		{in: "fe80::1%eth0", err: "zone"},
		{in: "192.0.2.0/24", err: "ranges"},
		{in: "192.0.2", err: "incomplete IP"},
		{in: "256.1.1.1", err: "incomplete IP"},
		{in: "", err: "empty name"},
		{in: "a..b", err: "empty label"},
		{in: "-a.example", err: "hyphen"},
		{in: "exa mple.com", err: "not allowed"},
		{in: "bücher.example", err: "A-label"},
		{in: strings.Repeat("a", 64) + ".example", err: "63"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrBadTarget)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTargetConstructors(t *testing.T) {
	assert.Equal(t, Target{Name: "192.0.2.1", Addr: ip("192.0.2.1")}, TargetIP(ip("::ffff:192.0.2.1")))
	assert.Equal(t, Target{Name: "fe80::1", Addr: ip("fe80::1")}, TargetIP(ip("fe80::1%eth0")))
	assert.Equal(t, Target{Name: "mx.example", Resolve: true}, TargetHost("MX.example."))
	assert.Equal(t, Target{Name: "example.com", Domain: true}, TargetDomain("Example.com"))
}

func TestParseLists(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lists.txt")
	require.NoError(t, os.WriteFile(file, []byte(`# lab lists
bl.example.org:127.0.0.2=spam trap hit, see web site;!127.0.0.255=refused

rhsbl.example.net=domain:&2=black;&4=grey
zen.spamhaus.org
`), 0o644))

	t.Run("comma list with codes", func(t *testing.T) {
		ls, err := ParseLists("bl.example.org:127.0.0.2=trap;!127.255.255.254=public resolver, rhsbl.example.net=domain:127.0.1.2=spam domain")
		require.NoError(t, err)
		require.Len(t, ls, 2)
		assert.Equal(t, List{Zone: "bl.example.org", Kind: KindIP,
			Codes:      codeMap("127.0.0.2", "trap"),
			ErrorCodes: codeMap("127.255.255.254", "public resolver")}, ls[0])
		assert.Equal(t, List{Zone: "rhsbl.example.net", Kind: KindDomain,
			Codes: codeMap("127.0.1.2", "spam domain")}, ls[1])
	})
	for _, spec := range []string{"@" + file, file} {
		t.Run("file "+spec[:1], func(t *testing.T) {
			ls, err := ParseLists(spec)
			require.NoError(t, err)
			require.Len(t, ls, 3)
			assert.Equal(t, "spam trap hit, see web site", ls[0].Codes[ip("127.0.0.2")], "commas allowed in a file")
			assert.Equal(t, "refused", ls[0].ErrorCodes[ip("127.0.0.255")])
			assert.Equal(t, map[uint8]string{2: "black", 4: "grey"}, ls[1].Bits)
			assert.Equal(t, defaultList("zen.spamhaus.org"), ls[2], "a known zone inherits its codes")
		})
	}
	t.Run("defaults plus one, duplicates dropped", func(t *testing.T) {
		ls, err := ParseLists("defaults, bl.example.org, zen.spamhaus.org")
		require.NoError(t, err)
		assert.Len(t, ls, len(DefaultLists())+1)
		assert.Equal(t, "bl.example.org", ls[len(ls)-1].Zone)
	})
	t.Run("codes merge over a default", func(t *testing.T) {
		ls, err := ParseLists("zen.spamhaus.org:127.0.0.2=local meaning")
		require.NoError(t, err)
		assert.Equal(t, "local meaning", ls[0].Codes[ip("127.0.0.2")])
		assert.NotEmpty(t, ls[0].Codes[ip("127.0.0.4")])
		assert.NotEmpty(t, ls[0].ErrorCodes[ip("127.255.255.254")])
		assert.NotEqual(t, "local meaning", DefaultLists()[0].Codes[ip("127.0.0.2")], "defaults not modified")
	})
	bad := []struct{ spec, err string }{
		{"", "empty"},
		{",,", "no lists"},
		{"localhost", "want a DNS zone"},
		{"bl..example", "empty label"},
		{"bl.example=ipv6", "kind"},
		{"bl.example:127.0.0.2", "CODE=MEANING"},
		{"bl.example:10.0.0.2=x", "127.0.0.0/8"},
		{"bl.example:!garbage=x", "127.0.0.0/8"},
		{"bl.example:&3=x", "bit"},
		{"bl.example:&256=x", "bit"},
		{"@" + filepath.Join(dir, "missing.txt"), "no such file"},
	}
	for _, b := range bad {
		t.Run("bad "+b.spec, func(t *testing.T) {
			_, err := ParseLists(b.spec)
			require.ErrorIs(t, err, ErrBadListSpec)
			assert.Contains(t, err.Error(), b.err)
		})
	}
}

func TestDefaultLists(t *testing.T) {
	ls := DefaultLists()
	var zones []string
	for _, l := range ls {
		zones = append(zones, l.Zone)
		for code := range l.ErrorCodes {
			_, clash := l.Codes[code]
			assert.False(t, clash, "%s: %s is both a listing and an error", l.Zone, code)
		}
		if l.Kind == KindIP {
			_, _, err := testPoints(l)
			assert.NoError(t, err)
		}
	}
	assert.Equal(t, []string{"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "ix.dnsbl.manitu.net",
		"psbl.surriel.com", "dbl.spamhaus.org", "multi.uribl.com", "multi.surbl.org"}, zones)
	ls[0].Codes[ip("127.0.0.2")] = "changed"
	assert.NotEqual(t, "changed", DefaultLists()[0].Codes[ip("127.0.0.2")], "each call returns fresh maps")
}

func codeMap(kv ...string) map[netip.Addr]string {
	m := map[netip.Addr]string{}
	for i := 0; i < len(kv); i += 2 {
		m[ip(kv[i])] = kv[i+1]
	}
	return m
}
