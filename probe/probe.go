package probe

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/mx"
)

// Config is everything a probe run needs. The command line fills it; the
// zero value of each field means the documented default.
type Config struct {
	Protocol Protocol
	// Server bypasses MX resolution: "host", "host:port", "[v6]:port" or
	// "unix:/path" (LMTP). Parse it with ParseServer.
	Server *Server
	// Port for MX hosts; 0 means 25 (24 for LMTP, 465 for SMTPS).
	Port int
	// From is the envelope sender without brackets; "" is the null
	// sender <>. cmd fills the documented default postmaster@HELO.
	From     string
	HELO     string
	STARTTLS TLSMode
	// TLSVerify makes a certificate that does not verify for the MX name
	// fatal for that host. Off by default: like an MTA at Postfix's "may"
	// level the probe reports it and goes on.
	TLSVerify bool
	// TLSRoots replaces the system roots (tests).
	TLSRoots *x509.CertPool

	// Timeout bounds each phase (connect, greeting, each reply);
	// Deadline bounds the whole run.
	Timeout  time.Duration
	Deadline time.Duration

	// Source binds the local address of TCP connections.
	Source netip.Addr
	Family mx.Family
	DNS    *dnsclient.Client

	// AllMX probes every host and address concurrently instead of
	// stopping where an MTA would.
	AllMX bool
	// MaxAddresses and MaxSessions mirror Postfix's smtp_mx_address_limit
	// (5) and smtp_mx_session_limit (2): how many addresses an MTA tries
	// and how many greeted sessions it spends before deferring.
	MaxAddresses int
	MaxSessions  int
	// RcptWindow is how many RCPTs go in one transaction (and one
	// pipelined write).
	RcptWindow int

	// CatchAllCheck also asks RCPT for a random local part of each
	// domain, to tell a real mailbox from a catch-all.
	CatchAllCheck bool

	// DNSBL, when set, checks the local addresses used and the MX
	// addresses against blocklists after a block-like refusal (BlockLike,
	// nil: defaultBlockLike); DNSBLAlways checks even when no server
	// refused anything.
	DNSBL       DNSBLChecker
	DNSBLAlways bool
	BlockLike   BlockLikeFunc
	// PublicIP is checked instead of a private local address.
	PublicIP netip.Addr

	Transcript TranscriptFunc
}

// DNSBLChecker is what probe needs of package blacklist; an interface so
// tests can stand in for the network.
type DNSBLChecker interface {
	// CheckAddrs asks the configured lists and the zones a refusal named
	// about addrs.
	CheckAddrs(ctx context.Context, addrs []netip.Addr, named []string) []blacklist.Result
	// Lists are the configured lists (to recognise their zones in URLs).
	Lists() []blacklist.List
}

// Server is a parsed --server value.
type Server struct {
	Network string // "tcp" or "unix"
	Host    string // host name or IP (tcp), socket path (unix)
	Port    int    // 0: the protocol's default
}

func (s *Server) String() string {
	if s.Network == "unix" {
		return "unix:" + s.Host
	}
	if s.Port == 0 {
		return s.Host
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// ParseServer parses --server like swaks --server: HOST, HOST:PORT,
// [IPV6]:PORT, IPV6, or unix:/path.
func ParseServer(s string) (*Server, error) {
	bad := func(p string) (*Server, error) { return nil, &InputError{Field: "--server", Value: s, Problem: p} }
	if p := controlProblem(s); p != "" {
		return bad(p)
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return bad("a unix socket needs an absolute path (unix:/path)")
		}
		return &Server{Network: "unix", Host: path}, nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	srv := &Server{Network: "tcp", Host: strings.TrimSuffix(host, ".")}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("port must be a number from 1 to 65535")
		}
		srv.Port = n
	}
	if ip, err := netip.ParseAddr(srv.Host); err == nil {
		if ip.Zone() != "" {
			return bad("zoned IPv6 addresses are not supported")
		}
		return srv, nil
	}
	if _, err := parseDomainPart(srv.Host); err != nil {
		// Single-label names such as "localhost" are fine for a server.
		if !isHostLabel(srv.Host) {
			return bad(err.Error())
		}
	}
	return srv, nil
}

func isHostLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Target is one recipient to probe, with its input line number (0 when
// it came from the command line).
type Target struct {
	Address Address
	Line    int
}

// DefaultPort is the port of a protocol: 25 SMTP (RFC 5321), 24 LMTP
// (RFC 2033 suggests it), 465 SMTPS (RFC 8314 §7.3).
func DefaultPort(p Protocol) int {
	switch p {
	case ProtocolLMTP:
		return 24
	case ProtocolSMTPS:
		return 465
	}
	return 25
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

// withDefaults fills the documented defaults and rejects a config that
// cannot work; Run and NewBatch share it.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Protocol == "" {
		cfg.Protocol = ProtocolSMTP
	}
	if cfg.STARTTLS == "" {
		cfg.STARTTLS = TLSAuto
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort(cfg.Protocol)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = 5
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 2
	}
	if cfg.HELO == "" {
		return cfg, fmt.Errorf("%w: HELO name is empty", ErrBadInput)
	}
	if cfg.Server == nil && cfg.DNS == nil {
		return cfg, fmt.Errorf("%w: no DNS client for MX resolution", ErrBadInput)
	}
	return cfg, nil
}

