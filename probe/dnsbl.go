package probe

import (
	"context"
	"errors"
	"net/netip"
	"slices"
)

// checkDNSBL asks the blocklists about the addresses this run used: the
// local address of each connection (or --public-ip) and every MX address
// dialled. By default it runs only when some server refused something,
// since only then is the evidence needed and the lookups cost time.
func (p *prober) checkDNSBL(ctx context.Context, res *Result) {
	if p.cfg.DNSBL == nil {
		return
	}
	refused := false
	var addrs []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	for _, d := range res.Domains {
		for _, att := range d.Attempts {
			if att.Skipped != "" {
				continue
			}
			if att.Err != nil && att.Err.Reply != nil && att.Err.Reply.Class() >= 4 {
				refused = true
			}
			for _, r := range att.Rcpts {
				if r.Reply != nil && r.Reply.Class() >= 4 {
					refused = true
				}
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
	res.DNSBL = p.cfg.DNSBL.CheckAddrs(ctx, addrs)
}
