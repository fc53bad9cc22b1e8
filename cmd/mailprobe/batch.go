package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

const batchHelp = `
Batch verification (--rcpt-file FILE, or - for stdin):
  One address per line; '#' comments, blank lines and CRLF are fine, and so are
  Postfix lookup tables (virtual_mailbox_maps, postmap input): the first column is
  the address, lines starting with blanks continue the previous entry. "@domain"
  catch-all keys and bare "domain  value" lines are reported as skipped; lines that
  are not addresses as invalid (dsn 5.1.3), each with its line number. Duplicates
  are probed and reported once per line.
  Exactly one result per address line, in input order, written as soon as it is
  decided. Sessions are reused: up to --rcpt-window RCPTs per transaction (pipelined
  when the server offers PIPELINING), --concurrency sessions per host; a dropped or
  421'd session is reopened and goes on where it stopped. Over SMTP a session is
  renewed before 9 refused RCPTs, below Postfix's smtpd_soft_error_limit.
  Ctrl-C prints what was decided and reports the rest as not checked.
  --output text|postfix|jsonl|postmap (postmap: undeliverable addresses as a
  Postfix access table, "address  REJECT dsn text"). The summary goes to stdout
  after text output, to stderr otherwise. A progress line is shown on stderr when
  stderr is a terminal and stdout is not. --deadline applies only when given.
`

// addBatchFlags registers the batch flags on the probe command.
func addBatchFlags(cmd *cobra.Command, o *probe.Options) {
	fl := cmd.Flags()
	fl.String("rcpt-file", "", "verify every address in FILE (- for stdin): one per line or a Postfix lookup table")
	fl.IntVar(&o.RcptWindow, "rcpt-window", o.RcptWindow, "with --rcpt-file: RCPTs per transaction and per pipelined write")
	fl.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "with --rcpt-file: sessions per host")
	fl.Float64Var(&o.Rate, "rate", 0, "with --rcpt-file: at most this many RCPTs per second in all (0: no limit)")
	fl.IntVar(&o.MaxSessionErrors, "max-session-errors", 0, "with --rcpt-file: new session before this many refused RCPTs (default 9 for smtp, none for lmtp; -1: none)")
	cmd.Long += "\n" + batchHelp
	cmd.Example += "\n  mailprobe probe --protocol lmtp --server 127.0.0.1:24 --rcpt-file virtual_mailbox_maps\n" +
		"  postconf -h virtual_mailbox_maps | sed 's/^hash://' | xargs cat | mailprobe probe --server mx.example.org --rcpt-file - -o postmap > reject_table"
}

// batchRequested reports whether the probe command was given --rcpt-file.
func batchRequested(cmd *cobra.Command) bool { return cmd.Flags().Changed("rcpt-file") }

// batchOutput is what one format writes per entry.
type batchOutput func(io.Writer, report.BatchEntry) error

