package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/mailprobe/mailprobe/internal/ctxend"
)

// Stop says why a run ended before it had asked everything it meant to:
// the caller's context carries the cause (context.WithCancelCause,
// context.WithTimeoutCause), so the probe never has to guess.
type Stop string

const (
	StopNone          Stop = ""
	StopDeadline      Stop = "deadline"       // Config.Deadline, or the caller's own deadline
	StopInterrupted   Stop = "interrupted"    // cancelled with cause ErrInterrupted (Ctrl-C, SIGTERM)
	StopScrapeTimeout Stop = "scrape-timeout" // cancelled with cause ErrScrapeTimeout (an exporter's scrape)
	StopCanceled      Stop = "cancelled"      // cancelled without a cause the probe knows
)

// Causes a caller gives the context to say why it stopped a probe. Each is
// also the Kind of the *Error of the step the stop cut short. A scrape
// timeout is a deadline (errors.Is(ErrScrapeTimeout, ErrDeadline)), and a
// cancellation without a known cause is an interruption, so a consumer
// that knows only ErrDeadline and ErrInterrupted still reads them right.
var (
	ErrScrapeTimeout error = &stopKind{"scrape timeout exceeded", ErrDeadline}
	ErrCanceled      error = &stopKind{"cancelled", ErrInterrupted}
)

type stopKind struct {
	msg  string
	base error
}

func (e *stopKind) Error() string { return e.msg }
func (e *stopKind) Unwrap() error { return e.base }

// StopOf says why ctx ended; StopNone while it has not.
func StopOf(ctx context.Context) Stop {
	if !ctxend.Ended(ctx) {
		return StopNone
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrScrapeTimeout):
		return StopScrapeTimeout
	case errors.Is(cause, ErrDeadline), errors.Is(cause, context.DeadlineExceeded):
		return StopDeadline
	case errors.Is(cause, ErrCanceled):
		return StopCanceled
	case errors.Is(cause, ErrInterrupted):
		return StopInterrupted
	}
	return StopCanceled
}

// Kind is the *Error kind of a step a stop cut short (nil for StopNone).
func (s Stop) Kind() error {
	switch s {
	case StopDeadline:
		return ErrDeadline
	case StopScrapeTimeout:
		return ErrScrapeTimeout
	case StopInterrupted:
		return ErrInterrupted
	case StopCanceled:
		return ErrCanceled
	}
	return nil
}

// Reason is the stop in the words a "not checked" verdict uses.
func (s Stop) Reason() string {
	switch s {
	case StopDeadline:
		return "the probe deadline passed"
	case StopScrapeTimeout:
		return "the scrape timeout passed"
	case StopInterrupted:
		return "interrupted"
	case StopCanceled:
		return "cancelled"
	}
	return ""
}

// failure is the one mapper from a low-level error (dial, read, write, TLS
// handshake) to the typed *Error of phase. A stopped context decides
// first: its deadline or an interrupt closes the socket from outside, and
// whatever error the operation then saw, the stop is why it ended. So
// does the probe's deadline once it has passed: socket deadlines are set
// to it and may fire a moment before the context's timer does.
func failure(ctx context.Context, deadline time.Time, phase Phase, err error) *Error {
	if s := StopOf(ctx); s != StopNone {
		return &Error{Kind: s.Kind(), Phase: phase, Err: err}
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return &Error{Kind: ErrDeadline, Phase: phase, Err: err}
	}
	var ne net.Error
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
	switch {
	case timeout:
		// After a timeout the dialogue is out of step; like Postfix, hang
		// up without a QUIT that would only wait for another timeout.
		return &Error{Kind: ErrTimeout, Phase: phase, Err: err}
	case phase == PhaseTLS:
		// crypto/tls alerts, a peer that hangs up mid-handshake, a
		// handshake message that is not TLS: all are TLS failures, which
		// at Postfix's "may" level are retried in clear.
		return &Error{Kind: ErrTLS, Phase: phase, Detail: "handshake failure: " + err.Error(), Err: err}
	case errors.Is(err, ErrProtocol):
		return &Error{Kind: ErrProtocol, Phase: phase, Detail: strings.TrimPrefix(err.Error(), ErrProtocol.Error()+": "), Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Kind: ErrRefused, Phase: phase, Err: err}
	case phase == PhaseConnect && (errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.EADDRNOTAVAIL)):
		return &Error{Kind: ErrUnreachable, Phase: phase, Detail: syscallText(err), Err: err}
	case phase == PhaseConnect:
		return &Error{Kind: ErrUnreachable, Phase: phase, Detail: err.Error(), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return &Error{Kind: ErrLost, Phase: phase, Err: err}
	}
	return &Error{Kind: ErrLost, Phase: phase, Detail: err.Error(), Err: err}
}
