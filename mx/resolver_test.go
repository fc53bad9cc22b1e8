package mx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// rules are the misbehaviours of the shared test resolver, by name or
// name/TYPE; the zone data is in testdata/.
var rules = map[string]misbehaviour{
	"servfail.test":             servfail,
	"refused.test":              refused,
	"notimp.test":               notimp,
	"dead.test":                 silent,
	"wrongid.test":              wrongID,
	"garbage.test":              garbage,
	"wrongq.test":               wrongQuestion,
	"echo.test":                 echo,
	"foreign.test":              foreignOwner,
	"nxmx.test":                 nxdomainWithData,
	"opcode.test":               wrongOpcode,
	"chaos.test":                wrongClass,
	"upper.test":                caseFlipped,
	"mx.foreignhost.test/A":     foreignOwner,
	"mx.foreignhost.test/AAAA":  foreignOwner,
	"mx.nxhost.test/A":          nxdomainWithData,
	"mx.nxhost.test/AAAA":       nxdomainWithData,
	"tc.test":                   truncateUDP,
	"loopq1.test":               cnameOnly,
	"loopq2.test":               cnameOnly,
	"hop1.test":                 cnameOnly,
	"hop2.test":                 cnameOnly,
	"hop3.test":                 cnameOnly,
	"alias-hostq.mxcnameq.test": cnameOnly,
	"sf.hostfail.test":          servfail,
	"mx.partial.test/AAAA":      servfail,
	"implicitsf.test/A":         servfail,
}

func newTestResolver(t *testing.T) *fakeResolver {
	return startFakeResolver(t, rules, "testdata/zone.txt", "testdata/big.zone")
}

// hostView is the part of an MXHost a test states.
type hostView struct {
	Pref      uint16
	Name      string
	Addrs     []string
	CNAMEs    []string
	IPLiteral bool
	ErrKind   error
	ErrType   string
	ErrTemp   bool
}

func viewHosts(hosts []MXHost) []hostView {
	var out []hostView
	for _, h := range hosts {
		v := hostView{Pref: h.Preference, Name: h.Name, CNAMEs: h.CNAMEs, IPLiteral: h.IPLiteral, ErrKind: errKind(h.Err)}
		for _, a := range h.Addresses {
			v.Addrs = append(v.Addrs, a.String())
		}
		if h.Err != nil {
			v.ErrType, v.ErrTemp = h.Err.Type, h.Err.Temporary
		}
		out = append(out, v)
	}
	return out
}

var exampleHosts = []hostView{
	{Pref: 5, Name: "primary.example.test", Addrs: []string{"192.0.2.9", "192.0.2.10", "2001:db8::10"}},
	{Pref: 10, Name: "mx-a.example.test", Addrs: []string{"192.0.2.20"}},
	{Pref: 10, Name: "mx-b.example.test", Addrs: []string{"2001:db8::3", "2001:db8::30"}},
}

