package maillog

import (
	"strings"
	"testing"
	"time"
)

// One fuzz target per line parser. Each is seeded from the corpus files
// under testdata/fuzz/<target>/ (real lines taken from testdata/logs) and
// checks that a parser never panics, never reads outside the line, and
// that the framing is idempotent on the message it returns.

func fuzzParser(f *testing.F, p Parser, program string, format Format) {
	f.Fuzz(func(t *testing.T, msg string) {
		fr := Frame{Time: time.Unix(0, 0), Format: format, Host: "h", Program: program, Msg: msg}
		var ev Event
		ok, unreadable := p(&fr, &ev)
		if ok && unreadable {
			t.Fatalf("both ok and unreadable for %q", msg)
		}
		for _, s := range []string{ev.ID, ev.Recipient, ev.Sender, ev.Status, ev.DSN, ev.Relay, ev.Reason} {
			if len(s) > len(msg)+len(program)+64 {
				t.Fatalf("field longer than the line: %q", s)
			}
		}
		tr := NewTracker(TrackerOptions{MaxOpen: 4}, func([]*Outcome) {})
		tr.Add(&ev)
		tr.Close()
	})
}

func FuzzFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		fr := &Framer{Location: time.UTC, Reference: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}
		got, ok := fr.Frame(line)
		if !strings.Contains(line, got.Msg) && ok {
			t.Fatalf("message %q is not part of the line %q", got.Msg, line)
		}
		if mta, p := dispatch(&got); p != nil {
			var ev Event
			p(&got, &ev)
			_ = mta
		}
	})
}

func FuzzPostfix(f *testing.F)  { fuzzParser(f, parsePostfix, "postfix/smtp", FormatSyslog) }
func FuzzQmail(f *testing.F)    { fuzzParser(f, parseQmail, "", FormatMultilog) }
func FuzzExim(f *testing.F)     { fuzzParser(f, parseExim, "exim", FormatExim) }
func FuzzSendmail(f *testing.F) { fuzzParser(f, parseSendmail, "sendmail", FormatSyslog) }
func FuzzDovecot(f *testing.F)  { fuzzParser(f, parseDovecot, "dovecot", FormatSyslog) }
func FuzzCm4all(f *testing.F)   { fuzzParser(f, parseCm4all, "cm4all_milter", FormatHosting) }

// FuzzRead runs whole logs through framing, parsing, tracking and
// grouping with a tiny open-message bound, seeded with the fixtures.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"postfix-seeds.log", "exim-4.97.log", "qmail-multilog.log", "postfix-public.log", "hosting.log"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, log string) {
		sum, err := Read([]Input{{Name: "fuzz", R: strings.NewReader(log), ModTime: time.Unix(0, 0)}},
			Options{Location: time.UTC, Tracker: TrackerOptions{MaxOpen: 3}, Filter: Filter{Statuses: []string{"all"}},
				Classifier: stubClassifier(), OnOutcome: func(*Outcome) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Bytes != int64(len(log)) {
			t.Fatalf("read %d of %d bytes", sum.Bytes, len(log))
		}
	})
}
