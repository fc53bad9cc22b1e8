package probe

import (
	"fmt"
	"time"
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

// withDefaults fills the documented defaults for protocol and rejects
// options that cannot work.
func (opts BatchOptions) withDefaults(protocol Protocol) (BatchOptions, error) {
	if opts.Window <= 0 {
		opts.Window = DefaultRcptWindow
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Rate < 0 {
		return opts, fmt.Errorf("%w: negative rate", ErrBadInput)
	}
	if opts.Rate > 0 {
		// A transaction never holds more than one second's worth.
		opts.Window = max(1, min(opts.Window, int(opts.Rate)))
	}
	if opts.MaxSessionErrors == 0 {
		opts.MaxSessionErrors = DefaultMaxSessionErrors
		if protocol.spec().backend {
			opts.MaxSessionErrors = -1
		}
	}
	if opts.MaxReconnects <= 0 {
		opts.MaxReconnects = DefaultMaxReconnects
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultBatchSessions
	}
	opts.MaxSessions = max(opts.MaxSessions, opts.Concurrency)
	return opts, nil
}
