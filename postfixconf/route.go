package postfixconf

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Class is trivial-rewrite's address class (resolve.c RESOLVE_CLASS_*).
type Class string

const (
	ClassLocal   Class = "local"         // $mydestination, $inet_interfaces
	ClassAlias   Class = "virtual-alias" // $virtual_alias_domains
	ClassVirtual Class = "virtual"       // $virtual_mailbox_domains
	ClassRelay   Class = "relay"         // $relay_domains
	ClassDefault Class = "default"       // everything else
)

// Kind is what the route's delivery agent does with a verify probe.
type Kind string

const (
	KindSMTP    Kind = "smtp"    // smtp(8): ask a server, RCPT TO
	KindLMTP    Kind = "lmtp"    // lmtp(8): the same with LHLO
	KindError   Kind = "error"   // error(8)/retry: bounce or defer with the nexthop text
	KindDiscard Kind = "discard" // discard(8): always deliverable
	KindLocal   Kind = "local"   // local(8), virtual(8), pipe(8)…: decided on this host
	KindMulti   Kind = "aliased" // an alias to several addresses: deliverable, no probe
)

// Endpoint is where an SMTP or LMTP route connects.
type Endpoint struct {
	Network string // "tcp" or "unix"
	Host    string // host, domain or IP (tcp), absolute socket path (unix)
	Port    int
	// MX is set when Host is a domain whose MX records are looked up
	// (smtp(8) with a nexthop not in [brackets]).
	MX bool
	// Others are further nexthops of a list ("[a]:25, [b]:25"): Postfix
	// tries them when the first fails; they are not probed.
	Others []string
}

// Route is where Postfix's verify service sends a probe for one
// recipient, and why.
type Route struct {
	Recipient string // as asked
	// Final is the address after virtual alias expansion (Recipient
	// when no alias applies); Aliases the chain of expansions.
	Final   string
	Aliases []string
	// Expanded holds the targets of an alias to several addresses.
	Expanded []string

	Class     Class
	Transport string // master.cf service name
	Nexthop   string // as trivial-rewrite gives it
	// Why names the settings that decided, in order.
	Why []string

	Command  string // master.cf command of Transport
	Kind     Kind
	Endpoint *Endpoint
	// Chroot is set when the service runs chrooted (master.cf).
	Chroot bool
	// Bind, BindV6, HELO are smtp_/lmtp_ bind address and HELO name,
	// with the service's -o overrides.
	Bind, BindV6, HELO string
}

// String is Postfix's "transport:nexthop", a unix path made absolute.
func (r *Route) String() string {
	if r.Kind == KindMulti {
		return "alias:" + strings.Join(r.Expanded, ",")
	}
	nh := r.Nexthop
	if r.Kind == KindLMTP && r.Endpoint != nil && r.Endpoint.Network == "unix" {
		nh = "unix:" + r.Endpoint.Host
	}
	return r.Transport + ":" + nh
}

// Resolver computes routes for one configuration.
type Resolver struct {
	c  *Config
	tb *tables
	// services caches master.cf command/chroot per transport name.
	services map[string][2]string
	lists    map[string]domainList
}

// NewResolver prepares route computation over c.
func NewResolver(c *Config, t *Tools) *Resolver {
	r := &Resolver{c: c, tb: newTables(t), services: map[string][2]string{}, lists: map[string]domainList{}}
	for _, p := range []string{"mydestination", "relay_domains"} {
		r.lists[p] = newDomainList(c, p, false)
	}
	for _, p := range []string{"virtual_alias_domains", "virtual_mailbox_domains"} {
		r.lists[p] = newDomainList(c, p, true)
	}
	return r
}

// Config returns the configuration the resolver reads.
func (r *Resolver) Config() *Config { return r.c }

func (r *Resolver) maps(param string) []string {
	var out []string
	for _, it := range List(r.c.P[param]) {
		if isTable(it) {
			out = append(out, it)
		}
	}
	return out
}

func splitAddr(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], strings.ToLower(strings.TrimSuffix(a[i+1:], "."))
}

