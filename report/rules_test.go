package report

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuiltinRules: the embedded files load, every rule passes check,
// and ids are unique.
func TestBuiltinRules(t *testing.T) {
	rules := mustParseBuiltin(t)
	require.NotEmpty(t, rules)
	require.NoError(t, checkUnique(rules))
	for _, r := range rules {
		assert.NoError(t, r.check(), r.ID)
	}
}

// TestRuleExamples runs every rule's real examples through explain: each
// must come out with the rule's category and party.
func TestRuleExamples(t *testing.T) {
	for _, r := range mustParseBuiltin(t) {
		for i, ex := range r.Examples {
			t.Run(fmt.Sprintf("%s/%d", r.ID, i), func(t *testing.T) {
				e, err := ExplainText(ex.Text)
				require.NoError(t, err, ex.Text)
				assert.Equal(t, r.Category, e.Category, "%s (%s)", ex.Text, ex.Source)
				// A generic rule's party is a client's view of the reply; in
				// a receiving server's own log line explaintext.go decides
				// the party from who logged it.
				if e.Rule == r.ID && !(readText(ex.Text).serverSide && strings.HasSuffix(r.File, "generic.yaml")) {
					assert.Equal(t, r.Party, e.Explanation.Party, "%s (%s)", ex.Text, ex.Source)
				}
			})
		}
	}
}

// TestPrecedence: explicit precedence between overlapping rules.
func TestPrecedence(t *testing.T) {
	tests := []struct {
		name, text string
		cat        Category
		party      Party
	}{
		// A Spamhaus mention beats "spam".
		{"spamhaus beats spam", "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; spam source", CategoryBlocklisted, PartySender},
		{"spam alone is content", "550 5.7.1 Message rejected as spam", CategoryContentSpam, PartySender},
		// Sender address rejected is about the sender, never user-unknown.
		{"sender rejected not user unknown", "550 5.1.0 <a@example.org>: Sender address rejected: User unknown in local recipient table", CategoryPolicy, PartySender},
		{"sender domain not found is dns, about the sender", "450 4.1.8 <a@nonexistent.example>: Sender address rejected: Domain not found", CategoryDNSFailure, PartySender},
		{"sender not logged in is auth", "553 5.7.1 <a@example.org>: Sender address rejected: not logged in", CategoryAuthRequired, PartySender},
		// smtpd_hard_error_limit, not a connection limit.
		{"too many errors", "421 4.7.0 mx.it.test Error: too many errors", CategoryProtocolError, PartySender},
		// A per-transaction limit, not a rate limit; anvil's per-client
		// recipient rate is one.
		{"too many recipients per message", "452 4.5.3 Too many recipients", CategoryProtocolError, PartySender},
		{"too many recipients from client", "451 4.7.1 Error: too many recipients from 192.0.2.9", CategoryRateLimited, PartySender},
		{"too many connections from", "421 4.7.0 mx.example.org Error: too many connections from 192.0.2.9", CategoryConnectionLimit, PartySender},
		{"out of slots", "421 4.3.2 mx.example.org out of connection slots", CategoryConnectionLimit, PartyRecipient},
		// qmail rcpthosts is relay-denied.
		{"qmail rcpthosts", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", CategoryRelayDenied, PartySender},
		// Greylisting words beat a generic 4xx.
		{"greylisted", "451 4.7.1 Please try again later", CategoryGreylisted, PartySender},
		// Unverified address beats the user-unknown words it quotes.
		{"unverified", "450 4.1.1 <a@b.example>: Recipient address rejected: unverified address: host x[1.2.3.4] said: 550 User unknown", CategoryUserUnknown, PartyRecipient},
		// TLS required beats the policy its 5.7.0 would suggest.
		{"starttls first", "530 5.7.0 Must issue a STARTTLS command first", CategoryTLSRequired, PartySender},
		// Own reasons: local configuration.
		{"loop", "mail for example.org loops back to myself", CategoryOther, PartyLocal},
		{"local tls policy", "TLS is required, but was not offered by host mx.example.org[192.0.2.1]", CategoryTLSRequired, PartyLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ExplainText(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.cat, e.Category)
			assert.Equal(t, tt.party, e.Explanation.Party)
		})
	}
}

