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
	explain func(mta MTA, status, dsn, relay, reason string) classified
}

type classified struct {
	category, permanence string
	party, provider      string
	explain              *Explain
}

// NewClassifier returns an empty cache of the default size.
func NewClassifier() *Classifier {
	return &Classifier{cache: map[string]classified{}, Max: 20000, explain: explainOutcome}
}

// Classify fills o.Category and o.Permanence and, with explain, also
// o.Explanation. Categories are cached by the reply text with what varies
// from line to line taken out — the host prefix Postfix adds ("host H[A]
// said: "), the recipient's address and domain — so a log's thousands of
// "450 4.2.0 <a@b>: … Greylisted" replies cost one classification.
// Explanations name the host or address, so they are cached by the whole
// text and computed only where they are shown (a group's example, each
// outcome of -o json/jsonl).
func (c *Classifier) Classify(o *Outcome, explain bool) {
	dsn := o.DSN
	if dsn == "" {
		dsn = defaultDSN(o.Status)
	}
	var v classified
	if explain {
		v = c.lookup(o.Status+"\x00"+dsn+"\x00"+c.successKey(o.Status, o.Reason), o, dsn)
		o.Explanation = v.explain
	} else {
		v = c.lookup(o.Status+"\x01"+dsn+"\x00"+c.successKey(o.Status, normalizeReason(o.Reason, o.Recipient, o.Domain)), o, dsn)
	}
	o.Category, o.Permanence, o.Party, o.Provider = v.category, v.permanence, v.party, v.provider
}

// successKey: explanations of a 2xx reply depend on its code only ("250
// 2.0.0 Ok: queued as 3F2A…" differs in every line), so successes share
// one cache entry per code. A reason that is no reply ("delivered via
// dovecot service", "discarded") is named in its explanation, so it keeps
// its own entry.
func (c *Classifier) successKey(status, reason string) string {
	if (status == "sent" || status == "deliverable") && len(reason) > 9 && reason[0] == '2' {
		return reason[:9]
	}
	return reason
}

// localRelay is the relay of a delivery the logging host finished itself
// (status=sent whose reason is no reply): the agent tells a local
// delivery (relay=local, virtual, dovecot) from discard(8), which logs
// relay=none. Other outcomes are classified by their text alone.
func localRelay(o *Outcome) string {
	if o.Status == "sent" && (o.Reason == "" || o.Reason[0] < '2' || o.Reason[0] > '5') {
		if o.Relay == "" {
			return "local"
		}
		return o.Relay
	}
	return ""
}

func (c *Classifier) lookup(key string, o *Outcome, dsn string) classified {
	if r := localRelay(o); r != "" {
		key += "\x00" + r
	}
	if v, ok := c.cache[key]; ok {
		c.Hits++
		return v
	}
	c.Misses++
	v := c.explain(o.MTA, o.Status, dsn, localRelay(o), o.Reason)
	if len(c.cache) >= c.Max {
		clear(c.cache)
	}
	c.cache[strings.Clone(key)] = v
	return v
}

// normalizeReason takes out of a reason what differs between recipients
// and hosts but not between kinds of answer: Postfix's "host H[A] said: "
// and "host H[A] refused to talk to me: " prefixes, the host of "connect
// to H[A]:25: …", "(in reply to … command)", and the recipient's address
// and domain wherever they appear.
func normalizeReason(reason, rcpt, domain string) string {
	r := reason
	if strings.HasPrefix(r, "host ") {
		if i := strings.Index(r, " said: "); i > 0 {
			r = "host said: " + r[i+len(" said: "):]
		} else if i := strings.Index(r, " refused to talk to me: "); i > 0 {
			r = "host refused to talk to me: " + r[i+len(" refused to talk to me: "):]
		}
	} else if strings.HasPrefix(r, "connect to ") {
		if i := strings.Index(r, "]:"); i > 0 {
			if j := strings.Index(r[i:], ": "); j > 0 {
				r = "connect to host: " + r[i+j+2:]
			}
		}
	}
	if rcpt != "" && strings.Contains(r, rcpt) {
		r = strings.ReplaceAll(r, rcpt, "rcpt@domain")
	}
	if domain != "" && strings.Contains(r, domain) {
		r = strings.ReplaceAll(r, domain, "domain")
	}
	return r
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
func explainOutcome(mta MTA, status, dsn, relay, reason string) classified {
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
	if relay == "" {
		relay = "none"
	}
	line := "to=<>, relay=" + relay + ", dsn=" + dsn + ", status=" + word + " (" + text + ")"
	e, err := report.ExplainText(line)
	if err != nil {
		return classified{category: string(report.CategoryOther), permanence: string(report.PermanenceUnknown)}
	}
	return classified{category: string(e.Category), permanence: string(e.Permanence),
		party: string(e.Party), provider: e.Provider,
		explain: &Explain{What: e.Explanation.What, Cause: e.Explanation.Cause, Next: e.Explanation.Next}}
}
