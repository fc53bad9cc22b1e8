package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/lab"
)

func init() { subcommands = append(subcommands, newLabCmd) }

// newLabCmd is `mailprobe lab`: the demo's lab kept running, so that the
// README's examples and every scenario's "reproduce" line can be typed by
// hand in another terminal. `mailprobe demo --serve` is the same.
func newLabCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "lab",
		Short: "Start the demo's lab on loopback and keep it running until Ctrl-C",
		Long: `Start the in-process lab of ` + "`mailprobe demo`" + ` (DNS on 127.0.0.1, SMTP and LMTP servers
on 127.0.0.10 and up, all on one port), print the --resolver and --port to use and the
command that reproduces each scenario, and keep it running until Ctrl-C (or SIGTERM).
Sends nothing beyond loopback. Same as ` + "`mailprobe demo --serve`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serveLab(cmd.Context(), g) },
	}
}

// serveLab starts the lab, describes it and blocks until ctx ends. Ending
// by Ctrl-C is how a user stops it, so it exits 0.
func serveLab(ctx context.Context, g *globals) error {
	l, err := lab.Start(ctx, lab.Options{})
	if err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	defer l.Close()
	writeLabBanner(g.stdout, l)
	<-ctx.Done()
	fmt.Fprintln(g.stdout, "\nlab stopped")
	return nil
}

func writeLabBanner(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "The mailprobe lab is running on loopback. In another terminal, use:\n\n")
	fmt.Fprintf(w, "  --resolver %s --port %d        (DNSBL: --lists %s)\n\n", l.DNSAddr(), l.Port(), lab.DNSBLZone)
	fmt.Fprintf(w, "Scenarios (domain, what it shows, the command that reproduces it):\n")
	for _, sc := range l.Scenarios() {
		fmt.Fprintf(w, "\n  %-22s %s\n  %-22s %s\n", sc.Name, sc.Title, "", labReproduce(l, sc))
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop the lab.\n")
}

// labReproduce is the `mailprobe probe` command that reaches scenario sc
// while lab l runs, derived from the configuration demo probes it with.
func labReproduce(l *lab.Lab, sc lab.Scenario) string {
	cfg, targets, err := demoConfig(l, sc)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return reproduce(cfg, targets)
}
