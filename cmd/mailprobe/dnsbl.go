package main

import (
	"context"
	"net/netip"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
)

// probeDNSBL lets probe ask package blacklist about the addresses it used,
// without probe knowing how lists are configured.
type probeDNSBL struct{ c *blacklist.Checker }

func (p probeDNSBL) CheckAddrs(ctx context.Context, addrs []netip.Addr) []blacklist.Result {
	ts := make([]blacklist.Target, len(addrs))
	for i, a := range addrs {
		ts[i] = blacklist.TargetIP(a)
	}
	return p.c.Check(ctx, ts)
}

// newDNSBLChecker builds the checker probe uses for --dnsbl, from --lists
// (default: the built-in set), asking through the same resolver as MX.
func newDNSBLChecker(g *globals, c *dnsclient.Client, spec string) (probeDNSBL, error) {
	lists := blacklist.DefaultLists()
	if spec != "" {
		l, err := blacklist.ParseLists(spec)
		if err != nil {
			return probeDNSBL{}, usagef("--lists: %v", err)
		}
		lists = l
	}
	var ipLists []blacklist.List
	for _, l := range lists {
		if l.Kind == blacklist.KindIP {
			ipLists = append(ipLists, l)
		}
	}
	return probeDNSBL{&blacklist.Checker{Resolver: blacklist.DNSResolver{Client: c}, Lists: ipLists, Timeout: g.dnsTimeout}}, nil
}
