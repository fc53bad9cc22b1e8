package probe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mailprobe/mailprobe/mx"
	"golang.org/x/sync/errgroup"
)

// Target is one recipient to probe, with its input line number (0 when
// it came from the command line).
type Target struct {
	Address Address
	Line    int
}

// DomainRecipient is the mailbox asked for when the target is a bare
// domain: postmaster, which RFC 5321 §4.5.1 requires every mail domain to
// accept.
func DomainRecipient(domain Address) Address {
	domain.Local = "postmaster"
	return domain
}

type prober struct {
	cfg      Config
	from     string
	fromUTF8 bool
	deadline time.Time
	tap      TranscriptFunc
	resolver *mx.Resolver
}

// maxParallelDomains bounds the domains one Run probes at once.
const maxParallelDomains = 16

func newProber(cfg Config) *prober {
	p := &prober{cfg: cfg, from: cfg.From, tap: cfg.Transcript, fromUTF8: !isASCII(cfg.From)}
	if cfg.DNS != nil {
		p.resolver = &mx.Resolver{DNS: cfg.DNS, Family: cfg.Family}
	}
	return p
}

// begin starts the run's clock: the Deadline, when set, ends ctx with
// the cause ErrDeadline, so that everything below can tell it from an
// interrupt.
func (p *prober) begin(ctx context.Context, start time.Time) (context.Context, context.CancelFunc) {
	if p.cfg.Deadline <= 0 {
		return ctx, func() {}
	}
	p.deadline = start.Add(p.cfg.Deadline)
	return context.WithDeadlineCause(ctx, p.deadline, ErrDeadline)
}

// summary is what the report says the probe was run with.
func (cfg Config) summary() ConfigSummary {
	s := ConfigSummary{Protocol: cfg.Protocol, HELO: cfg.HELO, From: cfg.From, Port: cfg.Port, STARTTLS: cfg.STARTTLS, TLSLevel: cfg.TLSLevel, AllMX: cfg.AllMX}
	if cfg.Server != nil {
		s.Server = cfg.Server.String()
	}
	if cfg.Source.IsValid() {
		s.Source = cfg.Source.String()
	}
	return s
}

