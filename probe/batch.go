package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/mailprobe/mailprobe/mx"
)

// BatchOptions shape a batch run (mailprobe probe --rcpt-file). The zero
// value of each field means the documented default.
type BatchOptions struct {
	// Window is how many RCPTs go in one transaction and one pipelined
	// write. Default 100: RFC 5321 §4.5.3.1.8 obliges every server to
	// accept at least 100 recipients per transaction, so no compliant
	// server answers a window of 100 with "452 too many recipients".
	Window int
	// Concurrency is the number of sessions per destination (the
	// --server, or one domain's MX hosts). Default 2: a verifier should
	// not look like a mail storm. A destination whose extra sessions are
	// refused runs with fewer (Postfix's concurrency feedback, simplified).
	Concurrency int
	// Rate caps RCPT commands per second over the whole batch; 0 means
	// no cap. With a cap, transactions are no larger than one second's
	// worth, so the cap holds over short intervals too.
	Rate float64
	// MaxSessionErrors starts a new session before one session has had
	// this many RCPTs refused. Default 9 for SMTP: Postfix's smtpd slows
	// a client down after smtpd_soft_error_limit (10) errors and drops it
	// with "421 4.7.0 Error: too many errors" at smtpd_hard_error_limit
	// (20). LMTP servers keep no such count, so the default there is no
	// limit. Negative: no limit.
	MaxSessionErrors int
	// MaxReconnects is how many sessions in a row may end (drop, 421,
	// timeout) without deciding any recipient before the first undecided
	// one is given the error that ended the last of them — or, when no
	// session can be opened at all, every remaining recipient of the
	// destination is (Postfix's "dead destination"). Default 3.
	MaxReconnects int
	// Backoff is the first pause before reconnecting after a session
	// ended without progress, and after a server answered 421 or a
	// 4.7.x policy code; it doubles while the trouble persists, up to
	// 32 times. Default 1s.
	Backoff time.Duration
	// MaxSessions caps open sessions over all destinations (via MX);
	// default 16.
	MaxSessions int
}

// maxSessionTransactions ends a session before Postfix's
// smtpd_junk_command_limit (100) starts counting each RSET as an error.
const maxSessionTransactions = 90

// BatchItem is the result for one address-bearing input line. Exactly one
// is emitted per line that RcptSource returned, in input order.
type BatchItem struct {
	Seq   int    // 0-based position among the emitted items
	Line  int    // 1-based input line
	Input string // the address column as read
	// Outcome is what the probe found; nil when Err or Skip is set.
	Outcome *Outcome
	// Err is why the line is not an address (*InputError,
	// ErrRcptLineTooLong).
	Err error
	// Skip is why a well-formed line was not probed.
	Skip string
}

// BatchStats says what happened on the wire during a batch.
type BatchStats struct {
	Items          int           // results emitted
	Probed         int           // addresses routed to a server (not invalid or skipped)
	NotChecked     int           // addresses never decided (Ctrl-C, deadline)
	Sessions       int           // sessions opened (greeted and introduced)
	Transactions   int           // MAIL transactions
	Reconnects     int           // sessions reopened after a drop, 421 or timeout mid-batch
	Closed421      int           // sessions the server ended with 421
	Limited        int           // sessions ended because the server said "452 too many recipients"
	ErrorRotations int           // sessions ended early to stay under the server's error limit
	Backoffs       int           // pauses made because the server pushed back
	BackoffTime    time.Duration // their total length
	GaveUp         int           // recipients given a session error after MaxReconnects
	DeadHosts      int           // destinations given up because no session could be opened
	Interrupted    bool          // the run was cancelled or hit its deadline
	Duration       time.Duration
}

type batchStats struct {
	items, probed, notChecked, sessions, transactions, reconnects, closed421, limited,
	errorRotations, backoffs, backoffNS, gaveUp, deadHosts atomic.Int64
	interrupted atomic.Bool
	duration    atomic.Int64
}

