package probe

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/mx"
)

// Config is everything a probe run needs, validated. Build it with
// NewConfig (or NewBatchConfig) from Options; a Config written by hand
// (tests) gets the defaults of the zero fields from the table in
// defaults.go when Run or NewBatch checks it.
type Config struct {
	Protocol Protocol
	// Server bypasses MX resolution: "host", "host:port", "[v6]:port" or
	// "unix:/path" (LMTP). Parse it with ParseServer.
	Server *Server
	// Port for MX hosts; 0 means 25 (24 for LMTP, 465 for SMTPS).
	Port int
	// MXDomain, when set, is resolved (MX, then implicit MX) in place of
	// each recipient's domain: a Postfix nexthop such as relayhost =
	// example.net or transport "smtp:example.net" (smtp_connect.c).
	MXDomain string
	// From is the envelope sender without brackets; "" is the null
	// sender <>. With SenderAuto, ChooseSender (called by Run and
	// Batch.Run) sets it: double-bounce@HELO when the HELO name resolves,
	// else <>.
	From       string
	SenderAuto bool
	// Warn, when set, receives each warning about the probe's identity
	// (a HELO name or sender domain that does not resolve) before the
	// first connection.
	Warn         func(string)
	senderChosen bool
	HELO         string
	STARTTLS     TLSMode
	// TLSVerify makes a certificate that does not verify for the MX name
	// fatal for that host. Off by default: like an MTA at Postfix's "may"
	// level the probe reports it and goes on.
	TLSVerify bool
	// TLSSecure (Postfix's "secure" level) matches the certificate
	// against the next-hop domain and its subdomains instead of the MX
	// host name; TLSLevel is the level's Postfix name for reports.
	TLSSecure bool
	TLSLevel  string
	// TLSRoots replaces the system roots (tests).
	TLSRoots *x509.CertPool

	// Timeout bounds each phase (connect, greeting, each reply);
	// Deadline bounds the whole run.
	Timeout  time.Duration
	Deadline time.Duration

	// Source binds the local address of TCP connections.
	Source netip.Addr
	Family mx.Family
	DNS    *dnsclient.Client

	// AllMX probes every host and address concurrently instead of
	// stopping where an MTA would.
	AllMX bool
	// MaxAddresses and MaxSessions mirror Postfix's smtp_mx_address_limit
	// (5) and smtp_mx_session_limit (2): how many addresses an MTA tries
	// and how many greeted sessions it spends before deferring.
	MaxAddresses int
	MaxSessions  int
	// RcptWindow is how many RCPTs go in one transaction (and one
	// pipelined write).
	RcptWindow int

	// CatchAllCheck also asks RCPT for a random local part of each
	// domain, to tell a real mailbox from a catch-all.
	CatchAllCheck bool

	// DNSBL, when set, checks the local addresses used and the MX
	// addresses against blocklists after a block-like refusal (BlockLike,
	// nil: defaultBlockLike); DNSBLAlways checks even when no server
	// refused anything.
	DNSBL       DNSBLChecker
	DNSBLAlways bool
	BlockLike   BlockLikeFunc
	// PublicIP is checked instead of a private local address.
	PublicIP netip.Addr

	Transcript TranscriptFunc

	// Resolver, DNSTimeout and Lists record the --resolver,
	// --dns-timeout and --lists that NewConfig built DNS and DNSBL from,
	// so that Args can print the command that reproduces the run.
	Resolver   string
	DNSTimeout time.Duration
	Lists      string
}

// DNSBLChecker is what probe needs of package blacklist; an interface so
// tests can stand in for the network.
type DNSBLChecker interface {
	// CheckAddrs asks the configured lists and the zones a refusal named
	// about addrs.
	CheckAddrs(ctx context.Context, addrs []netip.Addr, named []string) []blacklist.Result
	// Lists are the configured lists (to recognise their zones in URLs).
	Lists() []blacklist.List
}

// Server is a parsed --server value.
type Server struct {
	Network string // "tcp" or "unix"
	Host    string // host name or IP (tcp), socket path (unix)
	Port    int    // 0: the protocol's default
}

func (s *Server) String() string {
	if s.Network == "unix" {
		return "unix:" + s.Host
	}
	if s.Port == 0 {
		return s.Host
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// ParseServer parses --server like swaks --server: HOST, HOST:PORT,
// [IPV6]:PORT, IPV6, or unix:/path.
func ParseServer(s string) (*Server, error) {
	bad := func(p string) (*Server, error) { return nil, &InputError{Field: "--server", Value: s, Problem: p} }
	if p := controlProblem(s); p != "" {
		return bad(p)
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return bad("a unix socket needs an absolute path (unix:/path)")
		}
		return &Server{Network: "unix", Host: path}, nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	srv := &Server{Network: "tcp", Host: strings.TrimSuffix(host, ".")}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("port must be a number from 1 to 65535")
		}
		srv.Port = n
	}
	if ip, err := netip.ParseAddr(srv.Host); err == nil {
		if ip.Zone() != "" {
			return bad("zoned IPv6 addresses are not supported")
		}
		return srv, nil
	}
	if _, err := parseDomainPart(srv.Host); err != nil {
		// Single-label names such as "localhost" are fine for a server.
		if !isHostLabel(srv.Host) {
			return bad(err.Error())
		}
	}
	return srv, nil
}

func isHostLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// withDefaults fills the documented defaults and rejects a config that
// cannot work; Run and NewBatch share it.
func (cfg Config) withDefaults(route bool) (Config, error) {
	if cfg.Protocol == "" {
		cfg.Protocol = ProtocolSMTP
	}
	if cfg.STARTTLS == "" {
		cfg.STARTTLS = TLSAuto
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort(cfg.Protocol)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = DefaultMaxAddresses
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.HELO == "" {
		return cfg, fmt.Errorf("%w: HELO name is empty", ErrBadInput)
	}
	if route && cfg.Server == nil && cfg.DNS == nil {
		return cfg, fmt.Errorf("%w: no DNS client for MX resolution", ErrBadInput)
	}
	return cfg, nil
}
