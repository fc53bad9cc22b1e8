package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newProbeCmd) }

// probeFlags are the raw flag values; toConfig validates them into a
// probe.Config so that nothing unchecked reaches the wire.
type probeFlags struct {
	protocol, server, from, helo, starttls, source, dnsbl, lists, publicIP string
	port                                                                   int
	timeout, deadline                                                      time.Duration
	ipv4, ipv6, allMX, catchAll, tlsVerify, transcript                     bool
	fromSet                                                                bool
}

func newProbeCmd(g *globals) *cobra.Command {
	f := &probeFlags{}
	cmd := &cobra.Command{
		Use:   "probe RECIPIENT|DOMAIN...",
		Short: "Ask the receiving servers whether they would accept mail for recipients",
		Long: `Resolve each recipient's MX hosts, run EHLO/MAIL/RCPT (LHLO for LMTP) the way an
MTA would, never DATA, and report a verdict per recipient: first the line Postfix
would log, then in plain words. A bare DOMAIN probes postmaster@DOMAIN, which every
mail domain must accept (RFC 5321 §4.5.1).

Defaults chosen so that a probe is not rejected for being one: EHLO with this
machine's fully-qualified name (Postfix's rule: the host name, with ".localdomain"
appended when it has no dot), and MAIL FROM:<postmaster@that name>.`,
		Example: `  mailprobe probe user@example.org
  mailprobe probe --server 127.0.0.1:2525 --transcript a@example.org b@example.org
  mailprobe probe --protocol lmtp --server unix:/run/dovecot/lmtp user@example.org
  mailprobe probe --output json example.org`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !batchRequested(cmd) {
				return usagef("probe needs at least one RECIPIENT or DOMAIN (or --rcpt-file)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.fromSet = cmd.Flags().Changed("from")
			return runProbe(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.protocol, "protocol", "smtp", "smtp, lmtp (LHLO, e.g. Dovecot) or smtps (implicit TLS)")
	fl.StringVar(&f.server, "server", "", "bypass MX: HOST[:PORT], [IPV6]:PORT or unix:/path (like swaks --server)")
	fl.IntVar(&f.port, "port", 0, "port of MX hosts (default 25; 24 for lmtp, 465 for smtps)")
	fl.StringVar(&f.from, "from", "", "envelope sender; '' is the null sender <> (default postmaster@HELO)")
	fl.StringVar(&f.helo, "helo", "", "EHLO/LHLO name (default this machine's FQDN)")
	fl.StringVar(&f.starttls, "starttls", "auto", "auto (use when offered), always (fail without TLS) or never")
	fl.BoolVar(&f.tlsVerify, "tls-verify", false, "treat a certificate that does not verify for the MX name as a failure")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each phase (connect, greeting, each reply)")
	fl.DurationVar(&f.deadline, "deadline", 2*time.Minute, "deadline of the whole probe")
	fl.StringVar(&f.source, "source", "", "local address to connect from (like Postfix smtp_bind_address)")
	fl.BoolVarP(&f.ipv4, "ipv4", "4", false, "use IPv4 addresses only")
	fl.BoolVarP(&f.ipv6, "ipv6", "6", false, "use IPv6 addresses only")
	fl.BoolVar(&f.allMX, "all-mx", false, "probe every MX host and address concurrently and report each")
	fl.BoolVar(&f.catchAll, "catch-all-check", false, "also ask for a random local part to detect catch-all domains")
	fl.StringVar(&f.dnsbl, "dnsbl", "auto", "check blocklists for the addresses used: auto (when a server refused), always, never")
	fl.StringVar(&f.lists, "lists", "", "DNSBLs to check (see mailprobe blacklist --help); default the built-in set")
	fl.StringVar(&f.publicIP, "public-ip", "", "the public address receivers see, checked instead of a private local address")
	fl.BoolVar(&f.transcript, "transcript", false, "show the dialogue swaks-style (-> sent, <- received)")
	addBatchFlags(cmd)
	return cmd
}

func runProbe(cmd *cobra.Command, g *globals, f *probeFlags, args []string) error {
	if batchRequested(cmd) {
		return runBatch(cmd, g, f, args)
	}
	if err := g.checkOutput("text", "json", "postfix"); err != nil {
		return err
	}
	cfg, err := f.toConfig(g)
	if err != nil {
		return err
	}
	targets := make([]probe.Target, 0, len(args))
	for _, a := range args {
		addr, err := probe.ParseTarget(a)
		if err != nil {
			return &usageError{err}
		}
		if addr.Local == "" {
			addr = probe.DomainRecipient(addr)
		}
		targets = append(targets, probe.Target{Address: addr})
	}
	if f.transcript {
		w := g.stdout
		if g.output != "text" {
			w = g.stderr
		}
		cfg.Transcript = transcriptWriter(w, f.allMX)
	}
	res, err := probe.Run(cmd.Context(), cfg, targets)
	if err != nil {
		return err
	}
	verdicts := report.JudgeAll(res)
	switch g.output {
	case "json":
		err = report.JSON(g.stdout, res)
	case "postfix":
		err = report.Postfix(g.stdout, res)
	default:
		err = report.Text(g.stdout, res, report.TextOptions{Color: useColor(g.stdout)})
	}
	if err != nil {
		return err
	}
	return withCode(report.ExitCode(verdicts))
}

func (f *probeFlags) toConfig(g *globals) (probe.Config, error) {
	cfg := probe.Config{
		Protocol: probe.Protocol(f.protocol), Port: f.port, STARTTLS: probe.TLSMode(f.starttls),
		TLSVerify: f.tlsVerify, Timeout: f.timeout, Deadline: f.deadline,
		AllMX: f.allMX, CatchAllCheck: f.catchAll,
	}
	switch cfg.Protocol {
	case probe.ProtocolSMTP, probe.ProtocolLMTP, probe.ProtocolSMTPS:
	default:
		return cfg, usagef("--protocol %q: want smtp, lmtp or smtps", f.protocol)
	}
	switch cfg.STARTTLS {
	case probe.TLSAuto, probe.TLSAlways, probe.TLSNever:
	default:
		return cfg, usagef("--starttls %q: want auto, always or never", f.starttls)
	}
	if f.port < 0 || f.port > 65535 {
		return cfg, usagef("--port %d: want 1 to 65535", f.port)
	}
	if f.timeout <= 0 || f.deadline <= 0 {
		return cfg, usagef("--timeout and --deadline must be positive")
	}
	if f.ipv4 && f.ipv6 {
		return cfg, usagef("-4 and -6 exclude each other")
	}
	cfg.Family = mx.FamilyAny
	if f.ipv4 {
		cfg.Family = mx.FamilyIPv4
	}
	if f.ipv6 {
		cfg.Family = mx.FamilyIPv6
	}
	if f.server != "" {
		srv, err := probe.ParseServer(f.server)
		if err != nil {
			return cfg, &usageError{err}
		}
		if srv.Network == "unix" && cfg.Protocol != probe.ProtocolLMTP {
			return cfg, usagef("--server unix:… needs --protocol lmtp")
		}
		cfg.Server = srv
	}
	if f.source != "" {
		ip, err := netip.ParseAddr(f.source)
		if err != nil {
			return cfg, usagef("--source %q: not an IP address", f.source)
		}
		cfg.Source = ip
	}
	cfg.HELO = f.helo
	if cfg.HELO == "" {
		cfg.HELO = defaultHELO()
	}
	if err := probe.ValidateHELO(cfg.HELO); err != nil {
		return cfg, &usageError{err}
	}
	cfg.From = "postmaster@" + cfg.HELO
	if f.fromSet {
		cfg.From = f.from
		if f.from != "" {
			a, err := probe.ParseAddress("--from", f.from)
			if err != nil {
				return cfg, &usageError{err}
			}
			cfg.From = a.String()
		}
	}
	if f.publicIP != "" {
		ip, err := netip.ParseAddr(f.publicIP)
		if err != nil {
			return cfg, usagef("--public-ip %q: not an IP address", f.publicIP)
		}
		cfg.PublicIP = ip
	}
	needDNS := cfg.Server == nil || cfg.Server.Network == "tcp" && !isIP(cfg.Server.Host)
	switch f.dnsbl {
	case "never":
	case "auto", "always":
		cfg.DNSBLAlways = f.dnsbl == "always"
		needDNS = true
	default:
		return cfg, usagef("--dnsbl %q: want auto, always or never", f.dnsbl)
	}
	if needDNS {
		c, err := g.dns()
		if err != nil {
			return cfg, err
		}
		cfg.DNS = c
	}
	if f.dnsbl != "never" {
		chk, err := newDNSBLChecker(g, cfg.DNS, f.lists)
		if err != nil {
			return cfg, err
		}
		cfg.DNSBL = chk
		cfg.BlockLike = report.BlockLike
	}
	return cfg, nil
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// defaultHELO is this machine's name the way Postfix derives
// $myhostname: the kernel's host name, with ".localdomain" appended when
// it is not fully qualified. It asks no DNS, so it never leaks a lookup
// or hangs on a broken resolver.
func defaultHELO() string {
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

// transcriptWriter prints the dialogue as it happens. Lines of one
// attempt never interleave mid-line; with --all-mx each line is prefixed
// with its host, since attempts run at once.
func transcriptWriter(w io.Writer, prefix bool) probe.TranscriptFunc {
	var mu sync.Mutex
	return func(att *probe.Attempt, dir, line string) {
		mu.Lock()
		defer mu.Unlock()
		p := ""
		if prefix {
			p = "[" + att.String() + "] "
		}
		switch dir {
		case probe.DirInfo:
			fmt.Fprintf(w, "%s=== %s\n", p, line)
		case probe.DirSent:
			fmt.Fprintf(w, "%s -> %s\n", p, line)
		default:
			fmt.Fprintf(w, "%s<-  %s\n", p, line)
		}
	}
}
