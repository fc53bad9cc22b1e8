package probe

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// lane is one destination: the --server, or one recipient domain. Its
// workers each hold one session and take recipients from its queue.
type lane struct {
	b         *Batch
	key       string
	keepAlive bool // --server: workers wait for more input instead of leaving

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*batchItem
	workers int
	live    int // workers holding an open session
	limit   int // session limit, lowered when extra sessions are refused
	closed  bool
	good    int      // index of the target that last opened
	dead    *Attempt // set when no session could be opened MaxReconnects times
	// slow is set once RCPTs here took SlowRcpt or more each: then each
	// worker takes only its share of the queue, so up to limit sessions
	// wait for the answers at once.
	slow atomic.Bool
	// measured is set once a transaction here was answered.
	measured atomic.Bool
	// run421 counts the sessions in a row here that a 421 ended with
	// nobody decided (DefaultMax421).
	run421 atomic.Int32
	// runGaveUp counts the addresses in a row given up here, nobody
	// decided in between (DefaultMaxGiveUps).
	runGaveUp atomic.Int32
	// noPipelining is set once a session here fell out of step while
	// pipelining (ErrDesync): later sessions send one command at a time.
	noPipelining atomic.Bool

	routeOnce sync.Once
	dom       *DomainResult
	targets   []target
	routeErr  error
	resolved  time.Time
	dnsTime   time.Duration
}

func (b *Batch) dispatch(ctx context.Context, it *batchItem) {
	key := it.addr.ASCIIDomain
	if b.p.cfg.Server != nil || b.p.cfg.MXDomain != "" {
		key = ""
	}
	b.mu.Lock()
	l := b.lanes[key]
	if l == nil {
		l = &lane{b: b, key: key, keepAlive: b.p.cfg.Server != nil, limit: b.opts.Concurrency}
		l.cond = sync.NewCond(&l.mu)
		b.lanes[key] = l
	}
	l.mu.Lock()
	b.mu.Unlock()
	l.queue = append(l.queue, it)
	if l.workers < l.limit {
		l.workers++
		b.workers.Add(1)
		go l.work(ctx)
	}
	l.cond.Signal()
	l.mu.Unlock()
}

// ensureWorkers starts workers up to the lane's limit while items wait:
// on a slow lane a worker that took its share must not leave the rest to
// one session. Called with l.mu held.
func (l *lane) ensureWorkers(ctx context.Context) {
	for l.workers < l.limit && len(l.queue) > 1 {
		l.workers++
		l.b.workers.Add(1)
		go l.work(ctx)
	}
}

func (b *Batch) closeLanes() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lanes {
		l.mu.Lock()
		l.closed = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

func (b *Batch) wakeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lanes {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// take waits for up to n recipients. It returns nil when the worker
// should leave: the input ended, the run was cancelled, or (via MX) the
// domain has nothing queued. The worker count drops under the same lock
// so that dispatch never leaves an item without a worker.
func (l *lane) take(ctx context.Context, n int) []*batchItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 {
		if l.closed || !l.keepAlive || ctx.Err() != nil {
			l.workers--
			if l.workers == 0 && len(l.queue) == 0 && !l.keepAlive {
				l.b.forget(l)
			}
			return nil
		}
		l.cond.Wait()
	}
	if l.slow.Load() {
		n = min(n, max(1, (len(l.queue)+l.limit-1)/l.limit))
		l.ensureWorkers(ctx)
	}
	n = min(n, len(l.queue))
	out := make([]*batchItem, n)
	copy(out, l.queue)
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil // let the backing array go
	}
	return out
}

// forget drops an idle domain lane (its route stays cached). Called with
// l.mu held; b.mu is taken after it, so it must not wait for b.mu while
// dispatch holds b.mu and waits for l.mu: it runs the removal
// asynchronously.
func (b *Batch) forget(l *lane) {
	go func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.workers == 0 && len(l.queue) == 0 && b.lanes[l.key] == l {
			delete(b.lanes, l.key)
		}
	}()
}

// giveBack returns a worker's recipients to the front of the queue and
// retires the worker, lowering the lane's session limit: the server
// refused one session more while another is working.
func (l *lane) giveBack(items []*batchItem) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live == 0 {
		return false
	}
	l.queue = append(append(make([]*batchItem, 0, len(items)+len(l.queue)), items...), l.queue...)
	l.limit = max(1, l.limit-1)
	l.workers--
	l.cond.Signal()
	return true
}

func (l *lane) work(ctx context.Context) {
	defer l.b.workers.Done()
	w := &worker{l: l, b: l.b}
	defer w.closeSession()
	for {
		chunk := l.take(ctx, w.b.opts.Window)
		if chunk == nil {
			return
		}
		if w.runChunk(ctx, chunk) {
			return
		}
	}
}

func (l *lane) deadAttempt() *Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
}

// shareBack keeps a slow lane's work spread: a worker holding more than
// its share of what is left (its items and the queue, over the lane's
// session limit) puts the rest back at the front of the queue, where
// other sessions — started here up to the limit — take them.
func (l *lane) shareBack(ctx context.Context, pend []*batchItem) []*batchItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	share := max(1, (len(pend)+len(l.queue)+l.limit-1)/l.limit)
	if len(pend) <= share || l.limit <= 1 {
		return pend
	}
	rest := pend[share:]
	l.queue = append(append(make([]*batchItem, 0, len(rest)+len(l.queue)), rest...), l.queue...)
	l.ensureWorkers(ctx)
	l.cond.Broadcast()
	return pend[:share]
}
