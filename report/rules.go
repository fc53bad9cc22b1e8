package report

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/mailprobe/mailprobe/probe"
)

// Party says who has to act on an outcome.
type Party string

const (
	// PartySender: the sending side — your IP's reputation or listing,
	// SPF/DKIM/DMARC, reverse DNS, HELO, sender address, sending rate.
	PartySender Party = "sender"
	// PartyRecipient: the recipient or their admin — no such mailbox, a
	// full or disabled mailbox, their server or DNS broken.
	PartyRecipient Party = "recipient"
	// PartyLocal: your own configuration — a mail loop, a local TLS
	// policy, a relayhost that refuses you, blocked outbound port 25.
	PartyLocal Party = "local"
)

// Parties lists the party vocabulary.
var Parties = []Party{PartySender, PartyRecipient, PartyLocal}

// Rule is one classifier rule: when a text satisfies its conditions, the
// text gets the rule's category and party. Rules are data, kept in
// report/rules/*.yaml (embedded) and in the admin's --rules file, in the
// format the README documents.
type Rule struct {
	ID       string   `yaml:"id" json:"id"`
	Category Category `yaml:"category" json:"category"`
	Party    Party    `yaml:"party" json:"party"`
	Provider string   `yaml:"provider,omitempty" json:"provider,omitempty"`
	// Priority: higher is tried first; ties keep load order (admin file,
	// providers.yaml, other files by name, generic.yaml).
	Priority int `yaml:"priority,omitempty" json:"priority,omitempty"`
	// Classes restricts the rule to these reply classes (2, 4, 5); the
	// class of a text without a reply code is its enhanced code's.
	Classes []int `yaml:"classes,omitempty" json:"classes,omitempty"`
	// Enhanced restricts the rule to these RFC 3463 codes (any of).
	Enhanced []string `yaml:"enhanced,omitempty" json:"enhanced,omitempty"`
	// Match: literal substrings of the lower-cased text (any of).
	Match []string `yaml:"match,omitempty" json:"match,omitempty"`
	// Regex: RE2 over the lower-cased text; with Match, both must hold.
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// NoReply restricts the rule to texts without a reply code: an MTA's
	// own reasons ("connect to …: Connection refused", DNS errors).
	NoReply bool `yaml:"noreply,omitempty" json:"noreply,omitempty"`
	// Next is the provider's own remedy, shown as the next step.
	Next     string        `yaml:"next,omitempty" json:"next,omitempty"`
	Examples []RuleExample `yaml:"examples" json:"-"`

	// File and Line say where the rule was defined.
	File string `yaml:"-" json:"-"`
	Line int    `yaml:"-" json:"-"`

	// branches are the regex's top-level alternatives: a pure literal
	// is matched by the automaton alone, the rest are small regexps,
	// each compiled on its first candidate text.
	branches []*branch
	classes  uint8 // bit c set: class c allowed; 0: any
}

// branch is one top-level alternative of a rule's regex.
type branch struct {
	lit  string   // the branch is this literal, or ""
	re   string   // else its regex
	lits []string // literals one of which every match of re contains (nil: none known)

	once sync.Once
	rx   *regexp.Regexp
}

// regexp compiles the branch on first use: most branches never see a
// text with their literals, so a process pays only for what it needs.
// check has already proved the whole regex compiles.
func (b *branch) regexp() *regexp.Regexp {
	b.once.Do(func() { b.rx = regexp.MustCompile(b.re) })
	return b.rx
}

// splitBranches cuts a regex at its top-level "|" (outside groups,
// classes and escapes), each alternative kept as written: Go's parser
// would factor common prefixes out of an alternation and hide that most
// alternatives are plain phrases.
func splitBranches(expr string) []*branch {
	var parts []string
	depth, start, inClass := 0, 0, false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	parts = append(parts, expr[start:])
	out := make([]*branch, 0, len(parts))
	for _, p := range parts {
		tree, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			// Not a regex on its own (cannot happen for a valid whole);
			// keep the whole expression as one branch.
			return []*branch{{re: expr, lits: regexLiterals(expr)}}
		}
		tree = tree.Simplify()
		if tree.Op == syntax.OpLiteral && tree.Flags&syntax.FoldCase == 0 {
			out = append(out, &branch{lit: string(tree.Rune)})
			continue
		}
		b := &branch{re: p}
		if lits, ok := required(tree); ok && useful(lits) {
			b.lits = lits
		}
		out = append(out, b)
	}
	return out
}

