package probe

import (
	"context"
	"errors"
	"time"
)

// worker is one session's worth of a lane.
type worker struct {
	l   *lane
	b   *Batch
	s   *session
	att *Attempt

	rejects int     // RCPTs refused in this session
	txs     int     // transactions in this session
	rejRate float64 // recent share of refused RCPTs
	grow    int     // slow-start window
	fails   int     // sessions in a row that ended without progress
	slow    int     // consecutive push-backs (421, 4.7.x)
	isolate bool    // next transaction carries one recipient only
}

// runChunk decides every recipient of chunk. It returns true when the
// worker retired and handed its recipients back.
func (w *worker) runChunk(ctx context.Context, pend []*batchItem) bool {
	b, l := w.b, w.l
	l.route(ctx, pend[0].addr)
	for len(pend) > 0 {
		switch {
		case ctx.Err() != nil:
			for _, it := range pend {
				b.notChecked(ctx, it, l)
			}
			return false
		case l.routeErr != nil:
			for _, it := range pend {
				if pe := (*Error)(nil); errors.As(l.routeErr, &pe) && pe.Kind == ErrNotChecked {
					b.decide(l, it, nil, RcptResult{Phase: PhaseDNS, Err: pe})
					continue
				}
				o := &Outcome{Recipient: it.addr.String(), Line: it.line, Domain: l.dom, Phase: PhaseDNS,
					Err: l.routeErr, DNS: l.dnsTime, Total: time.Since(it.read)}
				b.finish(&BatchItem{Seq: it.seq, Line: it.line, Input: it.input, Outcome: o})
			}
			return false
		}
		if dead := l.deadAttempt(); dead != nil {
			for _, it := range pend {
				b.decide(l, it, dead, errResult(dead.Err))
			}
			return false
		}
		if w.s == nil {
			switch w.openSession(ctx, pend) {
			case openRetired:
				return true
			case openFailed:
				continue
			}
		}
		n := w.window()
		if n == 0 {
			b.stats.errorRotations.Add(1)
			w.closeSession()
			continue
		}
		n = min(n, len(pend))
		if b.lim != nil {
			if err := b.lim.WaitN(ctx, n); err != nil {
				continue // cancelled: the loop's first case decides
			}
		}
		pend = w.transaction(ctx, pend, n)
		if l.slow.Load() && len(pend) > 1 {
			pend = l.shareBack(ctx, pend)
		}
	}
	return false
}