// Run probes every target and returns what it saw. It returns an error
// only for a bad configuration; everything that happens on the network is
// in the Result.
func Run(ctx context.Context, cfg Config, targets []Target) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &prober{cfg: cfg, from: cfg.From, tap: cfg.Transcript}
	p.fromUTF8 = !isASCII(cfg.From)
	if cfg.DNS != nil {
		p.resolver = &mx.Resolver{DNS: cfg.DNS, Family: cfg.Family}
	}
	start := time.Now()
	if cfg.Deadline > 0 {
		p.deadline = start.Add(cfg.Deadline)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.deadline)
		defer cancel()
	}
	res := &Result{Started: start, Config: ConfigSummary{
		Protocol: cfg.Protocol, HELO: cfg.HELO, From: cfg.From, Port: cfg.Port, STARTTLS: cfg.STARTTLS,
	}}
	if cfg.Server != nil {
		res.Config.Server = cfg.Server.String()
	}
	if cfg.Source.IsValid() {
		res.Config.Source = cfg.Source.String()
	}

	// Group recipients by domain (all of them together with --server):
	// one session per host carries every recipient of its domain.
	groups := map[string]*group{}
	var order []*group
	for _, t := range targets {
		key := t.Address.ASCIIDomain
		if cfg.Server != nil {
			key = ""
		}
		g := groups[key]
		if g == nil {
			g = &group{dom: &DomainResult{Domain: t.Address.ASCIIDomain}, lit: t.Address.Literal}
			if cfg.Server != nil {
				g.dom.Domain = cfg.Server.String()
			}
			groups[key] = g
			order = append(order, g)
			res.Domains = append(res.Domains, g.dom)
		}
		o := &Outcome{Recipient: t.Address.String(), Line: t.Line, Domain: g.dom}
		res.Recipients = append(res.Recipients, o)
		g.rcpts = append(g.rcpts, &pending{addr: t.Address, out: o})
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, g := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.probeGroup(ctx, g, start)
		}()
	}
	wg.Wait()

	p.checkDNSBL(ctx, res)
	res.Duration = time.Since(start)
	return res, nil
}

// group is the recipients that share a route.
type group struct {
	dom *DomainResult
	lit netip.Addr // address literal domain
	// rcpts carries every recipient; the catch-all probe, when asked
	// for, is the last and has no Outcome.
	rcpts []*pending
}

func (p *prober) probeGroup(ctx context.Context, g *group, start time.Time) {
	dnsStart := time.Now()
	targets, dnsErr := p.route(ctx, g)
	g.dom.DNSDuration = time.Since(dnsStart)
	if dnsErr != nil {
		for _, r := range g.rcpts {
			r.out.DNS = g.dom.DNSDuration
			r.out.Phase, r.out.Err = PhaseDNS, dnsErr
			r.out.Total = time.Since(start)
		}
		return
	}
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
			return []target{{host: s.Host, address: s.Host, network: "unix"}}, nil
		}
		if s.Port != 0 {
			port = s.Port
		}
		if ip, err := netip.ParseAddr(s.Host); err == nil {
			return []target{{host: ip.String(), address: ip.String(), port: port, network: "tcp"}}, nil
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
			ts = append(ts, target{host: s.Host, address: a.String(), port: port, network: "tcp"})
		}
		return ts, nil
	}
	if g.lit.IsValid() {
		// RFC 5321 §5.1: an address literal is dialled directly, no MX.
		return []target{{host: g.lit.String(), address: g.lit.String(), port: port, network: "tcp"}}, nil
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
			ts = append(ts, target{host: h.Name, address: a.String(), port: port, network: "tcp"})
		}
	}
	return ts, nil
}

func (p *prober) newAttempt(g *group, t target) *Attempt {
	att := &Attempt{Host: t.host, Address: t.address, Port: t.port, Network: t.network}
	if t.network == "unix" {
		att.Address, att.Port = "", 0
	}
	g.dom.Attempts = append(g.dom.Attempts, att)
	return att
}

// probeInOrder dials targets the way an MTA does: in preference order,
// moving on after connection failures, temporary errors and 5xx greetings,
// stopping at the first definitive answer for every recipient, and within
// Postfix's address and session limits.
func (p *prober) probeInOrder(ctx context.Context, g *group, targets []target) {
	left := g.rcpts
	addrs, sessions := 0, 0
	for _, t := range targets {
		var skip string
		switch {
		case len(left) == 0:
			skip = "not needed: an earlier host gave a definitive answer"
		case addrs >= p.cfg.MaxAddresses:
			skip = fmt.Sprintf("not tried: an MTA gives up after %d addresses (Postfix smtp_mx_address_limit)", p.cfg.MaxAddresses)
		case sessions >= p.cfg.MaxSessions:
			skip = fmt.Sprintf("not tried: an MTA gives up after %d sessions (Postfix smtp_mx_session_limit)", p.cfg.MaxSessions)
		case ctx.Err() != nil:
			skip = "not tried: " + p.ctxReason(ctx)
		}
		if skip != "" {
			att := p.newAttempt(g, t)
			att.Skipped = skip
			continue
		}
		addrs++
		att := p.attempt(ctx, g, t, left, p.cfg.STARTTLS)
		if att.Greeting != nil {
			sessions++
		}
		var still []*pending
		for _, r := range left {
			if !r.res.Definitive() {
				still = append(still, r)
			}
		}
		left = still
	}
}