// Batch verifies a stream of recipients with reused, pipelined sessions.
// Results are emitted as they are decided, in input order, through a
// reorder buffer bounded by the in-flight window, so memory stays flat
// however long the input is: nothing is kept once emitted, and sessions
// keep no per-RCPT steps.
type Batch struct {
	p    *prober
	opts BatchOptions
	res  *Result
	lim  *rate.Limiter

	slots chan struct{} // open sessions over all destinations

	mu     sync.Mutex
	lanes  map[string]*lane
	routes map[string]*routeEntry // route cache per domain, bounded

	// Reorder buffer: tokens bounds items read but not yet emitted;
	// ring[seq%len] holds decided items waiting for their turn.
	tokens chan struct{}
	rmu    sync.Mutex
	rcond  *sync.Cond
	ring   []*BatchItem
	next   int
	total  int // number of items, -1 while reading

	workers sync.WaitGroup
	stats   batchStats
}

// maxRouteCache bounds the per-domain route cache.
const maxRouteCache = 4096

// NewBatch checks cfg like Run does and prepares a batch. cfg.AllMX,
// CatchAllCheck and DNSBL do not apply to batches and are ignored.
func NewBatch(cfg Config, opts BatchOptions) (*Batch, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Window <= 0 {
		opts.Window = 100
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.Rate < 0 {
		return nil, fmt.Errorf("%w: negative rate", ErrBadInput)
	}
	if opts.Rate > 0 {
		// A transaction never holds more than one second's worth.
		opts.Window = max(1, min(opts.Window, int(opts.Rate)))
	}
	if opts.MaxSessionErrors == 0 {
		opts.MaxSessionErrors = 9
		if cfg.Protocol == ProtocolLMTP {
			opts.MaxSessionErrors = -1
		}
	}
	if opts.MaxReconnects <= 0 {
		opts.MaxReconnects = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 16
	}
	opts.MaxSessions = max(opts.MaxSessions, opts.Concurrency)
	cfg.RcptWindow = opts.Window
	cfg.AllMX, cfg.CatchAllCheck, cfg.DNSBL = false, false, nil

	p := &prober{cfg: cfg, from: cfg.From, tap: cfg.Transcript, fromUTF8: !isASCII(cfg.From)}
	if cfg.DNS != nil {
		p.resolver = &mx.Resolver{DNS: cfg.DNS, Family: cfg.Family}
	}
	b := &Batch{p: p, opts: opts, lanes: map[string]*lane{}, routes: map[string]*routeEntry{}, total: -1}
	b.res = &Result{Config: ConfigSummary{Protocol: cfg.Protocol, HELO: cfg.HELO, From: cfg.From, Port: cfg.Port, STARTTLS: cfg.STARTTLS}}
	if cfg.Server != nil {
		b.res.Config.Server = cfg.Server.String()
	}
	if cfg.Source.IsValid() {
		b.res.Config.Source = cfg.Source.String()
	}
	if opts.Rate > 0 {
		b.lim = rate.NewLimiter(rate.Limit(opts.Rate), opts.Window)
	}
	b.slots = make(chan struct{}, opts.MaxSessions)
	inflight := max(4*opts.Concurrency*opts.Window, 1024)
	b.tokens = make(chan struct{}, inflight)
	b.ring = make([]*BatchItem, inflight)
	b.rcond = sync.NewCond(&b.rmu)
	return b, nil
}

// Result is the run-wide context report.Judge needs (configuration,
// start time); it holds no recipients.
func (b *Batch) Result() *Result { return b.res }

// Options returns the options in effect, defaults filled in.
func (b *Batch) Options() BatchOptions { return b.opts }

// Stats returns what happened so far; safe to call while Run runs.
func (b *Batch) Stats() BatchStats {
	s := &b.stats
	return BatchStats{
		Items: int(s.items.Load()), Probed: int(s.probed.Load()), NotChecked: int(s.notChecked.Load()),
		Sessions: int(s.sessions.Load()), Transactions: int(s.transactions.Load()),
		Reconnects: int(s.reconnects.Load()), Closed421: int(s.closed421.Load()), Limited: int(s.limited.Load()),
		ErrorRotations: int(s.errorRotations.Load()), Backoffs: int(s.backoffs.Load()),
		BackoffTime: time.Duration(s.backoffNS.Load()), GaveUp: int(s.gaveUp.Load()),
		DeadHosts: int(s.deadHosts.Load()), Interrupted: s.interrupted.Load(),
		Duration: time.Duration(s.duration.Load()),
	}
}

// batchItem is an address in flight.
type batchItem struct {
	seq   int
	line  int
	input string
	addr  Address
	read  time.Time
	last  RcptResult // the last undecided result, used when giving up
	lastA *Attempt
}

// Run reads src to the end and calls emit once per address-bearing line,
// in input order, from a single goroutine. When ctx is cancelled (Ctrl-C)
// or cfg.Deadline passes, what was decided is emitted as decided and
// every other line — including those not yet read — with an Outcome whose
// Err wraps ErrNotChecked. Run returns an error wrapping ErrRcptRead when
// the input fails mid-way (the lines read before are emitted), or the
// first error emit returned (the run stops early).
func (b *Batch) Run(ctx context.Context, src RcptSource, emit func(BatchItem) error) error {
	start := time.Now()
	b.res.Started = start
	if b.p.cfg.Deadline > 0 {
		b.p.deadline = start.Add(b.p.cfg.Deadline)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, b.p.deadline)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Wake idle workers when the run is cancelled.
	stopWake := context.AfterFunc(ctx, b.wakeAll)
	defer stopWake()

	emitErr := make(chan error, 1)
	go func() { emitErr <- b.emitLoop(emit, cancel) }()

	seq := 0
	var readErr error
	for {
		rl, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		b.tokens <- struct{}{}
		it := &batchItem{seq: seq, line: rl.Line, input: rl.Raw, addr: rl.Address, read: time.Now()}
		seq++
		switch {
		case rl.Err != nil || rl.Skip != "":
			b.finish(&BatchItem{Seq: it.seq, Line: it.line, Input: it.input, Err: rl.Err, Skip: rl.Skip})
		case ctx.Err() != nil:
			b.stats.probed.Add(1)
			b.notChecked(ctx, it, nil)
		default:
			b.stats.probed.Add(1)
			b.dispatch(ctx, it)
		}
	}
	b.closeLanes()
	b.workers.Wait()
	b.rmu.Lock()
	b.total = seq
	b.rcond.Broadcast()
	b.rmu.Unlock()
	err := <-emitErr
	if ctx.Err() != nil && context.Cause(ctx) != errEmitFailed {
		b.stats.interrupted.Store(true)
	}
	b.stats.duration.Store(int64(time.Since(start)))
	b.res.Duration = time.Since(start)
	if err != nil {
		return err
	}
	return readErr
}

var errEmitFailed = errors.New("emit failed")

// emitLoop emits items in sequence order. After emit fails it cancels the
// run and goes on consuming items without emitting, so nothing blocks.
func (b *Batch) emitLoop(emit func(BatchItem) error, cancel context.CancelCauseFunc) error {
	var failed error
	for {
		b.rmu.Lock()
		slot := b.next % len(b.ring)
		for b.ring[slot] == nil && b.total != b.next {
			b.rcond.Wait()
		}
		if b.total == b.next {
			b.rmu.Unlock()
			return failed
		}
		it := b.ring[slot]
		b.ring[slot] = nil
		b.next++
		b.rmu.Unlock()

		b.stats.items.Add(1)
		if it.Outcome != nil && errors.Is(it.Outcome.Err, ErrNotChecked) {
			b.stats.notChecked.Add(1)
		}
		if failed == nil {
			if err := emit(*it); err != nil {
				failed = err
				cancel(errEmitFailed)
			}
		}
		<-b.tokens
	}
}

// finish hands a decided item to the reorder buffer.
func (b *Batch) finish(it *BatchItem) {
	b.rmu.Lock()
	b.ring[it.Seq%len(b.ring)] = it
	if it.Seq == b.next {
		b.rcond.Broadcast()
	}
	b.rmu.Unlock()
}

// decide turns a recipient's result into its Outcome and emits it.
func (b *Batch) decide(l *lane, it *batchItem, att *Attempt, r RcptResult) {
	o := &Outcome{Recipient: it.addr.String(), Line: it.line, Domain: l.dom, Attempt: att,
		Phase: r.Phase, Reply: r.Reply, Total: time.Since(it.read)}
	if r.Err != nil && r.Err.Kind != ErrRejected {
		o.Err = r.Err
	}
	if it.read.Before(l.resolved) {
		o.DNS = l.dnsTime
	}
	if att != nil {
		o.Setup, o.Transaction = att.Setup, att.Transaction
	}
	b.finish(&BatchItem{Seq: it.seq, Line: it.line, Input: it.input, Outcome: o})
}

// notChecked emits an item that will not be probed (Ctrl-C, deadline).
// A result already seen for it (a 421 before the interruption) is not
// the answer: the run stopped before it could be retried.
func (b *Batch) notChecked(ctx context.Context, it *batchItem, l *lane) {
	o := &Outcome{Recipient: it.addr.String(), Line: it.line, Phase: PhaseConnect, Total: time.Since(it.read),
		Err: &Error{Kind: ErrNotChecked, Phase: PhaseConnect, Detail: b.p.ctxReason(ctx)}}
	if l != nil {
		o.Domain = l.dom
	}
	b.finish(&BatchItem{Seq: it.seq, Line: it.line, Input: it.input, Outcome: o})
}

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

	routeOnce sync.Once
	dom       *DomainResult
	targets   []target
	routeErr  error
	resolved  time.Time
	dnsTime   time.Duration
}

