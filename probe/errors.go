package probe

import (
	"errors"
	"fmt"
)

// Sentinel kinds of failure. An *Error wraps exactly one of them, so
// callers (report, cmd) branch with errors.Is.
var (
	ErrRefused     = errors.New("connection refused")
	ErrUnreachable = errors.New("network unreachable")
	ErrTimeout     = errors.New("timed out")
	ErrLost        = errors.New("lost connection")
	ErrProtocol    = errors.New("protocol error")
	ErrTLS         = errors.New("TLS failure")
	ErrTLSRequired = errors.New("STARTTLS required but not offered")
	ErrRejected    = errors.New("server rejected the command")
	ErrDeadline    = errors.New("probe deadline exceeded")
	ErrNotChecked  = errors.New("not checked")
	ErrInterrupted = errors.New("interrupted")
	ErrNoSMTPUTF8  = errors.New("address needs SMTPUTF8 but the server does not offer it")
)

// Error is a failure of one attempt, tied to the phase it happened in.
type Error struct {
	Kind  error // one of the sentinels above
	Phase Phase
	// Reply is the server's reply when the server said no (Kind ==
	// ErrRejected), or the malformed reply for ErrProtocol when one was
	// read.
	Reply *Reply
	// Detail is the lower-level reason: the dial error, "reply line
	// longer than 2048 bytes", the TLS alert…
	Detail string
	Err    error // underlying error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %v", e.Phase, e.Kind)
	if e.Reply != nil {
		s += ": " + e.Reply.Text()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// TLSMode says what to do about STARTTLS.
type TLSMode string

const (
	TLSAuto   TLSMode = "auto"   // use it when offered, go on in clear when not
	TLSAlways TLSMode = "always" // fail the host when not offered or not working
	TLSNever  TLSMode = "never"
)
