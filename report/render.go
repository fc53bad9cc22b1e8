package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// TextOptions shapes the human-readable report. The command decides
// Color (a TTY and no NO_COLOR); the renderer never looks at the
// environment.
type TextOptions struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (p painter) status(s Status) string {
	switch s {
	case StatusDeliverable:
		return p.paint(ansiGreen, string(s))
	case StatusUndeliverable:
		return p.paint(ansiRed, string(s))
	}
	return p.paint(ansiYellow, string(s))
}

// Text writes the human report: per recipient the Postfix line and the
// plain-words explanation, then the MX route, the hosts tried (and why
// they were passed over), TLS facts and DNSBL evidence.
func Text(w io.Writer, res *probe.Result, opts TextOptions) error {
	if res == nil {
		return nil
	}
	p := painter{opts.Color}
	ew := &errWriter{w: w}
	for i, v := range JudgeAll(res) {
		if i > 0 {
			ew.printf("\n")
		}
		var att *probe.Attempt
		if i < len(res.Recipients) {
			att = res.Recipients[i].Attempt
		}
		tlsLine := TLSSummary(att, res.Config)
		if tlsAsked(res.Config) && tlsLine != "" {
			ew.printf("%s  %s  (TLS: %s)\n", p.paint(ansiBold, v.Recipient), p.status(v.Status), tlsLine)
		} else {
			ew.printf("%s  %s\n", p.paint(ansiBold, v.Recipient), p.status(v.Status))
		}
		ew.printf("  %s\n", v.Line())
		ew.printf("  What happened: %s\n", v.Explanation.What)
		ew.printf("  Likely cause:  %s\n", v.Explanation.Cause)
		ew.printf("  What to do:    %s\n", v.Explanation.Next)
		if p := v.Explanation.Party; p != "" {
			ew.printf("  Who acts:      %s\n", whoActs(v.Category, p))
		}
		ew.printf("  Category:      %s (%s)\n", v.Category, v.Permanence)
		if tlsLine != "" {
			ew.printf("  TLS:           %s\n", tlsLine)
		}
		for _, po := range v.PassedOver {
			ew.printf("  Passed over:   %s — %s\n", endpointName(po.Host, po.Address, po.Port), po.Reason)
		}
	}
	for _, d := range res.Domains {
		ew.printf("\n")
		if d.Route != nil {
			writeRoute(ew, d.Route, p)
		} else {
			ew.printf("Route for %s: --server, no MX lookup\n", d.Domain)
		}
		if len(d.Attempts) > 0 {
			ew.printf("Hosts tried:\n")
		}
		for _, a := range d.Attempts {
			writeAttempt(ew, a, p)
		}
	}
	writeDNSBL(ew, res, p)
	c := res.Config
	from := c.From
	ew.printf("\nProbed as: %s %s, MAIL FROM:<%s>, TLS level %s", helloVerb(c.Protocol), c.HELO, from, levelName(c))
	if c.Source != "" {
		ew.printf(", source %s", c.Source)
	}
	ew.printf("\n")
	return ew.err
}

func helloVerb(p probe.Protocol) string {
	if p == probe.ProtocolLMTP {
		return "LHLO"
	}
	return "EHLO"
}

func endpointName(host, addr string, port int) string {
	s := host
	if addr != "" && addr != host {
		s += "[" + addr + "]"
	}
	if port != 0 {
		s += fmt.Sprintf(":%d", port)
	}
	return s
}

func writeRoute(ew *errWriter, rt *mx.Route, p painter) {
	kind := "MX"
	if rt.Implicit {
		kind = "implicit MX (no MX records; the domain's own address, RFC 5321 §5.1)"
	}
	ew.printf("Route for %s: %s\n", rt.Domain, kind)
	if len(rt.CNAMEs) > 0 {
		ew.printf("  CNAME: %s\n", strings.Join(rt.CNAMEs, " -> "))
	}
	if rt.Err != nil {
		reason, _, _ := dnsReason(routeError(rt, rt.Err), rt.Domain, rt.Family)
		ew.printf("  %s %s\n", p.paint(ansiRed, "error:"), reason)
	}
	for _, h := range rt.Hosts {
		addrs := make([]string, 0, len(h.Addresses))
		for _, a := range h.Addresses {
			addrs = append(addrs, a.String())
		}
		line := fmt.Sprintf("  %5d  %s", h.Preference, h.Name)
		if len(addrs) > 0 {
			line += "  " + strings.Join(addrs, " ")
		}
		if h.Err != nil {
			reason, _, _ := dnsReason(h.Err, h.Name, rt.Family)
			line += "  " + p.paint(ansiRed, "("+reason+")")
		}
		ew.printf("%s\n", line)
	}
	for _, wn := range rt.Warnings {
		ew.printf("  %s %s\n", p.paint(ansiYellow, "warning:"), wn)
	}
}