func TestResolve(t *testing.T) {
	srv := newTestResolver(t)

	tests := []struct {
		name     string
		domain   string
		family   Family
		maxCNAME int

		hosts    []hostView
		implicit bool
		cnames   []string
		warnings int

		errKind   error // nil: the route is usable
		errType   string
		rcode     string
		temporary bool
	}{
		{name: "preference order, ties by name, A before AAAA", domain: "example.test", hosts: exampleHosts},
		{name: "trailing dot and upper case", domain: "EXAMPLE.Test.", hosts: exampleHosts},
		{name: "ipv4 only", domain: "example.test", family: FamilyIPv4, hosts: []hostView{
			{Pref: 5, Name: "primary.example.test", Addrs: []string{"192.0.2.9", "192.0.2.10"}},
			{Pref: 10, Name: "mx-a.example.test", Addrs: []string{"192.0.2.20"}},
			{Pref: 10, Name: "mx-b.example.test", ErrKind: ErrNoHostAddress, ErrType: "A"},
		}},
		{name: "ipv6 only", domain: "example.test", family: FamilyIPv6, hosts: []hostView{
			{Pref: 5, Name: "primary.example.test", Addrs: []string{"2001:db8::10"}},
			{Pref: 10, Name: "mx-a.example.test", ErrKind: ErrNoHostAddress, ErrType: "AAAA"},
			{Pref: 10, Name: "mx-b.example.test", Addrs: []string{"2001:db8::3", "2001:db8::30"}},
		}},

		// RFC 5321 §5.1 implicit MX.
		{name: "implicit MX", domain: "implicit.test", implicit: true, hosts: []hostView{
			{Pref: 0, Name: "implicit.test", Addrs: []string{"192.0.2.40", "2001:db8::40"}},
		}},
		{name: "implicit MX through a CNAME", domain: "implicit-alias.test", implicit: true,
			cnames: []string{"implicit.test"}, hosts: []hostView{
				{Pref: 0, Name: "implicit-alias.test", CNAMEs: []string{"implicit.test"}, Addrs: []string{"192.0.2.40", "2001:db8::40"}},
			}},
		{name: "implicit MX, ipv6 only, no AAAA", domain: "nodata.test", family: FamilyIPv6,
			errKind: ErrNoData, errType: "AAAA", rcode: "NOERROR"},
		{name: "no MX, no address", domain: "nodata.test", errKind: ErrNoData, errType: "AAAA", rcode: "NOERROR"},
		{name: "implicit MX whose A lookup fails", domain: "implicitsf.test", implicit: true,
			hosts:   []hostView{{Name: "implicitsf.test", ErrKind: ErrServFail, ErrType: "A", ErrTemp: true}},
			errKind: ErrServFail, errType: "A", rcode: "SERVFAIL", temporary: true},

		// Whole-domain failures, each distinct.
		{name: "NXDOMAIN", domain: "missing.test", errKind: ErrNXDomain, errType: "MX", rcode: "NXDOMAIN"},
		{name: "null MX", domain: "nullmx.test", errKind: ErrNullMX, errType: "MX", rcode: "NOERROR"},
		{name: "null MX among real MX is ignored", domain: "mixednull.test", warnings: 1, hosts: []hostView{
			{Pref: 10, Name: "mx.mixednull.test", Addrs: []string{"192.0.2.50"}},
		}},
		{name: "SERVFAIL", domain: "servfail.test", errKind: ErrServFail, errType: "MX", rcode: "SERVFAIL", temporary: true},
		{name: "REFUSED", domain: "refused.test", errKind: ErrRefused, errType: "MX", rcode: "REFUSED", temporary: true},
		{name: "NOTIMP", domain: "notimp.test", errKind: ErrBadRcode, errType: "MX", rcode: "NOTIMP", temporary: true},
		{name: "timeout", domain: "dead.test", errKind: ErrTimeout, errType: "MX", temporary: true},
		{name: "wrong ID", domain: "wrongid.test", errKind: ErrIDMismatch, errType: "MX", temporary: true},
		{name: "unparseable answer", domain: "garbage.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		// Answers that are not answers (dnsclient.Validate): never a route.
		{name: "answer to another question", domain: "wrongq.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		{name: "query echoed back (QR bit clear)", domain: "echo.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		{name: "MX records owned by another name", domain: "foreign.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		{name: "answer with another opcode", domain: "opcode.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		{name: "answer for another class", domain: "chaos.test", errKind: ErrMalformed, errType: "MX", temporary: true},
		{name: "question name in other case is the same question", domain: "upper.test", hosts: []hostView{
			{Pref: 10, Name: "mx.upper.test", Addrs: []string{"192.0.2.111"}},
		}},
		// glibc's res_query: NXDOMAIN is HOST_NOT_FOUND whatever the answer
		// count, so Postfix reports NXDOMAIN; so do we.
		{name: "NXDOMAIN carrying MX records is NXDOMAIN", domain: "nxmx.test", errKind: ErrNXDomain, errType: "MX", rcode: "NXDOMAIN"},
		{name: "MX host whose addresses are owned by another name", domain: "foreignhost.test", hosts: []hostView{
			{Pref: 10, Name: "mx.foreignhost.test", ErrKind: ErrMalformed, ErrType: "AAAA", ErrTemp: true},
		}, errKind: ErrNoAddress, errType: "MX", temporary: true},
		{name: "MX host NXDOMAIN carrying addresses", domain: "nxhost.test", hosts: []hostView{
			{Pref: 10, Name: "mx.nxhost.test", ErrKind: ErrNXDomain, ErrType: "AAAA"},
		}, errKind: ErrNoAddress, errType: "MX"},

		// Truncation and size.
		{name: "truncated UDP answer, retried over TCP", domain: "tc.test", hosts: []hostView{
			{Pref: 10, Name: "mx.tc.test", Addrs: []string{"192.0.2.60"}},
		}},
		{name: "host with 100 addresses (oversized A answer)", domain: "manyaddr.test", family: FamilyIPv4, hosts: []hostView{
			{Pref: 10, Name: "pool.manyaddr.test", Addrs: manyAddrs()},
		}},

		// CNAMEs for the domain.
		{name: "domain is a CNAME", domain: "alias.test", cnames: []string{"example.test"}, hosts: exampleHosts},
		{name: "three hops, each by re-query", domain: "hop1.test",
			cnames: []string{"hop2.test", "hop3.test", "example.test"}, hosts: exampleHosts},
		{name: "three hops over a limit of two", domain: "hop1.test", maxCNAME: 2,
			cnames:  []string{"hop2.test", "hop3.test", "example.test"},
			errKind: ErrCNAMELoop, errType: "MX", rcode: "NOERROR", temporary: true},
		{name: "nine hops over the default limit", domain: "long1.test",
			cnames: []string{"long2.test", "long3.test", "long4.test", "long5.test", "long6.test",
				"long7.test", "long8.test", "long9.test", "example.test"},
			errKind: ErrCNAMELoop, errType: "MX", rcode: "NOERROR", temporary: true},
		{name: "CNAME loop within one answer", domain: "loop1.test", cnames: []string{"loop2.test", "loop1.test"},
			errKind: ErrCNAMELoop, errType: "MX", rcode: "NOERROR", temporary: true},
		{name: "CNAME loop across re-queries", domain: "loopq1.test", cnames: []string{"loopq2.test", "loopq1.test"},
			errKind: ErrCNAMELoop, errType: "MX", rcode: "NOERROR", temporary: true},
		{name: "CNAME to a missing name", domain: "dangling.test", cnames: []string{"nowhere.test"},
			errKind: ErrNXDomain, errType: "MX", rcode: "NXDOMAIN"},

		// MX host problems.
		{name: "MX target is a CNAME", domain: "mxcname.test", hosts: []hostView{
			{Pref: 10, Name: "alias-host.mxcname.test", CNAMEs: []string{"real.mxcname.test"}, Addrs: []string{"192.0.2.70"}},
		}},
		{name: "MX target is a CNAME, answered CNAME-only", domain: "mxcnameq.test", hosts: []hostView{
			{Pref: 10, Name: "alias-hostq.mxcnameq.test", CNAMEs: []string{"real.mxcname.test"}, Addrs: []string{"192.0.2.70"}},
		}},
		{name: "MX target is an IP address: dialled as Postfix does", domain: "mxip.test",
			hosts: []hostView{{Pref: 10, Name: "192.0.2.1", IPLiteral: true, Addrs: []string{"192.0.2.1"}}}, warnings: 1},
		{name: "IP-address MX beside a real one", domain: "mxipmixed.test", hosts: []hostView{
			{Pref: 10, Name: "192.0.2.1", IPLiteral: true, Addrs: []string{"192.0.2.1"}},
			{Pref: 20, Name: "backup.mxipmixed.test", Addrs: []string{"192.0.2.80"}},
		}, warnings: 1},
		{name: "MX hosts without address", domain: "noaddr.test", hosts: []hostView{
			{Pref: 10, Name: "gone.noaddr.test", ErrKind: ErrNXDomain, ErrType: "AAAA"},
			{Pref: 20, Name: "empty.noaddr.test", ErrKind: ErrNoHostAddress, ErrType: "AAAA"},
		}, errKind: ErrNoAddress, errType: "MX"},
		{name: "MX host lookup SERVFAIL", domain: "hostfail.test", hosts: []hostView{
			{Pref: 10, Name: "sf.hostfail.test", ErrKind: ErrServFail, ErrType: "AAAA", ErrTemp: true},
		}, errKind: ErrNoAddress, errType: "MX", temporary: true},
		{name: "AAAA fails, A works", domain: "partial.test", warnings: 1, hosts: []hostView{
			{Pref: 10, Name: "mx.partial.test", Addrs: []string{"192.0.2.91"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{DNS: srv.client(), Family: tt.family, MaxCNAME: tt.maxCNAME}
			route := r.Resolve(context.Background(), tt.domain)
			require.NotNil(t, route)

			assert.Equal(t, normalize(tt.domain), route.Domain)
			assert.Equal(t, tt.family, route.Family)
			assert.Equal(t, tt.implicit, route.Implicit, "implicit")
			assert.Equal(t, tt.cnames, route.CNAMEs, "domain CNAME chain")
			assert.Equal(t, tt.hosts, viewHosts(route.Hosts))
			assert.Len(t, route.Warnings, tt.warnings, "warnings: %q", route.Warnings)
			if tt.errKind == nil {
				assert.Nil(t, route.Err)
				return
			}
			require.NotNil(t, route.Err, "route error")
			assert.ErrorIs(t, route.Err, tt.errKind)
			assert.Same(t, tt.errKind, route.Err.Kind)
			assert.Equal(t, tt.errType, route.Err.Type, "type")
			assert.Equal(t, tt.rcode, route.Err.Rcode, "rcode")
			assert.Equal(t, tt.temporary, route.Err.Temporary, "temporary")
		})
	}
}

func manyAddrs() []string {
	var out []string
	for i := 1; i <= 100; i++ {
		out = append(out, fmt.Sprintf("203.0.113.%d", i))
	}
	return out
}

// TestResolveTransport checks which transport carried the MX question:
// TCP only after a truncated UDP answer (RFC 7766 §5), whether the server
// truncated on purpose or because the answer exceeded the 1232-byte EDNS0
// buffer.
func TestResolveTransport(t *testing.T) {
	srv := newTestResolver(t)
	tests := []struct {
		domain       string
		qname, qtype string // the question whose transports are checked
		want         []string
		hosts        int
	}{
		{domain: "example.test", qname: "example.test", qtype: "MX", want: []string{"udp"}, hosts: 3},
		{domain: "tc.test", qname: "tc.test", qtype: "MX", want: []string{"udp", "tcp"}, hosts: 1},
		{domain: "big.test", qname: "big.test", qtype: "MX", want: []string{"udp", "tcp"}, hosts: 40},
		{domain: "manyaddr.test", qname: "pool.manyaddr.test", qtype: "A", want: []string{"udp", "tcp"}, hosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			r := &Resolver{DNS: srv.client(), Family: FamilyIPv4}
			route := r.Resolve(context.Background(), tt.domain)
			require.Nil(t, route.Err)
			assert.Len(t, route.Hosts, tt.hosts)
			assert.Equal(t, tt.want, srv.queries(tt.qname, tt.qtype))
		})
	}
}

// TestResolveLargeMXSet checks the 40-host answer arrives whole and in
// order: preference, then name.
func TestResolveLargeMXSet(t *testing.T) {
	srv := newTestResolver(t)
	r := &Resolver{DNS: srv.client(), Family: FamilyIPv4}
	route := r.Resolve(context.Background(), "big.test")
	require.Nil(t, route.Err)
	require.Len(t, route.Hosts, 40)
	var want []hostView
	for pref := 0; pref < 40; pref += 10 {
		for i := pref / 10; i < 40; i += 4 {
			want = append(want, hostView{
				Pref:  uint16(pref),
				Name:  fmt.Sprintf("mail-exchanger-number-%02d.long-host-names.big.test", i),
				Addrs: []string{fmt.Sprintf("198.51.100.%d", i+1)},
			})
		}
	}
	assert.Equal(t, want, viewHosts(route.Hosts))
}

func TestLookupHost(t *testing.T) {
	srv := newTestResolver(t)
	tests := []struct {
		name    string
		host    string
		family  Family
		addrs   []string
		cnames  []string
		errKind error
		errType string
	}{
		{name: "both families", host: "primary.example.test.", addrs: []string{"192.0.2.9", "192.0.2.10", "2001:db8::10"}},
		{name: "ipv6 only", host: "primary.example.test", family: FamilyIPv6, addrs: []string{"2001:db8::10"}},
		{name: "through a CNAME", host: "Alias-Host.mxcname.test", addrs: []string{"192.0.2.70"}, cnames: []string{"real.mxcname.test"}},
		{name: "no such host", host: "gone.noaddr.test", errKind: ErrNXDomain, errType: "AAAA"},
		{name: "ipv4 only, no A", host: "mx-b.example.test", family: FamilyIPv4, errKind: ErrNoHostAddress, errType: "A"},
		{name: "timeout", host: "dead.test", errKind: ErrTimeout, errType: "AAAA"},
		{name: "IPv4 address, no query", host: "192.0.2.7", addrs: []string{"192.0.2.7"}},
		{name: "bracketed IPv6 address", host: "[2001:DB8::7]", addrs: []string{"2001:db8::7"}},
		{name: "IPv4 address under -6", host: "192.0.2.7", family: FamilyIPv6, errKind: ErrNoHostAddress, errType: "AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{DNS: srv.client(), Family: tt.family}
			addrs, cnames, err := r.LookupHost(context.Background(), tt.host)
			var got []string
			for _, a := range addrs {
				got = append(got, a.String())
			}
			assert.Equal(t, tt.addrs, got)
			assert.Equal(t, tt.cnames, cnames)
			if tt.errKind == nil {
				assert.Nil(t, err)
				return
			}
			require.NotNil(t, err)
			assert.ErrorIs(t, err, tt.errKind)
			assert.Equal(t, tt.errType, err.Type)
			assert.Equal(t, normalize(tt.host), err.Name)
		})
	}
}

// TestResolveErrorsWrapCause checks the transport cause stays reachable
// with errors.Is, so callers can tell a dnsclient timeout from ours.
func TestResolveErrorsWrapCause(t *testing.T) {
	srv := newTestResolver(t)
	r := &Resolver{DNS: srv.client()}

	route := r.Resolve(context.Background(), "dead.test")
	require.NotNil(t, route.Err)
	assert.ErrorIs(t, route.Err, dnsclient.ErrTimeout)
	assert.Contains(t, route.Err.Error(), "dead.test type=MX")

	route = r.Resolve(context.Background(), "wrongid.test")
	require.NotNil(t, route.Err)
	assert.ErrorIs(t, route.Err, dnsclient.ErrIDMismatch)
	assert.NotErrorIs(t, route.Err, ErrTimeout)
}

// TestResolveContext checks that an ended context stops resolution at
// once rather than hanging, even against a silent resolver with a long
// per-query timeout, and that the route says it was stopped — with the
// context's cause — rather than blaming the resolver: before, a Ctrl-C
// during the MX lookup came out as ErrTimeout, "Host not found, try
// again".
func TestResolveContext(t *testing.T) {
	srv := newTestResolver(t)
	r := &Resolver{DNS: &dnsclient.Client{Servers: []string{srv.Addr}, Timeout: time.Hour}}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	route := r.Resolve(ctx, "dead.test")
	require.NotNil(t, route.Err)
	assert.Same(t, ErrStopped, route.Err.Kind)
	assert.ErrorIs(t, route.Err, context.DeadlineExceeded)
	assert.True(t, route.Err.Temporary)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	route = r.Resolve(ctx, "example.test")
	require.NotNil(t, route.Err)
	assert.Same(t, ErrStopped, route.Err.Kind)
	assert.ErrorIs(t, route.Err, context.Canceled)

	interrupt := errors.New("interrupt")
	cctx, ccancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { ccancel(interrupt) })
	route = r.Resolve(cctx, "dead.test")
	require.NotNil(t, route.Err)
	assert.Same(t, ErrStopped, route.Err.Kind)
	assert.ErrorIs(t, route.Err, interrupt, "the cause reaches the caller")
	assert.NotErrorIs(t, route.Err, ErrTimeout)
}

func TestResolveWithoutResolver(t *testing.T) {
	for _, r := range []*Resolver{nil, {}, {DNS: &dnsclient.Client{}}} {
		route := r.Resolve(context.Background(), "example.test")
		require.NotNil(t, route)
		require.NotNil(t, route.Err)
		assert.Same(t, ErrUnreachable, route.Err.Kind)
		assert.ErrorIs(t, route.Err, dnsclient.ErrNoServers)
		assert.True(t, route.Err.Temporary)
	}
}

// TestResolveUnreachable: nothing listens on the resolver's port; on
// loopback the ICMP port unreachable comes back as "connection refused".
func TestResolveUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := pc.LocalAddr().String()
	require.NoError(t, pc.Close())

	r := &Resolver{DNS: &dnsclient.Client{Servers: []string{dead}, Timeout: 5 * time.Second}}
	route := r.Resolve(context.Background(), "example.test")
	require.NotNil(t, route.Err)
	assert.Same(t, ErrUnreachable, route.Err.Kind, "%v", route.Err)
	assert.True(t, route.Err.Temporary)
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Kind: ErrServFail, Name: "example.org", Type: "MX", Rcode: "SERVFAIL", Temporary: true,
		Err: errors.New("resolver 127.0.0.1:53")}
	assert.Equal(t, "example.org type=MX: resolver failure (SERVFAIL): resolver 127.0.0.1:53", e.Error())
	assert.ErrorIs(t, e, ErrServFail)
	assert.NotErrorIs(t, e, ErrNXDomain)
}

