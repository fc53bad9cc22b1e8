package lab

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/probe"
)

// ProbeConfig returns the probe configuration that reaches a scenario the
// way `mailprobe probe --resolver DNSAddr --port Port` would: the lab's
// DNS, its shared SMTP port, short timeouts (the silent server must not
// cost the demo 30 s), and the lab's certificate as the only root, so the
// self-signed scenario is reported exactly as it would be in production.
func (l *Lab) ProbeConfig(sc Scenario) (probe.Config, []probe.Target, error) {
	c, err := dnsclient.New(l.DNSAddr(), time.Second)
	if err != nil {
		return probe.Config{}, nil, err
	}
	cfg := probe.Config{
		Protocol: probe.Protocol(sc.Protocol),
		Port:     l.Port(),
		HELO:     "probe.lab.test",
		From:     "postmaster@probe.lab.test",
		STARTTLS: probe.TLSAuto,
		Timeout:  time.Second,
		Deadline: 10 * time.Second,
		DNS:      c,
		TLSRoots: x509.NewCertPool(),
		// Blocklist evidence comes from the lab's own DNSBL only: the
		// well-known lists are not reachable (nor wanted) from a lab.
		DNSBL: blacklist.AddrChecker{Checker: &blacklist.Checker{
			Resolver: blacklist.DNSResolver{Client: c},
			Lists:    []blacklist.List{{Zone: DNSBLZone, Kind: blacklist.KindIP, Name: "lab DNSBL"}},
			Timeout:  time.Second,
		}},
		CatchAllCheck: sc.CatchAllCheck,
	}
	if sc.Server != "" {
		srv, err := probe.ParseServer(sc.Server)
		if err != nil {
			return cfg, nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		cfg.Server = srv
	}
	addr, err := probe.ParseTarget(sc.Target)
	if err != nil {
		return cfg, nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if addr.Local == "" {
		addr = probe.DomainRecipient(addr)
	}
	return cfg, []probe.Target{{Address: addr}}, nil
}
