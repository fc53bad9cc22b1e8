package report

import (
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveMatch is the classifier's rule matching without automaton,
// prefilter or bitsets: every rule in precedence order, each condition
// checked directly. The compiled matcher must always agree with it.
func naiveMatch(rules []*Rule, text string, class int, enhanced string, noReply bool) *Rule {
	low := strings.ToLower(text)
	for _, r := range rules {
		if r.NoReply && !noReply {
			continue
		}
		if len(r.Classes) > 0 && !slices.Contains(r.Classes, class) {
			continue
		}
		if len(r.Enhanced) > 0 && !slices.Contains(r.Enhanced, enhanced) {
			continue
		}
		if len(r.Match) > 0 && !slices.ContainsFunc(r.Match, func(m string) bool { return strings.Contains(low, m) }) {
			continue
		}
		if r.Regex != "" && !naiveRegexp(r.Regex).MatchString(low) {
			continue
		}
		return r
	}
	return nil
}

var naiveCache sync.Map

func naiveRegexp(expr string) *regexp.Regexp {
	if re, ok := naiveCache.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(expr)
	naiveCache.Store(expr, re)
	return re
}

// prefilterCorpus is real text: every line of the maillog seeds, every
// rule example, and the replies the classifier tests use.
func prefilterCorpus(t testing.TB) []string {
	t.Helper()
	texts := []string{
		"550-5.1.1 The email account that you tried to reach does not exist.",
		"554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
		"421 newd1.sm66.com out of connection slots",
		"connect to mx.example[192.0.2.1]:25: Connection timed out",
		"550 5.1.1 <ÄÖÜ@example.org>: Recipient address rejected: USER UNKNOWN",
	}
	for _, r := range mustParseBuiltin(t) {
		for _, e := range r.Examples {
			texts = append(texts, e.Text)
		}
	}
	seeds, _ := filepath.Glob("../../shared/seeds/*.txt")
	for _, f := range seeds {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		texts = append(texts, strings.Split(string(b), "\n")...)
	}
	return texts
}

// TestCompiledMatchEqualsNaive: the automaton, the regex prefilter and
// the candidate bitsets are optimisations only; on real text, for every
// reply class and with and without a reply code, they pick the same rule
// as checking every rule one by one.
func TestCompiledMatchEqualsNaive(t *testing.T) {
	rs := compileRules(mustParseBuiltin(t))
	for _, text := range prefilterCorpus(t) {
		for _, class := range []int{0, 2, 4, 5} {
			for _, noReply := range []bool{false, true} {
				for _, enh := range []string{"", "4.7.1", "4.5.3"} {
					want := naiveMatch(rs.rules, text, class, enh, noReply)
					got := rs.match(text, class, enh, noReply)
					require.Equal(t, ruleID(want), ruleID(got), "text %q class %d noReply %v enh %q", text, class, noReply, enh)
				}
			}
		}
	}
}

func ruleID(r *Rule) string {
	if r == nil {
		return ""
	}
	return r.ID
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
			tree, err := syntax.Parse(tt.expr, syntax.Perl)
			require.NoError(t, err)
			lits, ok := required(tree.Simplify())
			if tt.want == nil {
				assert.False(t, ok && useful(lits))
				return
			}
			assert.True(t, ok)
			assert.ElementsMatch(t, tt.want, lits)
		})
	}
}

// FuzzRuleMatch: on any text, the compiled matcher picks the rule the
// naive one picks.
func FuzzRuleMatch(f *testing.F) {
	for _, s := range []string{"550 5.1.1 user unknown", "blocked using zen.spamhaus.org", "greylisted", "too many connections", "connect to x[1.2.3.4]:25: connection refused"} {
		f.Add(s, 5, false)
	}
	rs := compileRules(mustParseBuiltin(f))
	f.Fuzz(func(t *testing.T, s string, class int, noReply bool) {
		if ruleID(naiveMatch(rs.rules, s, class, "", noReply)) != ruleID(rs.match(s, class, "", noReply)) {
			t.Fatalf("matchers disagree on %q", s)
		}
	})
}

// TestSplitBranches: the regex is cut only at top-level bars, and plain
// phrases become literals.
func TestSplitBranches(t *testing.T) {
	bs := splitBranches(`relay access denied|(a|b)c \d+|[|]x|e\|f|user (doesn't|does not) exist`)
	require.Len(t, bs, 5)
	assert.Equal(t, "relay access denied", bs[0].lit)
	assert.Equal(t, `(a|b)c \d+`, bs[1].re)
	assert.Equal(t, "|x", bs[2].lit) // a one-character class is a literal
	assert.Equal(t, "e|f", bs[3].lit)
	assert.Equal(t, []string{" exist"}, bs[4].lits)
}
