package probe

import (
	"context"
	"time"
)

// maxRouteCache bounds the per-domain route cache.
const maxRouteCache = 4096

type routeEntry struct {
	dom     *DomainResult
	targets []target
	err     error
}

// route resolves the lane's destination once, through the cache.
func (l *lane) route(ctx context.Context, sample Address) {
	l.routeOnce.Do(func() {
		b := l.b
		start := time.Now()
		defer func() { l.dnsTime, l.resolved = time.Since(start), time.Now() }()
		b.mu.Lock()
		e := b.routes[l.key]
		b.mu.Unlock()
		if e != nil {
			l.dom, l.targets, l.routeErr = e.dom, e.targets, e.err
			return
		}
		g := &group{dom: &DomainResult{Domain: sample.ASCIIDomain}, lit: sample.Literal}
		if s := b.p.cfg.Server; s != nil {
			g.dom.Domain = s.String()
		} else if b.p.cfg.MXDomain != "" {
			g.dom.Domain = b.p.cfg.MXDomain
		}
		ts, err := b.p.route(ctx, g)
		if err == nil && len(ts) == 0 {
			err = &Error{Kind: ErrNotChecked, Phase: PhaseDNS, Detail: "no MX host has a usable address"}
		}
		l.dom, l.targets, l.routeErr = g.dom, ts, err
		if ctx.Err() != nil {
			return // an interrupted lookup is not an answer to cache
		}
		b.mu.Lock()
		if len(b.routes) >= maxRouteCache {
			for k := range b.routes {
				delete(b.routes, k)
				break
			}
		}
		b.routes[l.key] = &routeEntry{dom: g.dom, targets: ts, err: err}
		b.mu.Unlock()
	})
}
