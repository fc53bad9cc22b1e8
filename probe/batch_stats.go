package probe

import (
	"sync/atomic"
	"time"
)

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
	// Suspended421 counts destinations whose remaining addresses got the
	// server's 421 after DefaultMax421 sessions in a row ended with it.
	Suspended421 int
	// Broken counts destinations whose remaining addresses got the error
	// of DefaultMaxGiveUps addresses in a row that every session failed.
	Broken int
	// SlowRcpts counts recipients answered at SlowRcpt or slower on
	// average (a verifying front server); SlowRcptTime is their time.
	SlowRcpts    int
	SlowRcptTime time.Duration
	Interrupted  bool // the run was cancelled or hit its deadline
	Stop         Stop // why, when Interrupted
	Duration     time.Duration
}

type batchStats struct {
	items, probed, notChecked, sessions, transactions, reconnects, closed421, limited,
	errorRotations, backoffs, backoffNS, gaveUp, deadHosts, slowRcpts, slowNS, suspended421, broken atomic.Int64
	interrupted atomic.Bool
	stop        atomic.Value // Stop
	duration    atomic.Int64
}

// Stats returns what happened so far; safe to call while Run runs.
func (b *Batch) Stats() BatchStats {
	s := &b.stats
	return BatchStats{
		Items: int(s.items.Load()), Probed: int(s.probed.Load()), NotChecked: int(s.notChecked.Load()),
		Sessions: int(s.sessions.Load()), Transactions: int(s.transactions.Load()),
		Reconnects: int(s.reconnects.Load()), Closed421: int(s.closed421.Load()), Limited: int(s.limited.Load()),
		ErrorRotations: int(s.errorRotations.Load()), Backoffs: int(s.backoffs.Load()),
		BackoffTime: time.Duration(s.backoffNS.Load()), GaveUp: int(s.gaveUp.Load()),
		DeadHosts: int(s.deadHosts.Load()), Suspended421: int(s.suspended421.Load()), Broken: int(s.broken.Load()), SlowRcpts: int(s.slowRcpts.Load()), SlowRcptTime: time.Duration(s.slowNS.Load()),
		Interrupted: s.interrupted.Load(), Stop: s.loadStop(),
		Duration: time.Duration(s.duration.Load()),
	}
}

func (s *batchStats) loadStop() Stop {
	st, _ := s.stop.Load().(Stop)
	return st
}
