package maillog

import (
	"strings"

	"github.com/mailprobe/mailprobe/report"
)

// Classifier gives outcomes report's category and explanation — the same
// classifier probe and explain use — and caches the answer by reply text,
// since a log repeats the same few replies many times. maillog holds no
// classification rules of its own.
type Classifier struct {
	cache map[string]classified
	// Max bounds the cache; when it is full the cache starts over.
	Max int
	// Hits and Misses count cache use.
	Hits, Misses int64
	// explain is report's classifier; tests of maillog's own logic swap
	// it so that their golden files do not change with report's rules.
	explain func(mta MTA, status, dsn, reason string) classified
}

type classified struct {
	category, permanence string
	explain              *Explain
}

// NewClassifier returns an empty cache of the default size.
func NewClassifier() *Classifier {
	return &Classifier{cache: map[string]classified{}, Max: 20000, explain: explainOutcome}
}

// Classify fills o.Category, o.Permanence and o.Explanation.
func (c *Classifier) Classify(o *Outcome) {
	status := o.Status
	reason := o.Reason
	dsn := o.DSN
	if dsn == "" {
		dsn = defaultDSN(status)
	}
	// Explanations of a 2xx reply depend on its code only ("250 2.0.0
	// Ok: queued as 3F2A…" differs in every line), so successes share
	// one cache entry per code.
	key := status + "\x00" + dsn + "\x00" + reason
	if status == "sent" || status == "deliverable" {
		r := reason
		if len(r) > 9 {
			r = r[:9]
		}
		key = status + "\x00" + dsn + "\x00" + r
	}
	if v, ok := c.cache[key]; ok {
		c.Hits++
		o.Category, o.Permanence, o.Explanation = v.category, v.permanence, v.explain
		return
	}
	c.Misses++
	v := c.explain(o.MTA, status, dsn, reason)
	if len(c.cache) >= c.Max {
		clear(c.cache)
	}
	c.cache[strings.Clone(key)] = v
	o.Category, o.Permanence, o.Explanation = v.category, v.permanence, v.explain
}

// defaultDSN is the code Postfix would give an outcome without one
// (bounce.c: 4.0.0 / 5.0.0 when the delivery agent supplied none).
func defaultDSN(status string) string {
	switch status {
	case "sent", "deliverable":
		return "2.0.0"
	case "deferred", "held", "open":
		return "4.0.0"
	case "bounced", "expired", "rejected", "undeliverable", "discarded":
		return "5.0.0"
	}
	return ""
}

// explainOutcome asks report. Today's API (report.ExplainText) reads a
// Postfix delivery line, so the outcome is written as one — the status
// word, dsn and reason in log_adhoc.c's layout — whatever MTA logged it;
// replies inside other MTAs' texts (Exim's "SMTP error from remote mail
// server after RCPT TO:<…>: 550 …", qmail's "Remote host said: 550 …")
// are what the classifier reads in every case.
func explainOutcome(mta MTA, status, dsn, reason string) classified {
	word := status
	switch status {
	case "rejected", "held", "discarded", "open", "expired":
		// report knows the delivery agents' words; these outcomes are
		// classified by their text and dsn as a bounce or deferral
		if strings.HasPrefix(dsn, "4") {
			word = "deferred"
		} else {
			word = "bounced"
		}
	}
	text := reason
	if mta != MTAPostfix {
		if r := findReply(reason); r != "" {
			text = r
		}
	} else if status == "rejected" {
		text = reason
	}
	if text == "" {
		text = status
	}
	line := "to=<>, relay=none, dsn=" + dsn + ", status=" + word + " (" + text + ")"
	e, err := report.ExplainText(line)
	if err != nil {
		return classified{category: string(report.CategoryOther), permanence: string(report.PermanenceUnknown)}
	}
	return classified{category: string(e.Category), permanence: string(e.Permanence),
		explain: &Explain{What: e.Explanation.What, Cause: e.Explanation.Cause, Next: e.Explanation.Next}}
}
