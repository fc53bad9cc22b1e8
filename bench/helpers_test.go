package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// figure prints one measured figure on stdout, where `go test -bench`
// output goes, so bench/run shows it without -v.
func figure(format string, a ...any) {
	fmt.Printf("    FIGURE "+format+"\n", a...)
}

// fastServer is the cheapest correct SMTP/LMTP responder: it greets,
// offers PIPELINING and answers every command with 250 (the enhanced
// code the command's: 2.1.0 MAIL, 2.1.5 RCPT, 2.0.0 else), replies flushed
// only when no more input is waiting (RFC 2920 §3.1 server behaviour).
// It stands in for a server that is never the bottleneck — which is why
// it is not internal/fakemta: that engine drains every connection through
// a reader goroutine and records every line, work the figures would
// measure along with the probe's.
func fastServer(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveFast(c)
		}
	}()
	return l.Addr().String()
}

func serveFast(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriterSize(c, 64<<10)
	_, _ = bw.WriteString("220 fast.test ESMTP\r\n")
	_ = bw.Flush()
	for {
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		switch v := strings.ToUpper(string(line[:min(4, len(line))])); v {
		case "EHLO", "LHLO":
			_, _ = bw.WriteString("250-fast.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
		case "QUIT":
			_, _ = bw.WriteString("221 2.0.0 Bye\r\n")
			_ = bw.Flush()
			return
		case "DATA", "BDAT":
			panic("the probe sent " + v)
		case "MAIL":
			_, _ = bw.WriteString("250 2.1.0 Ok\r\n")
		case "RCPT":
			_, _ = bw.WriteString("250 2.1.5 Ok\r\n")
		default:
			// RSET, NOOP: Postfix's smtpd answers "250 2.0.0 Ok". The
			// enhanced codes follow the command (RFC 3463 §3.2: X.1.0
			// for the sender, X.1.5 for a recipient) as real servers'
			// do; the probe's desync check (probe/desync.go) rejects a
			// MAIL answered with a recipient's code.
			_, _ = bw.WriteString("250 2.0.0 Ok\r\n")
		}
	}
}

// delayProxy forwards loopback TCP to upstream, holding every chunk for
// delay in each direction: a path with an RTT of 2×delay. (The TCP
// handshake itself is local and not delayed.)
func delayProxy(tb testing.TB, upstream string, delay time.Duration) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = c.Close()
				continue
			}
			go pumpDelayed(c, u, delay)
			go pumpDelayed(u, c, delay)
		}
	}()
	return l.Addr().String()
}

func pumpDelayed(src, dst net.Conn, delay time.Duration) {
	type chunk struct {
		b   []byte
		due time.Time
	}
	ch := make(chan chunk, 1024)
	go func() {
		defer dst.Close()
		for c := range ch {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(delay)}
		}
		if err != nil {
			close(ch)
			return
		}
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// mailprobeBinary builds the command once per test process.
func mailprobeBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailprobe-bench")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mailprobe")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/mailprobe").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// runBatch verifies lines against server the way the command does —
// judged and rendered as Postfix lines — and returns the number of
// deliverable results.
func runBatch(tb testing.TB, cfg probe.Config, opts probe.BatchOptions, src probe.RcptSource, out io.Writer) (deliverable int, st probe.BatchStats) {
	tb.Helper()
	b, err := probe.NewBatch(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	err = b.Run(tb.Context(), src, func(it probe.BatchItem) error {
		e := report.BatchJudge(it, b.Result())
		if e.Status == report.StatusDeliverable {
			deliverable++
		}
		return report.BatchPostfix(out, e)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return deliverable, b.Stats()
}

func serverConfig(server string, proto probe.Protocol) probe.Config {
	srv, err := probe.ParseServer(server)
	if err != nil {
		panic(err)
	}
	return probe.Config{Server: srv, Protocol: proto, HELO: "bench.example.net", From: "postmaster@bench.example.net",
		STARTTLS: probe.TLSNever, Timeout: 30 * time.Second}
}
