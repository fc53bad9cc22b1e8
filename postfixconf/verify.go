package postfixconf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// Recipient is one address to verify and where it came from.
type Recipient struct {
	Address string
	Source  string // "relay_recipient_maps hash:/etc/postfix/relay_recipients", "FILE:12"
}

// Options shape a verification run.
type Options struct {
	// Probe holds the settings every route's batch shares (timeouts,
	// resolver, window, concurrency, rate per nexthop, transcript),
	// starting from probe.DefaultOptions(). Protocol, server, port, HELO,
	// sender, source, TLS and address family come from the route, and
	// go through probe.NewBatchConfig like every other probe's.
	Probe probe.Options
	// CatchAllCheck asks each backend for a random local part per domain.
	CatchAllCheck bool
	// Cache reads Postfix's verify cache and compares it with the probe.
	Cache bool
	Now   func() time.Time
	// Emit, when set, is called once per recipient, in input order, as
	// soon as that result and every earlier one are decided (from one
	// goroutine at a time).
	Emit func(*Result)
}

// run is one Verify call's shared state: results are finished (unlisted
// check, cache comparison) and emitted in input order under mu.
type run struct {
	r     *Resolver
	ctx   context.Context
	rep   *Report
	opts  Options
	cache map[string]string // nil without --verify-cache
	now   time.Time

	mu   sync.Mutex
	done []bool
	next int
}

// finish completes result i and emits what is ready. Called with mu held.
func (v *run) finish(i int) {
	res := v.rep.Results[i]
	v.r.unlistedOne(v.ctx, res)
	if v.cache != nil {
		v.r.attachCache(res, v.cache, v.now)
	}
	v.done[i] = true
	for v.next < len(v.done) && v.done[v.next] {
		if v.opts.Emit != nil {
			v.opts.Emit(v.rep.Results[v.next])
		}
		v.next++
	}
}

// Result is the verification of one recipient.
type Result struct {
	Recipient string
	Source    string
	Route     *Route
	// Err is why no route could be computed (bad address, table error).
	Err error
	// Verdict is the backend's answer as mailprobe probe judges it; nil
	// when no probe was sent (error, discard, alias, local routes).
	Verdict *report.Verdict

	// Status, DSN and Text are what Postfix's verify service would
	// record: the delivery agent's status and reason.
	Status VerifyStatus
	DSN    string
	Text   string

	Prediction     Prediction
	PredictedReply string
	// FirstReply is set when the backend answers slower than
	// address_verify_poll_count × address_verify_poll_delay: the first
	// RCPT for the address then gets "Address verification in progress".
	FirstReply string
	Notes      []string
	// Cache is the verify cache's entry, with --verify-cache.
	Cache *CacheEntry

	// unlisted is smtpd's answer after a passing verification when the
	// recipient table does not list the address ("" when it does).
	unlisted      Prediction
	unlistedReply string
}

// Warning is a configuration problem found on the way.
type Warning struct {
	Kind   string // missing-recipient-map, catch-all, lmtp-socket-outside-chroot, bind-only, poll-count, unlistable-table, ...
	Route  string
	Domain string
	Text   string
}

// Report is a whole run.
type Report struct {
	Results  []*Result
	Warnings []Warning
	Stats    []probe.BatchStats
	// Stop says why the run ended early (Ctrl-C, deadline), "" when it
	// did not.
	Stop probe.Stop
}

// group is the recipients that share one probe configuration.
type group struct {
	key   string
	route *Route
	idx   []int // indexes into Report.Results
	// catchAll maps an extra line index (beyond idx) to its domain.
	catchAll map[int]string
}

