package postfixconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// ResultDoc is one line of `mailprobe postfix verify -o jsonl`.
type ResultDoc struct {
	Recipient string   `json:"recipient"`
	Source    string   `json:"source,omitempty"`
	Route     string   `json:"route"` // Postfix's transport:nexthop, unix path absolute
	Class     string   `json:"class,omitempty"`
	Transport string   `json:"transport,omitempty"`
	Nexthop   string   `json:"nexthop,omitempty"`
	Final     string   `json:"final,omitempty"` // after virtual alias expansion
	Aliases   []string `json:"aliases,omitempty"`
	Why       []string `json:"why,omitempty"`
	// Status is the verify status Postfix would record: deliverable,
	// undeliverable, deferred; "not-checked" or "error" otherwise.
	Status   string `json:"status"`
	DSN      string `json:"dsn"`
	Category string `json:"category"`
	// Reply is what the backend said (its RCPT or session reply).
	Reply string `json:"reply"`
	Relay string `json:"relay,omitempty"`
	// Reason is the text Postfix's verify service stores and quotes.
	Reason         string    `json:"reason"`
	PostfixLine    string    `json:"postfix_line,omitempty"`
	Prediction     string    `json:"prediction"`
	PredictedReply string    `json:"predicted_reply"`
	FirstReply     string    `json:"first_reply,omitempty"`
	Cache          *CacheDoc `json:"cache,omitempty"`
	Notes          []string  `json:"notes,omitempty"`
	Error          string    `json:"error,omitempty"`
}