type routeEntry struct {
	dom     *DomainResult
	targets []target
	err     error
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
				if pe, ok := l.routeErr.(*Error); ok && pe.Kind == ErrNotChecked {
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
				pushback = pushback || rep.Class() == 4 && strings.HasPrefix(rep.Enhanced, "4.7.")
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
	if err != nil && err.Reply != nil && err.Reply.Code == 421 {
		b.stats.closed421.Add(1)
		pushback = true
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
		}
	}
	if closed && len(rest) > 0 && ctx.Err() == nil {
		b.stats.reconnects.Add(1)
	}
	if pushback {
		w.slow++
		w.pause(ctx, w.slow)
	} else if closed && w.fails > 0 {
		w.pause(ctx, w.fails)
	} else {
		w.slow = 0
	}
	return rest
}

// errResult is the result an attempt's error gives a recipient.
func errResult(e *Error) RcptResult {
	if e == nil {
		return RcptResult{}
	}
	return RcptResult{Phase: e.Phase, Reply: e.Reply, Err: e}
}

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
	return max1(n)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
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
		att := &Attempt{Host: t.host, Address: t.address, Port: t.port, Network: t.network}
		if t.network == "unix" {
			att.Address, att.Port = "", 0
		}
		s := b.p.open(ctx, t, att, b.p.cfg.STARTTLS)
		if s == nil && att.Err != nil && att.Err.Kind == ErrTLS && b.p.cfg.STARTTLS == TLSAuto && !b.p.cfg.TLSVerify {
			// As Run does: Postfix's "may" level retries in clear.
			att = &Attempt{Host: att.Host, Address: att.Address, Port: att.Port, Network: att.Network, PlaintextRetry: true}
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
	if last != nil && last.Err != nil && last.Err.Reply != nil && last.Err.Reply.Code == 421 {
		b.stats.closed421.Add(1)
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
	w.pause(ctx, w.fails)
	return openFailed
}

func (l *lane) deadAttempt() *Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
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