func TestIsIPLiteral(t *testing.T) {
	for host, want := range map[string]bool{
		"192.0.2.1":           true,
		"[192.0.2.1]":         true,
		"2001:db8::1":         true,
		"mx.example.org":      false,
		"192.0.2.1.nip.test":  false,
		"1.2.3":               false,
		"xn--bcher-kva.test":  false,
		"256.1.1.1":           false,
		"192.0.2.1.in-addr.x": false,
	} {
		assert.Equal(t, want, isIPLiteral(host), host)
	}
}

// BenchmarkResolve measures one whole resolution (MX + A/AAAA of three
// hosts) against the loopback resolver.
func BenchmarkResolve(b *testing.B) {
	srv := startFakeResolver(b, rules, "testdata/zone.txt")
	r := &Resolver{DNS: srv.client()}
	ctx := context.Background()
	for b.Loop() {
		if route := r.Resolve(ctx, "example.test"); route.Err != nil {
			b.Fatal(route.Err)
		}
	}
}

// writeZone writes zone text to a file for startFakeResolver.
func writeZone(t *testing.T, text string) string {
	t.Helper()
	path := t.TempDir() + "/zone.txt"
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// TestDuplicateMXTargets: a host listed several times (other preference,
// other case) is looked up once and appears once, at its best preference.
func TestDuplicateMXTargets(t *testing.T) {
	zone := writeZone(t, `$ORIGIN test.
$TTL 300
dup.test.    MX 20 mx.dup.test.
dup.test.    MX 10 mx.dup.test.
dup.test.    MX 30 MX.Dup.Test.
dup.test.    MX 40 other.dup.test.
mx.dup.test.     A 192.0.2.120
other.dup.test.  A 192.0.2.121
`)
	srv := startFakeResolver(t, nil, zone)
	r := &Resolver{DNS: srv.client(), Family: FamilyIPv4}
	route := r.Resolve(context.Background(), "dup.test")
	require.Nil(t, route.Err)
	assert.Equal(t, []hostView{
		{Pref: 10, Name: "mx.dup.test", Addrs: []string{"192.0.2.120"}},
		{Pref: 40, Name: "other.dup.test", Addrs: []string{"192.0.2.121"}},
	}, viewHosts(route.Hosts))
	assert.Len(t, srv.queries("mx.dup.test", "A"), 1, "a duplicate host is looked up once")
	require.Len(t, route.Warnings, 1)
	assert.Contains(t, route.Warnings[0], "2 duplicate MX record(s)")
}

// hugeMXZone lists n MX hosts for huge.test (a 64 KB TCP answer holds
// about 2,800), each with an address unless silentHosts.
func hugeMXZone(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN test.\n$TTL 300\n")
	for i := range n {
		fmt.Fprintf(&b, "huge.test. MX %d h%d.huge.test.\n", i%100, i)
		fmt.Fprintf(&b, "h%d.huge.test. A 192.0.2.%d\n", i, 1+i%250)
	}
	return writeZone(t, b.String())
}

// TestHugeMXAnswer: 2,800 MX hosts (the whole answer, over TCP) cost the
// lookups of the first DefaultMaxHosts only, with a warning saying so.
func TestHugeMXAnswer(t *testing.T) {
	srv := startFakeResolver(t, nil, hugeMXZone(t, 2800))
	r := &Resolver{DNS: srv.client(), Family: FamilyIPv4}
	start := time.Now()
	route := r.Resolve(context.Background(), "huge.test")
	if route.Err != nil {
		t.Fatal(route.Err.Error())
	}
	assert.Len(t, route.Hosts, DefaultMaxHosts)
	assert.Equal(t, []string{"udp", "tcp"}, srv.queries("huge.test", "MX"), "the MX answer needs TCP")
	require.NotEmpty(t, route.Warnings)
	assert.Contains(t, route.Warnings[len(route.Warnings)-1], "the domain lists 2800 MX hosts; only the first 64")
	assert.Less(t, time.Since(start), 5*time.Second)
	for i := 1; i < len(route.Hosts); i++ {
		assert.LessOrEqual(t, route.Hosts[i-1].Preference, route.Hosts[i].Preference)
	}
}

// TestHugeMXAnswerSilentHosts: when every host's lookup hangs, the
// caller's deadline ends Resolve, and the hosts say that the lookup was
// stopped, with the caller's cause — not that the resolver failed.
func TestHugeMXAnswerSilentHosts(t *testing.T) {
	rules := map[string]misbehaviour{}
	for i := range 2800 {
		rules[fmt.Sprintf("h%d.huge.test", i)] = silent
	}
	srv := startFakeResolver(t, rules, hugeMXZone(t, 2800))
	c := srv.client()
	c.Timeout = 5 * time.Second
	r := &Resolver{DNS: c, Family: FamilyAny}
	cause := errors.New("the mx deadline (1s) passed")
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, cause)
	defer cancel()
	start := time.Now()
	route := r.Resolve(ctx, "huge.test")
	elapsed := time.Since(start)
	assert.Less(t, elapsed, 3*time.Second, "the deadline bounds the whole resolution")
	require.NotNil(t, route.Err)
	assert.ErrorIs(t, route.Err, ErrStopped, "the route was stopped, not found wanting")
	assert.ErrorIs(t, route.Err, cause)
	require.Len(t, route.Hosts, DefaultMaxHosts)
	assert.ErrorIs(t, route.Hosts[0].Err, cause)
	assert.ErrorIs(t, route.Hosts[0].Err, ErrStopped)
}

