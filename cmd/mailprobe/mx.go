package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newMXCmd) }

func newMXCmd(g *globals) *cobra.Command {
	var ipv4, ipv6 bool
	var deadline time.Duration
	cmd := &cobra.Command{
		Use:   "mx DOMAIN...",
		Short: "Show where mail for a domain goes: MX hosts by preference and their addresses",
		Long: `Resolve each domain's MX records through --resolver, in the order an MTA would
use them, with the addresses of every host, and say what is wrong: NXDOMAIN, no MX
and no address, null MX (RFC 7505), SERVFAIL or timeouts, CNAME loops, MX targets
that are IP addresses or have no address. A domain with no MX but an address is
its own implicit MX (RFC 5321 §5.1).

--deadline bounds the whole run; lookups it cuts short say so. An answer
with more than 64 MX hosts has them looked up 64 at a time by preference, the next
64 only when none of the last had an address, with a warning,
and a host listed twice is looked up once.

Exit code 0 when every domain has a usable route, 1 when one cannot receive mail
(NXDOMAIN, null MX, no address), 2 when resolution failed temporarily.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("mx needs at least one DOMAIN")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkFormat("mx"); err != nil {
				return err
			}
			if ipv4 && ipv6 {
				return usagef("-4 and -6 exclude each other")
			}
			if deadline <= 0 {
				return usagef("--deadline must be positive")
			}
			var domains []string
			for _, a := range args {
				d, err := probe.ParseDomain("domain", a)
				if err != nil {
					return &usageError{err}
				}
				domains = append(domains, d.ASCIIDomain)
			}
			c, err := g.dns()
			if err != nil {
				return err
			}
			r := &mx.Resolver{DNS: c, Family: mx.FamilyAny}
			if ipv4 {
				r.Family = mx.FamilyIPv4
			}
			if ipv6 {
				r.Family = mx.FamilyIPv6
			}
			ctx, cancel := context.WithTimeoutCause(cmd.Context(), deadline,
				fmt.Errorf("the mx --deadline of %s passed", deadline))
			defer cancel()
			var routes []*mx.Route
			rank := report.RankOK
			for _, d := range domains {
				rt := r.Resolve(ctx, d)
				routes = append(routes, rt)
				rank = rank.Worse(report.RankRoute(rt))
			}
			if ctx.Err() != nil && cmd.Context().Err() == nil {
				// The lookups it cut short read "try again", as Postfix
				// words a lookup without an answer; say why.
				fmt.Fprintf(g.stderr, "mailprobe mx: %v: lookups still running were stopped and are reported as not answered\n", context.Cause(ctx))
			}
			if g.output == "json" {
				err = report.MXJSON(g.stdout, routes)
			} else {
				err = report.MXText(g.stdout, routes, report.TextOptions{Color: useColor(g.stdout)})
			}
			if err != nil {
				return err
			}
			return withRank(rank, probe.StopNone)
		},
	}
	cmd.Flags().BoolVarP(&ipv4, "ipv4", "4", false, "IPv4 addresses only")
	cmd.Flags().BoolVarP(&ipv6, "ipv6", "6", false, "IPv6 addresses only")
	cmd.Flags().DurationVar(&deadline, "deadline", probe.DefaultMXDeadline, "bound on the whole run (every domain's lookups)")
	return cmd
}
