package main

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newExplainCmd) }

// maxExplainInput bounds what explain reads from standard input: a
// reply or one log line, never a whole maillog.
const maxExplainInput = 1 << 20

func newExplainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain 'REPLY TEXT' | 'POSTFIX LOG LINE'",
		Short: "Classify and explain one SMTP reply or one Postfix status line",
		Long: `Classify one server reply ("550 5.1.1 <a@b>: User unknown", several lines, or
Postfix's joined form "554-a 554-b 554 c") or one Postfix log line (a status line
with to=, relay=, dsn=, status=; an smtpd "NOQUEUE: reject:" line; a "host … refused
to talk to me" note), and say what happened, the likely cause and what to do.
With no argument, or "-", the text is read from standard input.

--output json gives code, enhanced, permanence (permanent|temporary|success|unknown),
category, explanation{what,cause,next}, and status and dsn when a log line was given.

Exit code 0 for a success reply, 1 for a permanent failure, 2 for a temporary or
unknown one, 64 when the text is neither a reply nor a Postfix line.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			text := strings.Join(args, " ")
			if len(args) == 0 || (len(args) == 1 && args[0] == "-") {
				b, err := io.ReadAll(io.LimitReader(g.stdin, maxExplainInput))
				if err != nil {
					return err
				}
				text = string(b)
			}
			e, err := report.ExplainText(text)
			if err != nil {
				if errors.Is(err, report.ErrEmptyInput) {
					return usagef("explain needs a reply or a Postfix log line")
				}
				return usagef("cannot explain %q: %v", clip(text), err)
			}
			if g.output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(e)
			} else {
				err = report.ExplainedText(g.stdout, e)
			}
			if err != nil {
				return err
			}
			return withCode(explainCode(e))
		},
	}
}

// explainCode ranks an explained reply like a probe verdict.
func explainCode(e report.Explained) int {
	switch {
	case e.Status == "sent" || e.Status == "deliverable":
		return ExitOK
	case e.Status == "bounced" || e.Status == "expired" || e.Status == "undeliverable" && strings.HasPrefix(e.DSN, "5"):
		return ExitUndeliverable
	case e.Status == "deferred" || e.Status == "undeliverable":
		return ExitDeferred
	}
	switch e.Permanence {
	case report.PermanenceSuccess:
		return ExitOK
	case report.PermanencePermanent:
		return ExitUndeliverable
	}
	return ExitDeferred
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