// RuleExample is a real text the rule is made for, with its source.
type RuleExample struct {
	Text   string `yaml:"text"`
	Source string `yaml:"source"`
}

// RuleError is a problem with one rule of a rules file.
type RuleError struct {
	File    string
	Line    int
	ID      string
	Problem string
}

func (e *RuleError) Error() string {
	id := e.ID
	if id == "" {
		id = "(no id)"
	}
	return fmt.Sprintf("%s:%d: rule %s: %s", e.File, e.Line, id, e.Problem)
}

//go:embed rules/*.yaml
var builtinFS embed.FS

var ruleKeys = map[string]bool{
	"id": true, "category": true, "party": true, "provider": true, "priority": true,
	"classes": true, "enhanced": true, "match": true, "regex": true, "noreply": true,
	"next": true, "examples": true,
}

// kebabCase: a-z0-9 words joined by single hyphens.
func kebabCase(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParseRules reads a rules file (YAML, a list of rules) and checks every
// rule: known keys, a kebab-case id, a category and party from the
// vocabulary, valid classes and enhanced codes, at least one condition,
// a regex that compiles, and at least one example with a source. name is
// used in errors.
func ParseRules(name string, data []byte) ([]*Rule, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, &RuleError{File: name, Line: list.Line, Problem: "the file must be a YAML list of rules"}
	}
	var out []*Rule
	for _, n := range list.Content {
		r := &Rule{File: name, Line: n.Line}
		if n.Kind != yaml.MappingNode {
			return nil, &RuleError{File: name, Line: n.Line, Problem: "a rule must be a mapping (id:, category:, …)"}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if !ruleKeys[k] {
				return nil, &RuleError{File: name, Line: n.Content[i].Line, ID: idOf(n), Problem: fmt.Sprintf("unknown key %q", k)}
			}
		}
		if err := n.Decode(r); err != nil {
			return nil, &RuleError{File: name, Line: n.Line, ID: idOf(n), Problem: err.Error()}
		}
		r.File, r.Line = name, n.Line
		if err := r.check(); err != nil {
			return nil, &RuleError{File: name, Line: n.Line, ID: r.ID, Problem: err.Error()}
		}
		out = append(out, r)
	}
	return out, nil
}