// CacheDoc is a verify cache entry in JSON.
type CacheDoc struct {
	Status     string `json:"status"`
	Probed     string `json:"probed,omitempty"`
	Updated    string `json:"updated,omitempty"`
	Text       string `json:"text"`
	Current    bool   `json:"current"`
	Answer     string `json:"answer"`
	AnswerText string `json:"answer_reply"`
	Disagrees  bool   `json:"disagrees"`
	Stale      string `json:"stale,omitempty"`
	RefreshAt  string `json:"refresh_at,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Doc builds the JSON object of a result.
func Doc(res *Result) ResultDoc {
	d := ResultDoc{Recipient: res.Recipient, Source: res.Source, Route: "none", Status: string(res.Status),
		DSN: res.DSN, Reason: res.Text, Prediction: string(res.Prediction), PredictedReply: res.PredictedReply,
		FirstReply: res.FirstReply, Notes: res.Notes, Category: string(report.CategoryOther)}
	if rt := res.Route; rt != nil {
		d.Route, d.Class, d.Transport, d.Nexthop, d.Why = rt.String(), string(rt.Class), rt.Transport, rt.Nexthop, rt.Why
		if rt.Final != res.Recipient {
			d.Final = rt.Final
		}
		d.Aliases = rt.Aliases
	}
	if v := res.Verdict; v != nil {
		d.Category, d.Relay, d.PostfixLine = string(v.Category), postfixPath(res.Route, v.Relay), postfixPath(res.Route, v.Line())
		if v.Reply != nil {
			d.Reply = v.Reply.Text()
		}
	} else if res.DSN != "" {
		code := map[byte]int{'2': 250, '4': 450, '5': 550}[res.DSN[0]]
		cat, _ := report.Classify(code, res.DSN, res.Text)
		d.Category = string(cat)
	}
	switch {
	case res.Err != nil:
		d.Status, d.Error = "error", probe.Neutralise(res.Err.Error())
	case d.Status == "":
		d.Status = string(report.StatusNotChecked)
	}
	if d.Prediction == "" {
		d.Prediction = string(PredictUnknown)
	}
	if e := res.Cache; e != nil {
		d.Cache = &CacheDoc{Status: string(e.Status), Probed: stamp(e.Probed), Updated: stamp(e.Updated), Text: probe.Neutralise(e.Text),
			Current: e.Current, Answer: string(e.Answer), AnswerText: e.AnswerText, Disagrees: e.Disagrees, Stale: e.Stale,
			RefreshAt: stamp(e.RefreshAt)}
	}
	return d
}

// JSONL writes one result as one JSON line, without HTML escaping.
func JSONL(w io.Writer, res *Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Doc(res)); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Postmap writes a refused recipient as an access(5) entry whose action
// is the reply itself ("5NN d.d.d text"), so a table used in place of
// reject_unverified_recipient gives senders the same answer; other
// results write nothing.
func Postmap(w io.Writer, res *Result) error {
	if res.Prediction != PredictReject {
		return nil
	}
	code, rest, _ := strings.Cut(res.PredictedReply, " ")
	dsn, text, _ := strings.Cut(rest, " ")
	// smtpd adds "<addr>: Recipient address rejected: " itself.
	text = strings.TrimPrefix(text, "<"+res.Recipient+">: Recipient address rejected: ")
	var s string
	if strings.ContainsAny(res.Recipient, " \t#") {
		s = fmt.Sprintf("# %s cannot be a postmap key: %s\n", res.Recipient, res.PredictedReply)
	} else {
		s = fmt.Sprintf("%s  %s %s %s\n", res.Recipient, code, dsn, text)
	}
	_, err := io.WriteString(w, s)
	return err
}

// Text writes one result for a person: prediction, recipient, route,
// then what the backend said and what smtpd would answer.
func Text(w io.Writer, res *Result) error {
	d := Doc(res)
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %s\n", d.Prediction, d.Recipient)
	fmt.Fprintf(&b, "        route:   %s (%s class)\n", d.Route, orDash(d.Class))
	if d.Final != "" {
		fmt.Fprintf(&b, "        alias:   %s\n", strings.Join(d.Aliases, "; "))
	}
	if d.Error != "" {
		fmt.Fprintf(&b, "        error:   %s\n", d.Error)
	}
	if d.Reply != "" {
		fmt.Fprintf(&b, "        backend: %s\n", d.Reply)
	} else if d.Reason != "" {
		fmt.Fprintf(&b, "        verify:  %s (%s)\n", d.Reason, d.DSN)
	}
	if d.PredictedReply != "" {
		fmt.Fprintf(&b, "        smtpd:   %s\n", d.PredictedReply)
	}
	if d.FirstReply != "" {
		fmt.Fprintf(&b, "        first:   %s\n", d.FirstReply)
	}
	if c := d.Cache; c != nil {
		state := "expired (a new probe decides)"
		if c.Current {
			state = "current: smtpd answers " + c.AnswerText
		}
		fmt.Fprintf(&b, "        cache:   %s since %s, %s\n", c.Status, orDash(c.Updated), state)
		if c.Stale != "" {
			fmt.Fprintf(&b, "                 %s; refresh probe from %s (or delete the entry)\n", c.Stale, orDash(c.RefreshAt))
		}
	}
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "        note:    %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var predOrder = []Prediction{PredictAccept, PredictReject, PredictDefer, PredictUnknown}

func countLine(m map[Prediction]int) string {
	var parts []string
	for _, p := range predOrder {
		if n := m[p]; n > 0 || p != PredictUnknown {
			parts = append(parts, fmt.Sprintf("%d %s", n, p))
		}
	}
	return strings.Join(parts, ", ")
}

// SummaryText writes the counts, per route, and the warnings.
func SummaryText(w io.Writer, rep *Report) error {
	s := Summarize(rep)
	var b strings.Builder
	fmt.Fprintf(&b, "%d recipients with reject_unverified_recipient: %s\n", s.Total, countLine(s.ByPred))
	for _, r := range s.Routes {
		fmt.Fprintf(&b, "  %-50s %d: %s\n", r.Route, r.Total, countLine(r.ByPred))
	}
	var sessions, txs, probed int
	for _, st := range rep.Stats {
		sessions, txs, probed = sessions+st.Sessions, txs+st.Transactions, probed+st.Probed
	}
	if probed > 0 {
		fmt.Fprintf(&b, "on the wire: %d RCPTs in %d sessions, %d transactions (never DATA)\n", probed, sessions, txs)
	}
	stale := 0
	for _, res := range rep.Results {
		if res.Cache != nil && res.Cache.Disagrees {
			stale++
		}
	}
	if stale > 0 {
		fmt.Fprintf(&b, "verify cache disagrees with today's probe for %d recipients\n", stale)
	}
	ws := append([]Warning(nil), rep.Warnings...)
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Kind < ws[j].Kind })
	for _, wn := range ws {
		fmt.Fprintf(&b, "warning: %s: %s\n", wn.Kind, wn.Text)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RouteText writes one address's route for `mailprobe postfix route`.
func RouteText(w io.Writer, rt *Route) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n", rt.Recipient, rt.String())
	for _, a := range rt.Aliases {
		fmt.Fprintf(&b, "    alias:    %s\n", a)
	}
	for _, y := range rt.Why {
		fmt.Fprintf(&b, "    because:  %s\n", y)
	}
	if ep := rt.Endpoint; ep != nil {
		switch {
		case ep.Network == "unix":
			fmt.Fprintf(&b, "    connects: unix socket %s\n", ep.Host)
		case ep.MX:
			fmt.Fprintf(&b, "    connects: MX hosts of %s, port %d\n", ep.Host, ep.Port)
		default:
			fmt.Fprintf(&b, "    connects: %s port %d (no MX lookup)\n", ep.Host, ep.Port)
		}
		if len(ep.Others) > 0 {
			fmt.Fprintf(&b, "    then:     %s (not probed)\n", strings.Join(ep.Others, ", "))
		}
		if rt.Bind != "" {
			fmt.Fprintf(&b, "    from:     %s (%s_bind_address)\n", rt.Bind, rt.Command)
		}
		fmt.Fprintf(&b, "    helo:     %s\n", rt.HELO)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RouteDoc is one line of `mailprobe postfix route -o jsonl`.
type RouteDoc struct {
	Recipient string   `json:"recipient"`
	Route     string   `json:"route"`
	Class     string   `json:"class"`
	Transport string   `json:"transport"`
	Nexthop   string   `json:"nexthop"`
	Kind      string   `json:"kind"`
	Final     string   `json:"final,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
	Expanded  []string `json:"expanded,omitempty"`
	Why       []string `json:"why"`
	Network   string   `json:"network,omitempty"`
	Host      string   `json:"host,omitempty"`
	Port      int      `json:"port,omitempty"`
	MX        bool     `json:"mx,omitempty"`
	Bind      string   `json:"bind,omitempty"`
	HELO      string   `json:"helo,omitempty"`
}

// RouteJSONL writes a route as one JSON line.
func RouteJSONL(w io.Writer, rt *Route) error {
	d := RouteDoc{Recipient: rt.Recipient, Route: rt.String(), Class: string(rt.Class), Transport: rt.Transport,
		Nexthop: rt.Nexthop, Kind: string(rt.Kind), Aliases: rt.Aliases, Expanded: rt.Expanded, Why: rt.Why,
		Bind: rt.Bind, HELO: rt.HELO}
	if rt.Final != rt.Recipient {
		d.Final = rt.Final
	}
	if ep := rt.Endpoint; ep != nil {
		d.Network, d.Host, d.Port, d.MX = ep.Network, ep.Host, ep.Port, ep.MX
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
