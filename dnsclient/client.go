package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// Errors callers branch on. They wrap the transport error, so errors.Is
// works on every error this package returns.
var (
	ErrTimeout    = errors.New("DNS query timed out")
	ErrIDMismatch = errors.New("DNS answer carried the wrong query ID")
	ErrNoServers  = errors.New("no DNS resolver configured")
)

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

// Describe names the resolver(s) for messages such as "resolver 127.0.0.1:53
// timed out".
func (c *Client) Describe() string {
	if len(c.Servers) == 1 {
		return c.Servers[0]
	}
	return fmt.Sprint(c.Servers)
}

// Query asks for name/qtype with recursion desired. It returns the first
// answer any server gives, whatever its RCODE. A truncated UDP answer is
// asked again over TCP from the same server.
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
		if err := ctx.Err(); err != nil {
			return nil, classify(err)
		}
		resp, err := c.exchange(ctx, m, server, "udp")
		if err == nil && resp.Truncated {
			resp, err = c.exchange(ctx, m, server, "tcp")
		}
		if err == nil {
			return resp, nil
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
	resp, _, err := cl.ExchangeContext(ctx, q, server)
	if err != nil {
		return nil, classify(err)
	}
	return resp, nil
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
