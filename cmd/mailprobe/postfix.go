package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/postfixconf"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newPostfixCmd) }

func newPostfixCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "postfix",
		Short: "Read a Postfix configuration: verify its recipients along Postfix's own routes",
		Long: `Commands that read a Postfix configuration through postconf and postmap (never by
parsing main.cf) and compute routes with trivial-rewrite's rules, as the verify
service uses them (address_verify_* overrides included).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for mailprobe postfix (see mailprobe postfix --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVarP(&dir, "config-dir", "c", "", "Postfix configuration directory, as postconf -c (default: Postfix's own)")
	cmd.AddCommand(newPostfixVerifyCmd(g, &dir), newPostfixRouteCmd(g, &dir))
	return cmd
}

func postfixResolver(cmd *cobra.Command, dir string) (*postfixconf.Resolver, *postfixconf.Tools, error) {
	tools := &postfixconf.Tools{Dir: dir, Timeout: 30 * time.Second}
	c, err := postfixconf.Load(cmd.Context(), tools)
	if err != nil {
		return nil, nil, &usageError{fmt.Errorf("reading the Postfix configuration: %w", err)}
	}
	return postfixconf.NewResolver(c, tools), tools, nil
}

func newPostfixRouteCmd(g *globals, dir *string) *cobra.Command {
	c := &cobra.Command{
		Use:   "route ADDRESS...",
		Short: "Print the route Postfix's verify service takes for each address, without sending anything",
		Long: `Print, for each address, the transport and nexthop Postfix's address verification
would use — virtual alias expansion, address class, the class's transport,
relayhost, transport_maps — and what the delivery agent makes of the nexthop
(MX lookup or not, port, unix socket under queue_directory, bind address, HELO).
Nothing is sent: this is what sendmail -bv would take a mail round trip to tell.`,
		Example: `  mailprobe postfix route -c /etc/postfix user@example.org
  mailprobe postfix route -o jsonl user@example.org other@example.net`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("postfix route needs at least one ADDRESS")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkFormat("postfix route"); err != nil {
				return err
			}
			addrs, err := parseRecipients(args)
			if err != nil {
				return err
			}
			r, _, err := postfixResolver(cmd, *dir)
			if err != nil {
				return err
			}
			if err := r.Prefetch(cmd.Context(), addrs); err != nil {
				return &usageError{err}
			}
			for _, a := range addrs {
				rt, err := r.Resolve(cmd.Context(), a)
				if err != nil {
					return &usageError{err}
				}
				if g.output == "jsonl" {
					err = postfixconf.RouteJSONL(g.stdout, rt)
				} else {
					err = postfixconf.RouteText(g.stdout, rt)
				}
				if err != nil {
					return err
				}
				for _, w := range r.RouteWarnings(rt) {
					fmt.Fprintf(g.stderr, "warning: %s: %s\n", w.Kind, w.Text)
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&g.output, "output", "o", "text", outputHelp("postfix route"))
	return c
}

// parseRecipients checks addresses before anything is looked up or sent.
func parseRecipients(args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		addr, err := probe.ParseAddress("address", a)
		if err != nil {
			return nil, &usageError{err}
		}
		out = append(out, addr.String())
	}
	return out, nil
}

func newPostfixVerifyCmd(g *globals, dir *string) *cobra.Command {
	var (
		verifyCache, catchAll, transcript bool
		timeout, deadline                 time.Duration
		conc, window                      int
		rate                              float64
	)
	def := probe.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "verify [MAP|FILE...]",
		Short: "Dry-run reject_unverified_recipient: probe each recipient along Postfix's route and predict smtpd's answer",
		Long: `Before adding reject_unverified_recipient to smtpd_recipient_restrictions: which
recipients would start to be refused, and why?

The recipients come from the arguments — tables (hash:/etc/postfix/relay_recipients,
listed with postmap -s) or files (one address per line, or postmap input) — or,
without arguments, from relay_recipient_maps, virtual_mailbox_maps and
virtual_alias_maps. Tables postmap cannot list (SQL, LDAP) are named: export them
to a FILE.

For each recipient the route is computed as Postfix's verify service computes it
(see mailprobe postfix route), and RCPT is asked along it with the batch engine of
mailprobe probe --rcpt-file: one batch per nexthop, sessions reused, pipelined,
polite; from the bind address and with the HELO name and verify sender
(address_verify_sender) Postfix would use; never DATA. Error and discard routes
and aliases to several addresses are decided without a probe, as Postfix decides
them.

The prediction is what reject_unverified_recipient would answer the sender, with
unverified_recipient_reject_code / _defer_code / _reject_reason and soft_bounce
applied: accept (250), reject (5xx) or defer (4xx); then
smtpd_reject_unlisted_recipient for addresses missing from their recipient table.

--verify-cache also reads Postfix's verify cache (postmap -s address_verify_map)
and shows where it disagrees with today's probe: a stale negative keeps refusing
an address the backend now accepts until the entry is refreshed.

