package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Defaults for Checker fields left zero.
const (
	DefaultConcurrency = 64
	DefaultTimeout     = 5 * time.Second
)

// Checker asks every list about every target.
type Checker struct {
	Resolver Resolver
	// Hosts resolves host-name targets (Target.Resolve). It may be nil
	// when every target is an address or a domain.
	Hosts HostResolver
	// MX, when set, adds the addresses of each domain target's MX hosts
	// to the IP-list checks.
	MX    MXLookup
	Lists []List
	// Concurrency bounds the DNSBL queries in flight; 0 means
	// DefaultConcurrency. The bound protects the resolver and keeps
	// within the lists' rate limits while still making 40 lists cost
	// about one round trip.
	Concurrency int
	// UsedAddrs says the address targets are addresses a probe used (its
	// own connections' local addresses, the hosts it dialled), not ones a
	// user named: those that cannot be Internet senders are then kept off
	// the public lists too (scope.go).
	UsedAddrs bool
	// Timeout bounds each single DNSBL query (A, then TXT); 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// job is one list asked about one address or domain.
type job struct {
	target  string
	address string // IP or domain as asked; "" when a host did not resolve
	list    List
	addr    netip.Addr
	domain  string
	via     string // MX host name, for a domain target's MX addresses
	failure error  // set when the job cannot be asked (host resolution failed)
}

// MaxMXAddrs bounds the MX host addresses a domain target has checked.
const MaxMXAddrs = 32

// Check asks every list about every target, all queries concurrently
// within the Concurrency bound. Results come in a deterministic order:
// targets in the given order; within a target, domain lists first (on the
// name itself), then each address (in resolver order) on the IP lists;
// lists in c.Lists order. A listed answer costs a second round trip for
// the TXT reason, asked only then: TXT is pure explanation, and asking it
// for every clean address would double the load on the lists for nothing.
func (c *Checker) Check(ctx context.Context, targets []Target) []Result {
	var addrs [][]netip.Addr
	var hostErrs []error
	var mxs [][]MXHost
	var mxErrs []error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); addrs, hostErrs = c.resolveHosts(ctx, targets) }()
	go func() { defer wg.Done(); mxs, mxErrs = c.resolveMX(ctx, targets) }()
	wg.Wait()
	var jobs []job
	for i, t := range targets {
		if t.Domain {
			for _, l := range c.Lists {
				if l.Kind == KindDomain {
					jobs = append(jobs, job{target: t.Name, address: t.Name, list: l, domain: t.Name})
				}
			}
		}
		var as []netip.Addr
		if t.Addr.IsValid() {
			as = append(as, t.Addr.Unmap())
		}
		as = append(as, addrs[i]...)
		for k, a := range as {
			// An address the user named is asked as named (127.0.0.2 is
			// how one tests a list); one that DNS or the probe's own
			// connection supplied is not asked of public lists when it
			// cannot be an Internet sender (scope.go).
			named := k == 0 && t.Addr.IsValid() && !c.UsedAddrs
			for _, l := range c.Lists {
				if l.Kind != KindDomain {
					jobs = append(jobs, c.addrJob(t.Name, l, a, "", named))
				}
			}
		}
		// A domain's MX hosts: each address once, after the name's own,
		// MaxMXAddrs at most: the domain's DNS decides how many there are
		// (each asked of every list), and the ones left out make the
		// domain unknown on every list rather than clean.
		hasMX := false
		skipped := 0
		for _, h := range mxs[i] {
			for _, a := range h.Addrs {
				a = a.Unmap().WithZone("")
				if slices.Contains(as, a) {
					continue
				}
				if mxAddrs := len(as) - len(addrs[i]); mxAddrs >= MaxMXAddrs {
					skipped++
					continue
				}
				as = append(as, a)
				hasMX = true
				for _, l := range c.Lists {
					if l.Kind != KindDomain {
						jobs = append(jobs, c.addrJob(t.Name, l, a, h.Name, false))
					}
				}
			}
		}
		if skipped > 0 {
			err := fmt.Errorf("%d more MX host addresses not checked (at most %d per domain)", skipped, MaxMXAddrs)
			for _, l := range c.Lists {
				if l.Kind != KindDomain {
					jobs = append(jobs, job{target: t.Name, list: l, failure: err, via: "MX"})
				}
			}
		}
		if err := mxErrs[i]; err != nil {
			for _, l := range c.Lists {
				if l.Kind != KindDomain {
					jobs = append(jobs, job{target: t.Name, list: l, failure: err, via: "MX"})
				}
			}
		}
		// A name checked as a domain that simply has no addresses is
		// normal (many mail domains have none, their mail goes to the MX
		// hosts); only a failure to find out, or a pure host target
		// without addresses, is reported.
		noAddrOK := t.Domain && (c.hasKind(KindDomain) || hasMX || len(mxs[i]) > 0)
		if err := hostErrs[i]; err != nil && !(noAddrOK && errors.Is(err, ErrHostNotFound)) {
			for _, l := range c.Lists {
				if l.Kind != KindDomain {
					jobs = append(jobs, job{target: t.Name, list: l, failure: err})
				}
			}
		}
	}
	return c.run(ctx, jobs)
}