func writeAttempt(ew *errWriter, a *probe.Attempt, p painter) {
	name := endpointName(a.Host, a.Address, a.Port)
	if a.Skipped != "" {
		ew.printf("  %s  %s\n", name, p.paint(ansiDim, "skipped: "+a.Skipped))
		return
	}
	result := "ok"
	if a.Err != nil {
		result = a.Err.Error()
	}
	retry := ""
	if a.PlaintextRetry {
		retry = " (plain-text retry after a failed STARTTLS)"
	}
	if a.WithoutPipelining {
		retry += " (retry one command at a time: the pipelined replies were out of step)"
	}
	ew.printf("  %s%s  setup %s, transaction %s: %s\n", name, retry, humanDuration(a.Setup), humanDuration(a.Transaction), result)
	if a.Local != "" {
		ew.printf("    local address %s\n", a.Local)
	}
	for _, s := range a.Steps {
		line := "    " + string(s.Phase)
		if s.Command != "" {
			line += " " + s.Command
		}
		if s.Reply != nil {
			line += " -> " + s.Reply.Text()
		}
		if s.Err != "" {
			line += " !! " + s.Err
		}
		ew.printf("%s\n", line)
	}
	if t := a.TLS; t != nil {
		if t.Version != "" {
			ew.printf("    TLS: %s %s; certificate %s issued by %s, valid until %s; ", t.Version, t.CipherSuite,
				t.Subject, t.Issuer, t.NotAfter.UTC().Format("2006-01-02"))
		} else {
			ew.printf("    TLS: ")
		}
		if t.Verified {
			ew.printf("%s for %s\n", p.paint(ansiGreen, "verified"), t.ServerName)
		} else {
			ew.printf("%s: %s\n", p.paint(ansiYellow, "not verified"), t.VerifyError)
		}
	}
}

func writeDNSBL(ew *errWriter, res *probe.Result, p painter) {
	if res.DNSBL == nil {
		return
	}
	listed, unknown, clean := 0, 0, 0
	var notAsked []string // addresses kept off the public lists (blacklist/scope.go)
	for _, r := range res.DNSBL {
		switch {
		case errors.Is(r.Err, blacklist.ErrNotPublic):
			if !slices.Contains(notAsked, r.Address) {
				notAsked = append(notAsked, r.Address)
			}
		case r.Status == blacklist.Listed:
			listed++
		case r.Status == blacklist.Unknown:
			unknown++
		default:
			clean++
		}
	}
	ew.printf("\nDNSBL: %d listed, %d clean, %d unknown\n", listed, clean, unknown)
	for _, r := range res.DNSBL {
		switch {
		case errors.Is(r.Err, blacklist.ErrNotPublic):
		case r.Status == blacklist.Listed:
			ew.printf("  %s %s on %s: %s %s %s\n", p.paint(ansiRed, "listed"), r.Address, r.List,
				strings.Join(r.Codes, ","), strings.Join(r.Meanings, "; "), r.Reason)
		case r.Status == blacklist.Unknown:
			ew.printf("  %s %s on %s: %s\n", p.paint(ansiYellow, "unknown"), r.Address, r.List, r.Error)
		}
	}
	if len(notAsked) > 0 {
		ew.printf("  not asked of the public lists: %s (not public Internet addresses)\n", strings.Join(notAsked, ", "))
	}
	if len(res.DNSBLNamed) > 0 {
		ew.printf("  named in the reply: %s (asked too)\n", strings.Join(res.DNSBLNamed, ", "))
	}
	switch {
	case len(res.ServerSaw) > 0:
		checked := "checked"
		if !slices.ContainsFunc(res.ServerSaw, func(a string) bool { return !slices.Contains(notAsked, a) }) {
			checked = "not asked of the public lists"
		}
		ew.printf("  the server's reply names the address it saw: %s (%s)\n", strings.Join(res.ServerSaw, ", "), checked)
	case res.LocalPrivate && res.PublicIP == "":
		ew.printf("  note: the local address is private; the address receiving servers see may differ (use --public-ip)\n")
	}
}

// JSON writes the probe as one ProbeDoc (see schema.go), indented.
func JSON(w io.Writer, res *probe.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(BuildDoc(res))
}