func idOf(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "id" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// check validates one rule and compiles its regex.
func (r *Rule) check() error {
	if !kebabCase(r.ID) {
		return fmt.Errorf("id %q is not kebab-case (a-z, 0-9, -)", r.ID)
	}
	if !slices.Contains(Categories, r.Category) {
		return fmt.Errorf("category %q is not one of %s", r.Category, joinAny(Categories))
	}
	if !slices.Contains(Parties, r.Party) {
		return fmt.Errorf("party %q is not one of %s", r.Party, joinAny(Parties))
	}
	for _, c := range r.Classes {
		if c != 2 && c != 4 && c != 5 {
			return fmt.Errorf("class %d is not a reply class (2, 4 or 5)", c)
		}
		r.classes |= 1 << c
	}
	for _, e := range r.Enhanced {
		if !probe.ValidEnhanced(e) {
			return fmt.Errorf("enhanced code %q is not an RFC 3463 code (class.subject.detail)", e)
		}
	}
	for i, m := range r.Match {
		if strings.TrimSpace(m) == "" {
			return errors.New("an empty match literal matches everything")
		}
		r.Match[i] = strings.ToLower(m)
	}
	if r.Regex != "" {
		if _, err := regexp.Compile(r.Regex); err != nil {
			return fmt.Errorf("regex does not compile: %v", err)
		}
		r.branches = splitBranches(r.Regex)
	}
	if len(r.Match) == 0 && r.Regex == "" && len(r.Enhanced) == 0 {
		return errors.New("needs a condition: match, regex or enhanced")
	}
	if len(r.Examples) == 0 {
		return errors.New("needs at least one example (text and source)")
	}
	for _, e := range r.Examples {
		if strings.TrimSpace(e.Text) == "" || strings.TrimSpace(e.Source) == "" {
			return errors.New("every example needs a text and a source")
		}
	}
	return nil
}

// regexLiterals is the prefilter set of a regex (see prefilter.go), nil
// when it has none.
func regexLiterals(expr string) []string {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	if lits, ok := required(tree.Simplify()); ok && useful(lits) {
		return lits
	}
	return nil
}

func joinAny[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// ruleSet is a compiled, ordered set of rules.
type ruleSet struct {
	rules []*Rule // precedence order
	ac    *automaton
	// litRule[id] is the rule literal id belongs to; litBranch[id] the
	// regex branch it stands for (-1: a match literal); litFull[id] the
	// whole literal when the automaton holds only its prefix.
	litRule   []int32
	litBranch []int32
	litFull   []string
	// needMatch / needRe: bit i set when rule i has match literals / a
	// regex every branch of which needs a literal.
	needMatch, needRe []uint64
	words             int
	cache             *classCache
}

// acPrefix is how much of each literal the automaton holds. Literals
// are phrases ("the email account that you tried to reach does not
// exist"); their first bytes already tell almost every text apart, and
// a short prefix keeps the automaton small enough to build in a fraction
// of a millisecond on a process's first classification. A hit on a
// truncated match literal is confirmed with strings.Contains; a regex
// literal needs no confirmation, the regex decides.
const acPrefix = 8

func prefix(s string) string {
	if len(s) > acPrefix {
		return s[:acPrefix]
	}
	return s
}

func compileRules(rules []*Rule) *ruleSet {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b *Rule) int { return b.Priority - a.Priority })
	rs := &ruleSet{rules: sorted, words: (len(sorted) + 63) / 64, cache: newClassCache()}
	rs.needMatch = make([]uint64, rs.words)
	rs.needRe = make([]uint64, rs.words)
	var lits []string
	add := func(rule int, br int, lit string) {
		full := ""
		if len(lit) > acPrefix {
			full = lit
		}
		lits = append(lits, prefix(lit))
		rs.litRule = append(rs.litRule, int32(rule))
		rs.litBranch = append(rs.litBranch, int32(br))
		rs.litFull = append(rs.litFull, full)
	}
	for i, r := range sorted {
		for _, m := range r.Match {
			add(i, -1, m)
		}
		if len(r.Match) > 0 {
			rs.needMatch[i/64] |= 1 << (i % 64)
		}
		always := false
		for j, b := range r.branches {
			switch {
			case b.lit != "":
				add(i, j, b.lit)
			case b.lits != nil:
				for _, l := range b.lits {
					add(i, j, l)
				}
			default:
				always = true // a branch with no literal: always a candidate
			}
		}
		if len(r.branches) > 0 && !always {
			rs.needRe[i/64] |= 1 << (i % 64)
		}
	}
	rs.ac = newAutomaton(lits)
	return rs
}

// maxHits bounds the literal hits remembered per text; a text with more
// (a whole bounce) falls back to checking every branch of a candidate.
const maxHits = 128

// match returns the first rule, in precedence order, that the text
// satisfies; class is the reply class (0 when unknown), noReply whether
// the text carries no reply code.
func (rs *ruleSet) match(text string, class int, enhanced string, noReply bool) *Rule {
	var stack [2 * 16]uint64
	var seenMatch, seenRe []uint64
	if rs.words <= 16 {
		seenMatch, seenRe = stack[:rs.words], stack[16:16+rs.words]
	} else {
		seenMatch, seenRe = make([]uint64, rs.words), make([]uint64, rs.words)
	}
	scanText := text
	if !isASCII(text) {
		scanText = strings.ToLower(text)
	}
	var hitBuf [maxHits]int32
	hits, overflow := rs.ac.scanInto(scanText, hitBuf[:0])
	if overflow {
		// More literals than remembered: mark every rule whose
		// literals occur, from a second, uncapped pass.
		rs.ac.scan(scanText, func(id int32) { rs.mark(id, seenMatch, seenRe) })
	} else {
		for _, id := range hits {
			rs.mark(id, seenMatch, seenRe)
		}
	}
	lowered := ""
	low := func() string {
		if lowered == "" {
			lowered = strings.ToLower(text)
		}
		return lowered
	}
	for w := 0; w < rs.words; w++ {
		cand := (seenMatch[w] | ^rs.needMatch[w]) & (seenRe[w] | ^rs.needRe[w])
		for cand != 0 {
			b := bits.TrailingZeros64(cand)
			cand &^= 1 << b
			i := w*64 + b
			if i >= len(rs.rules) {
				break
			}
			r := rs.rules[i]
			if r.NoReply && !noReply {
				continue
			}
			if r.classes != 0 && (class < 0 || class > 7 || r.classes&(1<<class) == 0) {
				continue
			}
			if len(r.Enhanced) > 0 && !slices.Contains(r.Enhanced, enhanced) {
				continue
			}
			if len(r.Match) > 0 && !rs.matchHolds(int32(i), hits, overflow, low) {
				continue
			}
			if len(r.branches) > 0 && !rs.regexHolds(int32(i), r, hits, overflow, low) {
				continue
			}
			return r
		}
	}
	return nil
}

