package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mailprobe/mailprobe/blacklist"
)

// Schema names of the blacklist documents (see schema/mailprobe.schema.json).
const (
	SchemaBlacklist       = "mailprobe.blacklist/v1"
	SchemaBlacklistHealth = "mailprobe.blacklist-health/v1"
	SchemaExplain         = "mailprobe.explain/v1"
)

// BlacklistOptions controls how DNSBL results are rendered.
type BlacklistOptions struct {
	// Color adds ANSI colours to text output. The command sets it only
	// when stdout is a terminal and NO_COLOR is unset (no-color.org).
	Color bool
	// Warnings are shown before the results (text) or in "warnings"
	// (JSON), e.g. the public-resolver warning.
	Warnings []string
}

// BlacklistSummary counts results by status. Verdict is the worst status
// seen, in the order listed > unknown > clean: a single listing is the
// news, and an unknown answer must not be summarised as clean.
type BlacklistSummary struct {
	Targets int              `json:"targets"`
	Checks  int              `json:"checks"`
	Listed  int              `json:"listed"`
	Clean   int              `json:"clean"`
	Unknown int              `json:"unknown"`
	Verdict blacklist.Status `json:"verdict"`
}

// BlacklistSummarize counts rs.
func BlacklistSummarize(rs []blacklist.Result) BlacklistSummary {
	s := BlacklistSummary{Checks: len(rs), Verdict: blacklist.Clean}
	targets := map[string]bool{}
	for _, r := range rs {
		targets[r.Target] = true
		switch r.Status {
		case blacklist.Listed:
			s.Listed++
		case blacklist.Clean:
			s.Clean++
		default:
			s.Unknown++
		}
	}
	s.Targets = len(targets)
	switch {
	case s.Listed > 0:
		s.Verdict = blacklist.Listed
	case s.Unknown > 0:
		s.Verdict = blacklist.Unknown
	}
	return s
}

// blacklistJSON is the document BlacklistJSON writes:
//
//	{
//	  "warnings": ["resolver 8.8.8.8:53 is a public resolver; …"],   // omitted when none
//	  "results": [
//	    {
//	      "target":   "mail.example.com",     // as given: IP, host name or domain
//	      "address":  "192.0.2.99",           // IP (or domain) looked up; "" if the host did not resolve
//	      "list":     "zen.spamhaus.org",     // the list's zone
//	      "status":   "listed",               // listed | clean | unknown
//	      "codes":    ["127.0.0.2"],          // A records returned; [] when none
//	      "meanings": ["SBL: …"],             // one per code
//	      "reason":   "https://…",            // TXT record, "" when none
//	      "error":    "",                     // why the status is unknown
//	      "query":    "99.2.0.192.zen.spamhaus.org"  // the DNS name asked
//	    }
//	  ],
//	  "summary": {"targets":1, "checks":8, "listed":1, "clean":6, "unknown":1, "verdict":"listed"}
//	}
type blacklistJSON struct {
	Schema   string             `json:"schema"`
	Warnings []string           `json:"warnings"`
	Results  []blacklist.Result `json:"results"`
	Summary  BlacklistSummary   `json:"summary"`
}