func runBatch(cmd *cobra.Command, g *globals, f *probeFlags, args []string) error {
	fl := cmd.Flags()
	path, _ := fl.GetString("rcpt-file")
	if len(args) > 0 {
		return usagef("give recipients either as arguments or with --rcpt-file, not both")
	}
	if path == "" {
		return usagef("--rcpt-file needs a file name, or - for stdin")
	}
	if err := g.checkFormat("probe --rcpt-file"); err != nil {
		return err
	}
	o := f.o
	if !fl.Changed("deadline") {
		o.Deadline = 0 // a batch takes as long as its input
	}
	if err := g.useRules(); err != nil {
		return err
	}
	cfg, bopts, err := probe.NewBatchConfig(o)
	if err != nil {
		return &usageError{err}
	}
	cfg.Warn = warnWriter(g.stderr)
	if f.transcript {
		cfg.Transcript = transcriptWriter(g.stderr, true)
	}

	in := g.stdin
	var size int64
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return usagef("--rcpt-file: %v", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = fh
	}
	counted := &countingReader{r: in}

	b, err := probe.NewBatch(cfg, bopts)
	if err != nil {
		return &usageError{err}
	}

	out := newFlusher(g.stdout)
	defer out.stop()
	summaryTo := g.stderr
	var write batchOutput
	switch g.output {
	case "jsonl":
		write = report.BatchJSONL
	case "postfix":
		write = report.BatchPostfix
	case "postmap":
		write = report.BatchPostmap
	default:
		color := useColor(g.stdout)
		write = func(w io.Writer, e report.BatchEntry) error {
			return report.BatchText(w, e, report.TextOptions{Color: color})
		}
		summaryTo = nil // after the results, on stdout
	}
	var prog *progress
	if isTerminal(g.stderr) && !isTerminal(g.stdout) {
		prog = newProgress(g.stderr, path, size)
	}

	sum := report.NewBatchSummary()
	runErr := b.Run(cmd.Context(), probe.NewRcptReader(counted), func(it probe.BatchItem) error {
		e := report.BatchJudge(it, b.Result())
		sum.Add(e)
		if prog != nil {
			prog.tick(it, e)
		}
		return out.write(func(w io.Writer) error { return write(w, e) })
	})
	if prog != nil {
		prog.clear()
	}
	if err := out.stop(); err != nil && runErr == nil {
		runErr = err
	}
	opts := report.TextOptions{Color: useColor(g.stderr)}
	if summaryTo == nil {
		summaryTo = g.stdout
		opts.Color = useColor(g.stdout)
		if sum.Total > 0 {
			fmt.Fprintln(g.stdout)
		}
	}
	if err := report.BatchSummaryText(summaryTo, sum, b.Stats(), opts); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		if errors.Is(runErr, probe.ErrRcptRead) {
			return &usageError{runErr}
		}
		return runErr
	}
	return withRank(report.RankBatch(sum), b.Stats().Stop)
}

// countingReader counts the bytes read, for the progress line.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// flusher buffers output and flushes it at least every 200 ms, so results
// appear as they are decided without one write(2) per line.
type flusher struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	err    error
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	closed bool
}

func newFlusher(w io.Writer) *flusher {
	f := &flusher{bw: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f.mu.Lock()
				if f.err == nil {
					f.err = f.bw.Flush()
				}
				f.mu.Unlock()
			case <-f.done:
				return
			}
		}
	}()
	return f
}

func (f *flusher) write(fn func(io.Writer) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.err = fn(f.bw)
	return f.err
}

// stop ends the ticker and flushes what is left; safe to call twice.
func (f *flusher) stop() error {
	f.once.Do(func() {
		close(f.done)
		f.wg.Wait()
		f.mu.Lock()
		if f.err == nil {
			f.err = f.bw.Flush()
		}
		f.mu.Unlock()
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// progress is a one-line progress display on a terminal, redrawn at most
// ten times a second. It counts results, not bytes read: how many
// addresses have their answer, how many were checked per second, and —
// when the input is a regular file, whose lines are counted first — how
// far through the input the results are and when the rest should be done.
type progress struct {
	w       io.Writer
	lines   atomic.Int64 // lines in the input, 0 until counted (or unknown)
	start   time.Time
	last    time.Time
	results int
	checked int
	line    int // the input line of the latest result
}

func newProgress(w io.Writer, path string, size int64) *progress {
	p := &progress{w: w, start: time.Now()}
	if path != "-" && size > 0 {
		go func() {
			if n, err := countLines(path); err == nil {
				p.lines.Store(n)
			}
		}()
	}
	return p
}

// countLines counts the newline-terminated lines of a file (and a last
// line without one), reading it in large blocks.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	last := byte('\n')
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}

func (p *progress) tick(it probe.BatchItem, e report.BatchEntry) {
	p.results++
	if e.Verdict != nil && e.Status != report.StatusNotChecked {
		p.checked++
	}
	p.line = max(p.line, it.Line)
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.render(now))
}

func (p *progress) render(now time.Time) string {
	elapsed := max(now.Sub(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("%d results, %.0f checked/s", p.results, float64(p.checked)/elapsed)
	if total := p.lines.Load(); total > 0 {
		frac := min(1, float64(p.line)/float64(total))
		const width = 30
		fill := int(frac * width)
		eta := "ETA -"
		if frac > 0 {
			eta = "ETA " + (time.Duration(elapsed * (1 - frac) / frac * float64(time.Second))).Round(time.Second).String()
		}
		line = fmt.Sprintf("[%s%s] %3.0f%%  ", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), frac*100) + line + ", " + eta
	}
	return line
}

func (p *progress) clear() {
	if !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
