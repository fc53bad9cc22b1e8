package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

const millionAddresses = 1_000_000

// millionFile writes 1,000,000 distinct addresses as a virtual mailbox
// table (about 50 MB) once per run.
func millionFile(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "virtual_mailbox_maps")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "# one million mailboxes")
	for i := 0; i < millionAddresses; i++ {
		fmt.Fprintf(w, "user%07d@lab.test  lab.test/user%07d/\n", i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkMillionInProcess: the batch engine reading 1,000,000
// addresses from a file against an in-process server, output judged and
// rendered as Postfix lines; peak heap sampled every 10 ms (the server's
// share included).
func BenchmarkMillionInProcess(b *testing.B) {
	server := fastServer(b)
	path := millionFile(b)
	cfg := serverConfig(server, probe.ProtocolSMTP)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var peakHeap, peakSys uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
				peakSys = max(peakSys, ms.Sys-ms.HeapReleased)
				select {
				case <-t.C:
				case <-stop:
					return
				}
			}
		}()
		start := time.Now()
		ok, st := runBatch(b, cfg, probe.BatchOptions{}, probe.NewRcptReader(f), discard{})
		d := time.Since(start)
		close(stop)
		wg.Wait()
		_ = f.Close()
		if ok != millionAddresses {
			b.Fatalf("%d deliverable", ok)
		}
		b.ReportMetric(float64(peakHeap)/(1<<20), "MB-peak-heap")
		figure("1,000,000 addresses in-process: %v (%.0f rcpt/s, %d sessions); peak heap in use %.1f MB, peak memory from the OS %.1f MB (target < 64 MB)",
			d.Round(time.Millisecond), millionAddresses/d.Seconds(), st.Sessions, float64(peakHeap)/(1<<20), float64(peakSys)/(1<<20))
	}
}

// BenchmarkMillionBinary: the mailprobe binary with --rcpt-file of
// 1,000,000 addresses against the in-process server; peak RSS of the
// mailprobe process from getrusage (what /usr/bin/time -v reports as
// "Maximum resident set size").
func BenchmarkMillionBinary(b *testing.B) {
	bin := mailprobeBinary(b)
	server := fastServer(b)
	path := millionFile(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "probe", "--server", server, "--dnsbl", "never", "--starttls", "never",
			"--helo", "bench.example.net", "--rcpt-file", path, "-o", "postfix")
		out, err := os.Create(filepath.Join(b.TempDir(), "out"))
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdout = out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("mailprobe: %v", err)
		}
		d := time.Since(start)
		st, _ := out.Stat()
		_ = out.Close()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		rss := float64(ru.Maxrss) / 1024 // kilobytes on Linux
		b.ReportMetric(rss, "MB-peak-RSS")
		figure("mailprobe --rcpt-file with 1,000,000 addresses: %v (%.0f rcpt/s), %.0f MB of Postfix lines written; peak RSS %.1f MB (target < 64 MB)",
			d.Round(time.Millisecond), millionAddresses/d.Seconds(), float64(st.Size())/(1<<20), rss)
	}
}
