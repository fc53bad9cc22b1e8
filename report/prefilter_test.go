package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allPatterns is every classifier pattern.
func allPatterns() []pattern {
	var ps []pattern
	for _, r := range textRules {
		ps = append(ps, r.re)
	}
	for _, r := range localRules {
		ps = append(ps, r.re)
	}
	return ps
}

// prefilterCorpus is real text: every line of the maillog seeds and
// every reply the classifier tests use.
func prefilterCorpus(t *testing.T) []string {
	t.Helper()
	texts := []string{
		"550-5.1.1 the email account that you tried to reach does not exist.",
		"554 5.7.1 service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org",
		"450 4.2.0 <a@b>: recipient address rejected: greylisted, see http://postgrey.schweikert.ch/help/b.html",
		"421 newd1.sm66.com out of connection slots",
		"552 5.2.2 mailbox full", "530 5.7.0 must issue a starttls command first",
		"connect to mx.example[192.0.2.1]:25: connection timed out",
	}
	seeds, _ := filepath.Glob("../../shared/seeds/*.txt")
	for _, f := range seeds {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			texts = append(texts, strings.ToLower(l))
		}
	}
	return texts
}

// TestPrefilterNeverChangesAMatch: the literal prefilter is an
// optimisation only; with and without it every pattern gives the same
// answer on real text.
func TestPrefilterNeverChangesAMatch(t *testing.T) {
	for _, text := range prefilterCorpus(t) {
		for _, p := range allPatterns() {
			assert.Equal(t, p.re.MatchString(text), p.MatchString(text), "pattern %s on %q", p, text)
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		expr string
		want []string // nil: no prefilter
	}{
		// The parser factors the common prefix out; the longer tails
		// filter better than "relay".
		{`relay access denied|relaying denied`, []string{" access denied", "ing denied"}},
		{`user (doesn't|does not) exist`, []string{" exist"}},
		{`\bspf\b|dmarc`, []string{"spf", "dmarc"}},
		{`gr[ae]y-?list`, []string{"list"}},
		{`(is )?full`, []string{"full"}},
		{`x|ab`, nil},               // a literal too short to filter anything
		{`[a-z]+ rejected|.*`, nil}, // one branch needs no text at all
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p := newPattern(tt.expr)
			if tt.want == nil {
				assert.Nil(t, p.any)
				return
			}
			assert.ElementsMatch(t, tt.want, p.any)
		})
	}
}

// FuzzPrefilter: on any text, the prefiltered match equals the plain
// regexp's.
func FuzzPrefilter(f *testing.F) {
	for _, s := range []string{"550 5.1.1 user unknown", "blocked using zen.spamhaus.org", "greylisted", "too many connections"} {
		f.Add(s)
	}
	ps := allPatterns()
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ToLower(s)
		for _, p := range ps {
			if p.re.MatchString(s) != p.MatchString(s) {
				t.Fatalf("pattern %s disagrees on %q", p, s)
			}
		}
	})
}
