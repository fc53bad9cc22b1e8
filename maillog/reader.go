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
	// message is finished (jsonl streams from here).
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
		s.cls.Classify(o)
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
	var ev Event
	var latest time.Time
	for i := range inputs {
		in := &inputs[i]
		sum.Files = append(sum.Files, in.Name)
		fr := &Framer{Location: opts.Location, Year: opts.Year, Reference: in.ModTime}
		br, ok := in.R.(*bufio.Reader)
		if !ok {
			br = bufio.NewReaderSize(in.R, 256<<10)
		}
		var n int64
		for {
			b, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// a line longer than the buffer: count it and skip the rest
				n++
				sum.Lines++
				sum.Bytes += int64(len(b))
				bad(in, n, "too-long", string(b[:min(len(b), 200)]))
				for errors.Is(err, bufio.ErrBufferFull) {
					b, err = br.ReadSlice('\n')
					sum.Bytes += int64(len(b))
				}
				if err != nil && err != io.EOF {
					return sum, fmt.Errorf("%s: %w", in.Name, err)
				}
				if err == io.EOF {
					break
				}
				continue
			}
			if len(b) > 0 {
				n++
				sum.Lines++
				sum.Bytes += int64(len(b))
				b = bytes.TrimRight(b, "\r\n")
				if len(b) > 0 {
					// the line is only read here; everything kept is copied
					line := unsafe.String(&b[0], len(b))
					readLine(fr, line, &ev, tr, sum, &latest, &opts, func(kind string) { bad(in, n, kind, line) })
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return sum, fmt.Errorf("%s: %w", in.Name, err)
			}
			if sk.err != nil {
				return sum, sk.err
			}
		}
		fr.lastStamp, fr.lastN = "", 0
	}
	tr.Close()
	sum.Messages, sum.Unfinished, sum.Evicted = tr.Messages, tr.Unfinished, tr.Evicted
	sum.ByStatus, sum.HandedOn = sk.agg.ByStatus, tr.HandedOn
	sum.Groups = sk.agg.Groups()
	return sum, sk.err
}

func readLine(fr *Framer, line string, ev *Event, tr *Tracker, sum *Summary, latest *time.Time, opts *Options, bad func(string)) {
	f, ok := fr.Frame(line)
	if !ok {
		if strings.TrimSpace(line) != "" {
			bad(string(FormatUnknown))
		}
		return
	}
	sum.ByFormat[f.Format]++
	mta, parse := dispatch(&f)
	if parse == nil {
		sum.Other++
		return
	}
	sum.ByMTA[mta]++
	*ev = Event{}
	ok, unreadable := parse(&f, ev)
	if unreadable {
		bad(string(mta))
		return
	}
	if !ok || ev.Kind == EventNone {
		return
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
		return
	}
	tr.Add(ev)
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
