package bench

import (
	"context"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/lab"
)

// BenchmarkWholeProcessProbe times what an admin waits for: one whole
// `mailprobe probe` process (start, MX lookup through the lab's DNS,
// SMTP dialogue, report, exit) against the in-process lab on loopback.
// Target: a few milliseconds. Prints the median and the 90th percentile.
func BenchmarkWholeProcessProbe(b *testing.B) {
	bin := mailprobeBinary(b)
	l, err := lab.Start(context.Background(), lab.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	args := []string{"probe", "--resolver", l.DNSAddr(), "--port", strconv.Itoa(l.Port()),
		"--helo", "probe.lab.test", "--dnsbl", "never", "-o", "postfix", "alice@accept.lab.test"}
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := exec.Command(bin, args...).CombinedOutput()
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	p90 := times[len(times)*9/10]
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	figure("one whole-process probe against the lab: median %.2f ms, p90 %.2f ms over %d runs",
		float64(med.Microseconds())/1000, float64(p90.Microseconds())/1000, len(times))
}
