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
	if w.isolate {
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
// doubled per consecutive push-back, up to 32 times.
func (w *worker) pause(ctx context.Context, times int) {
	d := w.b.opts.Backoff << min(times-1, 5)
	w.b.stats.backoffs.Add(1)
	w.b.stats.backoffNS.Add(int64(d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