Output: text (default), jsonl (one object per recipient: recipient, route, status,
dsn, category, reply, prediction, predicted_reply, …) or postmap (the refused
recipients as an access(5) table whose actions are the predicted replies).
The summary and warnings go to stdout after text, to stderr otherwise.`,
		Example: `  mailprobe postfix verify -c /etc/postfix --resolver 127.0.0.53
  mailprobe postfix verify -c /etc/postfix --verify-cache -o jsonl hash:/etc/postfix/relay_recipients
  mailprobe postfix verify -o postmap users.txt > /etc/postfix/unverified_reject`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkFormat("postfix verify"); err != nil {
				return err
			}
			base := probe.DefaultOptions()
			base.Timeout, base.Deadline, base.RcptWindow, base.Concurrency, base.Rate = timeout, deadline, window, conc, rate
			base.Resolver, base.DNSTimeout = g.resolver, g.dnsTimeout
			if transcript {
				base.Transcript = transcriptWriter(g.stderr, true)
			}
			if err := postfixconf.CheckOptions(base); err != nil {
				return &usageError{err}
			}
			r, _, err := postfixResolver(cmd, *dir)
			if err != nil {
				return err
			}
			rcpts, ws, err := r.Collect(cmd.Context(), args)
			if err != nil {
				return &usageError{err}
			}
			if len(rcpts) == 0 {
				for _, w := range ws {
					fmt.Fprintf(g.stderr, "warning: %s: %s\n", w.Kind, w.Text)
				}
				return usagef("no recipients: the configured recipient maps are empty or cannot be listed; give MAP or FILE arguments")
			}
			w := newVerifyWriter(g)
			defer w.out.stop()
			opts := postfixconf.Options{Probe: base, CatchAllCheck: catchAll, Cache: verifyCache, Emit: w.emit}
			rep, err := r.Verify(cmd.Context(), rcpts, opts)
			if err != nil {
				if errors.Is(err, postfixconf.ErrTool) || errors.Is(err, postfixconf.ErrBadConfig) || errors.Is(err, probe.ErrBadInput) {
					return &usageError{err}
				}
				return err
			}
			rep.Warnings = append(ws, rep.Warnings...)
			return w.finish(rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&g.output, "output", "o", "text", outputHelp("postfix verify"))
	fl.BoolVar(&verifyCache, "verify-cache", false, "also read Postfix's verify cache and show where it disagrees with today's probe")
	fl.BoolVar(&catchAll, "catch-all-check", true, "ask each backend for a random local part per domain, to find catch-alls")
	fl.DurationVar(&timeout, "timeout", def.Timeout, "timeout of each phase (connect, greeting, each reply)")
	fl.DurationVar(&deadline, "deadline", 0, "deadline of each nexthop's batch (0: none)")
	fl.IntVar(&conc, "concurrency", def.Concurrency, "sessions per nexthop")
	fl.IntVar(&window, "rcpt-window", def.RcptWindow, "RCPTs per transaction and per pipelined write")
	fl.Float64Var(&rate, "rate", 0, "at most this many RCPTs per second per nexthop (0: no limit)")
	fl.BoolVar(&transcript, "transcript", false, "show the dialogues on stderr, swaks-style")
	return cmd
}

// verifyWriter writes each result as Verify emits it (in input order,
// flushed at least every 200 ms), then the summary.
type verifyWriter struct {
	g         *globals
	out       *flusher
	write     func(io.Writer, *postfixconf.Result) error
	summaryTo io.Writer
	rank      report.Rank
}

func newVerifyWriter(g *globals) *verifyWriter {
	w := &verifyWriter{g: g, out: newFlusher(g.stdout), summaryTo: g.stderr, rank: report.RankOK}
	switch g.output {
	case "jsonl":
		w.write = postfixconf.JSONL
	case "postmap":
		w.write = postfixconf.Postmap
	default:
		w.write = postfixconf.Text
		w.summaryTo = nil // after the results, on stdout
	}
	return w
}

func (w *verifyWriter) emit(res *postfixconf.Result) {
	_ = w.out.write(func(out io.Writer) error { return w.write(out, res) })
	switch res.Prediction {
	case postfixconf.PredictReject:
		w.rank = w.rank.Worse(report.RankUndeliverable)
	case postfixconf.PredictDefer, postfixconf.PredictUnknown:
		w.rank = w.rank.Worse(report.RankDeferred)
	}
}

func (w *verifyWriter) finish(rep *postfixconf.Report) error {
	if err := w.out.stop(); err != nil {
		return err
	}
	to := w.summaryTo
	if to == nil {
		to = w.g.stdout
		fmt.Fprintln(to)
	}
	if err := postfixconf.SummaryText(to, rep); err != nil {
		return err
	}
	if w.g.output == "postmap" {
		fmt.Fprintln(w.g.stderr, "postmap output: run postmap on the file and list it as check_recipient_access before reject_unverified_recipient")
	}
	return withRank(w.rank, rep.Stop)
}
