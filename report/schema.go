package report

import (
	"sort"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// SchemaProbe names the JSON document written by JSON. The version
// changes only when a field is removed or changes meaning; new fields
// may be added within a version.
const SchemaProbe = "mailprobe.probe/v1"

// ProbeDoc is the stable JSON schema of `mailprobe probe --output json`:
//
//	{
//	  "schema": "mailprobe.probe/v1",
//	  "started": RFC 3339 time, "duration_ms": number,
//	  "recipients": [{address, input_line, domain, line, status, dsn, reason,
//	                  reply{code,enhanced,text,lines[]}|null, relay, command, phase,
//	                  category, permanence, party, explanation{what,cause,next,party},
//	                  delay, delays[4], catch_all|null, passed_over[{host,address,port,reason}]}],
//	  "mx": [{domain, implicit, cnames[], error, warnings[],
//	          hosts[{preference, name, ip_literal, addresses[], error}]}],
//	  "hosts": [{domain, host, address, port, network, local, skipped, error,
//	             greeting, plaintext_retry, without_pipelining, setup_ms, transaction_ms,
//	             phases[{phase, command, code, reply, ms, error}],
//	             tls{version, cipher, server_name, subject, issuer, dns_names[],
//	                 not_before, not_after, verified, verify_error}|null,
//	             extensions[]}],
//	  "dnsbl": [blacklist result: {target, address, list, status, codes[],
//	            meanings[], reason, error, query}] | null (not checked),
//	  "config": {protocol, helo, from, server, port, starttls, source,
//	             public_ip, local_private}
//	}
//
// status is deliverable | undeliverable | deferred | not-checked; delay
// and delays are seconds (delays: DNS / 0 / connection setup / MAIL+RCPT,
// Postfix's four fields with a probe's meaning); line is the Postfix
// status line; error fields are "" when there was none.
type ProbeDoc struct {
	Schema     string         `json:"schema"`
	Started    time.Time      `json:"started"`
	DurationMS float64        `json:"duration_ms"`
	Summary    ProbeSummary   `json:"summary"`
	Warnings   []string       `json:"warnings"`
	Recipients []RecipientDoc `json:"recipients"`
	MX         []MXDoc        `json:"mx"`
	Hosts      []HostDoc      `json:"hosts"`
	// DNSBL is [] when the lists were not asked; DNSBLChecked says which.
	DNSBL        []blacklist.Result `json:"dnsbl"`
	DNSBLChecked bool               `json:"dnsbl_checked"`
	// DNSBLNamed are the zones a refusal named ("blocked using ZONE"),
	// ServerSaw the client addresses a refusal named; both were asked.
	DNSBLNamed []string  `json:"dnsbl_named"`
	ServerSaw  []string  `json:"server_saw"`
	Config     ConfigDoc `json:"config"`
}

// ProbeSummary is the run's overall verdict and its counts: verdict is
// the worst status of the recipients (undeliverable, then deferred /
// not-checked, then deliverable) — the same ranking as the exit code.
type ProbeSummary struct {
	Verdict       Status `json:"verdict"`
	Recipients    int    `json:"recipients"`
	Deliverable   int    `json:"deliverable"`
	Undeliverable int    `json:"undeliverable"`
	Deferred      int    `json:"deferred"`
	NotChecked    int    `json:"not_checked"`
}

func summarize(vs []Verdict) ProbeSummary {
	s := ProbeSummary{Verdict: StatusDeliverable, Recipients: len(vs)}
	worst := RankOK
	for _, v := range vs {
		switch v.Status {
		case StatusDeliverable:
			s.Deliverable++
		case StatusUndeliverable:
			s.Undeliverable++
		case StatusNotChecked:
			s.NotChecked++
		default:
			s.Deferred++
		}
		if r := RankStatus(v.Status); r > worst || r == worst && v.Status == StatusNotChecked {
			worst, s.Verdict = r, v.Status
		}
	}
	return s
}

// RecipientDoc is one recipient's verdict.
type RecipientDoc struct {
	Address     string      `json:"address"`
	InputLine   int         `json:"input_line,omitempty"`
	Domain      string      `json:"domain"`
	Line        string      `json:"line"`
	Status      Status      `json:"status"`
	DSN         string      `json:"dsn"`
	Reason      string      `json:"reason"`
	Reply       *ReplyDoc   `json:"reply"`
	Relay       string      `json:"relay"`
	Command     string      `json:"command"`
	Phase       string      `json:"phase"`
	Category    Category    `json:"category"`
	Permanence  Permanence  `json:"permanence"`
	Party       Party       `json:"party"`
	Explanation Explanation `json:"explanation"`
	Delay       float64     `json:"delay"`
	Delays      [4]float64  `json:"delays"`
	CatchAll    *bool       `json:"catch_all"`
	PassedOver  []PassedDoc `json:"passed_over"`
	// TLS says which TLS the deciding attempt had (TLSSummary); "" when
	// no session got that far.
	TLS string `json:"tls"`
}

// ReplyDoc is a server reply.
type ReplyDoc struct {
	Code     int      `json:"code"`
	Enhanced string   `json:"enhanced"`
	Text     string   `json:"text"`
	Lines    []string `json:"lines"`
}

// PassedDoc is a host/address passed over for a recipient.
type PassedDoc struct {
	Host    string `json:"host"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	Reason  string `json:"reason"`
}

// MXDoc is one domain's route.
type MXDoc struct {
	Domain   string      `json:"domain"`
	Implicit bool        `json:"implicit"`
	CNAMEs   []string    `json:"cnames"`
	Error    string      `json:"error"`
	Warnings []string    `json:"warnings"`
	Hosts    []MXHostDoc `json:"hosts"`
}

// MXHostDoc is one MX host.
type MXHostDoc struct {
	Preference int      `json:"preference"`
	Name       string   `json:"name"`
	IPLiteral  bool     `json:"ip_literal"`
	Addresses  []string `json:"addresses"`
	Error      string   `json:"error"`
}

// HostDoc is one attempt: one address of one host.
type HostDoc struct {
	Domain         string `json:"domain"`
	Host           string `json:"host"`
	Address        string `json:"address"`
	Port           int    `json:"port"`
	Network        string `json:"network"`
	Local          string `json:"local"`
	Skipped        string `json:"skipped"`
	Error          string `json:"error"`
	Greeting       string `json:"greeting"`
	PlaintextRetry bool   `json:"plaintext_retry"`
	// WithoutPipelining: this attempt went one command at a time after
	// the replies of a pipelined one fell out of step.
	WithoutPipelining bool       `json:"without_pipelining"`
	SetupMS           float64    `json:"setup_ms"`
	TransactionMS     float64    `json:"transaction_ms"`
	Phases            []PhaseDoc `json:"phases"`
	TLS               *TLSDoc    `json:"tls"`
	Extensions        []string   `json:"extensions"`
}

// PhaseDoc is one step of the dialogue.
type PhaseDoc struct {
	Phase   string  `json:"phase"`
	Command string  `json:"command"`
	Code    int     `json:"code"`
	Reply   string  `json:"reply"`
	MS      float64 `json:"ms"`
	Error   string  `json:"error"`
}

// TLSDoc is the TLS session and certificate facts.
type TLSDoc struct {
	Version     string     `json:"version"`
	Cipher      string     `json:"cipher"`
	ServerName  string     `json:"server_name"`
	Subject     string     `json:"subject"`
	Issuer      string     `json:"issuer"`
	DNSNames    []string   `json:"dns_names"`
	NotBefore   *time.Time `json:"not_before"`
	NotAfter    *time.Time `json:"not_after"`
	Verified    bool       `json:"verified"`
	VerifyError string     `json:"verify_error"`
	// VerifyKind is why the certificate did not verify (probe.VerifyKind:
	// expired, not-yet-valid, hostname, unknown-authority, other); ""
	// when it verified. Scripts branch on it; VerifyError is for people.
	VerifyKind string `json:"verify_kind"`
}

// ConfigDoc is what shaped what the server saw.
type ConfigDoc struct {
	Protocol     string `json:"protocol"`
	HELO         string `json:"helo"`
	From         string `json:"from"`
	Server       string `json:"server"`
	Port         int    `json:"port"`
	STARTTLS     string `json:"starttls"`
	TLSLevel     string `json:"tls_level"`
	AllMX        bool   `json:"all_mx"`
	Source       string `json:"source"`
	PublicIP     string `json:"public_ip"`
	LocalPrivate bool   `json:"local_private"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func secs(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }

// BuildDoc assembles the JSON document for a probe result.
func BuildDoc(res *probe.Result) ProbeDoc {
	doc := ProbeDoc{Schema: SchemaProbe, Recipients: []RecipientDoc{}, MX: []MXDoc{}, Hosts: []HostDoc{},
		Warnings: []string{}, DNSBL: []blacklist.Result{}, DNSBLNamed: []string{}, ServerSaw: []string{},
		Summary: ProbeSummary{Verdict: StatusDeliverable}}
	if res == nil {
		return doc
	}
	doc.Started, doc.DurationMS = res.Started, ms(res.Duration)
	doc.Warnings, doc.DNSBLNamed, doc.ServerSaw = nonNil(res.Warnings), nonNil(res.DNSBLNamed), nonNil(res.ServerSaw)
	if res.DNSBL != nil {
		doc.DNSBL, doc.DNSBLChecked = normalizeBlacklist(res.DNSBL), true
	}
	c := res.Config
	doc.Config = ConfigDoc{Protocol: string(c.Protocol), HELO: c.HELO, From: c.From, Server: c.Server, Port: c.Port,
		STARTTLS: string(c.STARTTLS), TLSLevel: levelName(c), AllMX: c.AllMX, Source: c.Source, PublicIP: res.PublicIP, LocalPrivate: res.LocalPrivate}
	vs := JudgeAll(res)
	for i, v := range vs {
		r := recipientDoc(v)
		if i < len(res.Recipients) {
			r.TLS = TLSSummary(res.Recipients[i].Attempt, c)
		}
		doc.Recipients = append(doc.Recipients, r)
	}
	doc.Summary = summarize(vs)
	if c.AllMX {
		doc.Summary.Verdict = summarize(JudgeEachHost(res)).Verdict
	}
	for _, d := range res.Domains {
		if d.Route != nil {
			doc.MX = append(doc.MX, mxDoc(d.Route))
		}
		for _, a := range d.Attempts {
			doc.Hosts = append(doc.Hosts, hostDoc(d.Domain, a))
		}
	}
	return doc
}

func recipientDoc(v Verdict) RecipientDoc {
	// domain is the recipient's, also with --server (whose verdicts carry
	// the server as their Domain).
	domain := v.Domain
	if at := strings.LastIndexByte(v.Recipient, '@'); at >= 0 {
		domain = v.Recipient[at+1:]
	}
	r := RecipientDoc{Address: v.Recipient, InputLine: v.InputLine, Domain: domain, Line: v.Line(), Status: v.Status,
		DSN: v.DSN, Reason: v.Reason, Relay: v.Relay, Command: v.Command, Phase: string(v.Phase),
		Category: v.Category, Permanence: v.Permanence, Party: v.Explanation.Party, Explanation: v.Explanation,
		Delay: secs(v.Delay), CatchAll: v.CatchAll, PassedOver: []PassedDoc{}}
	for i, d := range v.Delays {
		r.Delays[i] = secs(d)
	}
	if v.Reply != nil {
		r.Reply = &ReplyDoc{Code: v.Reply.Code, Enhanced: v.Reply.Enhanced, Text: v.Reply.Text(), Lines: nonNil(v.Reply.Lines)}
	}
	for _, p := range v.PassedOver {
		r.PassedOver = append(r.PassedOver, PassedDoc(p))
	}
	return r
}

func mxDoc(rt *mx.Route) MXDoc {
	d := MXDoc{Domain: rt.Domain, Implicit: rt.Implicit, CNAMEs: nonNil(rt.CNAMEs), Warnings: nonNil(rt.Warnings), Hosts: []MXHostDoc{}}
	if rt.Err != nil {
		d.Error, _, _ = dnsReason(routeError(rt, rt.Err), rt.Domain, rt.Family)
	}
	for _, h := range rt.Hosts {
		hd := MXHostDoc{Preference: int(h.Preference), Name: h.Name, IPLiteral: h.IPLiteral, Addresses: []string{}}
		for _, a := range h.Addresses {
			hd.Addresses = append(hd.Addresses, a.String())
		}
		if h.Err != nil {
			hd.Error, _, _ = dnsReason(h.Err, h.Name, rt.Family)
		}
		d.Hosts = append(d.Hosts, hd)
	}
	return d
}

func hostDoc(domain string, a *probe.Attempt) HostDoc {
	h := HostDoc{Domain: domain, Host: a.Host, Address: a.Address, Port: a.Port, Network: a.Network, Local: a.Local,
		Skipped: a.Skipped, PlaintextRetry: a.PlaintextRetry, WithoutPipelining: a.WithoutPipelining, SetupMS: ms(a.Setup), TransactionMS: ms(a.Transaction),
		Phases: []PhaseDoc{}, Extensions: []string{}}
	if a.Err != nil {
		h.Error = a.Err.Error()
	}
	if a.Greeting != nil {
		h.Greeting = a.Greeting.Text()
	}
	for _, s := range a.Steps {
		p := PhaseDoc{Phase: string(s.Phase), Command: s.Command, MS: ms(s.Duration), Error: s.Err}
		if s.Reply != nil {
			p.Code, p.Reply = s.Reply.Code, s.Reply.Text()
		}
		h.Phases = append(h.Phases, p)
	}
	if t := a.TLS; t != nil {
		td := &TLSDoc{Version: t.Version, Cipher: t.CipherSuite, ServerName: t.ServerName, Subject: t.Subject,
			Issuer: t.Issuer, DNSNames: nonNil(t.DNSNames), Verified: t.Verified, VerifyError: t.VerifyError,
			VerifyKind: string(t.VerifyKind)}
		if !t.NotBefore.IsZero() {
			nb := t.NotBefore.UTC()
			td.NotBefore = &nb
		}
		if !t.NotAfter.IsZero() {
			na := t.NotAfter.UTC()
			td.NotAfter = &na
		}
		h.TLS = td
	}
	for k, v := range a.Extensions {
		h.Extensions = append(h.Extensions, joinNonEmpty(k, v))
	}
	sort.Strings(h.Extensions)
	return h
}

func joinNonEmpty(k, v string) string {
	if v == "" {
		return k
	}
	return k + " " + v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
