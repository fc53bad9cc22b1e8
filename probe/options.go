package probe

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/mx"
)

// Options are a probe's settings as a person or a configuration file
// gives them: strings and numbers, nothing built yet. NewConfig is the one
// way from Options to a Config: it validates every field, fills the
// defaults from the table in defaults.go and builds the clients (DNS,
// DNSBL). The command line, the lab, demo and every later caller (the
// exporter, maillog --probe, postfix verify) go through it.
//
// Start from DefaultOptions and change what differs: the zero value of a
// numeric field is an explicit (and refused) zero, not "the default", so
// that `--timeout 0` is an error rather than 30 s.
//
// Errors name the setting by its mailprobe flag ("--timeout"), which is
// also the key a caller's own configuration is expected to mirror.
type Options struct {
	Protocol string // smtp, lmtp or smtps
	// Server bypasses MX: HOST[:PORT], [IPV6]:PORT or unix:/path (LMTP).
	Server string
	Port   int // of MX hosts; 0: the protocol's port (DefaultPort)
	// HELO is the EHLO/LHLO name; "" means DefaultHELO().
	HELO string
	// From is the envelope sender; "<>" is the null sender (as swaks
	// takes it), and so is NullSender. "" leaves the choice to
	// ChooseSender: double-bounce@HELO when the HELO name resolves, else
	// the null sender.
	From       string
	NullSender bool
	STARTTLS   string // auto, always or never
	TLSVerify  bool
	// TLSRoots replaces the system roots (the lab, tests).
	TLSRoots *x509.CertPool

	Timeout  time.Duration // each phase
	Deadline time.Duration // the whole run; batches: 0 means none

	Source   string // local address to bind (IP), "" for any
	PublicIP string // the address receivers see, checked instead of a private one
	IPv4     bool   // -4
	IPv6     bool   // -6

	AllMX         bool
	CatchAllCheck bool

	// DNSBL is auto (check when a server refused), always or never;
	// Lists is a blacklist.ParseLists spec, "" the built-in set.
	DNSBL string
	Lists string
	// BlockLike tells a block-like refusal (report.BlockLike); nil: the
	// probe's own default.
	BlockLike BlockLikeFunc

	// Resolver is the DNS server, ADDR[:PORT]; "" means /etc/resolv.conf.
	Resolver   string
	DNSTimeout time.Duration

	// Batch settings (NewBatchConfig only).
	RcptWindow       int
	Concurrency      int
	Rate             float64 // RCPTs per second over the batch; 0: no cap
	MaxSessionErrors int     // 0: the protocol's default; -1: none

	Transcript TranscriptFunc
}

// DefaultOptions returns the defaults table as Options.
func DefaultOptions() Options {
	return Options{
		Protocol: string(ProtocolSMTP), STARTTLS: string(TLSAuto), DNSBL: "auto",
		Timeout: DefaultTimeout, Deadline: DefaultDeadline, DNSTimeout: DefaultDNSTimeout,
		RcptWindow: DefaultRcptWindow, Concurrency: DefaultConcurrency,
	}
}

// ConfigError is a setting that cannot work. It wraps ErrBadInput (and
// the underlying parse error, if any), so callers branch with
// errors.Is(err, ErrBadInput) whatever the setting; nothing was sent.
type ConfigError struct {
	Option string // the flag: "--timeout", "-4", "--resolver"…
	Msg    string // the whole message, naming the option
	Err    error
}

func (e *ConfigError) Error() string { return e.Msg }

func (e *ConfigError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBadInput, e.Err}
	}
	return []error{ErrBadInput}
}

func configErr(option string, err error, format string, a ...any) *ConfigError {
	return &ConfigError{Option: option, Msg: fmt.Sprintf(format, a...), Err: err}
}