// Run probes every target and returns what it saw. It returns an error
// only for a bad configuration; everything that happens on the network is
// in the Result.
func Run(ctx context.Context, cfg Config, targets []Target) (*Result, error) {
	cfg, err := cfg.withDefaults(true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	// The sender check's lookups (the HELO name's MX, A and AAAA) run
	// while the recipients' routes are resolved: neither needs the other,
	// and on a real network that saves two DNS round trips. The sender is
	// settled, and its warnings shown, before any session opens. It runs
	// on the caller's ctx, as before the run's clock starts.
	senderCfg := cfg
	senderDone := make(chan []string, 1)
	go func(ctx context.Context) { senderDone <- senderCfg.chooseSenderAndWarn(ctx) }(ctx)
	p := newProber(cfg)
	ctx, cancel := p.begin(ctx, start)
	defer cancel()
	res := &Result{Started: start}

	// Group recipients by domain (all of them together with --server):
	// one session per host carries every recipient of its domain.
	groups := map[string]*group{}
	var order []*group
	for _, t := range targets {
		key := t.Address.ASCIIDomain
		if cfg.Server != nil || cfg.MXDomain != "" {
			key = ""
		}
		g := groups[key]
		if g == nil {
			g = &group{dom: &DomainResult{Domain: t.Address.ASCIIDomain}, lit: t.Address.Literal}
			if cfg.Server != nil {
				g.dom.Domain = cfg.Server.String()
			} else if cfg.MXDomain != "" {
				g.dom.Domain = cfg.MXDomain
			}
			groups[key] = g
			order = append(order, g)
			res.Domains = append(res.Domains, g.dom)
		}
		o := &Outcome{Recipient: t.Address.String(), Line: t.Line, Domain: g.dom}
		res.Recipients = append(res.Recipients, o)
		g.rcpts = append(g.rcpts, &pending{addr: t.Address, out: o})
	}

	eachGroup(order, func(g *group) { p.resolveGroup(ctx, g, start) })
	res.Warnings = <-senderDone
	p.settleSender(senderCfg)
	res.Config = p.cfg.summary()
	// probeGroup records everything in the Result.
	eachGroup(order, func(g *group) { p.probeGroup(ctx, g, start) })

	p.checkDNSBL(ctx, res)
	res.Stop = StopOf(ctx)
	res.Duration = time.Since(start)
	return res, nil
}

// eachGroup runs f for every group, maxParallelDomains at a time, and
// waits for all of them.
func eachGroup(order []*group, f func(*group)) {
	var eg errgroup.Group
	eg.SetLimit(maxParallelDomains)
	for _, g := range order {
		eg.Go(func() error {
			f(g)
			return nil
		})
	}
	_ = eg.Wait()
}

// group is the recipients that share a route.
type group struct {
	dom *DomainResult
	lit netip.Addr // address literal domain
	// rcpts carries every recipient; the catch-all probe, when asked
	// for, is the last and has no Outcome.
	rcpts []*pending
	// targets is where the group's mail goes (resolveGroup); routeFailed
	// says the route could not be found and every Outcome says why.
	targets     []target
	routeFailed bool
}

// settleSender takes the sender ChooseSender settled on (cfg is the
// copy it ran on): From, and the rcpt window the null sender needs.
func (p *prober) settleSender(cfg Config) {
	p.cfg.From, p.cfg.SenderAuto, p.cfg.RcptWindow, p.cfg.senderChosen = cfg.From, cfg.SenderAuto, cfg.RcptWindow, cfg.senderChosen
	p.from, p.fromUTF8 = cfg.From, !isASCII(cfg.From)
}

// resolveGroup finds the group's route; a failure is every recipient's
// outcome.
func (p *prober) resolveGroup(ctx context.Context, g *group, start time.Time) {
	dnsStart := time.Now()
	targets, dnsErr := p.route(ctx, g)
	g.dom.DNSDuration = time.Since(dnsStart)
	if errors.Is(dnsErr, mx.ErrStopped) {
		// The lookup was cut short: that is no answer about the domain.
		dnsErr = &Error{Kind: ErrNotChecked, Phase: PhaseDNS, Detail: p.ctxReason(ctx), Err: dnsErr}
	}
	if dnsErr != nil {
		g.routeFailed = true
		for _, r := range g.rcpts {
			r.out.DNS = g.dom.DNSDuration
			r.out.Phase, r.out.Err = PhaseDNS, dnsErr
			r.out.Total = time.Since(start)
		}
		return
	}
	g.targets = targets
}

func (p *prober) probeGroup(ctx context.Context, g *group, start time.Time) {
	if g.routeFailed {
		return
	}
	targets := g.targets
	if p.cfg.CatchAllCheck {
		p.addCatchAllProbe(g)
	}
	if p.cfg.AllMX {
		p.probeAll(ctx, g, targets)
	} else {
		p.probeInOrder(ctx, g, targets)
	}
	p.judgeCatchAll(g)
	for _, r := range g.rcpts {
		o := r.out
		o.DNS = g.dom.DNSDuration
		o.Phase, o.Reply = r.res.Phase, r.res.Reply
		if r.res.Err != nil && r.res.Err.Kind != ErrRejected {
			o.Err = r.res.Err
		}
		if o.Attempt == nil && o.Err == nil {
			o.Err = &Error{Kind: ErrNotChecked, Phase: PhaseConnect, Detail: p.ctxReason(ctx)}
		}
		o.Total = time.Since(start)
	}
}

// route finds where to deliver: --server, an address literal, or MX.
func (p *prober) route(ctx context.Context, g *group) ([]target, error) {
	port := p.cfg.Port
	if s := p.cfg.Server; s != nil {
		if s.Network == "unix" {
			return []target{{host: s.Host, address: s.Host, network: "unix", nexthop: s.Host}}, nil
		}
		if s.Port != 0 {
			port = s.Port
		}
		if ip, err := netip.ParseAddr(s.Host); err == nil {
			return []target{{host: ip.String(), address: ip.String(), port: port, network: "tcp", nexthop: ip.String()}}, nil
		}
		if p.resolver == nil {
			return nil, fmt.Errorf("%w: --server %s needs a resolver", ErrBadInput, s.Host)
		}
		addrs, _, err := p.resolver.LookupHost(ctx, s.Host)
		if err != nil {
			return nil, err
		}
		var ts []target
		for _, a := range addrs {
			ts = append(ts, target{host: s.Host, address: a.String(), port: port, network: "tcp", nexthop: s.Host})
		}
		return ts, nil
	}
	if g.lit.IsValid() && p.cfg.MXDomain == "" {
		// RFC 5321 §5.1: an address literal is dialled directly, no MX.
		return []target{{host: g.lit.String(), address: g.lit.String(), port: port, network: "tcp", nexthop: g.lit.String()}}, nil
	}
	rt := p.resolver.Resolve(ctx, g.dom.Domain)
	g.dom.Route = rt
	if rt.Err != nil {
		return nil, rt.Err
	}
	var ts []target
	for _, h := range rt.Hosts {
		if h.Err != nil {
			continue
		}
		for _, a := range h.Addresses {
			ts = append(ts, target{host: h.Name, address: a.String(), port: port, network: "tcp", nexthop: g.dom.Domain})
		}
	}
	return ts, nil
}

// ctxReason says, in a "not checked" verdict's words, why ctx stopped:
// from its cause, never from the clock.
func (p *prober) ctxReason(ctx context.Context) string {
	if r := StopOf(ctx).Reason(); r != "" {
		return r
	}
	return "not reached"
}
