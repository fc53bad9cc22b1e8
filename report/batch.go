package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/internal/counts"
	"github.com/mailprobe/mailprobe/probe"
)

// Statuses of batch lines that hold no verdict. They appear only in batch
// output (mailprobe probe --rcpt-file): a line that is not an address is
// "invalid" (Postfix would bounce it with dsn 5.1.3 "bad address
// syntax"), a Postfix table key that names no mailbox is "skipped".
const (
	BatchStatusInvalid Status = "invalid"
	BatchStatusSkipped Status = "skipped"
)

// BatchInvalidDSN is what Postfix's trivial-rewrite/cleanup use for an
// address it cannot parse (RFC 3463 X.1.3 "bad destination mailbox
// address syntax").
const BatchInvalidDSN = "5.1.3"

// BatchEntry is the judged result of one input line of a batch.
type BatchEntry struct {
	Line  int
	Input string // the address column as read
	// Verdict is the probe's verdict; nil for invalid and skipped lines.
	Verdict *Verdict
	Status  Status
	// Problem says why the line is invalid or skipped.
	Problem string
}

// BatchJudge judges one batch item with the same classifier as single
// probes. res is the batch's Result (configuration context).
func BatchJudge(it probe.BatchItem, res *probe.Result) BatchEntry {
	e := BatchEntry{Line: it.Line, Input: it.Input}
	switch {
	case it.Err != nil:
		e.Status = BatchStatusInvalid
		e.Problem = it.Err.Error()
	case it.Skip != "":
		e.Status, e.Problem = BatchStatusSkipped, it.Skip
	case it.Outcome != nil:
		v := Judge(it.Outcome, res)
		e.Verdict, e.Status = &v, v.Status
	default:
		e.Status, e.Problem = StatusNotChecked, "no outcome"
	}
	return e
}

// BatchLineDoc is one line of `--output jsonl`: the single-probe
// recipient object (schema mailprobe.probe/v1, RecipientDoc) plus the
// problem of invalid and skipped lines. status adds "invalid" and
// "skipped" to the single-probe values.
type BatchLineDoc struct {
	Schema string `json:"schema"`
	RecipientDoc
	Problem string `json:"problem,omitempty"`
}

// SchemaBatchLine names each line of `--output jsonl`.
const SchemaBatchLine = "mailprobe.batch-line/v1"

// BatchDoc builds the JSON object of one entry.
func BatchDoc(e BatchEntry) BatchLineDoc {
	if e.Verdict != nil {
		d := recipientDoc(*e.Verdict)
		d.InputLine = e.Line
		return BatchLineDoc{Schema: SchemaBatchLine, RecipientDoc: d}
	}
	d := RecipientDoc{Address: e.Input, InputLine: e.Line, Status: e.Status, Relay: "none",
		Category: CategoryOther, Permanence: PermanenceUnknown, Party: PartyLocal, PassedOver: []PassedDoc{}}
	if e.Status == BatchStatusInvalid {
		d.DSN, d.Permanence = BatchInvalidDSN, PermanencePermanent
		// No Postfix line: nothing was probed. (-o postfix still prints
		// the "bad address syntax" bounce Postfix would log.)
		d.Reason = "bad address syntax: " + e.Problem
		d.Explanation = Explanation{
			What:  "Line " + fmt.Sprint(e.Line) + " is not an address that can be asked for.",
			Cause: e.Problem,
			Next:  "Fix or remove the line; a mail server would refuse it as bad address syntax.",
			Party: PartyLocal,
		}
	} else {
		d.Reason = e.Problem
		d.Explanation = Explanation{
			What:  "Line " + fmt.Sprint(e.Line) + " was skipped: " + e.Problem + ".",
			Cause: "The line is a lookup-table entry that names no single mailbox, so there is nothing to ask a server.",
			Next:  "Nothing to do for this line; check the addresses it stands for one by one if needed.",
			Party: PartyLocal,
		}
	}
	return BatchLineDoc{Schema: SchemaBatchLine, RecipientDoc: d, Problem: e.Problem}
}

