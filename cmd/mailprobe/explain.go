package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newExplainCmd) }

// maxExplainInput bounds what explain reads from standard input as one
// text; with "-" it bounds one line.
const maxExplainInput = 1 << 20

func newExplainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain 'TEXT' | -",
		Short: "Classify and explain what a mail system said: a reply, a log line, a bounce",
		Long: `Classify any text a mail system wrote about a delivery and say what happened, the
likely cause, who has to act (sender, recipient, or your own configuration) and what
to do: a bare SMTP reply ("550 5.1.1 <a@b>: User unknown", several lines, Postfix's
joined "554-a 554-b 554 c", with or without the final line); a Postfix log line of any
service (smtp, lmtp, local, virtual, pipe, error, bounce, smtpd NOQUEUE: reject,
postscreen, cleanup milter-reject); a qmail, Exim, sendmail, Courier, OpenSMTPD or
Dovecot log line or bounce paragraph; a Microsoft NDR or a Gmail bounce text.

With no argument the whole of standard input is one text. With "-" standard input
holds one text per line (grep status= maillog | mailprobe explain -); continuation
lines of a multi-line reply ("550-…") stay together.

Text that matches no known cause still gets an answer: category other, permanence
unknown unless a code says otherwise. --rules FILE adds your own rules (README:
Classifier rules).

--output json gives kind, code, enhanced, permanence, category, party, rule, provider,
explanation{what,cause,next,party}, and status, dsn, recipient, relay when a log line
was given; --output jsonl one such object per input line.

Exit code 0 for success, 1 for a permanent failure, 2 for a temporary or unknown one
(the worst line decides), 64 for empty input or a bad --rules file.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkFormat("explain"); err != nil {
				return err
			}
			if err := g.useRules(); err != nil {
				return err
			}
			var texts []string
			switch {
			case len(args) == 1 && args[0] == "-":
				var err error
				if texts, err = readExplainLines(g.stdin); err != nil {
					return err
				}
			case len(args) == 0:
				b, err := io.ReadAll(io.LimitReader(g.stdin, maxExplainInput))
				if err != nil {
					return err
				}
				texts = []string{string(b)}
			default:
				texts = []string{strings.Join(args, " ")}
			}
			var all []report.Explained
			rank := report.RankOK
			for _, t := range texts {
				e, err := report.ExplainText(t)
				if errors.Is(err, report.ErrEmptyInput) {
					continue
				}
				if err != nil {
					return err
				}
				all = append(all, e)
				rank = rank.Worse(e.Rank())
			}
			if len(all) == 0 {
				return usagef("explain needs a reply, a log line or a bounce text (as argument, or on standard input)")
			}
			if err := writeExplained(g, all, len(args) == 1 && args[0] == "-"); err != nil {
				return err
			}
			return withRank(rank, probe.StopNone)
		},
	}
}

// explainDoc is one explained text as JSON: the schema name first, then
// report.Explained's fields.
type explainDoc struct {
	Schema string `json:"schema"`
	report.Explained
}

// writeExplained renders in the --output format (formats.go lists them).
func writeExplained(g *globals, all []report.Explained, perLine bool) error {
	docs := make([]explainDoc, len(all))
	for i, e := range all {
		docs[i] = explainDoc{Schema: report.SchemaExplain, Explained: e}
	}
	switch g.output {
	case "jsonl":
		enc := json.NewEncoder(g.stdout)
		for _, d := range docs {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return nil
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if perLine {
			return enc.Encode(docs)
		}
		return enc.Encode(docs[0])
	}
	for i, e := range all {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		if err := report.ExplainedText(g.stdout, e); err != nil {
			return err
		}
	}
	return nil
}

// readExplainLines reads one text per line. A reply's continuation
// lines ("550-5.7.1 …") are joined with the lines that follow them up to
// and including the final line of the same code ("550 5.7.1 …"), or up
// to a line that is not part of that reply.
func readExplainLines(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExplainInput)
	var out []string
	var group []string
	code := ""
	flush := func() {
		if len(group) > 0 {
			out = append(out, strings.Join(group, "\n"))
		}
		group, code = nil, ""
	}
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(l)
		if code != "" {
			if strings.HasPrefix(t, code+"-") {
				group = append(group, t)
				continue
			}
			if strings.HasPrefix(t, code+" ") || t == code {
				group = append(group, t)
				flush()
				continue
			}
			flush()
		}
		if len(t) >= 4 && t[3] == '-' && isCode(t[:3]) {
			code = t[:3]
			group = []string{t}
			continue
		}
		if t != "" {
			out = append(out, t)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usagef("explain -: a line is longer than %d bytes", maxExplainInput)
		}
		return nil, err
	}
	return out, nil
}

func isCode(s string) bool {
	return len(s) == 3 && (s[0] == '2' || s[0] == '4' || s[0] == '5') &&
		s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}
