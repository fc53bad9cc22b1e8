package maillog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unsafe"
)

// Input is one log to read.
type Input struct {
	Name    string
	R       io.Reader
	ModTime time.Time // the reference for RFC 3164 years; zero means now
	first   time.Time
}

// Filter selects outcomes. Zero fields select everything.
type Filter struct {
	// Domains: recipient domains (case-insensitive, exact).
	Domains []string
	// Senders: envelope senders, exact ("a@b", "" for the null sender
	// given as "<>") or a domain as "@example.org".
	Senders []string
	// Since and Until drop lines outside the time window: the outcome is
	// the state as of Until.
	Since, Until time.Time
	// Statuses selects the outcomes that are grouped and printed; the
	// totals count every status. Empty means every status except sent.
	Statuses []string
}

// Options configure Read.
type Options struct {
	Year     int
	Location *time.Location
	Tracker  TrackerOptions
	Filter   Filter
	// Samples is how many unreadable lines to keep per format (for
	// --verbose). Default 5.
	Samples int
	// OnOutcome, when set, receives each selected outcome as soon as its
	// message is finished (jsonl streams from here). The Outcome is reused
	// after the call: copy it to keep it.
	OnOutcome func(*Outcome) error
	// Classifier is shared between runs (the --queue reading reuses it).
	Classifier *Classifier
}

// BadLine is an unreadable line kept for --verbose.
type BadLine struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Format string `json:"format"`
	Text   string `json:"text"`
}

// Summary is what Read found.
type Summary struct {
	Files      []string         `json:"files"`
	Lines      int64            `json:"lines"`
	Bytes      int64            `json:"bytes"`
	ByFormat   map[Format]int64 `json:"by_format"`
	ByMTA      map[MTA]int64    `json:"by_mta"`
	Unreadable map[string]int64 `json:"unreadable"`
	Samples    []BadLine        `json:"unreadable_samples,omitempty"`
	// Other counts lines of programs that are not mail software.
	Other int64 `json:"other_lines"`
	// OutsideWindow counts lines dropped by --since/--until.
	OutsideWindow int64     `json:"outside_window"`
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	// OutOfOrder counts lines stamped earlier than a line before them
	// by more than a minute.
	OutOfOrder int64          `json:"out_of_order_lines"`
	Messages   int64          `json:"messages"`
	Unfinished int64          `json:"unfinished_messages"`
	Evicted    int64          `json:"evicted_messages"`
	MaxOpen    int            `json:"max_open_messages"`
	ByStatus   map[string]int `json:"recipients_by_status"`
	HandedOn   int64          `json:"handed_to_content_filter"`
	Groups     []*Group       `json:"groups"`
}

// Selected reports whether a status is selected by f.
func (f *Filter) Selected(status string) bool {
	if len(f.Statuses) == 0 {
		return status != "sent" && status != "deliverable"
	}
	for _, s := range f.Statuses {
		if s == "all" || s == status {
			return true
		}
	}
	return false
}