// Verify routes every recipient and probes along the routes: one batch
// (reused sessions, pipelining, politeness) per nexthop, exactly one
// Result per recipient, in input order.
func (r *Resolver) Verify(ctx context.Context, rcpts []Recipient, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := CheckOptions(opts.Probe); err != nil {
		return nil, err
	}
	rep := &Report{Results: make([]*Result, len(rcpts))}
	rep.Warnings = append(rep.Warnings, r.configWarnings()...)
	v := &run{r: r, ctx: ctx, rep: rep, opts: opts, now: opts.Now(), done: make([]bool, len(rcpts))}
	if opts.Cache {
		raw, err := r.ReadCache(ctx)
		if err != nil {
			rep.Warnings = append(rep.Warnings, Warning{Kind: "verify-cache", Text: err.Error()})
		} else {
			v.cache = raw
		}
	}
	addrs := make([]string, len(rcpts))
	for i, rc := range rcpts {
		addrs[i] = rc.Address
	}
	if err := r.Prefetch(ctx, addrs); err != nil {
		return nil, err
	}
	groups := map[string]*group{}
	var order []*group
	seenRoute := map[string]bool{}
	var now []int // decided without a probe
	for i, rc := range rcpts {
		res := &Result{Recipient: rc.Address, Source: rc.Source}
		rep.Results[i] = res
		rt, err := r.Resolve(ctx, rc.Address)
		if err != nil {
			res.Err, res.Prediction = err, PredictUnknown
			now = append(now, i)
			continue
		}
		res.Route = rt
		if k := rt.String(); !seenRoute[k] {
			seenRoute[k] = true
			rep.Warnings = append(rep.Warnings, r.RouteWarnings(rt)...)
		}
		switch rt.Kind {
		case KindMulti:
			r.decide(res, VerifyOK, "2.0.0", "aliased to multiple recipients")
		case KindDiscard:
			// discard(8) reports every recipient delivered.
			r.decide(res, VerifyOK, "2.0.0", "discarded: "+rt.Nexthop)
		case KindError:
			st, dsn, text := errorTransportResult(rt.Transport, rt.Nexthop)
			r.decide(res, st, dsn, text)
		case KindLocal:
			if rt.Command == "virtual" {
				st, dsn, text, err := r.virtualResult(ctx, rt.Final)
				if err != nil {
					res.Err, res.Prediction = err, PredictUnknown
				} else {
					r.decide(res, st, dsn, text)
					res.Notes = append(res.Notes, "delivered on this host by virtual(8), which answers a verify probe from virtual_mailbox_maps, virtual_uid_maps and virtual_gid_maps alone")
				}
			} else {
				res.Prediction = PredictUnknown
				res.Notes = append(res.Notes, fmt.Sprintf("delivered on this host by %s(8): its verify answer is decided locally, not by a server mailprobe can ask", rt.Command))
			}
		default:
			k := probeKey(rt)
			g := groups[k]
			if g == nil {
				g = &group{key: k, route: rt}
				groups[k] = g
				order = append(order, g)
			}
			g.idx = append(g.idx, i)
			continue
		}
		now = append(now, i)
	}
	v.mu.Lock()
	for _, i := range now {
		v.finish(i)
	}
	v.mu.Unlock()
	if err := v.probeGroups(order); err != nil {
		return nil, err
	}
	rep.Stop = probe.StopOf(ctx)
	for _, st := range rep.Stats {
		if rep.Stop == probe.StopNone && st.Stop != probe.StopNone {
			rep.Stop = st.Stop
		}
	}
	return rep, nil
}

// decide records a verify status and the prediction it gives.
func (r *Resolver) decide(res *Result, st VerifyStatus, dsn, text string) {
	res.Status, res.DSN, res.Text = st, dsn, text
	res.Prediction, res.PredictedReply = r.c.PredictReply(res.Recipient, st, text)
}

func probeKey(rt *Route) string {
	ep := rt.Endpoint
	return strings.Join([]string{string(rt.Kind), ep.Network, ep.Host, strconv.Itoa(ep.Port), strconv.FormatBool(ep.MX), rt.Bind, rt.BindV6, rt.HELO}, "|")
}

