package report

import (
	"slices"
	"testing"
)

// FuzzExplainText covers the text readers (bare replies, every MTA's
// log line and bounce forms, NDRs, DSNs): any input gets a well-formed
// answer and never a panic, and the same answer twice (the cache). Seeds
// are real corpus texts (testdata/fuzz/FuzzExplainText.sources.txt).
func FuzzExplainText(f *testing.F) {
	f.Add("550 5.1.1 <a@b> User unknown")
	f.Add("delivery 245: failure: Unable_to_run_qmail-remote./")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ExplainText(s)
		if err != nil {
			if err != ErrEmptyInput {
				t.Fatalf("error %v for %q", err, s)
			}
			return
		}
		if !slices.Contains(Categories, e.Category) {
			t.Fatalf("category %q for %q", e.Category, s)
		}
		if !slices.Contains([]Permanence{PermanenceSuccess, PermanenceTemporary, PermanencePermanent, PermanenceUnknown}, e.Permanence) {
			t.Fatalf("permanence %q for %q", e.Permanence, s)
		}
		if !slices.Contains(Parties, e.Party) || e.Party != e.Explanation.Party {
			t.Fatalf("party %q/%q for %q", e.Party, e.Explanation.Party, s)
		}
		if _, ok := kindNames[e.Kind]; !ok {
			t.Fatalf("kind %q for %q", e.Kind, s)
		}
		if e.Code != 0 && (e.Code < 200 || e.Code > 599) {
			t.Fatalf("code %d for %q", e.Code, s)
		}
		if e.Explanation.What == "" || e.Explanation.Next == "" {
			t.Fatalf("empty explanation for %q", s)
		}
		again, _ := ExplainText(s)
		if again.Category != e.Category || again.Permanence != e.Permanence || again.Party != e.Party {
			t.Fatalf("second answer differs for %q", s)
		}
	})
}