// BlacklistJSON writes rs as one JSON document (see blacklistJSON for the
// schema). codes and meanings are always arrays, never null, so consumers
// can iterate without checks.
func BlacklistJSON(w io.Writer, rs []blacklist.Result, opts BlacklistOptions) error {
	doc := blacklistJSON{Schema: SchemaBlacklist, Warnings: nonNil(opts.Warnings), Results: normalizeBlacklist(rs), Summary: BlacklistSummarize(rs)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func normalizeBlacklist(rs []blacklist.Result) []blacklist.Result {
	out := make([]blacklist.Result, len(rs))
	for i, r := range rs {
		if r.Codes == nil {
			r.Codes = []string{}
		}
		if r.Meanings == nil {
			r.Meanings = []string{}
		}
		out[i] = r
	}
	return out
}

const (
	blacklistRed    = "\x1b[31m"
	blacklistGreen  = "\x1b[32m"
	blacklistYellow = "\x1b[33m"
	blacklistBold   = "\x1b[1m"
	blacklistReset  = "\x1b[0m"
)

func paintBlacklist(on bool, color, s string) string {
	if !on {
		return s
	}
	return color + s + blacklistReset
}

func blacklistStatusColor(s blacklist.Status) string {
	switch s {
	case blacklist.Listed:
		return blacklistRed
	case blacklist.Clean:
		return blacklistGreen
	}
	return blacklistYellow
}

// blacklistHeading names a group of results the way Postfix names a host:
// "host[addr]" when a host name was resolved, else the address or domain.
func blacklistHeading(r blacklist.Result) string {
	switch {
	case r.Via == "MX" && r.Address == "":
		return r.Target + " MX hosts (not resolved)"
	case r.Via != "":
		return r.Target + " MX " + r.Via + "[" + r.Address + "]"
	case r.Address == "":
		return r.Target + " (not resolved)"
	case r.Address == r.Target:
		return r.Target
	}
	return r.Target + "[" + r.Address + "]"
}

// BlacklistText writes rs as a table grouped by target and address:
//
//	192.0.2.99
//	  zen.spamhaus.org   listed   127.0.0.2 SBL: …
//	                              reason: https://…
//	  bl.spamcop.net     clean
//	  psbl.surriel.com   unknown  no answer: …
//
//	1 target, 3 checks: 1 listed, 1 clean, 1 unknown.
//
// Colours (listed red, clean green, unknown yellow) are padded outside the
// tabwriter cells so the columns stay aligned.
func BlacklistText(w io.Writer, rs []blacklist.Result, opts BlacklistOptions) error {
	ew := &errWriterBlacklist{w: w}
	for _, warn := range opts.Warnings {
		fmt.Fprintf(ew, "%s %s\n\n", paintBlacklist(opts.Color, blacklistYellow, "warning:"), warn)
	}
	width := 0
	for _, r := range rs {
		width = max(width, len(r.List))
	}
	prev := ""
	for _, r := range rs {
		head := blacklistHeading(r)
		if head != prev {
			if prev != "" {
				fmt.Fprintln(ew)
			}
			fmt.Fprintln(ew, paintBlacklist(opts.Color, blacklistBold, head))
			prev = head
		}
		indent := strings.Repeat(" ", 2+width+2+7+2)
		var details []string
		for i, c := range r.Codes {
			d := c
			if i < len(r.Meanings) && r.Meanings[i] != "" {
				d += " " + r.Meanings[i]
			}
			details = append(details, d)
		}
		// With codes, the meanings already say why the answer is not a
		// listing; without, the error is the only explanation.
		if r.Status == blacklist.Unknown && r.Error != "" && len(r.Codes) == 0 {
			details = append(details, r.Error)
		}
		if r.Reason != "" {
			details = append(details, "reason: "+r.Reason)
		}
		status := string(r.Status)
		if len(details) > 0 {
			status = fmt.Sprintf("%-7s", status) // pad only when details follow: no trailing blanks
		}
		fmt.Fprintf(ew, "  %-*s  %s", width, r.List, paintBlacklist(opts.Color, blacklistStatusColor(r.Status), status))
		for i, d := range details {
			if i == 0 {
				fmt.Fprintf(ew, "  %s", d)
			} else {
				fmt.Fprintf(ew, "\n%s%s", indent, d)
			}
		}
		fmt.Fprintln(ew)
	}
	s := BlacklistSummarize(rs)
	if len(rs) > 0 {
		fmt.Fprintln(ew)
	}
	fmt.Fprintf(ew, "%s, %s: %d listed, %d clean, %d unknown.\n",
		blacklistPlural(s.Targets, "target"), blacklistPlural(s.Checks, "check"), s.Listed, s.Clean, s.Unknown)
	return ew.err
}

func blacklistPlural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// BlacklistHealthText writes the RFC 5782 §5 self-test of each list.
func BlacklistHealthText(w io.Writer, hs []blacklist.Health, opts BlacklistOptions) error {
	ew := &errWriterBlacklist{w: w}
	for _, warn := range opts.Warnings {
		fmt.Fprintf(ew, "%s %s\n\n", paintBlacklist(opts.Color, blacklistYellow, "warning:"), warn)
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	unusable := 0
	for _, h := range hs {
		status := string(h.Status)
		if h.Status != blacklist.HealthOK {
			unusable++
		}
		if h.Problem == "" {
			fmt.Fprintf(tw, "%s\t%s\n", h.List, status)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", h.List, status, h.Problem)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if unusable == 0 {
		fmt.Fprintf(ew, "\nAll %s usable from this resolver.\n", blacklistPlural(len(hs), "list"))
	} else {
		fmt.Fprintf(ew, "\n%d of %s cannot be used from this resolver.\n", unusable, blacklistPlural(len(hs), "list"))
	}
	return ew.err
}

// BlacklistHealthJSON writes {"warnings":[…], "lists":[Health…],
// "unusable": N}.
func BlacklistHealthJSON(w io.Writer, hs []blacklist.Health, opts BlacklistOptions) error {
	doc := struct {
		Schema   string             `json:"schema"`
		Warnings []string           `json:"warnings"`
		Lists    []blacklist.Health `json:"lists"`
		Unusable int                `json:"unusable"`
	}{Schema: SchemaBlacklistHealth, Warnings: nonNil(opts.Warnings), Lists: make([]blacklist.Health, len(hs))}
	for i, h := range hs {
		n := normalizeBlacklist([]blacklist.Result{h.Positive, h.Negative})
		h.Positive, h.Negative = n[0], n[1]
		doc.Lists[i] = h
		if h.Status != blacklist.HealthOK {
			doc.Unusable++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// errWriterBlacklist keeps the first write error so the renderers can
// write freely and report it once.
type errWriterBlacklist struct {
	w   io.Writer
	err error
}

func (e *errWriterBlacklist) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