// probeOptions are the probe settings of a route: what its delivery
// agent would send, from where (smtp(8)/lmtp(8) parameters with the
// service's master.cf overrides).
func (r *Resolver) probeOptions(rt *Route, base probe.Options) (probe.Options, string) {
	o := base
	ep := rt.Endpoint
	o.Protocol, o.HELO, o.DNSBL, o.CatchAllCheck, o.AllMX = string(probe.ProtocolSMTP), rt.HELO, "never", false, false
	o.From = r.c.VerifySender()
	o.NullSender = o.From == ""
	level := r.c.P["smtp_tls_security_level"]
	if rt.Kind == KindLMTP {
		o.Protocol = string(probe.ProtocolLMTP)
		level = r.c.P["lmtp_tls_security_level"]
	}
	switch level {
	case "", "none":
		o.STARTTLS = string(probe.TLSNever)
	case "may", "dane":
		o.STARTTLS = string(probe.TLSAuto)
	default:
		o.STARTTLS = string(probe.TLSAlways)
	}
	switch strings.TrimSpace(r.c.P["inet_protocols"]) {
	case "ipv4":
		o.IPv4, o.IPv6 = true, false
	case "ipv6":
		o.IPv4, o.IPv6 = false, true
	}
	mxDomain := ""
	o.Server, o.Port = "", 0
	switch {
	case ep.Network == "unix":
		o.Server = "unix:" + ep.Host
	case ep.MX:
		mxDomain, o.Port = ep.Host, ep.Port
	default:
		o.Server = net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	}
	// smtp_bind_address applies to IPv4 connections, smtp_bind_address6
	// to IPv6 ones; the probe binds one source for all, so it takes the
	// IPv6 one only when inet_protocols is ipv6 alone.
	o.Source = ""
	if ep.Network == "tcp" {
		o.Source = rt.Bind
		if o.IPv6 {
			o.Source = rt.BindV6
		}
	}
	return o, mxDomain
}

// probeConfig validates a route's probe settings through the probe
// package's one config path.
func (r *Resolver) probeConfig(rt *Route, base probe.Options) (probe.Config, probe.BatchOptions, error) {
	o, mxDomain := r.probeOptions(rt, base)
	cfg, bo, err := probe.NewBatchConfig(o)
	if err != nil {
		return cfg, bo, fmt.Errorf("%w: route %s: %v", ErrBadConfig, rt.String(), err)
	}
	cfg.MXDomain = mxDomain
	return cfg, bo, nil
}

// CheckOptions validates the shared probe settings before anything is
// sent: an error wraps probe.ErrBadInput.
func CheckOptions(base probe.Options) error {
	o := base
	o.Server, o.DNSBL, o.CatchAllCheck, o.AllMX = "127.0.0.1", "never", false, false
	_, _, err := probe.NewBatchConfig(o)
	return err
}