func TestParseRulesErrors(t *testing.T) {
	ex := "\n  examples: [{text: \"550 x\", source: \"here\"}]"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown category", "- id: a\n  category: nope\n  party: sender\n  match: [x]" + ex, `rules.yaml:1: rule a: category "nope" is not one of`},
		{"unknown party", "- id: a\n  category: other\n  party: them\n  match: [x]" + ex, `party "them"`},
		{"bad id", "- id: A_b\n  category: other\n  party: sender\n  match: [x]" + ex, "not kebab-case"},
		{"bad regex", "- id: a\n  category: other\n  party: sender\n  regex: '(x'" + ex, "rule a: regex does not compile"},
		{"no condition", "- id: a\n  category: other\n  party: sender" + ex, "needs a condition"},
		{"no example", "- id: a\n  category: other\n  party: sender\n  match: [x]", "needs at least one example"},
		{"unknown key", "- id: a\n  category: other\n  party: sender\n  mach: [x]" + ex, `rules.yaml:4: rule a: unknown key "mach"`},
		{"bad class", "- id: a\n  category: other\n  party: sender\n  classes: [3]\n  match: [x]" + ex, "class 3"},
		{"bad enhanced", "- id: a\n  category: other\n  party: sender\n  enhanced: [\"5.1\"]" + ex, `enhanced code "5.1"`},
		{"not a list", "id: a", "must be a YAML list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("rules.yaml", []byte(tt.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestUseRules: an admin rule wins over the built-in ones and shows in
// the explanation's next step; a duplicate id is refused.
func TestUseRules(t *testing.T) {
	t.Cleanup(resetAdminRules)
	text := "550 5.7.1 Acme filter says no (AF42)"
	before := ClassifyText(550, "5.7.1", text)
	assert.Nil(t, before.Rule)
	require.NoError(t, UseRules("admin.yaml", []byte(`- id: acme-af42
  category: reputation
  party: sender
  provider: Acme
  match: ["(af42)"]
  next: "Ask Acme's postmaster to lift AF42."
  examples: [{text: "550 5.7.1 Acme filter says no (AF42)", source: "our maillog"}]
`)))
	c := ClassifyText(550, "5.7.1", text)
	require.NotNil(t, c.Rule)
	assert.Equal(t, "acme-af42", c.Rule.ID)
	assert.Equal(t, CategoryReputation, c.Category)
	e, err := ExplainText(text)
	require.NoError(t, err)
	assert.Contains(t, e.Explanation.Next, "Ask Acme's postmaster")

	err = UseRules("dup.yaml", []byte("- id: dnsbl-blocked\n  category: other\n  party: sender\n  match: [x]\n  examples: [{text: x, source: y}]"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "duplicate id")
}

// TestCategoryTable: every category in report.Categories has its entry
// — a party and an explanation (texts or a function) that says what,
// why and what next, for a verdict from a probe and for a read text.
func TestCategoryTable(t *testing.T) {
	for _, c := range Categories {
		info, ok := categoryTable[c]
		require.True(t, ok, "category %s has no entry in categoryTable", c)
		assert.Contains(t, Parties, info.party, c)
		assert.True(t, info.explain != nil || len(info.texts) > 0, "category %s has no explanation", c)
		for _, ctx := range []explainCtx{{}, {text: &textFacts{kind: KindOther}}} {
			for _, perm := range []Permanence{PermanencePermanent, PermanenceTemporary} {
				v := &Verdict{Category: c, Permanence: perm, Reason: "some reason", Relay: "none"}
				e := explain(v, ctx)
				assert.NotEmpty(t, e.What, c)
				assert.NotEmpty(t, e.Cause, c)
				assert.NotEmpty(t, e.Next, c)
				assert.NotContains(t, e.What+e.Cause+e.Next, "{", "%s: a placeholder left in %q", c, e.What)
				assert.Contains(t, Parties, e.Party, c)
			}
		}
	}
	assert.Len(t, categoryTable, len(Categories))
}

func mustParseBuiltin(t testing.TB) []*Rule {
	t.Helper()
	rs, err := parseBuiltinFiles()
	require.NoError(t, err)
	return rs
}

// TestNothingCompiledAtProgramStart: importing report builds no rule,
// automaton or regexp; the first classification of a failure does, and
// a success reply needs none. Runs in a fresh process, since other tests
// of this binary classify before it.
func TestNothingCompiledAtProgramStart(t *testing.T) {
	if os.Getenv("REPORT_FRESH_PROCESS") == "1" {
		if activeRules.Load() != nil || builtinRules != nil {
			fmt.Println("FRESH: rules built at program start")
			os.Exit(3)
		}
		ClassifyText(250, "2.1.5", "250 2.1.5 Ok")
		if activeRules.Load() != nil {
			fmt.Println("FRESH: a success reply built the rules")
			os.Exit(4)
		}
		ClassifyText(550, "5.1.1", "550 5.1.1 <a@b>: Recipient address rejected: User unknown")
		if activeRules.Load() == nil {
			fmt.Println("FRESH: a failure did not build the rules")
			os.Exit(5)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNothingCompiledAtProgramStart$")
	cmd.Env = append(os.Environ(), "REPORT_FRESH_PROCESS=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestNoPackageLevelRegexp: no package-level variable of report is
// initialised by compiling a regexp (regexp.MustCompile/Compile at
// program start); wrap it in sync.OnceValue instead.
func TestNoPackageLevelRegexp(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, v := range spec.(*ast.ValueSpec).Values {
					call, ok := v.(*ast.CallExpr)
					if !ok {
						continue
					}
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "regexp" {
							t.Errorf("%s: package-level regexp.%s runs at program start", fset.Position(call.Pos()), sel.Sel.Name)
						}
					}
				}
			}
		}
	}
}
