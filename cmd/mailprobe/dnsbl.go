package main

import (
	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
)

// newDNSBLChecker builds the checker probe uses for --dnsbl, from --lists
// (default: the built-in set), asking through the same resolver as MX.
// Only IP lists apply: probe asks about addresses.
func newDNSBLChecker(g *globals, c *dnsclient.Client, spec string) (blacklist.AddrChecker, error) {
	lists := blacklist.DefaultLists()
	if spec != "" {
		l, err := blacklist.ParseLists(spec)
		if err != nil {
			return blacklist.AddrChecker{}, usagef("--lists: %v", err)
		}
		lists = l
	}
	var ipLists []blacklist.List
	for _, l := range lists {
		if l.Kind == blacklist.KindIP {
			ipLists = append(ipLists, l)
		}
	}
	return blacklist.AddrChecker{Checker: &blacklist.Checker{Resolver: blacklist.DNSResolver{Client: c}, Lists: ipLists, Timeout: g.dnsTimeout}}, nil
}
