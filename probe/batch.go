package probe

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

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

// NewBatch checks cfg like Run does and prepares a batch. cfg.AllMX,
// CatchAllCheck and DNSBL do not apply to batches and are ignored.
func NewBatch(cfg Config, opts BatchOptions) (*Batch, error) {
	cfg, err := cfg.withDefaults(true)
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults(cfg.Protocol)
	if err != nil {
		return nil, err
	}
	cfg.RcptWindow = opts.Window
	cfg.AllMX, cfg.CatchAllCheck, cfg.DNSBL = false, false, nil

	b := &Batch{p: newProber(cfg), opts: opts, lanes: map[string]*lane{}, routes: map[string]*routeEntry{}, total: -1}
	b.res = &Result{Config: cfg.summary()}
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
	b.chooseSender(ctx)
	ctx, stopClock := b.p.begin(ctx, start)
	defer stopClock()
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
		b.stats.stop.Store(StopOf(ctx))
		b.res.Stop = StopOf(ctx)
	}
	b.stats.duration.Store(int64(time.Since(start)))
	b.res.Duration = time.Since(start)
	if err != nil {
		return err
	}
	return readErr
}

var errEmitFailed = errors.New("emit failed")

// chooseSender settles the sender before the first session (see
// ChooseSender). With the null sender an SMTP batch carries one RCPT per
// transaction: Postfix's reject_multi_recipient_bounce refuses <> with
// several recipients ("550 5.5.3 <>: Multi-recipient bounce"). LMTP
// backends have no such rule.
func (b *Batch) chooseSender(ctx context.Context) {
	b.res.Warnings = b.p.cfg.chooseSenderAndWarn(ctx)
	b.p.from, b.p.fromUTF8 = b.p.cfg.From, !isASCII(b.p.cfg.From)
	b.res.Config.From = b.p.cfg.From
	b.opts.Window = min(b.opts.Window, b.p.cfg.RcptWindow)
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

// errResult is the result an attempt's error gives a recipient.
func errResult(e *Error) RcptResult {
	if e == nil {
		return RcptResult{}
	}
	return RcptResult{Phase: e.Phase, Reply: e.Reply, Err: e}
}
