package maillog

import (
	"sort"
	"strings"
	"time"
)

// Group is the outcomes of one recipient domain with one status and
// category: the unit the default output answers with.
type Group struct {
	Domain     string    `json:"domain"`
	Status     string    `json:"status"`
	Category   string    `json:"category"`
	Permanence string    `json:"permanence"`
	Party      string    `json:"party,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	Messages   int       `json:"messages"`
	Recipients int       `json:"recipients"`
	Attempts   int       `json:"attempts"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	// Codes are the dsn values and the providers' own codes found in the
	// replies (Yahoo's [TSS04], Microsoft's (S3150), AS(1450)).
	Codes       []string `json:"codes"`
	Example     string   `json:"example_reason"`
	ExampleRcpt string   `json:"example_recipient"`
	ExampleID   string   `json:"example_queue_id"`
	Relay       string   `json:"example_relay"`
	Explanation *Explain `json:"explanation"`
	// Still is true when at least one recipient of the group was still
	// deferred (not expired, not bounced) at the end of the log.
	Still bool `json:"still_deferring"`
	// Probe is today's answer for the domain (--probe), on the domain's
	// most frequent still-deferring group.
	Probe *Live `json:"probe,omitempty"`

	mta        MTA
	exampleDSN string
}

type groupKey struct{ domain, status, category string }

// Aggregator groups outcomes and counts everything.
type Aggregator struct {
	groups map[groupKey]*Group
	// ByStatus counts recipients per final status.
	ByStatus map[string]int
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{groups: map[groupKey]*Group{}, ByStatus: map[string]int{}}
}

// Count records one outcome in the totals only.
func (a *Aggregator) Count(o *Outcome) {
	a.ByStatus[o.Status]++
}

// Add adds the outcomes of one message to the groups (each group counts
// the message once).
func (a *Aggregator) Add(outs []*Outcome) {
	var seen [4]*Group
	ns := 0
	for _, o := range outs {
		k := groupKey{o.Domain, o.Status, o.Category}
		g := a.groups[k]
		if g == nil {
			g = &Group{Domain: o.Domain, Status: o.Status, Category: o.Category, Permanence: o.Permanence, Party: o.Party, Provider: o.Provider,
				FirstSeen: o.FirstSeen, LastSeen: o.LastSeen}
			a.groups[k] = g
		}
		dup := false
		for _, s := range seen[:ns] {
			if s == g {
				dup = true
			}
		}
		if !dup {
			g.Messages++
			if ns < len(seen) {
				seen[ns] = g
				ns++
			}
		}
		g.Recipients++
		g.Attempts += o.Attempts
		if o.FirstSeen.Before(g.FirstSeen) {
			g.FirstSeen = o.FirstSeen
		}
		if !o.LastSeen.Before(g.LastSeen) || g.Example == "" {
			if o.LastSeen.After(g.LastSeen) {
				g.LastSeen = o.LastSeen
			}
			g.Example, g.ExampleRcpt, g.ExampleID, g.Relay, g.Explanation = o.Reason, o.Recipient, o.QueueID, o.Relay, o.Explanation
			g.mta, g.exampleDSN = o.MTA, o.DSN
		}
		if o.Status == "deferred" {
			g.Still = true
		}
		for _, c := range o.Codes {
			g.addCode(c)
		}
		if o.DSN != "" {
			g.addCode(o.DSN)
		}
	}
}

func (g *Group) addCode(c string) {
	for _, x := range g.Codes {
		if x == c {
			return
		}
	}
	if len(g.Codes) < 8 {
		g.Codes = append(g.Codes, c)
	}
}

// Groups returns the groups, most frequent first (recipients, then
// messages, then domain and category for a stable order).
func (a *Aggregator) Groups() []*Group {
	out := make([]*Group, 0, len(a.groups))
	for _, g := range a.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Recipients != y.Recipients {
			return x.Recipients > y.Recipients
		}
		if x.Messages != y.Messages {
			return x.Messages > y.Messages
		}
		if x.Domain != y.Domain {
			return x.Domain < y.Domain
		}
		if x.Status != y.Status {
			return x.Status < y.Status
		}
		return x.Category < y.Category
	})
	return out
}

// DomainGroups is the groups of one domain, for the text output.
type DomainGroups struct {
	Domain     string
	Recipients int
	Groups     []*Group
}

// ByDomain orders domains by their recipients, each domain's groups most
// frequent first.
func ByDomain(groups []*Group) []DomainGroups {
	idx := map[string]int{}
	var out []DomainGroups
	for _, g := range groups {
		i, ok := idx[g.Domain]
		if !ok {
			i = len(out)
			idx[g.Domain] = i
			out = append(out, DomainGroups{Domain: g.Domain})
		}
		out[i].Recipients += g.Recipients
		out[i].Groups = append(out[i].Groups, g)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Recipients != out[j].Recipients {
			return out[i].Recipients > out[j].Recipients
		}
		return out[i].Domain < out[j].Domain
	})
	return out
}

// providerCodes finds providers' own codes in a reply: a bracketed or
// parenthesised token of capitals and digits such as Yahoo's "[TSS04]",
// Microsoft's "(S3150)" or "AS(1450)". These are extracted, not
// interpreted: what they mean is report's business.
func providerCodes(reason string) []string {
	var out []string
	for i := 0; i < len(reason); i++ {
		c := reason[i]
		if c != '[' && c != '(' {
			continue
		}
		closer := byte(']')
		if c == '(' {
			closer = ')'
		}
		j := strings.IndexByte(reason[i+1:], closer)
		if j < 2 || j > 8 {
			continue
		}
		tok := reason[i+1 : i+1+j]
		as := c == '(' && i >= 2 && reason[i-2:i] == "AS"
		if !codeToken(tok, as) {
			continue
		}
		if as {
			tok = "AS(" + tok + ")"
		}
		out = append(out, tok)
	}
	return out
}

// codeToken: one to four capitals then two to five digits ("TSS04",
// "S3150"), or digits only after "AS(".
func codeToken(s string, digitsOnly bool) bool {
	i := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}
	if i > 4 {
		return false
	}
	d := len(s) - i
	if d < 2 || d > 5 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	letters := s[0] < '0' || s[0] > '9'
	return letters != digitsOnly
}
