package probe

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/mailprobe/mailprobe/blacklist"
)

// BlockLikeFunc tells whether a refusal looks like a block of the
// sender's address (a DNSBL or reputation refusal), so that --dnsbl auto
// asks the lists only then. cmd passes the classifier's judgement
// (package report); probe itself judges nothing.
type BlockLikeFunc func(phase Phase, r *Reply) bool

// defaultBlockLike is the rule when Config.BlockLike is nil: a refused
// greeting, or an RFC 3463 X.7.x (security or policy status) code other
// than a greylisting's.
func defaultBlockLike(phase Phase, r *Reply) bool {
	if r == nil || r.Class() < 4 {
		return false
	}
	if phase == PhaseGreeting {
		return true
	}
	return r.Status.Subject() == 7 // RFC 3463 §3.8: security or policy
}

// checkDNSBL asks the blocklists about the addresses this run used: the
// local address of each connection (or --public-ip), every MX address
// dialled, and the addresses and lists a refusal names itself ("Client
// host [IP] blocked using ZONE"). With --dnsbl auto it runs only after a
// block-like refusal: after an unknown user, greylisting, a full mailbox
// or an LMTP backend's answer the lists have nothing to say, and asking
// them is noise (and, for loopback or private addresses, leaks queries to
// public lists for nothing).
func (p *prober) checkDNSBL(ctx context.Context, res *Result) {
	if p.cfg.DNSBL == nil {
		return
	}
	if p.cfg.Protocol == ProtocolLMTP && !p.cfg.DNSBLAlways {
		// An LMTP backend (Dovecot, Cyrus) is past every client check: its
		// refusals are about mailboxes, never about the sender's address.
		return
	}
	blockLike := p.cfg.BlockLike
	if blockLike == nil {
		blockLike = defaultBlockLike
	}
	refused := false
	var addrs []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	var named []string
	mention := func(phase Phase, r *Reply) {
		if r == nil || r.Class() < 4 || !blockLike(phase, r) {
			return
		}
		refused = true
		m := blacklist.Mentioned(r.Message(), p.cfg.DNSBL.Lists())
		// Peer text decides what is queried here: bounded (MaxNamedLists,
		// MaxServerSawAddrs), the first ones named win.
		for _, z := range m.Zones {
			if !slices.Contains(named, z) && len(named) < MaxNamedLists {
				named = append(named, z)
			}
		}
		for _, a := range m.Addrs {
			if !slices.Contains(res.ServerSaw, a.String()) && len(res.ServerSaw) < MaxServerSawAddrs {
				res.ServerSaw = append(res.ServerSaw, a.String())
				add(a)
			}
		}
	}
	for _, d := range res.Domains {
		for _, att := range d.Attempts {
			if att.Skipped != "" {
				continue
			}
			if att.Err != nil {
				mention(att.Err.Phase, att.Err.Reply)
			}
			for _, r := range att.Rcpts {
				mention(r.Phase, r.Reply)
			}
			if ap, err := netip.ParseAddrPort(att.Local); err == nil {
				local := ap.Addr().Unmap()
				if local.IsPrivate() || local.IsLoopback() || local.IsLinkLocalUnicast() {
					res.LocalPrivate = true
					if p.cfg.PublicIP.IsValid() {
						local = p.cfg.PublicIP
					}
				}
				add(local)
			}
			if a, err := netip.ParseAddr(att.Address); err == nil {
				add(a.Unmap())
			}
		}
	}
	if p.cfg.PublicIP.IsValid() {
		res.PublicIP = p.cfg.PublicIP.String()
		add(p.cfg.PublicIP)
	}
	res.DNSBLNamed = named
	if len(addrs) == 0 || !refused && !p.cfg.DNSBLAlways {
		return
	}
	// The blocklist answer is worth having even when the probe's own
	// deadline has passed: it gets a short grace of its own. An
	// interrupt (Ctrl-C) gets none.
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
		defer cancel()
	}
	res.DNSBL = p.cfg.DNSBL.CheckAddrs(ctx, addrs, named)
}
