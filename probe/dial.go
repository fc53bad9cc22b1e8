package probe

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is one place to dial: an address of an MX host, the --server, or
// a unix socket.
type target struct {
	host    string // name for reports and certificate checks
	address string // IP, or socket path for unix
	port    int
	network string // "tcp" or "unix"
}

func (t target) dialAddr() string {
	if t.network == "unix" {
		return t.address
	}
	return net.JoinHostPort(t.address, strconv.Itoa(t.port))
}

// dialError classifies a failed connect the way Postfix words it.
func dialError(err error, deadline time.Time) *Error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Kind: ErrRefused, Phase: PhaseConnect, Err: err}
	case errors.Is(err, context.DeadlineExceeded) && !deadline.IsZero() && !time.Now().Before(deadline):
		return &Error{Kind: ErrDeadline, Phase: PhaseConnect, Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: ErrInterrupted, Phase: PhaseConnect, Err: err}
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: ErrTimeout, Phase: PhaseConnect, Err: err}
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return &Error{Kind: ErrUnreachable, Phase: PhaseConnect, Detail: syscallText(err), Err: err}
	}
	return &Error{Kind: ErrUnreachable, Phase: PhaseConnect, Detail: err.Error(), Err: err}
}

// syscallText gives the strerror text Postfix would log ("No route to
// host", "Network is unreachable").
func syscallText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