// NewConfig validates o and returns the Config a single probe run
// (probe.Run) needs. Every error wraps ErrBadInput.
func NewConfig(o Options) (Config, error) {
	cfg := Config{
		Protocol: Protocol(o.Protocol), Port: o.Port, STARTTLS: TLSMode(o.STARTTLS),
		TLSVerify: o.TLSVerify, TLSRoots: o.TLSRoots, Timeout: o.Timeout, Deadline: o.Deadline,
		AllMX: o.AllMX, CatchAllCheck: o.CatchAllCheck, Transcript: o.Transcript,
		MaxAddresses: DefaultMaxAddresses, MaxSessions: DefaultMaxSessions, RcptWindow: DefaultRcptWindow,
		Resolver: o.Resolver, DNSTimeout: o.DNSTimeout, Lists: o.Lists,
	}
	if !cfg.Protocol.Valid() {
		return cfg, configErr("--protocol", nil, "--protocol %q: want %s", o.Protocol, protocolNames())
	}
	lvl, err := ParseTLSLevel(o.STARTTLS)
	if err != nil {
		return cfg, configErr("--starttls", err, "--starttls %q: %v", o.STARTTLS, err)
	}
	cfg.STARTTLS, cfg.TLSLevel, cfg.TLSSecure = lvl.Mode, lvl.Name, lvl.Nexthop
	cfg.TLSVerify = o.TLSVerify || lvl.Verify
	if o.Port < 0 || o.Port > 65535 {
		return cfg, configErr("--port", nil, "--port %d: want 1 to 65535", o.Port)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort(cfg.Protocol)
	}
	if o.Timeout <= 0 || o.Deadline <= 0 {
		return cfg, configErr("--timeout", nil, "--timeout and --deadline must be positive")
	}
	if o.DNSTimeout < 0 {
		return cfg, configErr("--dns-timeout", nil, "--dns-timeout must not be negative")
	}
	if o.DNSTimeout == 0 {
		// As dnsclient reads a zero timeout.
		cfg.DNSTimeout, o.DNSTimeout = DefaultDNSTimeout, DefaultDNSTimeout
	}
	switch {
	case o.IPv4 && o.IPv6:
		return cfg, configErr("-4", nil, "-4 and -6 exclude each other")
	case o.IPv4:
		cfg.Family = mx.FamilyIPv4
	case o.IPv6:
		cfg.Family = mx.FamilyIPv6
	default:
		cfg.Family = mx.FamilyAny
	}
	if o.Server != "" {
		srv, err := ParseServer(o.Server)
		if err != nil {
			return cfg, err
		}
		if srv.Network == "unix" {
			// A unix socket is how Postfix's lmtp(8) reaches Dovecot or
			// Cyrus (lmtp:unix:/path); smtp(8) has no unix sockets. So
			// unix: implies LMTP, and only SMTPS, which needs TCP for its
			// TLS name, is refused.
			switch cfg.Protocol {
			case ProtocolSMTPS:
				return cfg, configErr("--server", nil, "--server unix:… speaks LMTP; --protocol smtps needs a TCP server")
			case ProtocolSMTP:
				cfg.Protocol = ProtocolLMTP
				if o.Port == 0 {
					cfg.Port = DefaultPort(ProtocolLMTP)
				}
			}
		}
		cfg.Server = srv
	}
	if o.Source != "" {
		ip, err := netip.ParseAddr(o.Source)
		if err != nil {
			return cfg, configErr("--source", err, "--source %q: not an IP address", o.Source)
		}
		if err := checkLocalAddr(ip); err != nil {
			return cfg, configErr("--source", err, "--source %s: not an address of this host (%v); give one of its own addresses, like Postfix's smtp_bind_address", ip, err)
		}
		cfg.Source = ip
	}
	cfg.HELO = o.HELO
	if cfg.HELO == "" {
		cfg.HELO = DefaultHELO()
	}
	if err := ValidateHELO(cfg.HELO); err != nil {
		return cfg, err
	}
	if strings.TrimSpace(o.From) == NullSenderArg {
		o.From, o.NullSender = "", true
	}
	switch {
	case o.NullSender:
		if o.From != "" {
			return cfg, configErr("--from", nil, "--from %q: a null sender has no address", o.From)
		}
	case o.From == "":
		cfg.SenderAuto = true
	default:
		a, err := ParseAddress("--from", o.From)
		if err != nil {
			return cfg, err
		}
		cfg.From = a.String()
	}
	if o.PublicIP != "" {
		ip, err := netip.ParseAddr(o.PublicIP)
		if err != nil {
			return cfg, configErr("--public-ip", err, "--public-ip %q: not an IP address", o.PublicIP)
		}
		cfg.PublicIP = ip
	}

	// DNS is needed to route (MX, a --server name) and for blocklists; a
	// resolver given explicitly is also used to check the probe's own
	// names (ChooseSender). The system resolver is never asked just for
	// that.
	needDNS := cfg.Server == nil || cfg.Server.Network == "tcp" && !isIP(cfg.Server.Host) || o.Resolver != ""
	switch o.DNSBL {
	case "never":
	case "auto", "always":
		cfg.DNSBLAlways = o.DNSBL == "always"
		needDNS = true
	default:
		return cfg, configErr("--dnsbl", nil, "--dnsbl %q: want auto, always or never", o.DNSBL)
	}
	// A resolver named by the user also serves ChooseSender's checks of
	// the HELO name and the sender's domain, even where routing needs no
	// DNS (--server with an IP address).
	if needDNS || o.Resolver != "" {
		c, err := dnsclient.New(o.Resolver, o.DNSTimeout)
		if err != nil {
			return cfg, configErr("--resolver", err, "--resolver: %v", err)
		}
		cfg.DNS = c
	}
	if o.DNSBL != "never" {
		chk, err := NewDNSBLChecker(cfg.DNS, o.Lists, o.DNSTimeout)
		if err != nil {
			return cfg, err
		}
		cfg.DNSBL = chk
		cfg.BlockLike = o.BlockLike
	}
	return cfg, nil
}

