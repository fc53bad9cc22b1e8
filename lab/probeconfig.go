package lab

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// ProbeOptions are the probe options that reach a scenario the way
// `mailprobe probe --resolver DNSAddr --port Port` would: the lab's DNS,
// its shared SMTP port, short timeouts (the silent server must not cost
// the demo 30 s), blocklist evidence from the lab's own DNSBL only (the
// well-known lists are neither reachable nor wanted from a lab), and the
// lab's certificate not among the roots, so the self-signed scenario is
// reported exactly as it would be in production.
func (l *Lab) ProbeOptions(sc Scenario) probe.Options {
	o := probe.DefaultOptions()
	o.Protocol = "smtp"
	if sc.Protocol != "" {
		o.Protocol = sc.Protocol
	}
	o.Server = sc.Server
	o.Port = l.Port()
	o.HELO = "probe.lab.test"
	o.From = "postmaster@probe.lab.test"
	o.Timeout, o.Deadline = time.Second, 10*time.Second
	o.Resolver, o.DNSTimeout = l.DNSAddr(), time.Second
	o.Lists = DNSBLZone
	o.TLSRoots = x509.NewCertPool()
	o.CatchAllCheck = sc.CatchAllCheck
	return o
}

// ProbeConfig is ProbeOptions validated by probe.NewConfig, with the
// scenario's targets.
func (l *Lab) ProbeConfig(sc Scenario) (probe.Config, []probe.Target, error) {
	cfg, err := probe.NewConfig(l.ProbeOptions(sc))
	if err != nil {
		return cfg, nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	ts, err := ProbeTargets(sc)
	return cfg, ts, err
}

// ProbeTargets are the recipients a scenario probes: its target, or
// postmaster at its domain.
func ProbeTargets(sc Scenario) ([]probe.Target, error) {
	addr, err := probe.ParseTarget(sc.Target)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if addr.Local == "" {
		addr = probe.DomainRecipient(addr)
	}
	return []probe.Target{{Address: addr}}, nil
}