func (f *Filter) keep(o *Outcome) bool {
	if len(f.Domains) > 0 {
		ok := false
		for _, d := range f.Domains {
			if strings.EqualFold(d, o.Domain) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Senders) > 0 {
		ok := false
		for _, s := range f.Senders {
			switch {
			case s == "<>" && o.Sender == "":
				ok = true
			case strings.HasPrefix(s, "@") && strings.HasSuffix(strings.ToLower(o.Sender), strings.ToLower(s)):
				ok = true
			case strings.EqualFold(s, o.Sender):
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// sink filters, classifies and aggregates outcomes.
type sink struct {
	opts *Options
	agg  *Aggregator
	cls  *Classifier
	err  error
}

func (s *sink) emit(outs []*Outcome) {
	kept := outs[:0:0]
	for _, o := range outs {
		if !s.opts.Filter.keep(o) {
			continue
		}
		s.agg.Count(o)
		if !s.opts.Filter.Selected(o.Status) {
			continue
		}
		s.cls.Classify(o, s.opts.OnOutcome != nil)
		o.Codes = providerCodes(o.Reason)
		kept = append(kept, o)
	}
	if len(kept) == 0 {
		return
	}
	s.agg.Add(kept)
	if s.opts.OnOutcome != nil && s.err == nil {
		for _, o := range kept {
			if err := s.opts.OnOutcome(o); err != nil {
				s.err = err
				return
			}
		}
	}
}

// maxLine bounds one line; longer lines are counted unreadable.
const maxLine = 1 << 20

// Read reads the inputs in order as one stream and returns the summary.
func Read(inputs []Input, opts Options) (*Summary, error) {
	if opts.Samples == 0 {
		opts.Samples = 5
	}
	if opts.Classifier == nil {
		opts.Classifier = NewClassifier()
	}
	sum := &Summary{ByFormat: map[Format]int64{}, ByMTA: map[MTA]int64{}, Unreadable: map[string]int64{}}
	sk := &sink{opts: &opts, agg: NewAggregator(), cls: opts.Classifier}
	if opts.OnOutcome == nil && !opts.Filter.Selected("sent") && !opts.Filter.Selected("deliverable") {
		opts.Tracker.Lean = true
	}
	tr := NewTracker(opts.Tracker, sk.emit)
	sum.MaxOpen = tr.opts.MaxOpen
	samples := map[string]int{}
	bad := func(in *Input, n int64, kind string, line string) {
		sum.Unreadable[kind]++
		if samples[kind] < opts.Samples {
			samples[kind]++
			sum.Samples = append(sum.Samples, BadLine{File: in.Name, Line: n, Format: kind, Text: strings.Clone(line)})
		}
	}
	// Two stages on two goroutines: this one frames and parses lines into
	// batches of events; the caller's goroutine tracks them. Events point
	// into their batch's buffer, which is reused only after the tracker
	// has copied what it keeps.
	batches := make(chan *batch, 2)
	free := make(chan *batch, 4)
	stop := make(chan struct{})
	var readErr error
	var cnt counters
	go func() {
		defer close(batches)
		readErr = readInputs(inputs, &opts, sum, &cnt, bad, batches, free, stop)
	}()
	stopped := false
	for b := range batches {
		if !stopped {
			for i := range b.evs {
				tr.Add(&b.evs[i])
			}
			if sk.err != nil {
				stopped = true
				close(stop)
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	if readErr != nil {
		return sum, readErr
	}
	cnt.flushFormat(sum)
	cnt.flushMTA(sum)
	tr.Close()
	sum.Messages, sum.Unfinished, sum.Evicted = tr.Messages, tr.Unfinished, tr.Evicted
	sum.ByStatus, sum.HandedOn = sk.agg.ByStatus, tr.HandedOn
	sum.Groups = sk.agg.Groups()
	explainGroups(sum.Groups, opts.Classifier)
	return sum, sk.err
}

// counters batch the per-format and per-MTA line counts: consecutive
// lines share both, so the maps are touched only when they change.
type counters struct {
	lastFormat    Format
	nFormat, nMTA int64
	lastMTA       MTA
}

func (c *counters) flushFormat(sum *Summary) {
	if c.nFormat > 0 {
		sum.ByFormat[c.lastFormat] += c.nFormat
		c.nFormat = 0
	}
}

func (c *counters) flushMTA(sum *Summary) {
	if c.nMTA > 0 {
		sum.ByMTA[c.lastMTA] += c.nMTA
		c.nMTA = 0
	}
}

func readLine(fr *Framer, line string, ev *Event, sum *Summary, latest *time.Time, opts *Options, cnt *counters, bad func(string)) bool {
	f, ok := fr.Frame(line)
	if !ok {
		if strings.TrimSpace(line) != "" {
			bad(string(FormatUnknown))
		}
		return false
	}
	if f.Format == cnt.lastFormat {
		cnt.nFormat++
	} else {
		cnt.flushFormat(sum)
		cnt.lastFormat, cnt.nFormat = f.Format, 1
	}
	mta, parse := dispatch(&f)
	if parse == nil {
		sum.Other++
		return false
	}
	if mta == cnt.lastMTA {
		cnt.nMTA++
	} else {
		cnt.flushMTA(sum)
		cnt.lastMTA, cnt.nMTA = mta, 1
	}
	ok, unreadable := parse(&f, ev)
	if unreadable {
		bad(string(mta))
		return false
	}
	if !ok || ev.Kind == EventNone {
		return false
	}
	t := ev.Time
	if sum.First.IsZero() || t.Before(sum.First) {
		sum.First = t
	}
	if t.After(sum.Last) {
		sum.Last = t
	}
	if t.Before(latest.Add(-time.Minute)) {
		sum.OutOfOrder++
	}
	if t.After(*latest) {
		*latest = t
	}
	if !opts.Filter.Since.IsZero() && t.Before(opts.Filter.Since) || !opts.Filter.Until.IsZero() && t.After(opts.Filter.Until) {
		sum.OutsideWindow++
		return false
	}
	return true
}

// batch is a buffer of whole lines and the events parsed from them.
type batch struct {
	buf []byte
	evs []Event
}

// chunk is the size of a batch's buffer; a longer line is unreadable
// (Postfix's own lines stay far below: line_length_limit is 2048 and a
// reason is one reply).
const chunk = 256 << 10

// readInputs frames and parses every line of the inputs, in order, into
// batches. It runs on its own goroutine and owns the reading half of sum.
func readInputs(inputs []Input, opts *Options, sum *Summary, cnt *counters, bad func(*Input, int64, string, string),
	out chan<- *batch, free <-chan *batch, stop <-chan struct{}) error {
	var latest time.Time
	var carry []byte
	for i := range inputs {
		in := &inputs[i]
		sum.Files = append(sum.Files, in.Name)
		fr := &Framer{Location: opts.Location, Year: opts.Year, Reference: in.ModTime}
		var n int64
		carry = carry[:0]
		skipping := false // inside a line longer than a chunk
		eof := false
		for !eof {
			var b *batch
			select {
			case b = <-free:
			default:
				b = &batch{buf: make([]byte, 0, chunk), evs: make([]Event, 0, 2048)}
			}
			b.buf = append(b.buf[:0], carry...)
			b.evs = b.evs[:0]
			// fill at least half the chunk, and on until a line ends in it
			for len(b.buf) < cap(b.buf) {
				from := len(b.buf)
				k, err := in.R.Read(b.buf[len(b.buf):cap(b.buf)])
				b.buf = b.buf[:len(b.buf)+k]
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					return fmt.Errorf("%s: %w", in.Name, err)
				}
				if k == 0 {
					continue
				}
				if len(b.buf) > cap(b.buf)/2 && bytes.IndexByte(b.buf[from:], '\n') >= 0 {
					break // enough for a batch
				}
			}
			data := b.buf
			end := bytes.LastIndexByte(data, '\n') + 1
			if eof {
				end = len(data)
				if end == 0 {
					break // the input ended on a line end (or was empty): nothing left
				}
			}
			if end == 0 {
				// no line end in a whole chunk: a line too long to read
				if !skipping {
					n++
					sum.Lines++
					bad(in, n, "too-long", string(data[:min(len(data), 200)]))
				}
				sum.Bytes += int64(len(data))
				skipping = true
				carry = carry[:0]
				continue
			}
			carry = append(carry[:0], data[end:]...)
			lines := data[:end]
			for len(lines) > 0 {
				nl := bytes.IndexByte(lines, '\n')
				var l []byte
				if nl < 0 {
					l, lines = lines, nil
				} else {
					l, lines = lines[:nl+1], lines[nl+1:]
				}
				sum.Bytes += int64(len(l))
				if skipping {
					skipping = false // the rest of the long line
					continue
				}
				n++
				sum.Lines++
				for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
					l = l[:len(l)-1]
				}
				if len(l) == 0 {
					continue
				}
				// the line lives in b.buf until the tracker is done with
				// the batch; everything kept beyond that is copied
				line := unsafe.String(&l[0], len(l))
				b.evs = append(b.evs, Event{})
				ev := &b.evs[len(b.evs)-1]
				if !readLine(fr, line, ev, sum, &latest, opts, cnt, func(kind string) { bad(in, n, kind, line) }) {
					b.evs = b.evs[:len(b.evs)-1]
				}
			}
			select {
			case out <- b:
			case <-stop:
				return nil
			}
		}
	}
	return nil
}

// OpenFiles opens log files ("-" is stdin; ".gz" is decompressed) and
// orders them by their first time stamp, so that "mail.log mail.log.1
// mail.log.2.gz" given newest first is still read oldest first. The
// returned function closes them.
func OpenFiles(names []string, stdin io.Reader, year int, loc *time.Location) ([]Input, func(), error) {
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	if len(names) == 0 {
		names = []string{"-"}
	}
	inputs := make([]Input, 0, len(names))
	for _, name := range names {
		var r io.Reader
		var mod time.Time
		if name == "-" {
			r = stdin
		} else {
			f, err := os.Open(name)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			closers = append(closers, f)
			if st, err := f.Stat(); err == nil {
				if st.IsDir() {
					closeAll()
					return nil, nil, fmt.Errorf("%s: %w", name, ErrIsDirectory)
				}
				mod = st.ModTime()
			}
			r = f
		}
		br := bufio.NewReaderSize(r, 256<<10)
		if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			closers = append(closers, zr)
			br = bufio.NewReaderSize(zr, 256<<10)
		}
		in := Input{Name: name, R: br, ModTime: mod}
		in.first = firstStamp(br, year, loc, mod)
		inputs = append(inputs, in)
	}
	sort.SliceStable(inputs, func(i, j int) bool {
		a, b := inputs[i].first, inputs[j].first
		return !a.IsZero() && !b.IsZero() && a.Before(b)
	})
	return inputs, closeAll, nil
}

// ErrIsDirectory is returned for a directory given as a log file.
var ErrIsDirectory = errors.New("is a directory")

// firstStamp peeks at the start of a log for its first time stamp.
func firstStamp(br *bufio.Reader, year int, loc *time.Location, mod time.Time) time.Time {
	head, _ := br.Peek(64 << 10)
	fr := &Framer{Year: year, Location: loc, Reference: mod}
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		line := head
		if i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if f, ok := fr.Frame(string(line)); ok && !f.Time.IsZero() {
			return f.Time
		}
	}
	return time.Time{}
}

// explainGroups gives each group the explanation of its example reply.
func explainGroups(groups []*Group, c *Classifier) {
	for _, g := range groups {
		if g.Explanation != nil {
			continue
		}
		o := &Outcome{MTA: g.mta, Status: g.Status, DSN: g.exampleDSN, Reason: g.Example, Recipient: g.ExampleRcpt, Domain: g.Domain}
		c.Classify(o, true)
		g.Explanation = o.Explanation
	}
}