func (rs *ruleSet) mark(id int32, seenMatch, seenRe []uint64) {
	i := rs.litRule[id]
	if rs.litBranch[id] >= 0 {
		seenRe[i/64] |= 1 << (i % 64)
	} else {
		seenMatch[i/64] |= 1 << (i % 64)
	}
}

// matchHolds confirms a rule's match literals: a hit on a whole literal
// is enough, a hit on a prefix is checked on the text.
func (rs *ruleSet) matchHolds(rule int32, hits []int32, overflow bool, low func() string) bool {
	for _, id := range hits {
		if rs.litRule[id] != rule || rs.litBranch[id] >= 0 {
			continue
		}
		if rs.litFull[id] == "" || strings.Contains(low(), rs.litFull[id]) {
			return true
		}
	}
	if overflow {
		return slices.ContainsFunc(rs.rules[rule].Match, func(m string) bool { return strings.Contains(low(), m) })
	}
	return false
}

// regexHolds: some branch of the rule's regex matches — a literal
// branch by its hit, a regex branch only when its literal was seen (or
// it has none).
func (rs *ruleSet) regexHolds(rule int32, r *Rule, hits []int32, overflow bool, low func() string) bool {
	var tried uint64 // branches already run (bit j), up to 64
	for _, id := range hits {
		if rs.litRule[id] != rule || rs.litBranch[id] < 0 {
			continue
		}
		j := rs.litBranch[id]
		b := r.branches[j]
		if b.lit != "" {
			if rs.litFull[id] == "" || strings.Contains(low(), b.lit) {
				return true
			}
			continue
		}
		if j < 64 && tried&(1<<j) != 0 {
			continue
		}
		// Only the literal's prefix was seen: the whole literal must be
		// there before the regex is worth running.
		if rs.litFull[id] != "" && !strings.Contains(low(), rs.litFull[id]) {
			continue
		}
		if j < 64 {
			tried |= 1 << j
		}
		if b.regexp().MatchString(low()) {
			return true
		}
	}
	for j, b := range r.branches {
		if b.lit == "" && (b.lits == nil || overflow) && (j >= 64 || tried&(1<<j) == 0) {
			if b.regexp().MatchString(low()) {
				return true
			}
		}
		if overflow && b.lit != "" && strings.Contains(low(), b.lit) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// The rules in use: the embedded ones, compiled on first use (never at
// program start: a probe that classifies one reply should not pay for
// hundreds of rules it does not need before it even dials), plus the
// admin's from UseRules.
var (
	builtinOnce  sync.Once
	builtinRules []*Rule
	adminRules   []*Rule
	adminMu      sync.Mutex
	activeRules  atomic.Pointer[ruleSet]
	compileMu    sync.Mutex
)

// builtinFiles lists the embedded rules files in load order: provider
// rules before the generic wordings, so at equal priority the more
// specific rule wins.
func builtinFiles() []string {
	ents, err := fs.ReadDir(builtinFS, "rules")
	if err != nil {
		panic(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	rank := func(n string) int {
		switch n {
		case "providers.yaml":
			return 0
		case "generic.yaml":
			return 2
		}
		return 1
	}
	slices.SortStableFunc(names, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return names
}

// BuiltinRules returns the embedded rules in load order, without their
// examples: the table generated from report/rules/*.yaml
// (rules_builtin.go), so a process does not parse YAML to classify one
// reply. TestBuiltinTableUpToDate keeps the table equal to the files.
//
// Should the table be stale (a YAML file edited, the table not yet
// regenerated), the files' hash differs from the one the table was made
// from, and the files themselves are parsed: slower, never wrong.
func BuiltinRules() []*Rule {
	builtinOnce.Do(func() {
		if builtinHash() == builtinTableHash {
			builtinRules = builtinTable()
			return
		}
		rs, err := parseBuiltinFiles()
		if err != nil {
			panic("mailprobe: embedded rules: " + err.Error())
		}
		builtinRules = rs
	})
	return builtinRules
}

// builtinHash is FNV-1a over the embedded files, in load order.
func builtinHash() string {
	h := fnv.New64a()
	for _, name := range builtinFiles() {
		data, err := builtinFS.ReadFile(path.Join("rules", name))
		if err != nil {
			panic(err)
		}
		h.Write([]byte(name))
		h.Write(data)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// parseBuiltinFiles parses the embedded YAML files in load order, with
// examples (tests, and the generator of rules_builtin.go).
func parseBuiltinFiles() ([]*Rule, error) {
	var all []*Rule
	for _, name := range builtinFiles() {
		data, err := builtinFS.ReadFile(path.Join("rules", name))
		if err != nil {
			return nil, err
		}
		rs, err := ParseRules("report/rules/"+name, data)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	return all, checkUnique(all)
}

func checkUnique(rules []*Rule) error {
	seen := map[string]*Rule{}
	for _, r := range rules {
		if o, ok := seen[r.ID]; ok {
			return &RuleError{File: r.File, Line: r.Line, ID: r.ID, Problem: fmt.Sprintf("duplicate id (first defined at %s:%d)", o.File, o.Line)}
		}
		seen[r.ID] = r
	}
	return nil
}

// UseRulesFile adds the admin's rules from a file (the --rules flag) in
// front of the built-in ones: at equal priority an admin rule wins. Every
// rule is checked; the first problem is returned as a *RuleError naming
// the rule.
func UseRulesFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return UseRules(file, data)
}

// UseRules is UseRulesFile for rules already read; name is used in
// errors.
func UseRules(name string, data []byte) error {
	rs, err := ParseRules(name, data)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return &RuleError{File: name, Line: 1, Problem: "the file holds no rules"}
	}
	all := append(slices.Clone(rs), BuiltinRules()...)
	if err := checkUnique(all); err != nil {
		return err
	}
	adminMu.Lock()
	adminRules = append(adminRules, rs...)
	adminMu.Unlock()
	compileMu.Lock()
	activeRules.Store(nil) // recompiled on next use
	compileMu.Unlock()
	return nil
}

// resetAdminRules drops the admin's rules (tests).
func resetAdminRules() {
	adminMu.Lock()
	adminRules = nil
	adminMu.Unlock()
	activeRules.Store(nil)
}

// Rules returns the rules in use, in precedence order.
func Rules() []*Rule { return slices.Clone(active().rules) }

func active() *ruleSet {
	if rs := activeRules.Load(); rs != nil {
		return rs
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	if rs := activeRules.Load(); rs != nil {
		return rs
	}
	adminMu.Lock()
	all := append(slices.Clone(adminRules), BuiltinRules()...)
	adminMu.Unlock()
	rs := compileRules(all)
	activeRules.Store(rs)
	return rs
}

// classCache remembers recent classifications: a maillog or a batch
// sees the same replies again and again. Two generations of bounded maps
// give LRU-like behaviour without per-entry bookkeeping.
type classCache struct {
	mu       sync.Mutex
	cur, old map[string]Classification
}

const classCacheSize = 4096

func newClassCache() *classCache {
	return &classCache{cur: make(map[string]Classification, 64)}
}

func (c *classCache) get(k string) (Classification, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	if v, ok := c.old[k]; ok {
		c.put(k, v)
		return v, true
	}
	return Classification{}, false
}

func (c *classCache) add(k string, v Classification) {
	c.mu.Lock()
	c.put(k, v)
	c.mu.Unlock()
}

func (c *classCache) put(k string, v Classification) {
	if len(c.cur) >= classCacheSize {
		c.old, c.cur = c.cur, make(map[string]Classification, classCacheSize)
	}
	c.cur[k] = v
}

func cacheKey(code int, enhanced, text string) string {
	var b strings.Builder
	b.Grow(len(text) + len(enhanced) + 6)
	b.WriteString(strconv.Itoa(code))
	b.WriteByte('|')
	b.WriteString(enhanced)
	b.WriteByte('|')
	b.WriteString(text)
	return b.String()
}
