package maillog

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/internal/counts"
	"github.com/mailprobe/mailprobe/probe"
)

// Schema names the JSON document; it changes only when a field is
// removed or changes meaning.
const Schema = "mailprobe.maillog/v1"

// Document is the -o json output.
type Document struct {
	Schema   string     `json:"schema"`
	Source   string     `json:"source"` // "log" or "queue"
	Summary  *Summary   `json:"summary"`
	Groups   []*Group   `json:"groups"`
	Outcomes []*Outcome `json:"outcomes"`
	Probes   []*Live    `json:"probes,omitempty"`
}

// TextOptions control the text output.
type TextOptions struct {
	Verbose bool
	Title   string // "log" or "queue"
	Probes  map[string]*Live
	// Now is the reference for queue ages.
	Now time.Time
}

const stamp = "2006-01-02 15:04:05"

// Text prints the summary grouped by domain, then status and category,
// most frequent first. Log text passes probe.Neutralise: no byte from a
// log (which holds remote servers' replies) reaches the terminal raw.
func Text(w io.Writer, s *Summary, opts TextOptions) error {
	ew := &errWriter{w: w}
	safe := probe.Neutralise
	if opts.Title == "queue" {
		ew.printf("Queue %s: %d messages", safe(strings.Join(s.Files, ", ")), s.Messages)
		if !s.First.IsZero() {
			ew.printf(", oldest from %s", s.First.Format(stamp))
		}
		ew.printf("\n")
	} else {
		ew.printf("Read %s: %d lines", safe(strings.Join(s.Files, ", ")), s.Lines)
		if f := strings.Join(counts.Ranked(s.ByFormat), ", "); f != "" {
			ew.printf(" (%s)", f)
		}
		if !s.First.IsZero() {
			ew.printf(", %s – %s", s.First.Format(stamp), s.Last.Format(stamp))
		}
		ew.printf("\n")
	}
	ew.printf("Recipients: %s\n", safe(statusCounts(s.ByStatus)))
	var notes []string
	if s.Unfinished > 0 {
		notes = append(notes, fmt.Sprintf("%d messages without a final line", s.Unfinished))
	}
	if s.Evicted > 0 {
		notes = append(notes, fmt.Sprintf("%d messages evicted as open (more than %d open at once)", s.Evicted, s.MaxOpen))
	}
	if s.HandedOn > 0 {
		notes = append(notes, fmt.Sprintf("%d messages came back from a content filter under a new queue id (prev_queue_id)", s.HandedOn))
	}
	if s.OutOfOrder > 0 {
		notes = append(notes, fmt.Sprintf("%d lines out of time order (grouped by time stamp, not by position)", s.OutOfOrder))
	}
	if s.OutsideWindow > 0 {
		notes = append(notes, fmt.Sprintf("%d lines outside --since/--until", s.OutsideWindow))
	}
	if len(s.Unreadable) > 0 {
		n := "unreadable lines: " + strings.Join(counts.Ranked(s.Unreadable), ", ")
		if !opts.Verbose {
			n += " (--verbose shows them)"
		}
		notes = append(notes, n)
	}
	for _, n := range notes {
		ew.printf("Note: %s\n", n)
	}
	if opts.Verbose {
		for _, b := range s.Samples {
			ew.printf("  unreadable %s line %s:%d: %s\n", b.Format, safe(b.File), b.Line, safe(b.Text))
		}
	}
	doms := ByDomain(s.Groups)
	if len(doms) == 0 {
		ew.printf("\nNothing selected: no deferred, bounced, expired, rejected, held or open recipients.\n")
		return ew.err
	}
	for _, d := range doms {
		name := d.Domain
		if name == "" {
			name = "(no recipient)"
		}
		ew.printf("\n%s: %d recipients\n", safe(name), d.Recipients)
		for _, g := range d.Groups {
			ew.printf("  %s  %s (%s): %d recipients in %d messages, %d attempts\n",
				safe(g.Status), safe(g.Category), g.Permanence, g.Recipients, g.Messages, g.Attempts)
			if g.FirstSeen.Equal(g.LastSeen) {
				ew.printf("    seen:    %s\n", g.FirstSeen.Format(stamp))
			} else {
				ew.printf("    seen:    %s – %s\n", g.FirstSeen.Format(stamp), g.LastSeen.Format(stamp))
			}
			if len(g.Codes) > 0 {
				ew.printf("    codes:   %s\n", safe(strings.Join(g.Codes, ", ")))
			}
			if g.Provider != "" || g.Party != "" {
				who := g.Party
				if g.Provider != "" {
					who = strings.TrimPrefix(g.Provider+", "+who, ", ")
					who = strings.TrimSuffix(who, ", ")
				}
				ew.printf("    party:   %s (who has to act)\n", who)
			}
			ex := g.Example
			if ex == "" {
				ex = "(no reason logged)"
			}
			id := g.ExampleID
			if id == "" {
				id = "-"
			}
			ew.printf("    example: %s <%s>: %s\n", safe(id), safe(g.ExampleRcpt), safe(ex))
			if g.Explanation != nil && g.Explanation.Next != "" {
				ew.printf("    next:    %s\n", g.Explanation.Next)
			}
			if opts.Probes != nil && g.Still {
				if lv := opts.Probes[g.Domain]; lv != nil {
					ew.printf("    now:     %s\n", safe(lv.Verdict))
				}
			}
		}
	}
	return ew.err
}

// statusOrder is the order statuses are listed in.
var statusOrder = []string{"sent", "deliverable", "deferred", "bounced", "expired", "rejected", "held", "discarded", "active", "incoming", "open"}

func statusCounts(m map[string]int) string {
	var parts []string
	seen := map[string]bool{}
	for _, s := range statusOrder {
		if n := m[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
		seen[s] = true
	}
	var rest []string
	for s := range m {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	for _, s := range rest {
		parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// JSON writes the whole document.
func JSON(w io.Writer, d *Document) error {
	d.Schema = Schema
	if d.Groups == nil {
		d.Groups = []*Group{}
	}
	if d.Outcomes == nil {
		d.Outcomes = []*Outcome{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// JSONLWriter writes one outcome per line.
func JSONLWriter(w io.Writer) func(*Outcome) error {
	enc := json.NewEncoder(w)
	return func(o *Outcome) error { return enc.Encode(o) }
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
