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
	// nexthop is the destination the route came from: the recipient
	// domain, or --server's host. Postfix's "secure" level matches the
	// certificate against it.
	nexthop string
}

func (t target) dialAddr() string {
	if t.network == "unix" {
		return t.address
	}
	return net.JoinHostPort(t.address, strconv.Itoa(t.port))
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

// dial connects to t: TCP from the configured source address, or a unix
// socket. It records the connect step; a failure comes back through the
// one failure mapper, so a stopped probe says why it stopped.
func (p *prober) dial(ctx context.Context, t target, att *Attempt) (net.Conn, *Error) {
	start := time.Now()
	d := net.Dialer{Timeout: p.cfg.Timeout}
	if p.cfg.Source.IsValid() && t.network == "tcp" {
		d.LocalAddr = &net.TCPAddr{IP: p.cfg.Source.AsSlice()}
	}
	if p.tap != nil {
		p.tap(att, DirInfo, "Trying "+att.String()+"...")
	}
	nc, err := d.DialContext(ctx, t.network, t.dialAddr())
	step := Step{Phase: PhaseConnect, Start: start, Duration: time.Since(start)}
	if err != nil {
		e := failure(ctx, p.deadline, PhaseConnect, err)
		step.Err = e.Error()
		att.Steps = append(att.Steps, step)
		return nil, e
	}
	att.Steps = append(att.Steps, step)
	if la := nc.LocalAddr(); la != nil && t.network == "tcp" {
		att.Local = la.String()
	}
	return nc, nil
}
