package probe

import (
	"context"
	"time"
)

// window is the size of the next transaction: slow start up to Window,
// one after a session ended without progress, and — when the server
// refuses RCPTs — small enough that the refusals expected stay within
// the session's error budget. 0 means: open a new session first.
func (w *worker) window() int {
	full := w.b.opts.Window
	if w.isolate || !w.l.measured.Load() {
		// The lane's first transaction carries one RCPT: it measures how
		// fast the server answers (see SlowRcpt) before a full window is
		// committed to one session.
		return 1
	}
	if w.grow == 0 {
		w.grow = full
		if e := w.b.opts.MaxSessionErrors; e > 0 {
			w.grow = min(full, e)
		}
	}
	n := w.grow
	if e := w.b.opts.MaxSessionErrors; e > 0 {
		budget := e - w.rejects
		if budget <= 0 {
			return 0
		}
		if w.rejRate > 0 {
			n = min(n, int(float64(budget)/w.rejRate))
		}
	}
	return max(1, n)
}

// pause backs off before the next session or transaction: Backoff
// doubled per consecutive failure, capped at MaxBackoffFactor × Backoff. Only a real push-back
// (pushback: a 421 or a 4.7.x answer) counts in the stats the summary
// reports as "backed off N times when the server pushed back"; a refused
// or dropped connection waits the same way but is no push-back, and a
// stopped run (Ctrl-C, deadline) neither waits nor counts.
func (w *worker) pause(ctx context.Context, times int, pushback bool) {
	if ctx.Err() != nil {
		return
	}
	d := min(w.b.opts.Backoff<<min(times-1, 5), MaxBackoffFactor*w.b.opts.Backoff)
	if pushback {
		w.b.stats.backoffs.Add(1)
		w.b.stats.backoffNS.Add(int64(d))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
