package bench

import (
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// BenchmarkRoundTrips: one probe of one recipient through a proxy that
// delays each direction by 25 ms (RTT 50 ms). The dialogue needs the
// greeting (half a round trip: it travels only server to client), EHLO
// (one), and MAIL+RCPT+RSET+QUIT pipelined (one): 2.5 RTT through this
// proxy, whose TCP handshake is local; on a real path connect adds one
// more RTT, 3.5 in all.
func BenchmarkRoundTrips(b *testing.B) {
	const delay = 25 * time.Millisecond
	const rtt = 2 * delay
	proxy := delayProxy(b, fastServer(b), delay)
	cfg := serverConfig(proxy, probe.ProtocolSMTP)
	a, err := probe.ParseAddress("recipient", "user@lab.test")
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := probe.Run(b.Context(), cfg, []probe.Target{{Address: a}})
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if o := res.Recipients[0]; o.Reply == nil || o.Reply.Code != 250 {
			b.Fatalf("outcome: %+v", o)
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(rtt), "RTT/probe")
	figure("one probe through a %v-each-way proxy: %v = %.2f RTT (dialogue needs 2.5 here: greeting 0.5, EHLO 1, MAIL+RCPT+RSET+QUIT 1; +1 for connect on a real path)",
		delay, per.Round(100*time.Microsecond), float64(per)/float64(rtt))
}

// BenchmarkBatchRoundTrips: 1,000 recipients through the same proxy, to
// show what pipelining windows buy on a slow path.
func BenchmarkBatchRoundTrips(b *testing.B) {
	const delay = 25 * time.Millisecond
	proxy := delayProxy(b, fastServer(b), delay)
	cfg := serverConfig(proxy, probe.ProtocolSMTP)
	addrs := make([]string, 1000)
	for i := range addrs {
		addrs[i] = "user@lab.test"
	}
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ok, _ := runBatch(b, cfg, probe.BatchOptions{}, sliceSource(addrs), discard{})
		total += time.Since(start)
		if ok != len(addrs) {
			b.Fatalf("%d deliverable", ok)
		}
	}
	per := total / time.Duration(b.N)
	figure("1,000 recipients through the 25 ms proxy (2 sessions, window 100, slow start from 9): %v = %.1f RTT, %.0f rcpt/s",
		per.Round(time.Millisecond), float64(per)/float64(2*delay), 1000/per.Seconds())
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
