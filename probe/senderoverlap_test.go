package probe_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
)

// gateDNS answers from zone, but holds every answer about the HELO name
// until the recipient domain's MX question has arrived (or a second has
// passed, and records that it had to wait in vain).
type gateDNS struct {
	zone    *dnsserve.Zone
	helo    string
	rcptMX  string
	once    sync.Once
	arrived chan struct{}
	mu      sync.Mutex
	starved bool
}

func (g *gateDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) == 1 {
		q := req.Question[0]
		if q.Qtype == dns.TypeMX && q.Name == g.rcptMX {
			g.once.Do(func() { close(g.arrived) })
		}
		if q.Name == g.helo {
			select {
			case <-g.arrived:
			case <-time.After(time.Second):
				g.mu.Lock()
				g.starved = true
				g.mu.Unlock()
			}
		}
	}
	g.zone.ServeDNS(w, req)
}

// TestSenderCheckOverlapsRoute: the sender check's lookups (the HELO
// name's MX, A, AAAA) and the recipient domain's MX lookup run at the
// same time — on a real network that is two DNS round trips saved — and
// the sender is still settled before the session: MAIL FROM carries
// double-bounce@HELO, chosen from the HELO name's answers.
func TestSenderCheckOverlapsRoute(t *testing.T) {
	mta := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, _ string) string { return "250 2.1.5 Ok" }})
	_, port, err := net.SplitHostPort(mta.Addr)
	require.NoError(t, err)
	zone, err := dnsserve.NewZone(
		"helo.test. 60 IN A 127.0.0.1",
		"rcpt.test. 60 IN MX 10 mx.rcpt.test.",
		"mx.rcpt.test. 60 IN A 127.0.0.1",
	)
	require.NoError(t, err)
	gate := &gateDNS{zone: zone, helo: "helo.test.", rcptMX: "rcpt.test.", arrived: make(chan struct{})}
	srv, err := dnsserve.Listen("127.0.0.1", gate)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })

	o := probe.DefaultOptions()
	o.Resolver, o.HELO, o.DNSBL, o.IPv4 = srv.Addr, "helo.test", "never", true
	o.Port, _ = strconv.Atoi(port)
	o.DNSTimeout = 3 * time.Second
	cfg, err := probe.NewConfig(o)
	require.NoError(t, err)
	addr, err := probe.ParseTarget("alice@rcpt.test")
	require.NoError(t, err)
	res, err := probe.Run(context.Background(), cfg, []probe.Target{{Address: addr}})
	require.NoError(t, err)

	gate.mu.Lock()
	assert.False(t, gate.starved, "the HELO name's lookups waited for the recipient's MX lookup in vain: they ran one after the other")
	gate.mu.Unlock()
	require.Len(t, res.Recipients, 1)
	assert.Equal(t, 250, res.Recipients[0].Reply.Code)
	assert.Empty(t, res.Warnings)
	assert.Equal(t, "double-bounce@helo.test", res.Config.From)
	assert.Contains(t, mta.Lines(), "MAIL FROM:<double-bounce@helo.test>")
}