func (v *run) probeGroups(order []*group) error {
	r, ctx, rep, opts := v.r, v.ctx, v.rep, v.opts
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var firstErr error
	for _, g := range order {
		cfg, bo, err := r.probeConfig(g.route, opts.Probe)
		if err != nil {
			v.mu.Lock()
			for _, i := range g.idx {
				rep.Results[i].Err, rep.Results[i].Prediction = err, PredictUnknown
				v.finish(i)
			}
			v.mu.Unlock()
			continue
		}
		b, err := probe.NewBatch(cfg, bo)
		if err != nil {
			return err
		}
		lines := make([]probe.RcptLine, 0, len(g.idx)+1)
		for n, i := range g.idx {
			res := rep.Results[i]
			a, err := probe.ParseAddress("recipient", res.Route.Final)
			lines = append(lines, probe.RcptLine{Line: n + 1, Raw: res.Route.Final, Address: a, Err: err})
		}
		if opts.CatchAllCheck {
			g.catchAll = map[int]string{}
			seen := map[string]bool{}
			for _, i := range g.idx {
				_, dom := splitAddr(rep.Results[i].Route.Final)
				if seen[dom] {
					continue
				}
				seen[dom] = true
				var buf [6]byte
				_, _ = rand.Read(buf[:])
				a, err := probe.ParseAddress("recipient", "mailprobe-nonexistent-"+hex.EncodeToString(buf[:])+"@"+dom)
				if err != nil {
					continue
				}
				g.catchAll[len(lines)] = dom
				lines = append(lines, probe.RcptLine{Line: len(lines) + 1, Raw: a.String(), Address: a})
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			gs := &groupState{}
			err := b.Run(ctx, &probe.SliceSource{Lines: lines}, func(it probe.BatchItem) error {
				v.mu.Lock()
				defer v.mu.Unlock()
				if i, ok := r.judgeItem(rep, g, b, it, gs); ok {
					v.finish(i)
				}
				return nil
			})
			// outside the lock: a bounded dial
			bindOnly := g.route.Bind != "" && gs.connected != "" && !dialable(gs.connected)
			v.mu.Lock()
			defer v.mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			rep.Stats = append(rep.Stats, b.Stats())
			r.groupWarnings(rep, g, gs, bindOnly)
		}()
	}
	wg.Wait()
	return firstErr
}

// groupState is what a group's items add up to.
type groupState struct {
	slow      time.Duration // the slowest answer over the poll budget
	connected string        // an address that greeted, for the bind-only check
}

// judgeItem turns one batch item into its recipient's prediction and
// returns that recipient's index; the catch-all probe returns false.
func (r *Resolver) judgeItem(rep *Report, g *group, b *probe.Batch, it probe.BatchItem, gs *groupState) (int, bool) {
	budget := time.Duration(max(r.c.PollCount-1, 0)) * r.c.PollDelay
	route := g.route.String()
	if dom, ok := g.catchAll[it.Seq]; ok {
		if it.Outcome != nil {
			v := report.Judge(it.Outcome, b.Result())
			if v.Status == report.StatusDeliverable {
				rep.Warnings = append(rep.Warnings, Warning{Kind: "catch-all", Route: route, Domain: dom,
					Text: fmt.Sprintf("%s accepts a random local part at %s (%s): it is a catch-all, so verification accepts every address there", route, dom, v.Recipient)})
			}
		}
		return 0, false
	}
	if it.Seq >= len(g.idx) {
		return 0, false
	}
	i := g.idx[it.Seq]
	res := rep.Results[i]
	if it.Err != nil {
		res.Err, res.Prediction = it.Err, PredictUnknown
		return i, true
	}
	if it.Outcome == nil {
		res.Prediction = PredictUnknown
		return i, true
	}
	v := report.Judge(it.Outcome, b.Result())
	res.Verdict = &v
	if a := it.Outcome.Attempt; a != nil && a.Greeting != nil && a.Network == "tcp" && gs.connected == "" {
		gs.connected = net.JoinHostPort(a.Address, strconv.Itoa(a.Port))
	}
	reason := postfixPath(res.Route, v.Reason)
	switch v.Status {
	case report.StatusDeliverable:
		r.decide(res, VerifyOK, v.DSN, reason)
	case report.StatusUndeliverable:
		r.decide(res, VerifyBounce, v.DSN, reason)
	case report.StatusDeferred:
		r.decide(res, VerifyDefer, v.DSN, reason)
	default:
		res.Status, res.DSN, res.Text, res.Prediction = "", v.DSN, v.Reason, PredictUnknown
		return i, true
	}
	if took := it.Outcome.Setup + it.Outcome.Transaction; took > budget {
		_, res.FirstReply = r.c.PredictReply(res.Recipient, VerifyPending, InProgressText)
		gs.slow = max(gs.slow, took)
	}
	return i, true
}

// groupWarnings are the warnings a whole group's probing shows.
func (r *Resolver) groupWarnings(rep *Report, g *group, gs *groupState, bindOnly bool) {
	budget := time.Duration(max(r.c.PollCount-1, 0)) * r.c.PollDelay
	route := g.route.String()
	slow, connected := gs.slow, gs.connected
	if slow > 0 {
		rep.Warnings = append(rep.Warnings, Warning{Kind: "poll-count", Route: route,
			Text: fmt.Sprintf("%s took up to %s to answer, longer than smtpd waits (address_verify_poll_count %d × address_verify_poll_delay %s, %s in all): the first RCPT of each new address gets a 4xx \"%s\"",
				route, slow.Round(time.Millisecond), r.c.PollCount, r.c.PollDelay, budget, InProgressText)})
	}
	if bindOnly {
		rep.Warnings = append(rep.Warnings, Warning{Kind: "bind-only", Route: route,
			Text: fmt.Sprintf("%s answers from %s_bind_address %s but not from this host's default address: probes and tools that do not bind (swaks, mailprobe probe without --source) will not reach it",
				connected, g.route.Command, g.route.Bind)})
	}
}

// virtualResult is what virtual(8) reports for a verify probe
// (src/virtual/mailbox.c deliver_mailbox, unknown.c): no
// virtual_mailbox_maps entry bounces "unknown user"; a bad path, or a
// uid/gid the maps lack or refuse, defers as a configuration error;
// otherwise "delivers to mailbox". The mailbox itself is not looked at,
// by virtual(8) in verify mode either.
func (r *Resolver) virtualResult(ctx context.Context, addr string) (VerifyStatus, string, string, error) {
	user := strings.ToLower(addr)
	const cfgErr = "mail system configuration error"
	mbox, ok, err := r.find(ctx, r.maps("virtual_mailbox_maps"), user)
	if err != nil {
		return "", "", "", err
	}
	if !ok {
		return VerifyBounce, "5.1.1", "unknown user: \"" + user + "\"", nil
	}
	if strings.Contains("/"+mbox, "/../") {
		return VerifyDefer, "4.3.5", cfgErr, nil
	}
	minUID, _ := strconv.Atoi(r.c.P["virtual_minimum_uid"])
	uid, ok, err := r.find(ctx, r.maps("virtual_uid_maps"), user)
	if err != nil {
		return "", "", "", err
	}
	if n, perr := strconv.ParseUint(uid, 10, 32); !ok || perr != nil || int(n) < minUID {
		return VerifyDefer, "4.3.5", cfgErr, nil
	}
	gid, ok, err := r.find(ctx, r.maps("virtual_gid_maps"), user)
	if err != nil {
		return "", "", "", err
	}
	if n, perr := strconv.ParseUint(gid, 10, 32); !ok || perr != nil || n == 0 {
		return VerifyDefer, "4.3.5", cfgErr, nil
	}
	return VerifyOK, "2.0.0", "delivers to mailbox", nil
}

// find is mail_addr_find's default lookup of one address in maps (full
// address, without extension, @domain), returning the value.
func (r *Resolver) find(ctx context.Context, maps []string, addr string) (string, bool, error) {
	local, dom := splitAddr(addr)
	bare, hasExt := r.stripExt(local)
	keys := []string{local + "@" + dom}
	if hasExt {
		keys = append(keys, bare+"@"+dom)
	}
	keys = append(keys, "@"+dom)
	for i, k := range keys {
		v, _, ok, err := r.tb.mapsFind(ctx, maps, k, i > 0)
		if err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

// postfixPath puts a unix socket back into a reason the way lmtp(8)
// names it: as the nexthop gives it (relative to queue_directory, or
// inside the chroot), not as the absolute path the probe connected to.
func postfixPath(rt *Route, reason string) string {
	if rt == nil || rt.Endpoint == nil || rt.Endpoint.Network != "unix" {
		return reason
	}
	ep := rt.Endpoint
	sites := List(rt.Nexthop)
	if len(sites) == 0 {
		return reason
	}
	given := strings.TrimPrefix(sites[0], "unix:")
	if given == ep.Host {
		return reason
	}
	return strings.ReplaceAll(reason, "["+ep.Host+"]", "["+given+"]")
}

// dialable reports whether addr greets (a 2xx first line) a connection
// from the default source address; bounded to 3 s, closed at once
// without a command.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	var b [4]byte
	n, err := io.ReadFull(c, b[:])
	return err == nil && n == 4 && b[0] == '2'
}

// unlisted applies smtpd's reject_unlisted_recipient after a passing
// verification: a relay or virtual mailbox recipient that its table
// does not list is refused anyway (smtpd_check.c check_rcpt_maps; the
// virtual alias table lists an address too).
func (r *Resolver) unlistedOne(ctx context.Context, res *Result) {
	if r.c.P["smtpd_reject_unlisted_recipient"] == "no" || res.Route == nil {
		return
	}
	var maps []string
	switch res.Route.Class {
	case ClassRelay:
		maps = r.maps("relay_recipient_maps")
	case ClassVirtual:
		maps = r.maps("virtual_mailbox_maps")
	}
	if len(maps) == 0 {
		return
	}
	if found, err := r.listed(ctx, r.maps("virtual_alias_maps"), res.Recipient); err != nil || found {
		return
	}
	if found, err := r.listed(ctx, maps, res.Recipient); err != nil || found {
		return
	}
	if p, reply, ok := r.c.unlistedReply(res.Recipient, res.Route.Class); ok {
		res.unlisted, res.unlistedReply = p, reply
		if res.Prediction == PredictAccept {
			res.Prediction, res.PredictedReply = p, reply
			res.Notes = append(res.Notes, "verification passes, but the address is not in the "+string(res.Route.Class)+" recipient table, so smtpd refuses it anyway (reject_unlisted_recipient)")
		}
	}
}

// listed looks an address up as smtpd's recipient tables do: full
// address, without extension, @domain.
func (r *Resolver) listed(ctx context.Context, maps []string, addr string) (bool, error) {
	_, ok, err := r.find(ctx, maps, addr)
	return ok, err
}

// configWarnings are the problems visible in the configuration alone.
func (r *Resolver) configWarnings() []Warning {
	var ws []Warning
	if strings.TrimSpace(r.c.P["relay_domains"]) != "" && len(r.maps("relay_recipient_maps")) == 0 {
		ws = append(ws, Warning{Kind: "missing-recipient-map",
			Text: "relay_domains is set but relay_recipient_maps is empty: smtpd accepts every address in the relay domains, so reject_unverified_recipient alone decides (and every invented address costs a probe to the backend)"})
	}
	if strings.TrimSpace(r.c.P["virtual_mailbox_domains"]) != "" && len(r.maps("virtual_mailbox_maps")) == 0 {
		ws = append(ws, Warning{Kind: "missing-recipient-map",
			Text: "virtual_mailbox_domains is set but virtual_mailbox_maps is empty: nothing lists the mailboxes"})
	}
	if r.c.P["address_verify_sender_dependent_relayhost_maps"] != "" || r.c.P["address_verify_sender_dependent_default_transport_maps"] != "" {
		ws = append(ws, Warning{Kind: "not-modelled",
			Text: "address_verify_sender_dependent_* maps are set: routes are computed without them"})
	}
	if r.c.PollCount < 1 {
		ws = append(ws, Warning{Kind: "poll-count", Text: "address_verify_poll_count is below 1: smtpd never waits for a probe, so every new address is deferred first"})
	}
	return ws
}

// RouteWarnings are the problems of one computed route.
func (r *Resolver) RouteWarnings(rt *Route) []Warning {
	var ws []Warning
	if rt.Kind == KindLMTP && rt.Endpoint != nil && rt.Endpoint.Network == "unix" && rt.Chroot {
		_, nh, _ := strings.Cut(rt.Nexthop, "unix:")
		// A chrooted lmtp(8) resolves every path inside the jail
		// (queue_directory), an absolute one too.
		if strings.HasPrefix(nh, "/") {
			ws = append(ws, Warning{Kind: "lmtp-socket-outside-chroot", Route: rt.String(),
				Text: fmt.Sprintf("%s runs chrooted in %s, so %s is opened as %s; put the socket inside the chroot (e.g. %s/private/…) or set chroot n", rt.Transport, r.c.QueueDir(), nh, rt.Endpoint.Host, r.c.QueueDir())})
		}
	}
	return ws
}

// Summary counts predictions per route.
type Summary struct {
	Total   int
	ByPred  map[Prediction]int
	Routes  []RouteSummary
	Refused int // reject + defer
}

// RouteSummary is one route's counts.
type RouteSummary struct {
	Route  string
	ByPred map[Prediction]int
	Total  int
}

// Summarize counts a report.
func Summarize(rep *Report) Summary {
	s := Summary{ByPred: map[Prediction]int{}}
	idx := map[string]int{}
	for _, res := range rep.Results {
		s.Total++
		s.ByPred[res.Prediction]++
		rt := "none"
		if res.Route != nil {
			rt = res.Route.String()
		}
		i, ok := idx[rt]
		if !ok {
			i = len(s.Routes)
			idx[rt] = i
			s.Routes = append(s.Routes, RouteSummary{Route: rt, ByPred: map[Prediction]int{}})
		}
		s.Routes[i].ByPred[res.Prediction]++
		s.Routes[i].Total++
	}
	s.Refused = s.ByPred[PredictReject] + s.ByPred[PredictDefer]
	sort.SliceStable(s.Routes, func(a, b int) bool { return s.Routes[a].Route < s.Routes[b].Route })
	return s
}