// addrJob is list l asked about address a of target. A public list is
// not asked about an address that cannot be an Internet sender unless the
// user named it: the job reports why instead of a verdict.
func (c *Checker) addrJob(target string, l List, a netip.Addr, via string, named bool) job {
	j := job{target: target, address: a.String(), list: l, addr: a, via: via}
	if l.Public && !named && !PublicAddr(a) {
		j.failure = fmt.Errorf("%w: %s", ErrNotPublic, a)
	}
	return j
}

// resolveMX finds the MX hosts of the domain targets, concurrently, when
// the checker has an MXLookup and IP lists to ask about their addresses.
func (c *Checker) resolveMX(ctx context.Context, targets []Target) ([][]MXHost, []error) {
	hosts := make([][]MXHost, len(targets))
	errs := make([]error, len(targets))
	if c.MX == nil || !c.hasKind(KindIP) {
		return hosts, errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.concurrency())
	for i, t := range targets {
		if !t.Domain {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			hs, err := c.MX.LookupMX(ctx, t.Name)
			if err != nil {
				errs[i] = fmt.Errorf("MX hosts of %s: %w", t.Name, err)
			}
			hosts[i] = hs
		}()
	}
	wg.Wait()
	return hosts, errs
}

func (c *Checker) hasKind(k Kind) bool {
	for _, l := range c.Lists {
		if l.Kind == k {
			return true
		}
	}
	return false
}

// resolveHosts looks up the targets that are host names, concurrently.
// Duplicate addresses (A and AAAA of an IPv4-mapped form) are dropped.
// The HostResolver's own per-query timeouts apply.
func (c *Checker) resolveHosts(ctx context.Context, targets []Target) ([][]netip.Addr, []error) {
	addrs := make([][]netip.Addr, len(targets))
	errs := make([]error, len(targets))
	if !c.hasKind(KindIP) {
		return addrs, errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.concurrency())
	for i, t := range targets {
		if !t.Resolve {
			continue
		}
		if c.Hosts == nil {
			errs[i] = fmt.Errorf("resolving %s: no host resolver configured", t.Name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			as, err := c.Hosts.LookupHost(ctx, t.Name)
			if err != nil {
				errs[i] = fmt.Errorf("resolving %s: %w", t.Name, err)
				return
			}
			seen := map[netip.Addr]bool{}
			for _, a := range as {
				a = a.Unmap().WithZone("")
				if !seen[a] {
					seen[a] = true
					addrs[i] = append(addrs[i], a)
				}
			}
			if len(addrs[i]) == 0 {
				errs[i] = fmt.Errorf("resolving %s: %w", t.Name, ErrHostNotFound)
			}
		}()
	}
	wg.Wait()
	return addrs, errs
}

func (c *Checker) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return DefaultConcurrency
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// run performs jobs concurrently, at most c.Concurrency at a time, and
// returns their results in job order.
func (c *Checker) run(ctx context.Context, jobs []job) []Result {
	results := make([]Result, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.concurrency())
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = c.lookup(ctx, j)
		}()
	}
	wg.Wait()
	return results
}

func (c *Checker) lookup(ctx context.Context, j job) Result {
	start := time.Now()
	r := Result{Target: j.target, Address: j.address, List: j.list.Zone, Status: Unknown, Via: j.via}
	unknown := func(err error) Result {
		r.Status, r.Err, r.Error = Unknown, err, err.Error()
		r.Duration = time.Since(start)
		return r
	}
	if j.failure != nil {
		return unknown(j.failure)
	}
	qname, err := QueryName(j.list, j.addr, j.domain)
	if err != nil {
		return unknown(err)
	}
	r.Query = qname

	actx, cancel := context.WithTimeout(ctx, c.timeout())
	ans, err := c.Resolver.LookupA(actx, qname)
	cancel()
	if err != nil {
		return unknown(err)
	}
	v := Decode(j.list, ans)
	r.Status, r.Codes, r.Meanings = v.Status, v.Codes, v.Meanings
	if v.Status == Listed || errors.Is(v.Err, ErrErrorCode) {
		// RFC 5782 §2.1: the TXT record at the same name explains the
		// listing; lists answering with an error code explain it the same
		// way ("Error: open resolver"). Its absence or failure does not
		// change the verdict.
		tctx, cancel := context.WithTimeout(ctx, c.timeout())
		txt, err := c.Resolver.LookupTXT(tctx, qname)
		cancel()
		if err == nil && txt.Rcode == dns.RcodeSuccess {
			r.Reason = strings.Join(txt.TXT, "; ")
		}
	}
	if v.Err != nil {
		return unknown(v.Err)
	}
	r.Duration = time.Since(start)
	return r
}

// AddrChecker asks a Checker about plain addresses; it is what package
// probe needs for --dnsbl (probe.DNSBLChecker), without probe knowing how
// lists are configured.
type AddrChecker struct{ Checker *Checker }

// CheckAddrs checks each address on the checker's lists and on the zones
// a server's refusal named (see Mentioned), so that the list the server
// used is always among the evidence.
func (a AddrChecker) CheckAddrs(ctx context.Context, addrs []netip.Addr, named []string) []Result {
	ts := make([]Target, len(addrs))
	for i, ad := range addrs {
		ts[i] = TargetIP(ad)
	}
	c := *a.Checker
	c.Lists = ListsFor(c.Lists, named)
	c.UsedAddrs = true
	return c.Check(ctx, ts)
}

// Lists are the lists the checker asks when no refusal names another;
// probe reads them to tell which URLs in a reply name a list.
func (a AddrChecker) Lists() []List { return a.Checker.Lists }
