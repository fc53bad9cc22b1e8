package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// outputFormat is one value of --output for one command.
type outputFormat struct {
	name string
	help string
}

// The output formats of every command, in one place: the --output flag's
// help, its check and its error are made from this table, so a format
// is added here (and rendered by the command) and nowhere else. A
// command's mode with formats of its own (probe --rcpt-file) is a key of
// its own.
var outputFormats = map[string][]outputFormat{
	"probe": {
		{"text", "the Postfix status line, then the explanation, per recipient"},
		{"json", "one JSON document (schema mailprobe.probe/v1)"},
		{"postfix", "only the Postfix status lines"},
	},
	"probe --rcpt-file": {
		{"text", "one result per input line, then a summary"},
		{"jsonl", "one JSON object per input line"},
		{"postfix", "the Postfix status line per input line"},
		{"postmap", "a postmap(1) table of the verdicts"},
	},
	"explain": {
		{"text", "the classification and the explanation"},
		{"json", "one JSON object (with -: a JSON array, one element per input line)"},
		{"jsonl", "one JSON object per input line"},
	},
	"maillog":   {{"text", "one line per delivery, then a summary"}, {"json", "one JSON document"}, {"jsonl", "one JSON object per delivery"}},
	"mx":        {{"text", "the MX hosts and addresses"}, {"json", "one JSON document"}},
	"blacklist": {{"text", "one line per list and target"}, {"json", "one JSON document"}},
	"demo":      {{"text", "each scenario as probe prints it"}, {"json", "one JSON document of all scenarios"}, {"postfix", "the Postfix status lines of each scenario"}},
	"version":   {{"text", "one line"}, {"json", "one JSON object"}},
	"postfix verify": {
		{"text", "per recipient the route, the backend's answer and smtpd's predicted reply, then a summary per route"},
		{"jsonl", "one JSON object per recipient"},
		{"postmap", "the refused recipients as an access(5) table whose actions are the predicted replies"},
	},
	"postfix route": {{"text", "the route and why, per address"}, {"jsonl", "one JSON object per address"}},
}

// formatHints say why a format another mode has is not this one's.
var formatHints = map[string]map[string]string{
	"probe": {
		"jsonl":   "jsonl is for batches: add --rcpt-file FILE (one object per input line)",
		"postmap": "postmap is for batches: add --rcpt-file FILE",
	},
	"probe --rcpt-file": {
		"json": "json is one document; use --output jsonl with --rcpt-file (one object per line)",
	},
}

func formatNames(key string) []string {
	var out []string
	for _, f := range outputFormats[key] {
		out = append(out, f.name)
	}
	return out
}

// outputHelp is the --output flag's help for a command.
func outputHelp(command string) string {
	var b strings.Builder
	b.WriteString("output format: ")
	for i, f := range outputFormats[command] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", f.name, f.help)
	}
	if more := outputFormats[command+" --rcpt-file"]; more != nil {
		fmt.Fprintf(&b, "; with --rcpt-file: %s", strings.Join(formatNames(command+" --rcpt-file"), ", "))
	}
	return b.String()
}

// checkFormat checks --output against the formats of key (a command, or
// a command's mode such as "probe --rcpt-file").
func (g *globals) checkFormat(key string) error {
	if slices.Contains(formatNames(key), g.output) {
		return nil
	}
	if h := formatHints[key][g.output]; h != "" {
		return usagef("--output %s: %s", g.output, h)
	}
	return usagef("--output %q: %s writes %s", g.output, key, strings.Join(formatNames(key), ", "))
}

// addOutputFlag gives a command its own --output/-o with the help made
// from the table. It shadows the root's persistent flag (same variable),
// so `mailprobe -o json mx …` keeps working.
func addOutputFlag(c *cobra.Command, g *globals) {
	if _, ok := outputFormats[c.Name()]; !ok {
		return
	}
	c.Flags().StringVarP(&g.output, "output", "o", "text", outputHelp(c.Name()))
}