// Postfix writes only the status lines, one per recipient.
func Postfix(w io.Writer, res *probe.Result) error {
	ew := &errWriter{w: w}
	vs := JudgeAll(res)
	if res != nil && res.Config.AllMX {
		vs = JudgeEachHost(res)
	}
	for _, v := range vs {
		ew.printf("%s\n", v.Line())
	}
	return ew.err
}

// MXText writes the resolution of `mailprobe mx DOMAIN...`: for each
// route the preference, host and addresses, and what is wrong, in
// Postfix's words and in plain ones.
func MXText(w io.Writer, routes []*mx.Route, opts TextOptions) error {
	ew := &errWriter{w: w}
	p := painter{opts.Color}
	for i, rt := range routes {
		if rt == nil {
			continue
		}
		if i > 0 {
			ew.printf("\n")
		}
		writeRoute(ew, rt, p)
		if rt.Err != nil {
			rerr := routeError(rt, rt.Err)
			v := Verdict{Domain: rt.Domain, Relay: "none"}
			v.Reason, v.DSN, v.Category = dnsReason(rerr, rt.Domain, rt.Family)
			v.Permanence = permanenceOf(0, v.DSN)
			e := explain(&v, explainCtx{dns: rerr, route: rt})
			ew.printf("  What it means: %s\n  Likely cause:  %s\n  What to do:    %s\n", e.What, e.Cause, e.Next)
		}
	}
	return ew.err
}

// SchemaMX names the JSON document written by MXJSON:
// {"schema":"mailprobe.mx/v1","routes":[MXDoc…]} (MXDoc as in the probe
// document's "mx" array).
const SchemaMX = "mailprobe.mx/v1"

// MXDocument is the JSON document of `mailprobe mx --output json`.
type MXDocument struct {
	Schema string  `json:"schema"`
	Routes []MXDoc `json:"routes"`
}

// MXJSON writes the routes as one MXDocument.
func MXJSON(w io.Writer, routes []*mx.Route) error {
	doc := MXDocument{Schema: SchemaMX, Routes: []MXDoc{}}
	for _, rt := range routes {
		if rt != nil {
			doc.Routes = append(doc.Routes, mxDoc(rt))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// ExplainedText writes the human form of `mailprobe explain`.
func ExplainedText(w io.Writer, e Explained) error {
	ew := &errWriter{w: w}
	if e.Line != nil {
		if e.Recipient != "" {
			ew.printf("recipient:   %s\n", e.Recipient)
		}
		if e.Status != "" {
			ew.printf("status:      %s (dsn %s)\n", e.Status, e.DSN)
		}
	}
	if e.Kind != "" && e.Kind != KindReply {
		ew.printf("read as:     %s\n", kindNames[e.Kind])
	}
	if e.Reply != "" {
		ew.printf("reply:       %s\n", e.Reply)
		ew.printf("code:        %d", e.Code)
		if e.Enhanced != "" {
			ew.printf(" (enhanced %s)", e.Enhanced)
		}
		ew.printf("\n")
	} else if e.Reason != "" {
		ew.printf("reason:      %s\n", e.Reason)
	}
	ew.printf("permanence:  %s\ncategory:    %s\n", e.Permanence, e.Category)
	if e.Rule != "" {
		ew.printf("rule:        %s", e.Rule)
		if e.Provider != "" {
			ew.printf(" (%s)", e.Provider)
		}
		ew.printf("\n")
	}
	ew.printf("What happened: %s\nLikely cause:  %s\nWhat to do:    %s\n", e.Explanation.What, e.Explanation.Cause, e.Explanation.Next)
	if p := e.Explanation.Party; p != "" {
		ew.printf("Who acts:      %s\n", whoActs(e.Category, p))
	}
	return ew.err
}

// whoActs is the "Who acts" line. For a text that states no known cause
// the party is the sender's by default (someone has to find out, and the
// sender is who wants the mail through), but the text must not pretend
// the sender is at fault.
func whoActs(c Category, p Party) string {
	if c == CategoryOther && p == PartySender {
		return "unclear from the text; you, the sending side, have to find out (ask the receiving domain's postmaster)"
	}
	return partyWords[p]
}

// partyWords say who has to act, in the text output.
var partyWords = map[Party]string{
	PartySender:    "you, the sending side (your IP, domain, authentication, sender address or rate)",
	PartyRecipient: "the recipient or their admin (mailbox, domain or server on their side)",
	PartyLocal:     "you: your own mail system's configuration",
}

// errWriter keeps the first write error so renderers can write freely.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, a...)
}

// humanDuration shows a duration to a useful precision for people:
// "0.42 ms", "12 ms", "1.3 s". (Postfix's delay= format rounds a loopback
// session to 0, which says nothing.)
func humanDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