// transaction runs one MAIL/RCPT×n/RSET on the open session and returns
// the recipients still undecided, in order.
func (w *worker) transaction(ctx context.Context, pend []*batchItem, n int) []*batchItem {
	b, l := w.b, w.l
	sub := pend[:n]
	ps := make([]*pending, n)
	for i, it := range sub {
		ps[i] = &pending{addr: it.addr}
	}
	// Batches keep no per-RCPT steps: the session's Steps go back to
	// what open recorded, so memory stays flat however many RCPTs one
	// session carries.
	mark := len(w.att.Steps)
	before := w.att.Transaction
	err := w.s.verify(ps, false)
	w.att.Steps = w.att.Steps[:mark]
	w.txs++
	b.stats.transactions.Add(1)

	snap := *w.att
	snap.Steps, snap.Rcpts = nil, nil
	snap.Transaction = w.att.Transaction - before
	if err == nil {
		l.measured.Store(true)
	}
	if err == nil && snap.Transaction >= time.Duration(n)*SlowRcpt {
		// A verifying front answers each new address only after asking
		// its backend: spread the rest over every session the lane may
		// open (up to --concurrency), so they wait in parallel.
		b.stats.slowRcpts.Add(int64(n))
		b.stats.slowNS.Add(int64(snap.Transaction))
		l.slow.Store(true)
	}
	var failed *Attempt // the snapshot with the error, for give-ups
	if err != nil {
		f := snap
		f.Err = err
		failed = &f
	}

	var retry []*batchItem
	decided, refused, answered, limited, pushback := 0, 0, 0, false, false
	for i, p := range ps {
		it, r := sub[i], p.res
		rep := r.Reply
		switch {
		case r.Err != nil && r.Err.Kind == ErrNoSMTPUTF8:
		case r.Phase == PhaseRCPT && rep != nil && (r.Err == nil || r.Err.Kind == ErrRejected):
			answered++
			if rep.Code == 421 || tooManyRecipients(rep) {
				// 421 closes the channel (RFC 5321 §3.8): it says
				// nothing about the mailbox. A 452 "too many
				// recipients" that verify could not place in a new
				// transaction asks for a new session.
				limited = limited || rep.Code == 452
				it.last, it.lastA = r, &snap
				retry = append(retry, it)
				continue
			}
			if rep.Class() != 2 {
				refused++
				pushback = pushback || rep.Class() == 4 && rep.Status.Class() == 4 && rep.Status.Subject() == 7
			}
		case r.Phase == PhaseMAIL && rep != nil && rep.Class() == 5:
			// The sender is refused: a permanent answer for everyone.
		default:
			// Unanswered: the session ended first.
			if r.Phase == "" && err != nil {
				r = errResult(err)
			}
			it.last, it.lastA = r, failed
			if it.lastA == nil {
				it.lastA = &snap
			}
			retry = append(retry, it)
			continue
		}
		decided++
		b.decide(l, it, &snap, r)
	}
	w.rejects += refused
	if answered > 0 {
		ratio := float64(refused) / float64(answered)
		if ratio > w.rejRate {
			w.rejRate = ratio // fast attack
		} else {
			w.rejRate = (w.rejRate + ratio) / 2 // slow decay
		}
	}
	if decided > 0 {
		w.fails, w.isolate = 0, false
		w.grow = min(w.grow*2, b.opts.Window)
	}
	rest := append(retry, pend[n:]...)

	closed := err != nil
	if err != nil && errors.Is(err, ErrDesync) && !w.att.WithoutPipelining {
		// As Run does: the next sessions here go one command at a time,
		// and nothing this one read is believed (verify decided no one).
		l.noPipelining.Store(true)
	}
	if decided > 0 {
		l.run421.Store(0)
		l.runGaveUp.Store(0)
	}
	if err != nil && err.Reply != nil && err.Reply.Code == 421 {
		b.stats.closed421.Add(1)
		pushback = true
		if decided == 0 && int(l.run421.Add(1)) >= DefaultMax421 {
			// The server answers 421 whatever it is asked: its remaining
			// addresses get that 421 (deferred) now, instead of waiting
			// session after session. This bounds a batch against such a
			// server: DefaultMax421 sessions and the back-off between them.
			w.closeSession()
			l.mu.Lock()
			if l.dead == nil {
				l.dead = failed
				b.stats.suspended421.Add(1)
			}
			l.mu.Unlock()
			return rest
		}
	}
	switch {
	case closed:
		w.closeSession()
	case limited:
		b.stats.limited.Add(1)
		w.closeSession()
		closed = true
	case b.opts.MaxSessionErrors > 0 && w.rejects >= b.opts.MaxSessionErrors:
		b.stats.errorRotations.Add(1)
		w.closeSession()
	case w.txs >= maxSessionTransactions:
		w.closeSession()
	}
	if closed && decided == 0 {
		w.fails++
		// Send the next one alone: if one address makes the server
		// drop the session, only that one pays for it.
		w.isolate = true
		if w.fails >= b.opts.MaxReconnects && err != nil && err.Phase == PhaseMAIL {
			// MAIL keeps failing: no recipient can be asked here.
			l.mu.Lock()
			if l.dead == nil {
				l.dead = failed
				b.stats.deadHosts.Add(1)
			}
			l.mu.Unlock()
		} else if w.fails >= b.opts.MaxReconnects && len(rest) > 0 {
			it := rest[0]
			b.stats.gaveUp.Add(1)
			b.decide(l, it, it.lastA, it.last)
			rest, w.fails = rest[1:], 0
			if int(l.runGaveUp.Add(1)) >= DefaultMaxGiveUps && failed != nil {
				// Not one address but the destination: every session
				// fails whatever it is asked. The rest carry that error.
				l.mu.Lock()
				if l.dead == nil {
					l.dead = failed
					b.stats.broken.Add(1)
				}
				l.mu.Unlock()
				return rest
			}
		}
	}
	if closed && len(rest) > 0 && ctx.Err() == nil {
		b.stats.reconnects.Add(1)
	}
	if pushback {
		w.slow++
		w.pause(ctx, w.slow, true)
	} else if closed && w.fails > 0 {
		w.pause(ctx, w.fails, false)
	} else {
		w.slow = 0
	}
	return rest
}