// probeAll dials every target at once, each carrying every recipient; a
// recipient's outcome is then the one the first target in MTA order gave
// definitively, else the last.
func (p *prober) probeAll(ctx context.Context, g *group, targets []target) {
	per := make([][]*pending, len(targets))
	atts := make([]*Attempt, len(targets))
	for i, t := range targets {
		atts[i] = p.newAttempt(g, t)
		per[i] = make([]*pending, len(g.rcpts))
		for j, r := range g.rcpts {
			per[i][j] = &pending{addr: r.addr}
		}
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, atts[i], t, per[i], p.cfg.STARTTLS)
		}()
	}
	wg.Wait()
	for j, r := range g.rcpts {
		var chosen *Attempt
		for i := range targets {
			r.res, chosen = per[i][j].res, atts[i]
			if r.res.Definitive() {
				break
			}
		}
		if o := r.out; o != nil {
			o.Attempt, o.Transaction = chosen, chosen.Transaction
			for _, a := range atts {
				o.Setup += a.Setup
			}
		}
	}
}

// attempt makes one attempt for the recipients still open and records it
// in their outcomes.
func (p *prober) attempt(ctx context.Context, g *group, t target, rcpts []*pending, mode TLSMode) *Attempt {
	att := p.newAttempt(g, t)
	p.run(ctx, att, t, rcpts, mode)
	if att.Err != nil && att.Err.Kind == ErrTLS && mode == TLSAuto && !p.cfg.TLSVerify {
		// Postfix at the "may" level retries in clear after a failed
		// handshake; so do we, as a separate, labelled attempt.
		retry := p.newAttempt(g, t)
		retry.PlaintextRetry = true
		p.run(ctx, retry, t, rcpts, TLSNever)
		att = retry
	}
	for _, r := range rcpts {
		if o := r.out; o != nil {
			o.Attempt = att
			o.Setup += att.Setup
			o.Transaction = att.Transaction
		}
	}
	return att
}

// run is one connection: open, verify every recipient, close. Recipients
// not decided by a reply take the error that ended the attempt.
func (p *prober) run(ctx context.Context, att *Attempt, t target, rcpts []*pending, mode TLSMode) {
	for _, r := range rcpts {
		r.done = false
		r.res = RcptResult{Recipient: r.addr.String()}
	}
	s := p.open(ctx, t, att, mode)
	if s != nil {
		if err := s.verify(rcpts, true); err != nil {
			att.Err = err
		}
		s.close(nil)
	}
	for _, r := range rcpts {
		if !r.done && r.res.Reply == nil && r.res.Err == nil && att.Err != nil {
			r.res.Phase, r.res.Err, r.res.Reply = att.Err.Phase, att.Err, att.Err.Reply
		}
		att.Rcpts = append(att.Rcpts, r.res)
	}
}

func (p *prober) ctxReason(ctx context.Context) string {
	if !p.deadline.IsZero() && !time.Now().Before(p.deadline) {
		return "the probe deadline passed"
	}
	return "interrupted"
}

// addCatchAllProbe adds a random local part at the group's domain: a
// server that accepts it accepts anything, so its "250" for a real
// recipient proves nothing about that mailbox.
func (p *prober) addCatchAllProbe(g *group) {
	if len(g.rcpts) == 0 {
		return
	}
	// With --server one group may hold several domains; a random local
	// part says something only about its own domain.
	for _, r := range g.rcpts[1:] {
		if r.addr.ASCIIDomain != g.rcpts[0].addr.ASCIIDomain {
			return
		}
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := g.rcpts[0].addr
	a.Local = "mailprobe-nonexistent-" + hex.EncodeToString(b[:])
	a.UTF8 = !isASCII(a.Domain)
	g.rcpts = append(g.rcpts, &pending{addr: a})
}

// judgeCatchAll records whether the random recipient was accepted, and
// removes it again.
func (p *prober) judgeCatchAll(g *group) {
	n := len(g.rcpts) - 1
	if n < 0 || g.rcpts[n].out != nil {
		return
	}
	probe := g.rcpts[n]
	g.rcpts = g.rcpts[:n]
	if probe.res.Phase != PhaseRCPT || probe.res.Reply == nil {
		return
	}
	accepted := probe.res.Reply.Class() == 2
	for _, r := range g.rcpts {
		r.out.CatchAll = &accepted
	}
}
