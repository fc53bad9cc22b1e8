package postfixconf

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

// configDir copies testdata/routes/NAME into a temporary directory,
// putting its path where main.cf says @DIR@, so that postconf -c reads
// it with absolute table names.
func configDir(t *testing.T, name string, extra ...string) string {
	t.Helper()
	for _, tool := range []string{"postconf", "postmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := exec.LookPath("/usr/sbin/" + tool); err != nil {
				if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
					t.Fatalf("%s not installed (scripts/servers-install installs Postfix)", tool)
				}
				t.Skipf("%s not installed (scripts/servers-install installs Postfix)", tool)
			}
		}
	}
	src := filepath.Join("testdata", "routes", name)
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		b = []byte(strings.NewReplacer(append([]string{"@DIR@", dst}, extra...)...).Replace(string(b)))
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func loadResolver(t *testing.T, name string) *Resolver {
	t.Helper()
	tools := &Tools{Dir: configDir(t, name), Timeout: 20 * time.Second}
	c, err := Load(context.Background(), tools)
	require.NoError(t, err)
	return NewResolver(c, tools)
}

type routeCase struct {
	addr      string
	route     string // Route.String()
	class     Class
	kind      Kind
	final     string // "" when the address is not aliased
	mx        bool
	port      int
	bind      string
	helo      string
	unix      string // the socket path the probe opens
	whySubstr string
}

func checkRoutes(t *testing.T, r *Resolver, cases []routeCase) {
	t.Helper()
	var addrs []string
	for _, c := range cases {
		addrs = append(addrs, c.addr)
	}
	require.NoError(t, r.Prefetch(context.Background(), addrs))
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			rt, err := r.Resolve(context.Background(), c.addr)
			require.NoError(t, err)
			assert.Equal(t, c.route, rt.String(), "route; why: %v", rt.Why)
			if c.class != "" {
				assert.Equal(t, c.class, rt.Class, "class")
			}
			assert.Equal(t, c.kind, rt.Kind, "kind")
			if c.final != "" {
				assert.Equal(t, c.final, rt.Final, "alias expansion")
			} else {
				assert.Equal(t, c.addr, rt.Final, "no alias")
			}
			if c.whySubstr != "" {
				assert.Contains(t, strings.Join(rt.Why, "\n"), c.whySubstr)
			}
			if c.kind != KindSMTP && c.kind != KindLMTP {
				assert.Nil(t, rt.Endpoint)
				return
			}
			require.NotNil(t, rt.Endpoint)
			assert.Equal(t, c.mx, rt.Endpoint.MX, "MX lookup")
			if c.unix != "" {
				assert.Equal(t, "unix", rt.Endpoint.Network)
				assert.Equal(t, c.unix, rt.Endpoint.Host)
			} else {
				assert.Equal(t, c.port, rt.Endpoint.Port, "port")
			}
			if c.bind != "" {
				assert.Equal(t, c.bind, rt.Bind, "bind address")
			}
			if c.helo != "" {
				assert.Equal(t, c.helo, rt.HELO, "HELO name")
			}
		})
	}
}