// NewBatchConfig validates o for a batch (Batch.Run): the Config and the
// BatchOptions. All-MX and the catch-all check do not apply to batches
// and are refused; blocklists are not checked; Deadline 0 means none.
func NewBatchConfig(o Options) (Config, BatchOptions, error) {
	var bo BatchOptions
	switch {
	case o.RcptWindow < 1 || o.RcptWindow > MaxRcptWindow:
		return Config{}, bo, configErr("--rcpt-window", nil, "--rcpt-window %d: want 1 to %d", o.RcptWindow, MaxRcptWindow)
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return Config{}, bo, configErr("--concurrency", nil, "--concurrency %d: want 1 to %d", o.Concurrency, MaxConcurrency)
	case o.Rate < 0:
		return Config{}, bo, configErr("--rate", nil, "--rate must not be negative")
	case o.AllMX || o.CatchAllCheck:
		return Config{}, bo, configErr("--all-mx", nil, "--all-mx and --catch-all-check do not apply to --rcpt-file")
	case o.Deadline < 0:
		return Config{}, bo, configErr("--deadline", nil, "--deadline must not be negative")
	}
	deadline := o.Deadline
	if deadline == 0 {
		o.Deadline = DefaultDeadline // validated below, then dropped
	}
	cfg, err := NewConfig(o)
	if err != nil {
		return cfg, bo, err
	}
	cfg.Deadline = deadline
	cfg.DNSBL = nil
	bo = BatchOptions{Window: o.RcptWindow, Concurrency: o.Concurrency, Rate: o.Rate, MaxSessionErrors: o.MaxSessionErrors}
	bo, err = bo.withDefaults(cfg.Protocol)
	if err != nil {
		return cfg, bo, configErr("--rate", err, "%v", err)
	}
	cfg.RcptWindow = bo.Window
	return cfg, bo, nil
}

// NewDNSBLChecker builds the checker a probe uses for --dnsbl from a
// blacklist.ParseLists spec ("" for the built-in set), asking through the
// same DNS client as MX. Only IP lists apply: a probe asks about
// addresses.
func NewDNSBLChecker(c *dnsclient.Client, spec string, timeout time.Duration) (blacklist.AddrChecker, error) {
	lists := blacklist.DefaultLists()
	if spec != "" {
		l, err := blacklist.ParseLists(spec)
		if err != nil {
			return blacklist.AddrChecker{}, configErr("--lists", err, "--lists: %v", err)
		}
		lists = l
	}
	var ipLists []blacklist.List
	for _, l := range lists {
		if l.Kind == blacklist.KindIP {
			ipLists = append(ipLists, l)
		}
	}
	return blacklist.AddrChecker{Checker: &blacklist.Checker{Resolver: blacklist.DNSResolver{Client: c}, Lists: ipLists, Timeout: timeout}}, nil
}

