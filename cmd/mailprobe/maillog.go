package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/maillog"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newMaillogCmd) }

type maillogFlags struct {
	year                       int
	domains, statuses, senders []string
	since, until               string
	queue, postfixConfig       string
	doProbe, verbose           bool
	maxOpen                    int
	probe                      probe.Options
}

func newMaillogCmd(g *globals) *cobra.Command {
	f := &maillogFlags{probe: probe.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "maillog [FILE...]",
		Short: "Read the mail log (or Postfix's queue): why do these domains defer or bounce?",
		Long: `Read mail logs — Postfix, qmail, Exim, sendmail, Dovecot LMTP/LDA, in syslog, RFC 3339,
journalctl, multilog, docker-compose or the hosting format, mixed in one stream — follow
each message by its queue id, and group the deferred, bounced, expired, rejected and held
recipients by domain and category, most frequent first, with counts, first and last seen,
the providers' codes, an example reason and the next step.

FILE may be "-" (stdin, also the default) and may be gzip-compressed; several files are read
in the order of their first time stamps (mail.log mail.log.1 mail.log.2.gz in any order).

--queue reads Postfix's queue instead: it runs postqueue -j (with -c DIR from
--postfix-config), or reads its output from --queue=FILE.

--probe probes, for every domain still deferring at the end, one of its deferred recipients
now — RCPT only, never DATA, with the same engine and flags as "mailprobe probe" — and shows
today's answer beside the log's.`,
		Example: `  mailprobe maillog /var/log/mail.log
  mailprobe maillog mail.log.2.gz mail.log.1 mail.log --domain gmail.com
  journalctl -u postfix -o short-iso | mailprobe maillog -o jsonl --status all
  mailprobe maillog --queue --probe --source 192.0.2.25 --resolver 127.0.0.1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.probe.NullSender = cmd.Flags().Changed("from") && f.probe.From == ""
			f.probe.Resolver, f.probe.DNSTimeout = g.resolver, g.dnsTimeout
			f.probe.BlockLike = report.BlockLike
			return runMaillog(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.year, "year", 0, "year of syslog (RFC 3164) stamps, which carry none (default: from each file's modification time)")
	fl.StringSliceVar(&f.domains, "domain", nil, "only these recipient domains")
	fl.StringSliceVar(&f.statuses, "status", nil, "statuses to group and print: sent, deferred, bounced, expired, rejected, held, discarded, open, all (default: all but sent; all for -o jsonl)")
	fl.StringSliceVar(&f.senders, "sender", nil, "only these envelope senders (ADDR, @DOMAIN, or <> for the null sender)")
	fl.StringVar(&f.since, "since", "", "ignore lines before this time (RFC 3339, 2006-01-02, '2006-01-02 15:04', or a duration ago such as 24h)")
	fl.StringVar(&f.until, "until", "", "ignore lines after this time (same forms): the outcome as of then")
	fl.StringVar(&f.queue, "queue", "", "read Postfix's queue: run postqueue -j, or --queue=FILE for its saved output")
	fl.Lookup("queue").NoOptDefVal = "postqueue"
	fl.StringVar(&f.postfixConfig, "postfix-config", "", "Postfix configuration directory for --queue (postqueue -c DIR)")
	fl.BoolVar(&f.doProbe, "probe", false, "probe each still-deferring domain now (RCPT only, never DATA) and show today's answer")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show the first unreadable lines of each format, with line numbers")
	fl.IntVar(&f.maxOpen, "max-open", 100000, "messages kept open at once; older unfinished ones are reported as open")
	addProbeConfigFlags(cmd, &f.probe)
	return cmd
}

// addProbeConfigFlags registers probe's settings for --probe with the
// names, defaults (probe.DefaultOptions, probe's one table) and meaning of
// `mailprobe probe`'s flags; probe.NewConfig validates them as it does
// for probe.
func addProbeConfigFlags(cmd *cobra.Command, o *probe.Options) {
	fl := cmd.Flags()
	fl.StringVar(&o.Protocol, "protocol", o.Protocol, "--probe: smtp, lmtp or smtps")
	fl.StringVar(&o.Server, "server", "", "--probe: bypass MX: HOST[:PORT], [IPV6]:PORT or unix:/path")
	fl.IntVar(&o.Port, "port", 0, fmt.Sprintf("--probe: port of MX hosts (default %d; %d for lmtp, %d for smtps)", probe.PortSMTP, probe.PortLMTP, probe.PortSMTPS))
	fl.StringVar(&o.From, "from", "", "--probe: envelope sender; '' is the null sender <> (default postmaster@HELO)")
	fl.StringVar(&o.HELO, "helo", "", "--probe: EHLO/LHLO name (default this machine's FQDN)")
	fl.StringVar(&o.STARTTLS, "starttls", o.STARTTLS, "--probe: auto, always or never")
	fl.BoolVar(&o.TLSVerify, "tls-verify", false, "--probe: a certificate that does not verify for the MX name fails the host")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "--probe: timeout of each phase")
	fl.DurationVar(&o.Deadline, "deadline", o.Deadline, "--probe: deadline of all probes")
	fl.StringVar(&o.Source, "source", "", "--probe: local address to connect from (like Postfix smtp_bind_address)")
	fl.BoolVarP(&o.IPv4, "ipv4", "4", false, "--probe: IPv4 only")
	fl.BoolVarP(&o.IPv6, "ipv6", "6", false, "--probe: IPv6 only")
	fl.StringVar(&o.DNSBL, "dnsbl", o.DNSBL, "--probe: check blocklists: auto, always, never")
	fl.StringVar(&o.Lists, "lists", "", "--probe: DNSBLs to check (see mailprobe blacklist --help)")
	fl.StringVar(&o.PublicIP, "public-ip", "", "--probe: the public address receivers see")
}

// parseWhen reads --since/--until.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--%s %q: want RFC 3339, 2006-01-02[ 15:04[:05]] or a duration such as 24h", flag, s)
}

// checkDomainFilter validates a --domain value (or a --sender @DOMAIN):
// a name as a log writes it. Unlike probe's targets, single-label names
// (localhost, a host's own name) are allowed: local deliveries log them.
func checkDomainFilter(flag, d string) error {
	name := strings.TrimSuffix(d, ".")
	if name == "" {
		return usagef("%s %q: empty domain", flag, d)
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		return nil // an address literal: user@[192.0.2.1]
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("/\\@<>,;:()[]\"'", r) {
			return usagef("%s %q: %q is not allowed in a domain (is it a file name or an address?)", flag, d, r)
		}
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return usagef("%s %q: empty label", flag, d)
		}
	}
	return nil
}

// checkSenderFilter validates one --sender value: an address, @DOMAIN,
// or <> for the null sender.
func checkSenderFilter(s string) error {
	switch {
	case s == "<>":
		return nil
	case strings.HasPrefix(s, "@"):
		if s == "@" {
			return usagef("--sender %q: empty domain", s)
		}
		return checkDomainFilter("--sender", s[1:])
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return usagef("--sender %q: want ADDR, @DOMAIN or <> (the null sender)", s)
	}
	if strings.ContainsAny(s[:at], "<> \t") || strings.Contains(s[:at], "@") && !strings.HasPrefix(s, "\"") {
		return usagef("--sender %q: the local part has a character a log address does not (want ADDR, @DOMAIN or <>)", s)
	}
	return checkDomainFilter("--sender", s[at+1:])
}

var maillogStatuses = map[string]bool{"all": true, "sent": true, "deliverable": true, "deferred": true, "bounced": true,
	"expired": true, "rejected": true, "held": true, "discarded": true, "open": true, "active": true, "incoming": true}

func runMaillog(cmd *cobra.Command, g *globals, f *maillogFlags, args []string) error {
	if err := g.checkFormat("maillog"); err != nil {
		return err
	}
	now := time.Now()
	opts := maillog.Options{Year: f.year, Tracker: maillog.TrackerOptions{MaxOpen: f.maxOpen}}
	var err error
	if opts.Filter.Since, err = parseWhen("since", f.since, now); err != nil {
		return err
	}
	if opts.Filter.Until, err = parseWhen("until", f.until, now); err != nil {
		return err
	}
	for _, s := range f.statuses {
		if !maillogStatuses[s] {
			return usagef("--status %q: want sent, deferred, bounced, expired, rejected, held, discarded, open or all", s)
		}
	}
	if f.maxOpen < 1 {
		return usagef("--max-open %d: want at least 1", f.maxOpen)
	}
	if f.year != 0 && (f.year < 1970 || f.year > 9999) {
		return usagef("--year %d: want a year from 1970 to 9999 (or leave it out: each file's modification time)", f.year)
	}
	if !opts.Filter.Since.IsZero() && !opts.Filter.Until.IsZero() && opts.Filter.Until.Before(opts.Filter.Since) {
		return usagef("--until %s is before --since %s: nothing could match", f.until, f.since)
	}
	// a filter value that no outcome can have is a mistake, not an empty
	// answer ("--domain" without a value takes the next FILE as its own)
	for i, d := range f.domains {
		if err := checkDomainFilter("--domain", d); err != nil {
			return err
		}
		f.domains[i] = strings.TrimSuffix(d, ".")
	}
	for i, s := range f.senders {
		if s != "<>" && strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
			s = s[1 : len(s)-1] // the log writes from=<a@b>; the filter holds a@b
		}
		if err := checkSenderFilter(s); err != nil {
			return err
		}
		f.senders[i] = s
	}
	opts.Filter.Statuses, opts.Filter.Domains, opts.Filter.Senders = f.statuses, f.domains, f.senders
	if len(f.statuses) == 0 && g.output == "jsonl" {
		// a stream is one object per (message, recipient): every status
		opts.Filter.Statuses = []string{"all"}
	}
	if f.queue != "" && len(args) > 0 {
		return usagef("--queue reads the queue, not log files: give one or the other")
	}
	// the probe configuration is validated before anything is read
	var cfg *probe.Config
	if f.doProbe {
		c, err := probe.NewConfig(f.probe)
		if err != nil {
			return &usageError{err}
		}
		cfg = &c
	}
	var sum *maillog.Summary
	var outcomes []*maillog.Outcome
	switch g.output {
	case "jsonl":
		opts.OnOutcome = maillog.JSONLWriter(g.stdout)
	case "json":
		opts.OnOutcome = func(o *maillog.Outcome) error { c := *o; outcomes = append(outcomes, &c); return nil }
	}
	source := "log"
	if f.queue != "" {
		source = "queue"
		r, name, err := openQueue(cmd.Context(), f, g.stdin)
		if err != nil {
			return err
		}
		sum, err = maillog.ReadQueue(r, name, now, opts)
		if err != nil {
			return err
		}
		if sum.ByMTA[maillog.MTAPostfix] == 0 && sum.Unreadable["postqueue-json"] > 0 {
			// not one line is a queue entry: a log given to --queue=FILE
			return usagef("--queue %s: no line is postqueue -j output (a JSON object per message); to read a log, give it as FILE without --queue", name)
		}
	} else {
		if (len(args) == 0 || len(args) == 1 && args[0] == "-") && isTerminalReader(g.stdin) {
			// a new user who typed no FILE would otherwise see nothing happen
			fmt.Fprintln(g.stderr, "mailprobe: reading the log from the terminal (stdin); give FILE… or pipe a log in, Ctrl-D ends")
		}
		inputs, closeAll, err := maillog.OpenFiles(args, g.stdin, f.year, nil)
		if err != nil {
			return &usageError{err}
		}
		defer closeAll()
		sum, err = maillog.Read(inputs, opts)
		if err != nil {
			return err
		}
	}
	var lives []*maillog.Live
	probes := map[string]*maillog.Live{}
	if cfg != nil {
		lives = maillog.StillDeferring(sum.Groups)
		if err := maillog.ProbeLive(cmd.Context(), *cfg, lives); err != nil {
			return err
		}
		for _, lv := range lives {
			probes[lv.Domain] = lv
		}
		for _, gr := range sum.Groups {
			if lv := probes[gr.Domain]; lv != nil && gr.Still && gr.ExampleRcpt == lv.Recipient {
				gr.Probe = lv
			}
		}
	}
	switch g.output {
	case "json":
		return maillog.JSON(g.stdout, &maillog.Document{Source: source, Summary: sum, Groups: sum.Groups, Outcomes: outcomes, Probes: lives})
	case "jsonl":
		for _, lv := range lives {
			if err := writeJSONLine(g.stdout, map[string]any{"probe": lv}); err != nil {
				return err
			}
		}
		return nil
	}
	topts := maillog.TextOptions{Verbose: f.verbose, Title: source, Now: now}
	if cfg != nil {
		topts.Probes = probes
	}
	return maillog.Text(g.stdout, sum, topts)
}

// openQueue returns postqueue -j output: the file given to --queue, or
// what postqueue prints (bounded by a timeout: a hung postqueue must not
// hang mailprobe).
func openQueue(ctx context.Context, f *maillogFlags, stdin io.Reader) (io.Reader, string, error) {
	if f.queue == "-" {
		return stdin, "-", nil
	}
	if f.queue != "postqueue" {
		b, err := os.ReadFile(f.queue)
		if err != nil {
			return nil, "", &usageError{err}
		}
		return bytes.NewReader(b), f.queue, nil
	}
	argv := []string{"-j"}
	if f.postfixConfig != "" {
		if _, err := os.Stat(filepath.Join(f.postfixConfig, "main.cf")); err != nil {
			return nil, "", usagef("--postfix-config %s: no main.cf there (want Postfix's configuration directory, as postconf config_directory prints it)", f.postfixConfig)
		}
		argv = []string{"-c", f.postfixConfig, "-j"}
	}
	if _, err := exec.LookPath("postqueue"); err != nil {
		return nil, "", usagef("--queue: postqueue is not in PATH (is Postfix installed here?); give a saved copy of its output with --queue=FILE")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, "postqueue", argv...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return nil, "", fmt.Errorf("postqueue %s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return &out, "postqueue " + strings.Join(argv, " "), nil
}

func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
