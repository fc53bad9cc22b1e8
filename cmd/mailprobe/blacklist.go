package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func init() { subcommands = append(subcommands, newBlacklistCmd) }

func newBlacklistCmd(g *globals) *cobra.Command {
	var (
		listsSpec   string
		health      bool
		concurrency int
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:     "blacklist TARGET...",
		Aliases: []string{"dnsbl"},
		Short:   "Check IP addresses, host names and domains against DNS blocklists",
		Long: `blacklist asks DNS blocklists (RFC 5782) about each TARGET: an IPv4 or IPv6
address, or a name. A name is checked on the domain lists, and its A/AAAA
addresses and those of its MX hosts on the IP lists. For every list it says listed, clean or unknown,
with the returned codes, what they mean, and the list's TXT reason.

Error answers are never "listed": 127.255.255.0/24 on any list (Spamhaus's error
range, unless --lists declares such a code), DBL 127.0.1.255, URIBL/SURBL 127.0.0.1, answers outside 127.0.0.0/8 (a resolver
rewriting NXDOMAIN), SERVFAIL, REFUSED and timeouts are "unknown" with the
reason. Many lists refuse queries sent through public resolvers (8.8.8.8,
1.1.1.1, 9.9.9.9…); use your own recursive resolver with --resolver.

--lists takes a comma-separated list or a file (@PATH, or an existing file,
one entry per line, # comments). An entry is
  ZONE[=ip|domain][:CODE=MEANING;...]
where CODE is 127.x.y.z, !127.x.y.z for an error code (never a listing) or
&N for bit N of a bitmask list; "defaults" adds the default lists.
Example: --lists 'defaults,bl.example.org:127.0.0.2=spam trap hit;!127.0.0.255=refused'

--health runs each list's self-test instead (127.0.0.2 must be listed,
127.0.0.1 must not; "test"/"invalid" for domain lists) and says which lists
cannot be used from this resolver; exit 2 if any cannot.

Exit codes: 0 every target clean, 1 listed somewhere, 2 some lists unknown and
none listed, 64 bad input.`,
		Args: func(_ *cobra.Command, args []string) error {
			if !health && len(args) == 0 {
				return usagef("blacklist: give at least one TARGET (IP address, host name or domain), or --health")
			}
			if health && len(args) > 0 {
				return usagef("blacklist: --health takes no TARGET")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkFormat("blacklist"); err != nil {
				return err
			}
			lists := blacklist.DefaultLists()
			if listsSpec != "" {
				var err error
				if lists, err = blacklist.ParseLists(listsSpec); err != nil {
					return usagef("--lists: %v", err)
				}
			}
			if concurrency < 1 {
				return usagef("--concurrency %d: want at least 1", concurrency)
			}
			if !cmd.Flags().Changed("timeout") {
				timeout = g.dnsTimeout
			}
			if timeout <= 0 {
				return usagef("--timeout %v: want a positive duration", timeout)
			}
			targets := make([]blacklist.Target, 0, len(args))
			for _, a := range args {
				t, err := blacklist.ParseTarget(a)
				if err != nil {
					return usagef("%v", err)
				}
				targets = append(targets, t)
			}
			client, err := g.dns()
			if err != nil {
				return err
			}
			client.Timeout = timeout
			checker := &blacklist.Checker{
				Resolver:    blacklist.DNSResolver{Client: client},
				Hosts:       blacklistHosts{&mx.Resolver{DNS: client}},
				MX:          blacklistHosts{&mx.Resolver{DNS: client}},
				Lists:       lists,
				Concurrency: concurrency,
				Timeout:     timeout,
			}
			opts := report.BlacklistOptions{Color: useColor(g.stdout)}
			if w := blacklist.PublicResolverWarning(client.Servers, lists); w != "" {
				opts.Warnings = append(opts.Warnings, w)
			}
			if health {
				return runBlacklistHealth(cmd.Context(), g, checker, opts)
			}
			rs := checker.Check(cmd.Context(), targets)
			if g.output == "json" {
				err = report.BlacklistJSON(g.stdout, rs, opts)
			} else {
				err = report.BlacklistText(g.stdout, rs, opts)
			}
			if err != nil {
				return fmt.Errorf("writing report: %w", err)
			}
			return withRank(report.RankBlacklist(rs), probe.StopNone)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listsSpec, "lists", "", "lists to check: comma list or @FILE of ZONE[=ip|domain][:CODE=MEANING;...] (default: the built-in lists)")
	f.BoolVar(&health, "health", false, "test each list the RFC 5782 way and say which cannot be used from this resolver")
	f.IntVar(&concurrency, "concurrency", blacklist.DefaultConcurrency, "DNSBL queries in flight at once")
	f.DurationVar(&timeout, "timeout", 0, "timeout of one DNSBL query (default: the --dns-timeout value)")
	return cmd
}

func runBlacklistHealth(ctx context.Context, g *globals, c *blacklist.Checker, opts report.BlacklistOptions) error {
	hs := c.Health(ctx)
	var err error
	if g.output == "json" {
		err = report.BlacklistHealthJSON(g.stdout, hs, opts)
	} else {
		err = report.BlacklistHealthText(g.stdout, hs, opts)
	}
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return withRank(report.RankHealth(hs), probe.StopNone)
}

// blacklistHosts adapts mx.Resolver to blacklist.HostResolver, so host
// targets resolve exactly as MX hosts do (same resolver, CNAME handling,
// address families).
type blacklistHosts struct{ r *mx.Resolver }

func (h blacklistHosts) LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	addrs, _, err := h.r.LookupHost(ctx, name)
	if err != nil {
		if errors.Is(err, mx.ErrNXDomain) || errors.Is(err, mx.ErrNoData) || errors.Is(err, mx.ErrNoHostAddress) {
			return nil, fmt.Errorf("%w: %w", blacklist.ErrHostNotFound, err)
		}
		return nil, err
	}
	return addrs, nil
}

// LookupMX gives a domain target's MX hosts with their addresses. A
// domain without MX (whose own addresses are its implicit MX, checked as
// the name's addresses anyway), with a null MX, or that does not exist
// has none; a host without addresses is listed without them. Only a
// temporary failure is an error: the MX hosts could then not be checked.
func (h blacklistHosts) LookupMX(ctx context.Context, domain string) ([]blacklist.MXHost, error) {
	rt := h.r.Resolve(ctx, domain)
	if rt.Err != nil && rt.Err.Temporary {
		return nil, rt.Err
	}
	if rt.Implicit || rt.Err != nil && !errors.Is(rt.Err, mx.ErrNoAddress) {
		return nil, nil
	}
	out := make([]blacklist.MXHost, 0, len(rt.Hosts))
	for _, mh := range rt.Hosts {
		out = append(out, blacklist.MXHost{Name: mh.Name, Addrs: mh.Addresses})
	}
	return out, nil
}
