package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/lab"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd(g *globals) *cobra.Command {
	var only []string
	var list, serve bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the built-in lab on loopback and probe every scenario in it",
		Long: `Start an in-process lab — a DNS server and SMTP/LMTP servers on 127.0.0.x that
behave like real cases from maillogs (unknown user, greylisting, blocklisted
greeting, out of connection slots, dead MX, silent server, null MX, NXDOMAIN,
self-signed STARTTLS, LMTP backends …) — probe each scenario and print the
reports. Needs no network and sends nothing beyond loopback.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("demo takes no arguments (use --scenario NAME)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkFormat("demo"); err != nil {
				return err
			}
			if serve {
				return serveLab(cmd.Context(), g)
			}
			l, err := lab.Start(cmd.Context(), lab.Options{})
			if err != nil {
				return fmt.Errorf("starting the lab: %w", err)
			}
			defer l.Close()
			var names []string
			for _, sc := range l.Scenarios() {
				names = append(names, sc.Name)
			}
			for _, n := range only {
				if !slices.Contains(names, n) {
					return usagef("--scenario %q: no such scenario (have: %s)", n, strings.Join(names, ", "))
				}
			}
			if list {
				for _, sc := range l.Scenarios() {
					fmt.Fprintf(g.stdout, "%-22s %s\n", sc.Name, sc.Title)
				}
				return nil
			}
			return runDemo(cmd, g, l, only)
		},
	}
	cmd.Flags().StringSliceVar(&only, "scenario", nil, "probe only these scenarios (repeatable; see --list)")
	cmd.Flags().BoolVar(&list, "list", false, "list the scenarios and exit")
	cmd.Flags().BoolVar(&serve, "serve", false, "keep the lab running until Ctrl-C and print how to reach it (same as mailprobe lab)")
	return cmd
}

// demoDoc is the JSON shape of `demo --output json`: the probe schema of
// each scenario under its name.
type demoDoc struct {
	Schema    string            `json:"schema"`
	Scenarios []demoScenarioDoc `json:"scenarios"`
}

type demoScenarioDoc struct {
	Name   string          `json:"name"`
	Title  string          `json:"title"`
	Result report.ProbeDoc `json:"result"`
	Want   lab.Want        `json:"want"`
}

func runDemo(cmd *cobra.Command, g *globals, l *lab.Lab, only []string) error {
	doc := demoDoc{Schema: "mailprobe.demo/v1"}
	color := useColor(g.stdout)
	first := true
	for _, sc := range l.Scenarios() {
		if len(only) > 0 && !slices.Contains(only, sc.Name) {
			continue
		}
		cfg, targets, err := demoConfig(l, sc)
		if err != nil {
			return err
		}
		res, err := probe.Run(cmd.Context(), cfg, targets)
		if err != nil {
			return err
		}
		switch g.output {
		case "json":
			want := sc.Want
			want.Reason = l.Expand(want.Reason)
			doc.Scenarios = append(doc.Scenarios, demoScenarioDoc{Name: sc.Name, Title: sc.Title, Result: report.BuildDoc(res), Want: want})
		case "postfix":
			fmt.Fprintf(g.stdout, "# %s: %s\n", sc.Name, sc.Title)
			if err := report.Postfix(g.stdout, res); err != nil {
				return err
			}
		default:
			if !first {
				fmt.Fprintln(g.stdout)
			}
			rule := strings.Repeat("═", 78)
			fmt.Fprintf(g.stdout, "%s\n%s — %s\n  %s\n%s\n", rule, sc.Name, sc.Title, reproduce(cfg, targets), rule)
			if err := report.Text(g.stdout, res, report.TextOptions{Color: color}); err != nil {
				return err
			}
		}
		first = false
	}
	if g.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return nil
}

// demoConfig is the configuration demo probes a scenario with: the lab's
// options, with the command line's judgement of a block-like refusal.
func demoConfig(l *lab.Lab, sc lab.Scenario) (probe.Config, []probe.Target, error) {
	o := l.ProbeOptions(sc)
	o.BlockLike = report.BlockLike
	cfg, err := probe.NewConfig(o)
	if err != nil {
		return cfg, nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	targets, err := lab.ProbeTargets(sc)
	return cfg, targets, err
}

// reproduce is the command that repeats a scenario's probe by hand while
// the demo's lab is up: derived from the Config the demo ran with, so it
// carries the HELO, the sender, the lab DNSBL and the timeouts too.
func reproduce(cfg probe.Config, targets []probe.Target) string {
	words := []string{"mailprobe", "probe"}
	words = append(words, cfg.Args()...)
	for _, t := range targets {
		words = append(words, t.Address.String())
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote quotes a word for a POSIX shell when it needs it.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_[]") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
