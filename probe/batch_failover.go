package probe

import (
	"context"
	"strings"
)

type openResult int

const (
	openOK openResult = iota
	openFailed
	openRetired
)

// openSession opens a session to the lane's destination: the target that
// worked last first, then the others in MTA order, within MaxAddresses.
func (w *worker) openSession(ctx context.Context, pend []*batchItem) openResult {
	b, l := w.b, w.l
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return openFailed
	}
	l.mu.Lock()
	good := l.good
	l.mu.Unlock()
	order := make([]int, 0, len(l.targets))
	order = append(order, good)
	for i := range l.targets {
		if i != good {
			order = append(order, i)
		}
	}
	var last *Attempt
	for k, i := range order {
		if k >= b.p.cfg.MaxAddresses || ctx.Err() != nil {
			break
		}
		t := l.targets[i]
		noPipe := l.noPipelining.Load()
		att := &Attempt{Host: t.host, Address: t.address, Port: t.port, Network: t.network, WithoutPipelining: noPipe}
		if t.network == "unix" {
			att.Address, att.Port = "", 0
		}
		s := b.p.open(ctx, t, att, b.p.cfg.STARTTLS)
		if s == nil && b.p.plaintextFallback(att, b.p.cfg.STARTTLS) {
			// As Run does: Postfix's "may" level retries in clear.
			att = &Attempt{Host: att.Host, Address: att.Address, Port: att.Port, Network: att.Network, PlaintextRetry: true, WithoutPipelining: noPipe}
			s = b.p.open(ctx, t, att, TLSNever)
		}
		if s != nil {
			w.s, w.att = s, att
			w.rejects, w.txs = 0, 0
			b.stats.sessions.Add(1)
			l.mu.Lock()
			l.good = i
			l.live++
			l.mu.Unlock()
			return openOK
		}
		last = att
	}
	<-b.slots
	if ctx.Err() != nil {
		return openFailed
	}
	pushback := false
	if last != nil && last.Err != nil && last.Err.Reply != nil {
		r := last.Err.Reply
		if r.Code == 421 {
			b.stats.closed421.Add(1)
		}
		pushback = r.Code == 421 || r.Class() == 4 && strings.HasPrefix(r.Enhanced, "4.7.")
	}
	if l.giveBack(pend) {
		return openRetired
	}
	w.fails++
	if w.fails >= b.opts.MaxReconnects {
		l.mu.Lock()
		if l.dead == nil {
			l.dead = last
			b.stats.deadHosts.Add(1)
		}
		l.mu.Unlock()
		return openFailed
	}
	w.pause(ctx, w.fails, pushback)
	return openFailed
}

// closeSession ends the worker's session (QUIT unless the server already
// closed) and frees its slot.
func (w *worker) closeSession() {
	if w.s == nil {
		return
	}
	w.s.close(nil)
	w.s, w.att = nil, nil
	<-w.b.slots
	w.l.mu.Lock()
	w.l.live--
	w.l.mu.Unlock()
}