// stripExt removes the address extension (recipient_delimiter; any of
// its characters, the first occurrence, as strip_addr_internal does).
func (r *Resolver) stripExt(local string) (string, bool) {
	d := r.c.P["recipient_delimiter"]
	if d == "" {
		return local, false
	}
	if i := strings.IndexAny(local, d); i > 0 {
		return local[:i], true
	}
	return local, false
}

// isLocal is resolve_local: $mydestination, or an address literal of
// $inet_interfaces/$proxy_interfaces.
func (r *Resolver) isLocal(ctx context.Context, domain string) (bool, error) {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		ip := strings.TrimPrefix(domain[1:len(domain)-1], "ipv6:")
		for _, p := range []string{"inet_interfaces", "proxy_interfaces"} {
			for _, a := range List(r.c.P[p]) {
				if strings.EqualFold(a, ip) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	return r.lists["mydestination"].match(ctx, r.tb, domain)
}

// Prefetch looks up, in one postmap run per table, every key that
// resolving addrs will need, so that Resolve asks no table twice.
func (r *Resolver) Prefetch(ctx context.Context, addrs []string) error {
	keys := map[string][]string{}
	add := func(param string, ks ...string) {
		for _, m := range r.maps(param) {
			keys[m] = append(keys[m], ks...)
		}
	}
	for _, a := range addrs {
		local, dom := splitAddr(a)
		bare, _ := r.stripExt(local)
		full, noext := local+"@"+dom, bare+"@"+dom
		add("virtual_alias_maps", full, noext, local, bare, "@"+dom)
		add("address_verify_transport_maps", append([]string{full, noext, dom, "*"}, parentKeys(dom, r.c.ParentStyle("transport_maps"))...)...)
		add("relay_recipient_maps", full, noext, "@"+dom)
		add("virtual_mailbox_maps", full, noext, "@"+dom)
		for _, l := range r.lists {
			for _, it := range l.items {
				it = strings.TrimLeft(it, "!")
				if isTable(it) {
					keys[it] = append(keys[it], append([]string{dom}, parentKeys(dom, l.parent)...)...)
				}
			}
		}
	}
	for m, ks := range keys {
		if err := r.tb.prefetch(ctx, m, ks); err != nil {
			return err
		}
	}
	return nil
}

// aliasLimit bounds virtual alias recursion (Postfix's
// virtual_alias_recursion_limit is 1000; real chains are short).
const aliasLimit = 100

// expandAliases follows virtual_alias_maps as cleanup(8) does
// (cleanup_map1n.c): full address, address without extension, the local
// part alone for local domains, then @domain; an address that maps to
// itself ends the expansion.
func (r *Resolver) expandAliases(ctx context.Context, addr string) (final []string, chain []string, err error) {
	maps := r.maps("virtual_alias_maps")
	if len(maps) == 0 {
		return []string{addr}, nil, nil
	}
	cur := []string{addr}
	for depth := 0; depth < aliasLimit; depth++ {
		var next []string
		changed := false
		for _, a := range cur {
			v, key, found, err := r.aliasLookup(ctx, maps, a)
			if err != nil {
				return nil, chain, err
			}
			if !found {
				next = append(next, a)
				continue
			}
			targets := r.aliasTargets(a, key, v)
			if len(targets) == 1 && strings.EqualFold(targets[0], a) {
				next = append(next, a)
				continue
			}
			changed = true
			chain = append(chain, fmt.Sprintf("%s → %s (virtual_alias_maps key %s)", a, strings.Join(targets, ", "), key))
			next = append(next, targets...)
		}
		cur = dedupe(next)
		if !changed {
			return cur, chain, nil
		}
	}
	return cur, chain, nil
}

func (r *Resolver) aliasLookup(ctx context.Context, maps []string, a string) (string, string, bool, error) {
	local, dom := splitAddr(a)
	bare, hasExt := r.stripExt(local)
	keys := []struct {
		k       string
		partial bool
	}{{local + "@" + dom, false}}
	if hasExt {
		keys = append(keys, struct {
			k       string
			partial bool
		}{bare + "@" + dom, true})
	}
	if loc, err := r.isLocal(ctx, dom); err != nil {
		return "", "", false, err
	} else if loc || strings.EqualFold(dom, r.c.P["myorigin"]) {
		keys = append(keys, struct {
			k       string
			partial bool
		}{local, true})
		if hasExt {
			keys = append(keys, struct {
				k       string
				partial bool
			}{bare, true})
		}
	}
	keys = append(keys, struct {
		k       string
		partial bool
	}{"@" + dom, true})
	for _, k := range keys {
		v, _, ok, err := r.tb.mapsFind(ctx, maps, k.k, k.partial)
		if err != nil || ok {
			return v, k.k, ok, err
		}
	}
	return "", "", false, nil
}

// aliasTargets splits the alias value found for addr under key
// (mail_addr_map.c): "@otherdomain" keeps the local part (without
// extension); an extension the key did not match is propagated to each
// target when propagate_unmatched_extensions names "virtual"; a target
// without a domain gets @$myorigin (append_at_myorigin).
func (r *Resolver) aliasTargets(addr, key, v string) []string {
	local, _ := splitAddr(addr)
	bare, _ := r.stripExt(local)
	ext := ""
	if key != local+"@"+addrDomain(addr) && key != local && len(local) > len(bare) {
		ext = local[len(bare):]
	}
	propagate := false
	for _, p := range List(r.c.P["propagate_unmatched_extensions"]) {
		propagate = propagate || p == "virtual"
	}
	var out []string
	for _, t := range List(v) {
		t = strings.Trim(t, "<>")
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "@") {
			t = bare + t
		} else if propagate && ext != "" {
			if i := strings.LastIndexByte(t, '@'); i >= 0 {
				t = t[:i] + ext + t[i:]
			} else {
				t += ext
			}
		}
		if !strings.Contains(t, "@") {
			t += "@" + r.c.P["myorigin"]
		}
		out = append(out, t)
	}
	return out
}

func addrDomain(a string) string {
	_, d := splitAddr(a)
	return d
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		k := strings.ToLower(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// Resolve computes the verify route of one address (local@domain).
func (r *Resolver) Resolve(ctx context.Context, addr string) (*Route, error) {
	rt := &Route{Recipient: addr, Final: addr}
	final, chain, err := r.expandAliases(ctx, addr)
	if err != nil {
		return nil, err
	}
	rt.Aliases = chain
	if len(final) > 1 {
		// cleanup_out_recipient.c: a verify probe of an address that
		// expands to several is reported deliverable at once.
		rt.Kind, rt.Expanded = KindMulti, final
		rt.Why = append(rt.Why, "virtual_alias_maps: aliased to multiple recipients (reported deliverable without a probe)")
		return rt, nil
	}
	rt.Final = final[0]
	local, dom := splitAddr(rt.Final)
	if dom == "" {
		return nil, fmt.Errorf("%w: %q has no domain", ErrBadAddress, addr)
	}

	// The address class, in resolve.c's order.
	var channel, why string
	switch loc, err := r.isLocal(ctx, dom); {
	case err != nil:
		return nil, err
	case loc:
		rt.Class, why = ClassLocal, "address_verify_local_transport"
	default:
		if ok, err := r.lists["virtual_alias_domains"].match(ctx, r.tb, dom); err != nil {
			return nil, err
		} else if ok {
			rt.Class = ClassAlias
			rt.Transport = "error"
			rt.Nexthop = "5.1.1 User unknown"
			if r.c.P["show_user_unknown_table_name"] != "no" {
				rt.Nexthop += " in virtual alias table"
			}
			rt.Why = append(rt.Why, dom+" is in virtual_alias_domains and no virtual_alias_maps entry matched")
			return rt, r.service(ctx, rt)
		}
		if ok, err := r.lists["virtual_mailbox_domains"].match(ctx, r.tb, dom); err != nil {
			return nil, err
		} else if ok {
			rt.Class, why = ClassVirtual, "address_verify_virtual_transport"
		} else if ok, err := r.lists["relay_domains"].match(ctx, r.tb, dom); err != nil {
			return nil, err
		} else if ok {
			rt.Class, why = ClassRelay, "address_verify_relay_transport"
		} else {
			rt.Class, why = ClassDefault, "address_verify_default_transport"
		}
	}
	channel = r.c.P[why]
	rt.Nexthop = dom
	if rt.Class == ClassRelay || rt.Class == ClassDefault {
		if rh := strings.TrimSpace(r.c.P["address_verify_relayhost"]); rh != "" {
			rt.Nexthop = rh
			rt.Why = append(rt.Why, "address_verify_relayhost = "+rh)
		}
	}
	if c, d, ok := strings.Cut(channel, ":"); ok {
		channel = c
		if d != "" {
			rt.Nexthop = d
		}
	}
	rt.Transport = channel
	rt.Why = append([]string{fmt.Sprintf("%s is in the %s class: %s = %s", dom, rt.Class, why, r.c.P[why])}, rt.Why...)

	// address_verify_transport_maps (transport.c transport_lookup).
	if maps := r.maps("address_verify_transport_maps"); len(maps) > 0 {
		if err := r.transportLookup(ctx, rt, maps, local, dom); err != nil {
			return nil, err
		}
	}
	// relocated_maps, whatever the class, last (resolve.c).
	if maps := r.maps("relocated_maps"); len(maps) > 0 {
		if v, key, ok, err := r.aliasLookup(ctx, maps, rt.Final); err != nil {
			return nil, err
		} else if ok {
			rt.Transport = "error"
			rt.Nexthop = "5.1.6 User has moved to " + v
			if r.c.P["relocated_prefix_enable"] == "no" {
				rt.Nexthop = v
				if f := strings.SplitN(v, " ", 2); len(f) < 2 || !isDSN(f[0]) {
					rt.Nexthop = "5.2.0 Mailbox is unavailable"
				}
			}
			rt.Why = append(rt.Why, fmt.Sprintf("relocated_maps: %s → %s", key, v))
		}
	}
	return rt, r.service(ctx, rt)
}

func (r *Resolver) transportLookup(ctx context.Context, rt *Route, maps []string, local, dom string) error {
	bare, hasExt := r.stripExt(local)
	type key struct {
		k       string
		partial bool
	}
	keys := []key{{local + "@" + dom, false}}
	if hasExt {
		keys = append(keys, key{bare + "@" + dom, true})
	}
	keys = append(keys, key{dom, true})
	for _, p := range parentKeys(dom, r.c.ParentStyle("transport_maps")) {
		keys = append(keys, key{p, true})
	}
	keys = append(keys, key{"*", false})
	for _, k := range keys {
		v, table, ok, err := r.tb.mapsFind(ctx, maps, k.k, k.partial)
		if err != nil {
			return err
		}
		if ok {
			ch, nh, _ := strings.Cut(v, ":")
			updateEntry(rt, ch, nh, dom)
			rt.Why = append(rt.Why, fmt.Sprintf("address_verify_transport_maps %s: %s → %s", table, k.k, v))
			return nil
		}
	}
	return nil
}

// updateEntry applies a transport table result (transport.c
// update_entry): ":nexthop" keeps the transport; "transport:" resets the
// nexthop to the recipient domain (or a generic text for error/retry).
func updateEntry(rt *Route, ch, nh, dom string) {
	if ch == "" {
		if nh != "" {
			rt.Nexthop = nh
		}
		return
	}
	rt.Transport = ch
	switch {
	case nh != "":
		rt.Nexthop = nh
	case ch != "error" && ch != "retry":
		rt.Nexthop = dom
	default:
		rt.Nexthop = "Address is undeliverable"
	}
}

// knownCommands maps the stock master.cf service names to their
// commands, for a configuration directory without master.cf.
var knownCommands = map[string]string{
	"smtp": "smtp", "relay": "smtp", "lmtp": "lmtp", "error": "error", "retry": "error",
	"discard": "discard", "local": "local", "virtual": "virtual",
}

// service fills in what master.cf says about the route's transport and
// what its delivery agent makes of the nexthop.
func (r *Resolver) service(ctx context.Context, rt *Route) error {
	f, ok := r.services[rt.Transport]
	if !ok {
		var got map[string]string
		var err error
		if r.c.HasMaster {
			got, err = r.tb.t.ServiceFields(ctx, []string{rt.Transport}, "command", "chroot")
		}
		if err == nil && got[rt.Transport+"/command"] != "" {
			f = [2]string{got[rt.Transport+"/command"], got[rt.Transport+"/chroot"]}
		} else {
			if !r.c.HasMaster {
				f = [2]string{knownCommands[rt.Transport], "n"}
			}
		}
		r.services[rt.Transport] = f
	}
	cmd := strings.Fields(f[0])
	if len(cmd) > 0 {
		rt.Command = path.Base(cmd[0])
	}
	// master.cf "-" for chroot is the built-in default, n since Postfix 3.0.
	rt.Chroot = f[1] == "y"
	switch rt.Command {
	case "smtp":
		rt.Kind = KindSMTP
	case "lmtp":
		rt.Kind = KindLMTP
	case "error":
		rt.Kind = KindError
	case "discard":
		rt.Kind = KindDiscard
	case "":
		return fmt.Errorf("%w: transport %q is not a master.cf service", ErrBadConfig, rt.Transport)
	default:
		rt.Kind = KindLocal
		return nil
	}
	if rt.Kind != KindSMTP && rt.Kind != KindLMTP {
		return nil
	}
	pfx := rt.Command
	get := func(p string) string {
		if v, ok := r.c.Overrides[rt.Transport+"/unix"][p]; ok {
			return v
		}
		return r.c.P[p]
	}
	rt.Bind, rt.BindV6 = get(pfx+"_bind_address"), get(pfx+"_bind_address6")
	if pfx == "lmtp" {
		rt.HELO = get("lmtp_lhlo_name")
	} else {
		rt.HELO = get("smtp_helo_name")
	}
	ep, err := r.endpoint(rt, get)
	if err != nil {
		return err
	}
	rt.Endpoint = ep
	return nil
}

// endpoint interprets the nexthop as smtp(8)/lmtp(8) do
// (smtp_connect.c smtp_connect, smtp_connect_inet).
func (r *Resolver) endpoint(rt *Route, get func(string) string) (*Endpoint, error) {
	sites := List(rt.Nexthop)
	if len(sites) == 0 {
		return nil, fmt.Errorf("%w: empty nexthop for %s", ErrBadConfig, rt.Transport)
	}
	ep := &Endpoint{Network: "tcp", Others: sites[1:]}
	dest := sites[0]
	defPort := get(rt.Command + "_tcp_port")
	if rt.Kind == KindLMTP {
		if p, ok := strings.CutPrefix(dest, "unix:"); ok {
			ep.Network = "unix"
			if !strings.HasPrefix(p, "/") || rt.Chroot {
				// Daemons run in queue_directory, which is also the
				// chroot jail: a relative path, or any path in a
				// chrooted lmtp(8), is under it.
				p = path.Join(r.c.QueueDir(), p)
			}
			ep.Host = p
			return ep, nil
		}
		dest = strings.TrimPrefix(dest, "inet:")
	}
	host, port := dest, ""
	if strings.HasPrefix(dest, "[") {
		i := strings.IndexByte(dest, ']')
		if i < 0 {
			return nil, fmt.Errorf("%w: nexthop %q: missing ]", ErrBadConfig, dest)
		}
		host, port = dest[1:i], strings.TrimPrefix(dest[i+1:], ":")
	} else {
		if h, p, ok := strings.Cut(dest, ":"); ok {
			host, port = h, p
		}
		ep.MX = rt.Kind == KindSMTP && r.c.P["disable_dns_lookups"] != "yes" && r.c.P["smtp_dns_support_level"] != "disabled"
	}
	host = strings.TrimPrefix(host, "ipv6:")
	if port == "" {
		port = defPort
	}
	n, err := servicePort(port)
	if err != nil {
		return nil, fmt.Errorf("%w: nexthop %q: %v", ErrBadConfig, dest, err)
	}
	ep.Host, ep.Port = host, n
	return ep, nil
}

// servicePort turns a port number or the service names Postfix
// configurations use into a number.
func servicePort(s string) (int, error) {
	switch s {
	case "smtp":
		return 25, nil
	case "lmtp":
		return 24, nil
	case "submission":
		return 587, nil
	case "smtps", "submissions":
		return 465, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}
