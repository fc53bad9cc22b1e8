package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/mailprobe/mailprobe/internal/ctxend"

	"github.com/miekg/dns"
)

// Errors callers branch on. They wrap the transport error, so errors.Is
// works on every error this package returns.
var (
	ErrTimeout    = errors.New("DNS query timed out")
	ErrIDMismatch = errors.New("DNS answer carried the wrong query ID")
	ErrNoServers  = errors.New("no DNS resolver configured")
)

// ErrBadAnswer (validate.go) joins these: an answer with the right ID that
// does not answer the question.

// Client sends queries to one or more recursive resolvers in order.
type Client struct {
	// Servers are host:port pairs, tried in order until one answers.
	Servers []string
	// Timeout bounds each single exchange (one server, one transport).
	Timeout time.Duration
	// UDPSize is the EDNS0 buffer size advertised; 0 means 1232, the
	// DNS flag day 2020 value that avoids IP fragmentation.
	UDPSize uint16
}

// DefaultTimeout is used when Client.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// New returns a client for the given resolver. An empty addr means the
// servers in /etc/resolv.conf. addr may omit the port (53 is assumed) and
// may be a bracketed IPv6 literal.
func New(addr string, timeout time.Duration) (*Client, error) {
	c := &Client{Timeout: timeout}
	if addr == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("reading resolv.conf: %w", err)
		}
		for _, s := range conf.Servers {
			c.Servers = append(c.Servers, net.JoinHostPort(s, conf.Port))
		}
		if len(c.Servers) == 0 {
			return nil, ErrNoServers
		}
		return c, nil
	}
	hostport, err := NormalizeServer(addr)
	if err != nil {
		return nil, err
	}
	c.Servers = []string{hostport}
	return c, nil
}

// NormalizeServer turns "ADDR", "ADDR:PORT", "[V6]:PORT" or "V6" into a
// host:port pair, rejecting anything that is not an IP address: a resolver
// named by host name would need a resolver to find it.
func NormalizeServer(addr string) (string, error) {
	host, port := addr, "53"
	if h, p, err := net.SplitHostPort(addr); err == nil {
		host, port = h, p
	}
	if ip := net.ParseIP(host); ip == nil {
		return "", fmt.Errorf("resolver %q: not an IP address", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("resolver %q: bad port", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// Query asks for name/qtype with recursion desired. It returns the first
// valid answer any server gives, whatever its RCODE, reduced by Validate
// to what may be believed. A truncated UDP answer is asked again over TCP
// from the same server.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if len(c.Servers) == 0 {
		return nil, ErrNoServers
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	size := c.UDPSize
	if size == 0 {
		size = 1232
	}
	m.SetEdns0(size, false)

	var lastErr error
	for _, server := range c.Servers {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		resp, err := c.exchange(ctx, m, server, "udp")
		if err == nil && resp.Truncated {
			resp, err = c.exchange(ctx, m, server, "tcp")
		}
		if err == nil {
			return resp, nil
		}
		answered := errors.Is(err, ErrBadAnswer) || errors.Is(err, ErrIDMismatch)
		if ctxend.Ended(ctx) && !answered {
			// The caller stopped us; its cause, not the resolver, is
			// why there is no answer. (A resolver that did answer, but
			// with something not to be believed, is named for that:
			// waiting longer would not have helped.)
			return nil, fmt.Errorf("resolver %s: %w", server, context.Cause(ctx))
		}
		lastErr = fmt.Errorf("resolver %s: %w", server, err)
	}
	return nil, lastErr
}

func (c *Client) exchange(ctx context.Context, m *dns.Msg, server, network string) (*dns.Msg, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl := &dns.Client{Net: network, Timeout: timeout, UDPSize: c.UDPSize}
	// A fresh copy per exchange: miekg/dns assigns the ID it checks.
	q := m.Copy()
	q.Id = dns.Id()
	if network == "udp" {
		return c.exchangeUDP(ctx, cl, q, server)
	}
	resp, _, err := cl.ExchangeContext(ctx, q, server)
	if err != nil {
		return nil, classify(err)
	}
	// One answer per TCP exchange: a bad one is final.
	valid, err := Validate(q, resp)
	if err == nil && resp.Truncated {
		// TC says "this message was truncated due to length greater than
		// that permitted on the transmission channel" (RFC 1035 §4.1.1);
		// TCP permits 65535 bytes, so a TCP answer with TC says it is
		// incomplete. Its records are not the whole answer — part of an
		// MX set, or an empty answer that would read as "no address" —
		// and are not believed. (Postfix's dns_query, given TC, asks
		// again with a larger buffer and at 64 KiB uses what it got; we
		// report the answer as malformed, a temporary failure, instead of
		// deciding from part of it.)
		return nil, fmt.Errorf("%w: TC (truncated) set on an answer over TCP: the message says it is incomplete", ErrBadAnswer)
	}
	return valid, err
}

// exchangeUDP sends q over UDP and waits for the answer carrying its ID.
// miekg/dns's own UDP exchange silently drops answers with another ID
// (they may be late answers to an earlier query, and accepting them would
// help a spoofer), so a resolver that always answers with the wrong ID
// looks exactly like one that never answers. We keep the same defence —
// such answers are never accepted — but remember that they arrived, so
// that when the deadline passes the caller learns the truth: the resolver
// did answer, with the wrong ID (ErrIDMismatch), rather than ErrTimeout.
// Answers with the right ID that fail Validate (an echoed query, another
// question) are treated the same way, as glibc's send_dg does ("goto
// wait"): skipped, so a spoofed or reflected datagram cannot hide the real
// answer, and named when the wait ends (ErrBadAnswer).
func (c *Client) exchangeUDP(ctx context.Context, cl *dns.Client, q *dns.Msg, server string) (*dns.Msg, error) {
	co, err := cl.DialContext(ctx, server)
	if err != nil {
		return nil, classify(err)
	}
	defer co.Close()
	if opt := q.IsEdns0(); opt != nil && opt.UDPSize() >= dns.MinMsgSize {
		// The read buffer must hold the largest answer we advertised.
		co.UDPSize = opt.UDPSize()
	}
	deadline, _ := ctx.Deadline() // exchange always sets one
	if err := co.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// Closing the socket when ctx ends unblocks the read at once, even if
	// ctx was cancelled rather than timed out.
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	if err := co.WriteMsg(q); err != nil {
		return nil, classify(orCtxErr(ctx, err))
	}
	mismatched := 0
	var invalid error
	for {
		resp, err := co.ReadMsg()
		if err != nil {
			err = classify(orCtxErr(ctx, err))
			switch {
			case invalid != nil && errors.Is(err, ErrTimeout):
				return nil, invalid
			case mismatched > 0 && errors.Is(err, ErrTimeout):
				return nil, fmt.Errorf("%w: %d answer(s) with an ID other than %d", ErrIDMismatch, mismatched, q.Id)
			}
			return nil, err
		}
		if resp.Id != q.Id {
			mismatched++
			continue
		}
		valid, err := Validate(q, resp)
		if err != nil {
			if invalid == nil {
				invalid = err
			}
			continue
		}
		return valid, nil
	}
}

// orCtxErr prefers the context's error when the context has ended: a read
// on a socket closed by context.AfterFunc fails with "use of closed
// network connection", which says nothing about why.
func orCtxErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, dns.ErrId):
		return fmt.Errorf("%w: %v", ErrIDMismatch, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return err
}
