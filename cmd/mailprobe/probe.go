package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newProbeCmd) }

// probeFlags are the flag values: probe.Options, bound flag by flag, so
// the defaults and their help come from probe's one table and
// probe.NewConfig validates them before anything reaches the wire.
type probeFlags struct {
	o          probe.Options
	transcript bool
}

func newProbeCmd(g *globals) *cobra.Command {
	f := &probeFlags{o: probe.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "probe RECIPIENT|DOMAIN...",
		Short: "Ask the receiving servers whether they would accept mail for recipients",
		Long: `Resolve each recipient's MX hosts, run EHLO/MAIL/RCPT (LHLO for LMTP) the way an
MTA would, never DATA, and report a verdict per recipient: first the line Postfix
would log, then in plain words. A bare DOMAIN probes postmaster@DOMAIN, which every
mail domain must accept (RFC 5321 §4.5.1).

Defaults chosen so that a probe is not rejected for being one: EHLO with this
machine's fully-qualified name (Postfix's rule: the host name, with ".localdomain"
appended when it has no dot), and MAIL FROM:<double-bounce@that name> as Postfix's
own address verification sends — or, when that name does not resolve, the null
sender MAIL FROM:<> as Exim's callouts send (a warning says so before anything is
sent). Use --from with an address of a domain you own to choose.`,
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
			if cmd.Flags().Changed("port") && f.o.Port == 0 {
				// 0 in Options means "the protocol's port"; typed, it is
				// a mistake (nothing listens on port 0).
				return usagef("--port 0: want 1 to 65535 (leave --port out for the protocol's port)")
			}
			f.o.NullSender = cmd.Flags().Changed("from") && f.o.From == ""
			f.o.Resolver, f.o.DNSTimeout = g.resolver, g.dnsTimeout
			f.o.BlockLike = report.BlockLike
			return runProbe(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	o := &f.o
	fl.StringVar(&o.Protocol, "protocol", o.Protocol, "smtp, lmtp (LHLO, e.g. Dovecot) or smtps (implicit TLS)")
	fl.StringVar(&o.Server, "server", "", "bypass MX: HOST[:PORT], [IPV6]:PORT or unix:/path (like swaks --server)")
	fl.IntVar(&o.Port, "port", 0, fmt.Sprintf("port of MX hosts (default %d; %d for lmtp, %d for smtps)", probe.PortSMTP, probe.PortLMTP, probe.PortSMTPS))
	fl.StringVar(&o.From, "from", "", "envelope sender; '<>' (or '') is the null sender (default double-bounce@HELO when the HELO name resolves, else <>)")
	fl.StringVar(&o.HELO, "helo", "", "EHLO/LHLO name (default this machine's FQDN)")
	fl.StringVar(&o.STARTTLS, "starttls", o.STARTTLS, "TLS level, Postfix's names: none, may (= auto: use when offered), encrypt (= always: fail without TLS), verify (and a trusted certificate for the MX name), secure (for the recipient domain)")
	fl.StringVar(&o.STARTTLS, "tls-level", o.STARTTLS, "the same as --starttls")
	fl.BoolVar(&o.TLSVerify, "tls-verify", false, "treat a certificate that does not verify for the MX name as a failure")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "timeout of each phase (connect, greeting, each reply)")
	fl.DurationVar(&o.Deadline, "deadline", o.Deadline, "deadline of the whole probe")
	fl.StringVar(&o.Source, "source", "", "local address to connect from (like Postfix smtp_bind_address)")
	fl.BoolVarP(&o.IPv4, "ipv4", "4", false, "use IPv4 addresses only")
	fl.BoolVarP(&o.IPv6, "ipv6", "6", false, "use IPv6 addresses only")
	fl.BoolVar(&o.AllMX, "all-mx", false, "probe every MX host and address concurrently and report each")
	fl.BoolVar(&o.CatchAllCheck, "catch-all-check", false, "also ask for a random local part to detect catch-all domains")
	fl.StringVar(&o.DNSBL, "dnsbl", o.DNSBL, "check blocklists for the addresses used: auto (when a server refused), always, never")
	fl.StringVar(&o.Lists, "lists", "", "DNSBLs to check (see mailprobe blacklist --help); default the built-in set")
	fl.StringVar(&o.PublicIP, "public-ip", "", "the public address receivers see, checked instead of a private local address")
	fl.BoolVar(&f.transcript, "transcript", false, "show the dialogue swaks-style (-> sent, <- received)")
	addBatchFlags(cmd, o)
	return cmd
}

func runProbe(cmd *cobra.Command, g *globals, f *probeFlags, args []string) error {
	if batchRequested(cmd) {
		return runBatch(cmd, g, f, args)
	}
	if err := g.checkFormat("probe"); err != nil {
		return err
	}
	if err := g.useRules(); err != nil {
		return err
	}
	cfg, err := probe.NewConfig(f.o)
	if err != nil {
		return &usageError{err}
	}
	cfg.Warn = warnWriter(g.stderr)
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
		cfg.Transcript = transcriptWriter(w, f.o.AllMX || sessionsAtOnce(targets, cfg))
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
	if cfg.AllMX {
		// The worst host decides: --all-mx asks whether every MX would
		// take the mail, so a dead best MX is no exit 0.
		verdicts = report.JudgeEachHost(res)
	}
	return withRank(report.RankVerdicts(verdicts), res.Stop)
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

// warnWriter prints a probe's warnings on stderr, before it sends
// anything, so they never mix with machine-readable stdout.
func warnWriter(w io.Writer) func(string) {
	return func(msg string) { fmt.Fprintf(w, "mailprobe: warning: %s\n", msg) }
}

// sessionsAtOnce tells whether a run may hold several sessions at once:
// recipients of different domains are probed concurrently (with --server
// they share one session), so their dialogues would interleave unlabelled.
func sessionsAtOnce(targets []probe.Target, cfg probe.Config) bool {
	if cfg.Server != nil {
		return false
	}
	for _, t := range targets[1:] {
		if t.Address.ASCIIDomain != targets[0].Address.ASCIIDomain {
			return true
		}
	}
	return false
}
