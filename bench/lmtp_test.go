package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// The real Dovecot LMTP of the integration set (scripts/servers-up) and
// the users it knows (testdata/integration/dovecot/passwd).
var dovecotUsers = []string{"alice@it.test", "bob@it.test", "postmaster@it.test", "alice@deadbest.it.test"}

func dovecotLMTP(b *testing.B) string {
	addr := os.Getenv("MAILPROBE_IT_LMTP")
	if addr == "" {
		addr = "127.0.2.24:24"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		b.Skipf("no Dovecot LMTP at %s (start it with scripts/servers-up): %v", addr, err)
	}
	_ = c.Close()
	return addr
}

// recipients is n addresses cycling over the known users: a virtual
// mailbox table that is all valid, the case an admin hopes to confirm.
func recipients(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = dovecotUsers[i%len(dovecotUsers)]
	}
	return out
}

func sliceSource(addrs []string) *probe.SliceSource {
	s := &probe.SliceSource{}
	for i, a := range addrs {
		ad, err := probe.ParseAddress("recipient", a)
		if err != nil {
			panic(err)
		}
		s.Lines = append(s.Lines, probe.RcptLine{Line: i + 1, Raw: a, Address: ad})
	}
	return s
}

const lmtpRecipients = 10000

// BenchmarkLMTPBatch: 10,000 recipients against the real Dovecot LMTP:
// mailprobe's batch engine (defaults: 2 sessions, window 100) versus a
// minimal pipelined writer, the best of 1, 2 and 4 sessions with the same
// window (what the server itself can take).
func BenchmarkLMTPBatch(b *testing.B) {
	addr := dovecotLMTP(b)
	addrs := recipients(lmtpRecipients)
	cfg := serverConfig(addr, probe.ProtocolLMTP)
	opts := probe.BatchOptions{}
	var mp, raw time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ok, st := runBatch(b, cfg, opts, sliceSource(addrs), io.Discard)
		mp += time.Since(start)
		if ok != len(addrs) {
			b.Fatalf("%d of %d deliverable", ok, len(addrs))
		}
		if i == 0 {
			figure("mailprobe batch: %d sessions, %d transactions", st.Sessions, st.Transactions)
		}
		// The server's ceiling: the best of the minimal writer with 1,
		// 2 and 4 sessions.
		best := time.Duration(0)
		for _, conns := range []int{1, 2, 4} {
			start = time.Now()
			if err := minimalWriter(addr, addrs, conns, 100); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			if i == 0 {
				figure("minimal writer, %d sessions: %.0f rcpt/s", conns, float64(len(addrs))/d.Seconds())
			}
			if best == 0 || d < best {
				best = d
			}
		}
		raw += best
	}
	mpRate := float64(lmtpRecipients*b.N) / mp.Seconds()
	rawRate := float64(lmtpRecipients*b.N) / raw.Seconds()
	b.ReportMetric(mpRate, "rcpt/s")
	b.ReportMetric(100*mpRate/rawRate, "%-of-minimal")
	figure("Dovecot LMTP %s, %d recipients: mailprobe %.0f rcpt/s; minimal pipelined writer %.0f rcpt/s; mailprobe = %.0f%% of the minimal writer (target >= 80%%)",
		addr, lmtpRecipients, mpRate, rawRate, 100*mpRate/rawRate)
}

// BenchmarkLMTPProcessPerAddress: the swaks-loop way, one mailprobe
// process per address, sampled over 200 addresses and extrapolated.
func BenchmarkLMTPProcessPerAddress(b *testing.B) {
	addr := dovecotLMTP(b)
	bin := mailprobeBinary(b)
	const sample = 200
	addrs := recipients(sample)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, a := range addrs {
			cmd := exec.Command(bin, "probe", "--protocol", "lmtp", "--server", addr, "--dnsbl", "never",
				"--starttls", "never", "--helo", "bench.example.net", "-o", "postfix", a)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", a, err, out)
			}
		}
		total += time.Since(start)
	}
	rate := float64(sample*b.N) / total.Seconds()
	b.ReportMetric(rate, "rcpt/s")
	figure("Dovecot LMTP %s: one process per address %.0f rcpt/s (%d sampled; 10,000 would take %.1f s)",
		addr, rate, sample, lmtpRecipients/rate)
}

// minimalWriter is the least a client can do: LHLO, then per window one
// write of MAIL, the RCPTs and RSET, and a count of the final reply
// lines — no parsing, no judging, no bookkeeping.
func minimalWriter(addr string, addrs []string, conns, window int) error {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	per := (len(addrs) + conns - 1) / conns
	for c := 0; c < conns; c++ {
		part := addrs[min(c*per, len(addrs)):min((c+1)*per, len(addrs))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := minimalSession(addr, part, window); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func minimalSession(addr string, addrs []string, window int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	replies := func(n int) error {
		for n > 0 {
			l, err := br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(l) > 3 && l[3] == ' ' {
				if l[0] != '2' {
					return fmt.Errorf("minimal writer got %q", l)
				}
				n--
			}
		}
		return nil
	}
	if err := replies(1); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "LHLO bench.example.net\r\n"); err != nil {
		return err
	}
	if err := replies(1); err != nil {
		return err
	}
	var sb strings.Builder
	for i := 0; i < len(addrs); i += window {
		group := addrs[i:min(i+window, len(addrs))]
		sb.Reset()
		sb.WriteString("MAIL FROM:<postmaster@bench.example.net>\r\n")
		for _, a := range group {
			sb.WriteString("RCPT TO:<" + a + ">\r\n")
		}
		sb.WriteString("RSET\r\n")
		if _, err := io.WriteString(c, sb.String()); err != nil {
			return err
		}
		if err := replies(len(group) + 2); err != nil {
			return err
		}
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	return replies(1)
}