// DefaultHELO is this machine's name the way Postfix derives
// $myhostname: the kernel's host name, with ".localdomain" appended when
// it is not fully qualified. It asks no DNS, so it never leaks a lookup
// or hangs on a broken resolver.
func DefaultHELO() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if !strings.Contains(h, ".") {
		h += ".localdomain"
	}
	return h
}

// checkLocalAddr tells whether ip can be bound here, by binding a TCP
// socket to it on an ephemeral port and closing it at once: nothing is
// sent, and an address of another host fails exactly as the probe's
// connect would ("cannot assign requested address"), but before any
// connection is attempted.
func checkLocalAddr(ip netip.Addr) error {
	l, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return se.Err
		}
		return err
	}
	return l.Close()
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// Args renders cfg as the `mailprobe probe` flags that reproduce it,
// settings at their defaults left out. It covers what NewConfig sets;
// TLSRoots, a DNSBL checker not built from Lists and Transcript have no
// flag. Recipients go after the flags.
func (cfg Config) Args() []string {
	var a []string
	add := func(flag, v string) { a = append(a, flag, v) }
	if cfg.Resolver != "" {
		add("--resolver", cfg.Resolver)
	}
	if cfg.Protocol != "" && cfg.Protocol != ProtocolSMTP {
		add("--protocol", string(cfg.Protocol))
	}
	if cfg.Server != nil {
		add("--server", cfg.Server.String())
	}
	if cfg.Port != 0 && cfg.Port != DefaultPort(cfg.Protocol) {
		add("--port", strconv.Itoa(cfg.Port))
	}
	if cfg.HELO != "" && cfg.HELO != DefaultHELO() {
		add("--helo", cfg.HELO)
	}
	switch {
	case cfg.SenderAuto:
	case cfg.From == "":
		add("--from", NullSenderArg)
	default:
		add("--from", cfg.From)
	}
	switch {
	case cfg.TLSLevel == "verify" || cfg.TLSLevel == "secure":
		add("--starttls", cfg.TLSLevel)
	case cfg.STARTTLS != "" && cfg.STARTTLS != TLSAuto:
		add("--starttls", string(cfg.STARTTLS))
	}
	if cfg.TLSVerify && cfg.TLSLevel != "verify" && cfg.TLSLevel != "secure" {
		a = append(a, "--tls-verify")
	}
	if cfg.Timeout != 0 && cfg.Timeout != DefaultTimeout {
		add("--timeout", cfg.Timeout.String())
	}
	if cfg.Deadline != DefaultDeadline {
		add("--deadline", cfg.Deadline.String())
	}
	if cfg.DNSTimeout != 0 && cfg.DNSTimeout != DefaultDNSTimeout {
		add("--dns-timeout", cfg.DNSTimeout.String())
	}
	if cfg.Source.IsValid() {
		add("--source", cfg.Source.String())
	}
	switch cfg.Family {
	case mx.FamilyIPv4:
		a = append(a, "-4")
	case mx.FamilyIPv6:
		a = append(a, "-6")
	}
	if cfg.AllMX {
		a = append(a, "--all-mx")
	}
	if cfg.CatchAllCheck {
		a = append(a, "--catch-all-check")
	}
	switch {
	case cfg.DNSBL == nil:
		add("--dnsbl", "never")
	case cfg.DNSBLAlways:
		add("--dnsbl", "always")
	}
	if cfg.DNSBL != nil && cfg.Lists != "" {
		add("--lists", cfg.Lists)
	}
	if cfg.PublicIP.IsValid() {
		add("--public-ip", cfg.PublicIP.String())
	}
	return a
}