// BatchJSONL writes one entry as one JSON line. Angle brackets stay as
// they are (no HTML escaping): the lines are for jq and grep, not HTML.
func BatchJSONL(w io.Writer, e BatchEntry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(BatchDoc(e)); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func batchPostfixInvalid(e BatchEntry) string {
	return fmt.Sprintf("to=<%s>, relay=none, delay=0, delays=0/0/0/0, dsn=%s, status=%s (bad address syntax: %s)",
		e.Input, BatchInvalidDSN, StatusUndeliverable, e.Problem)
}

// BatchPostfix writes one entry as Postfix would log it. An invalid line
// gets Postfix's "bad address syntax" bounce; a skipped line, which
// Postfix would never log, a '#' comment naming its line, so the output
// still has one line per input address.
func BatchPostfix(w io.Writer, e BatchEntry) error {
	var s string
	switch {
	case e.Verdict != nil:
		s = e.Verdict.Line()
	case e.Status == BatchStatusInvalid:
		s = batchPostfixInvalid(e)
	default:
		s = fmt.Sprintf("# line %d: %s %s: %s", e.Line, e.Input, e.Status, e.Problem)
	}
	_, err := io.WriteString(w, s+"\n")
	return err
}

// BatchPostmap writes an undeliverable address as a Postfix access(5)
// table entry, "address  REJECT dsn text", ready for postmap(1); other
// entries write nothing. The text is the server's own (without its reply
// code: Postfix prepends access_map_reject_code), so senders learn what
// the backend said.
func BatchPostmap(w io.Writer, e BatchEntry) error {
	v := e.Verdict
	if v == nil || v.Status != StatusUndeliverable {
		return nil
	}
	text := v.Reason
	if v.Reply != nil && v.Reply.Message() != "" {
		text = v.Reply.Message()
	}
	var s string
	if strings.ContainsAny(v.Recipient, " \t#") {
		// A quoted local part with blanks cannot be a table key.
		s = fmt.Sprintf("# line %d: %s cannot be a postmap key; %s %s\n", e.Line, v.Recipient, v.DSN, text)
	} else {
		s = fmt.Sprintf("%s  REJECT %s %s\n", v.Recipient, v.DSN, text)
	}
	_, err := io.WriteString(w, s)
	return err
}

// BatchText writes one entry as one human line: line number, status,
// dsn, address and — unless deliverable — category and reason.
func BatchText(w io.Writer, e BatchEntry, opts TextOptions) error {
	p := painter{opts.Color}
	ew := &errWriter{w: w}
	st := fmt.Sprintf("%-13s", e.Status)
	if opts.Color {
		st = p.status(e.Status) + strings.Repeat(" ", max(0, 13-len(e.Status)))
	}
	switch v := e.Verdict; {
	case v == nil:
		dsn := "-"
		if e.Status == BatchStatusInvalid {
			dsn = BatchInvalidDSN
		}
		ew.printf("%6d  %s  %-6s %s  (%s)\n", e.Line, st, dsn, e.Input, e.Problem)
	case v.Status == StatusDeliverable:
		ew.printf("%6d  %s  %-6s %s\n", e.Line, st, v.DSN, v.Recipient)
	default:
		ew.printf("%6d  %s  %-6s %s  %s: %s\n", e.Line, st, v.DSN, v.Recipient, v.Category, v.Reason)
	}
	return ew.err
}

// BatchSummary counts a batch's entries by status, dsn and category.
type BatchSummary struct {
	Total      int
	ByStatus   map[Status]int
	ByDSN      map[string]int
	ByCategory map[Category]int
	// Verifying counts deferrals by a receiving Postfix's
	// reject_unverified_recipient ("450 4.1.1 … Address verification in
	// progress"): a re-run will know more.
	Verifying int
}

// NewBatchSummary returns an empty summary.
func NewBatchSummary() *BatchSummary {
	return &BatchSummary{ByStatus: map[Status]int{}, ByDSN: map[string]int{}, ByCategory: map[Category]int{}}
}

// Add counts one entry.
func (s *BatchSummary) Add(e BatchEntry) {
	s.Total++
	s.ByStatus[e.Status]++
	switch {
	case e.Verdict != nil:
		s.ByDSN[e.Verdict.DSN]++
		s.ByCategory[e.Verdict.Category]++
		if e.Verdict.Status == StatusDeferred && e.Verdict.Rule != nil && e.Verdict.Rule.ID == ruleUnverifiedRecipient {
			s.Verifying++
		}
	case e.Status == BatchStatusInvalid:
		s.ByDSN[BatchInvalidDSN]++
	}
}

// batchStatusOrder is the order statuses are listed in.
var batchStatusOrder = []Status{StatusDeliverable, StatusUndeliverable, StatusDeferred, StatusNotChecked,
	BatchStatusInvalid, BatchStatusSkipped}

// BatchSummaryText writes the summary: counts by status, dsn and
// category, what happened on the wire, and notes an admin should act on.
func BatchSummaryText(w io.Writer, s *BatchSummary, st probe.BatchStats, opts TextOptions) error {
	p := painter{opts.Color}
	ew := &errWriter{w: w}
	rate := ""
	// The rate counts addresses actually checked: not invalid or skipped
	// lines (never probed), and not the addresses an interrupt left.
	if checked := st.Probed - st.NotChecked; st.Duration.Seconds() > 0 && checked > 0 {
		rate = fmt.Sprintf(" (%.0f checked/s)", float64(checked)/st.Duration.Seconds())
	}
	ew.printf("%s %d %s in %s%s\n", p.paint(ansiBold, "Summary:"), s.Total, batchPlural(s.Total, "address", "addresses"),
		st.Duration.Round(time.Millisecond), rate)
	var parts []string
	for _, k := range batchStatusOrder {
		if n := s.ByStatus[k]; n > 0 || k == StatusDeliverable || k == StatusUndeliverable || k == StatusDeferred {
			parts = append(parts, fmt.Sprintf("%s %d", p.status(k), n))
		}
	}
	ew.printf("  status:   %s\n", strings.Join(parts, ", "))
	if len(s.ByDSN) > 0 {
		ew.printf("  dsn:      %s\n", strings.Join(counts.Ranked(s.ByDSN), ", "))
	}
	if len(s.ByCategory) > 0 {
		cats := map[string]int{}
		for k, v := range s.ByCategory {
			cats[string(k)] = v
		}
		ew.printf("  category: %s\n", strings.Join(counts.Ranked(cats), ", "))
	}
	ew.printf("  sessions: %d opened, %d %s, %d RCPT per session on average",
		st.Sessions, st.Transactions, batchPlural(st.Transactions, "transaction", "transactions"), batchAvg(st))
	ew.printf("\n")
	var wire []string
	if st.Reconnects > 0 {
		wire = append(wire, fmt.Sprintf("%d %s after a drop, timeout or 421", st.Reconnects, batchPlural(st.Reconnects, "reconnect", "reconnects")))
	}
	if st.Closed421 > 0 {
		wire = append(wire, fmt.Sprintf("%d %s ended by the server with 421", st.Closed421, batchPlural(st.Closed421, "session", "sessions")))
	}
	if st.Limited > 0 {
		wire = append(wire, fmt.Sprintf("%d new %s after \"452 too many recipients\"", st.Limited, batchPlural(st.Limited, "session", "sessions")))
	}
	if st.ErrorRotations > 0 {
		wire = append(wire, fmt.Sprintf("%d new %s to stay under the server's error limit", st.ErrorRotations, batchPlural(st.ErrorRotations, "session", "sessions")))
	}
	if st.Backoffs > 0 {
		wire = append(wire, fmt.Sprintf("backed off %d %s (%s) when the server pushed back", st.Backoffs,
			batchPlural(st.Backoffs, "time", "times"), st.BackoffTime.Round(time.Millisecond)))
	}
	if len(wire) > 0 {
		ew.printf("  server:   %s\n", strings.Join(wire, "; "))
	}
	if st.GaveUp > 0 {
		ew.printf("  note: %d %s made every session drop or fail; reported with that error\n",
			st.GaveUp, batchPlural(st.GaveUp, "address", "addresses"))
	}
	if st.Suspended421 > 0 {
		ew.printf("  note: %d %s answered 421 to %d sessions in a row; their remaining addresses carry that 421 (deferred)\n",
			st.Suspended421, batchPlural(st.Suspended421, "destination", "destinations"), probe.DefaultMax421)
	}
	if st.Broken > 0 {
		ew.printf("  note: %d %s made every session fail for %d addresses in a row; their remaining addresses carry that error\n",
			st.Broken, batchPlural(st.Broken, "destination", "destinations"), probe.DefaultMaxGiveUps)
	}
	if st.DeadHosts > 0 {
		ew.printf("  note: %d %s could not be reached at all; their remaining addresses carry that error\n",
			st.DeadHosts, batchPlural(st.DeadHosts, "destination", "destinations"))
	}
	if s.Verifying > 0 {
		ew.printf("  note: %d %s deferred with \"Address verification in progress\" (reject_unverified_recipient on the server):\n"+
			"        the server is asking its backend now; re-run in a few minutes for the answer\n",
			s.Verifying, batchPlural(s.Verifying, "address", "addresses"))
	}
	if s.Verifying > 0 || st.SlowRcpts > 0 {
		// A front Postfix with reject_unverified_recipient answers a new
		// address only after its verify(8) service asked the backend,
		// polling every address_verify_poll_delay: about one address per
		// second per session. The backend itself answers thousands.
		avg := ""
		if st.SlowRcpts > 0 {
			avg = fmt.Sprintf(" (%d answered in %s each on average)", st.SlowRcpts,
				(st.SlowRcptTime / time.Duration(st.SlowRcpts)).Round(10*time.Millisecond))
		}
		ew.printf("  note: this server verifies each new address with its backend before answering%s, as a front\n"+
			"        Postfix with reject_unverified_recipient does; verify against the backend instead (--server it,\n"+
			"        e.g. --protocol lmtp --server BACKEND:24), which answers thousands per second. Meanwhile the batch\n"+
			"        spreads the addresses over up to --concurrency sessions.\n", avg)
	}
	if st.Interrupted {
		n := s.ByStatus[StatusNotChecked]
		ew.printf("  %s: %d %s not checked\n", p.paint(ansiYellow, "interrupted"), n, batchPlural(n, "address", "addresses"))
	}
	return ew.err
}

func batchAvg(st probe.BatchStats) int {
	if st.Sessions == 0 {
		return 0
	}
	return (st.Probed - st.NotChecked) / st.Sessions
}

func batchPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