// TestResolveWithoutSocket: the Resolver takes any Querier, so its logic
// (preference order, ties by name, addresses A then AAAA, implicit MX,
// null MX) is tested against the zone with no socket at all.
func TestResolveWithoutSocket(t *testing.T) {
	r := &Resolver{DNS: zoneQuerier{newFakeResolver(t, nil, "testdata/zone.txt")}}
	rt := r.Resolve(context.Background(), "example.test")
	require.Nil(t, rt.Err)
	var names []string
	for _, h := range rt.Hosts {
		names = append(names, h.Name)
	}
	assert.Equal(t, []string{"primary.example.test", "mx-a.example.test", "mx-b.example.test"}, names)
	assert.Equal(t, "192.0.2.9", rt.Hosts[0].Addresses[0].String(), "A first, sorted")

	rt = r.Resolve(context.Background(), "implicit.test")
	require.Nil(t, rt.Err)
	assert.True(t, rt.Implicit)

	rt = r.Resolve(context.Background(), "nullmx.test")
	require.NotNil(t, rt.Err)
	assert.ErrorIs(t, rt.Err, ErrNullMX)
}

// TestManyMXFirstChunkUnusable: when none of the first DefaultMaxHosts
// hosts has an address, the next ones are looked up (Postfix looks up
// every MX host), so a usable host further down still gives a route.
func TestManyMXFirstChunkUnusable(t *testing.T) {
	var b strings.Builder
	b.WriteString("$ORIGIN test.\n$TTL 300\n")
	for i := range 200 {
		fmt.Fprintf(&b, "far.test. MX %d h%03d.far.test.\n", i, i)
		if i >= DefaultMaxHosts+3 {
			fmt.Fprintf(&b, "h%03d.far.test. A 192.0.2.%d\n", i, 1+i%250)
		} else {
			fmt.Fprintf(&b, "h%03d.far.test. TXT \"no address\"\n", i)
		}
	}
	srv := startFakeResolver(t, nil, writeZone(t, b.String()))
	r := &Resolver{DNS: srv.client(), Family: FamilyIPv4}
	route := r.Resolve(context.Background(), "far.test")
	if route.Err != nil {
		t.Fatal(route.Err.Error())
	}
	require.Len(t, route.Hosts, 2*DefaultMaxHosts, "two chunks looked up")
	assert.ErrorIs(t, route.Hosts[0].Err, ErrNoHostAddress)
	assert.Equal(t, []string{"192.0.2.68"}, viewHosts(route.Hosts[DefaultMaxHosts+3:])[0].Addrs)
	assert.Contains(t, route.Warnings[0], "the domain lists 200 MX hosts; only the first 128")
	assert.Empty(t, srv.queries("h199.far.test", "A"), "the third chunk is never asked")
}

