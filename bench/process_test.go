package bench

import (
	"context"
	"os/exec"
	"path/filepath"
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

// BenchmarkWholeProcessVsMinimal runs one whole `mailprobe probe` process
// and one bench/minclient process (the same DNS lookups and SMTP dialogue,
// nothing else) alternately against the lab, and prints both medians and
// their ratio: what mailprobe's own start-up, classification and report
// cost on top of the dialogue. Goal (issue 12): ratio ≤ 1.2.
func BenchmarkWholeProcessVsMinimal(b *testing.B) {
	bin := mailprobeBinary(b)
	minBin := filepath.Join(filepath.Dir(bin), "minclient")
	if out, err := exec.Command("go", "build", "-o", minBin, "./minclient").CombinedOutput(); err != nil {
		b.Fatalf("go build minclient: %v\n%s", err, out)
	}
	l, err := lab.Start(context.Background(), lab.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	port := strconv.Itoa(l.Port())
	probeArgs := []string{"probe", "--resolver", l.DNSAddr(), "--port", port,
		"--helo", "probe.lab.test", "--dnsbl", "never", "-o", "postfix", "alice@accept.lab.test"}
	minArgs := []string{l.DNSAddr(), port, "probe.lab.test", "alice@accept.lab.test"}
	timeRun := func(name string, args []string) time.Duration {
		start := time.Now()
		out, err := exec.Command(name, args...).CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v: %s", name, err, out)
		}
		return d
	}
	// Warm both (page cache, lab connections).
	timeRun(bin, probeArgs)
	timeRun(minBin, minArgs)
	var mp, mc []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mp = append(mp, timeRun(bin, probeArgs))
		mc = append(mc, timeRun(minBin, minArgs))
	}
	b.StopTimer()
	med := func(ts []time.Duration) time.Duration {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		return ts[len(ts)/2]
	}
	p, m := med(mp), med(mc)
	ratio := float64(p) / float64(m)
	b.ReportMetric(ratio, "ratio")
	figure("whole process, median over %d runs each: mailprobe probe %.2f ms, minimal Go client %.2f ms, ratio %.2f",
		len(mp), float64(p.Microseconds())/1000, float64(m.Microseconds())/1000, ratio)
}