// TestRoutesBasic covers the address classes, the transport_maps lookup
// order and entry syntax, relayhost, nexthop syntax and virtual alias
// expansion over `postconf -c` of testdata/routes/basic (no master.cf:
// services are taken by their stock names).
func TestRoutesBasic(t *testing.T) {
	r := loadResolver(t, "basic")
	checkRoutes(t, r, []routeCase{
		// transport_maps: user+ext@domain first, then user@domain
		{addr: "user+special@relay.test", route: "smtp:[10.0.0.1]:2525", class: ClassRelay, kind: KindSMTP, port: 2525, bind: "192.0.2.10"},
		{addr: "user+other@relay.test", route: "lmtp:unix:/var/spool/postfix-test/private/dovecot-lmtp", class: ClassRelay, kind: KindLMTP,
			unix: "/var/spool/postfix-test/private/dovecot-lmtp", bind: "192.0.2.11", helo: "mx.example.test", whySubstr: "user@relay.test → lmtp:unix:private/dovecot-lmtp"},
		// ":nexthop" keeps the class's transport (relay) and replaces relayhost
		{addr: "bob@relay.test", route: "relay:[relay-mx.test]", class: ClassRelay, kind: KindSMTP, port: 25},
		// ".sub.test" matches x.sub.test (transport_maps is not in
		// parent_domain_matches_subdomains); "smtp:" resets the nexthop to
		// the recipient domain: MX lookup
		{addr: "a@x.sub.test", route: "smtp:x.sub.test", class: ClassRelay, kind: KindSMTP, mx: true, port: 25},
		// ... but not sub.test itself: the relay class with relayhost
		{addr: "a@sub.test", route: "relay:[smarthost.test]:587", class: ClassRelay, kind: KindSMTP, port: 587},
		// relay_domains: "!no.relay.test" comes first, so it wins over
		// "relay.test" (which matches subdomains: relay_domains is in
		// parent_domain_matches_subdomains)
		{addr: "a@no.relay.test", route: "smtp:[smarthost.test]:587", class: ClassDefault, kind: KindSMTP, port: 587},
		{addr: "a@deep.relay.test", route: "relay:[smarthost.test]:587", class: ClassRelay, kind: KindSMTP, port: 587},
		{addr: "a@vmail.test", route: "lmtp:inet:[10.0.0.2]:24", class: ClassVirtual, kind: KindLMTP, port: 24, bind: "192.0.2.11"},
		{addr: "a@other.test", route: "smtp:[smarthost.test]:587", class: ClassDefault, kind: KindSMTP, port: 587, whySubstr: "address_verify_relayhost = [smarthost.test]:587"},
		// the local class: local_transport's own nexthop ($myhostname)
		{addr: "a@mx.example.test", route: "local:mx.example.test", class: ClassLocal, kind: KindLocal},
		{addr: "a@localhost", route: "local:mx.example.test", class: ClassLocal, kind: KindLocal},
		// a virtual alias domain address without alias: error:5.1.1
		{addr: "nobody@alias.test", route: "error:5.1.1 User unknown in virtual alias table", class: ClassAlias, kind: KindError},
		{addr: "x@nohop.test", route: "error:Address is undeliverable", class: ClassDefault, kind: KindError},
		{addr: "x@retry.test", route: "retry:4.3.2 try later", class: ClassDefault, kind: KindError},
		// a nexthop list: the first is probed, the rest noted
		{addr: "x@list.test", route: "smtp:[10.0.0.3]:25, [10.0.0.4]:25", class: ClassDefault, kind: KindSMTP, port: 25},
		// virtual_alias_maps: full address, chains, self-alias, localpart for local domains, @domain
		{addr: "info@alias.test", final: "someone@other.test", route: "smtp:[smarthost.test]:587", class: ClassDefault, kind: KindSMTP, port: 587},
		{addr: "chain@relay.test", final: "someone@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		{addr: "loop@relay.test", route: "relay:[relay-mx.test]", class: ClassRelay, kind: KindSMTP, port: 25},
		{addr: "postmaster@mx.example.test", final: "admin@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		{addr: "any@catch.test", final: "catchall@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		{addr: "bare@relay.test", final: "localuser@example.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		{addr: "team@alias.test", final: "team@alias.test", route: "alias:a@other.test,b@other.test", kind: KindMulti},
		// an unmatched extension is propagated (propagate_unmatched_extensions = canonical, virtual)
		{addr: "ext+tag@relay.test", final: "someone+tag@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		// "@otherdomain" keeps the local part
		{addr: "domainswap@relay.test", final: "domainswap@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
		// relocated_maps, after everything else
		{addr: "moved@relay.test", route: "error:5.1.6 User has moved to new@other.test", class: ClassRelay, kind: KindError},
		// duplicates collapse: one target left
		{addr: "dup@alias.test", final: "a@other.test", route: "smtp:[smarthost.test]:587", kind: KindSMTP, port: 587},
	})
	rt, err := r.Resolve(context.Background(), "x@list.test")
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.3", rt.Endpoint.Host)
	assert.Equal(t, []string{"[10.0.0.4]:25"}, rt.Endpoint.Others)
}

// TestRoutesVerifyOverrides: the address_verify_* parameters replace
// their delivery counterparts, master.cf -o overrides set bind address
// and HELO, parent_domain_matches_subdomains = transport_maps makes
// "example.test" match subdomains, "*" applies last, and a chrooted lmtp
// opens absolute paths inside the jail.
func TestRoutesVerifyOverrides(t *testing.T) {
	r := loadResolver(t, "overrides")
	checkRoutes(t, r, []routeCase{
		// transport_maps' "relay.test error:" is not used for verification;
		// address_verify_transport_maps' "*" keeps the transport and sets the nexthop
		{addr: "a@relay.test", route: "relay:[wild.test]", class: ClassRelay, kind: KindSMTP, port: 25, helo: "helo.example.test"},
		{addr: "a@sub.example.test", route: "smtp-verify:[192.0.2.99]", class: ClassDefault, kind: KindSMTP, port: 25,
			bind: "198.51.100.7", helo: "verify.example.test", whySubstr: "example.test → smtp-verify:[192.0.2.99]"},
		{addr: "a@jail.test", route: "lmtp-jail:unix:/var/spool/postfix-test/run/dovecot/lmtp", kind: KindLMTP, unix: "/var/spool/postfix-test/run/dovecot/lmtp"},
		{addr: "a@injail.test", route: "lmtp-jail:unix:/var/spool/postfix-test/var/spool/postfix-test/private/lmtp", kind: KindLMTP,
			unix: "/var/spool/postfix-test/var/spool/postfix-test/private/lmtp"},
	})
	rt, err := r.Resolve(context.Background(), "a@jail.test")
	require.NoError(t, err)
	ws := r.RouteWarnings(rt)
	require.Len(t, ws, 1)
	assert.Equal(t, "lmtp-socket-outside-chroot", ws[0].Kind)
	assert.Contains(t, ws[0].Text, "/run/dovecot/lmtp is opened as /var/spool/postfix-test/run/dovecot/lmtp")

	// address_verify_relayhost when nothing else sets a nexthop
	c := *r.c
	c.P = map[string]string{}
	for k, v := range r.c.P {
		c.P[k] = v
	}
	c.P["address_verify_transport_maps"] = ""
	r2 := NewResolver(&c, r.tb.t)
	rt, err = r2.Resolve(context.Background(), "a@relay.test")
	require.NoError(t, err)
	assert.Equal(t, "relay:[verify-relay.test]:2525", rt.String())
	assert.Equal(t, 2525, rt.Endpoint.Port)
}

// TestRouteUnknownTransport: a transport master.cf does not define is a
// configuration error, named.
func TestRouteUnknownTransport(t *testing.T) {
	r := loadResolver(t, "overrides")
	c := *r.c
	c.P = map[string]string{}
	for k, v := range r.c.P {
		c.P[k] = v
	}
	c.P["address_verify_transport_maps"] = ""
	c.P["address_verify_relay_transport"] = "nosuch"
	_, err := NewResolver(&c, r.tb.t).Resolve(context.Background(), "a@relay.test")
	require.ErrorIs(t, err, ErrBadConfig)
	assert.Contains(t, err.Error(), `"nosuch"`)
}

// TestCollect lists recipients from the configured maps, leaving out
// keys that are no single mailbox.
func TestCollect(t *testing.T) {
	r := loadResolver(t, "basic")
	rcpts, ws, err := r.Collect(context.Background(), nil)
	require.NoError(t, err)
	var got []string
	for _, rc := range rcpts {
		got = append(got, rc.Address)
	}
	assert.ElementsMatch(t, []string{"user@relay.test", "a@vmail.test", "info@alias.test", "team@alias.test",
		"dup@alias.test", "chain@relay.test", "loop@relay.test", "bare@relay.test", "ext@relay.test", "domainswap@relay.test", "a@vmail2.test"}, got)
	// local_recipient_maps (its default, unix:passwd.byname) holds local parts, not addresses
	require.Len(t, ws, 1)
	assert.Contains(t, ws[0].Text, "local_recipient_maps")

	_, _, err = r.Collect(context.Background(), []string{"unix:passwd.byname"})
	require.NoError(t, err, "an unlistable table is a warning, not an error")
	_, ws, _ = r.Collect(context.Background(), []string{"unix:passwd.byname"})
	require.Len(t, ws, 1)
	assert.Equal(t, "unlistable-table", ws[0].Kind)
}

func TestParentKeys(t *testing.T) {
	assert.Equal(t, []string{"example.com", "com"}, parentKeys("a.example.com", true))
	assert.Equal(t, []string{".example.com", ".com"}, parentKeys("a.example.com", false))
	assert.Empty(t, parentKeys("localhost", false))
}

// TestVirtualDelivery: a virtual mailbox domain on the stock virtual
// transport is answered by virtual(8) from its tables, without a probe.
func TestVirtualDelivery(t *testing.T) {
	r := loadResolver(t, "basic")
	var emitted []string
	rep, err := r.Verify(context.Background(), []Recipient{{Address: "a@vmail2.test"}, {Address: "b@vmail2.test"}},
		Options{Probe: probe.DefaultOptions(), Emit: func(res *Result) { emitted = append(emitted, res.Recipient) }})
	require.NoError(t, err)
	assert.Equal(t, []string{"a@vmail2.test", "b@vmail2.test"}, emitted, "each once, in input order")
	a, b := rep.Results[0], rep.Results[1]
	assert.Equal(t, "virtual:vmail2.test", a.Route.String())
	assert.Equal(t, VerifyOK, a.Status)
	assert.Equal(t, "delivers to mailbox", a.Text)
	assert.Equal(t, PredictAccept, a.Prediction)
	assert.Equal(t, VerifyBounce, b.Status)
	assert.Equal(t, "5.1.1", b.DSN)
	// unverified_recipient_reject_code is 450 by default
	assert.Equal(t, `450 4.1.1 <b@vmail2.test>: Recipient address rejected: unverified address: unknown user: "b@vmail2.test"`, b.PredictedReply)
	assert.Empty(t, rep.Stats, "nothing was probed")
}