// TestAddressesNoHostCanHave: a DNS answer can give an MX host 0.0.0.0 or
// :: (which, dialled, reach this very machine: its MTA's answer would be
// reported as the recipient's), a multicast or the broadcast address.
// Such addresses are never dialled: alone they leave the host without an
// address, named for what they are; beside real ones they are dropped
// with a warning. The same holds for an MX target written as such an IP.
func TestAddressesNoHostCanHave(t *testing.T) {
	zone := writeZone(t, `$ORIGIN test.
$TTL 300
zero.test.       MX 10 mx.zero.test.
mx.zero.test.    A 0.0.0.0
unspec6.test.    MX 10 mx.unspec6.test.
mx.unspec6.test. AAAA ::
mcast.test.      MX 10 mx.mcast.test.
mx.mcast.test.   A 224.0.0.1
mx.mcast.test.   A 255.255.255.255
thisnet.test.    MX 10 mx.thisnet.test.
mx.thisnet.test. A 0.1.2.3
mixed.test.      MX 10 mx.mixed.test.
mx.mixed.test.   A 0.0.0.0
mx.mixed.test.   A 192.0.2.7
literal.test.    MX 10 0.0.0.0.
`)
	srv := startFakeResolver(t, nil, zone)
	r := &Resolver{DNS: srv.client(), Family: FamilyAny}
	for _, tt := range []struct{ domain, typ, addr string }{
		{"zero.test", "A", "0.0.0.0"},
		{"unspec6.test", "AAAA", "::"},
		{"mcast.test", "A", "224.0.0.1, 255.255.255.255"},
		{"thisnet.test", "A", "0.1.2.3"},
		{"literal.test", "MX", "0.0.0.0"},
	} {
		route := r.Resolve(context.Background(), tt.domain)
		require.Len(t, route.Hosts, 1, tt.domain)
		h := route.Hosts[0]
		assert.Empty(t, h.Addresses, "%s: never dialled", tt.domain)
		require.NotNil(t, h.Err, tt.domain)
		assert.ErrorIs(t, h.Err, ErrNoHostAddress, tt.domain)
		assert.ErrorIs(t, h.Err, ErrBadHostAddress, tt.domain)
		assert.Equal(t, tt.typ, h.Err.Type, tt.domain)
		assert.Contains(t, h.Err.Error(), "address "+tt.addr+": not an address a mail host can have", tt.domain)
	}
	route := r.Resolve(context.Background(), "mixed.test")
	require.Nil(t, route.Err)
	assert.Equal(t, []hostView{{Pref: 10, Name: "mx.mixed.test", Addrs: []string{"192.0.2.7"}}}, viewHosts(route.Hosts))
	assert.Contains(t, strings.Join(route.Warnings, "\n"), "mx.mixed.test: address 0.0.0.0: not an address a mail host can have")
}
