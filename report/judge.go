package report

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// Verdict is the judged outcome for one recipient.
type Verdict struct {
	Recipient string
	InputLine int    // 1-based line of --rcpt-file, else 0
	Domain    string // the recipient's domain (or the --server target)

	Status Status
	// DSN is the RFC 3463 status Postfix would log: the server's enhanced
	// code when it sent one, else as Postfix derives it.
	DSN string
	// Relay is Postfix's relay= field: "host[addr]:port", "host[path]"
	// for a unix socket, or "none" when no connection was made.
	Relay string
	// Host, Address and Port name the attempt that decided ("" / 0 when
	// none was made).
	Host    string
	Address string
	Port    int

	// Delay is the whole time for this recipient; Delays keeps Postfix's
	// four fields with a probe's meaning: DNS / 0 / connection setup
	// (connect, greeting, EHLO, TLS) / MAIL and RCPT.
	Delay  time.Duration
	Delays [4]time.Duration

	// Reason is the text inside Postfix's parentheses after status=.
	Reason string
	// Phase is where the decision happened; Command the SMTP command it
	// answered ("RCPT TO"), "" for connection-level outcomes.
	Phase   probe.Phase
	Command string
	// Reply is the server reply that decided, nil when none did.
	Reply *probe.Reply

	// Category and Permanence come from Classify. Permanence is the
	// reply's own (a 554 greeting is permanent even though Postfix, and
	// so Status, treats it as a reason to retry).
	Category    Category
	Permanence  Permanence
	Explanation Explanation
	// Party is who has to act (sender, recipient, local); Rule the
	// classifier rule that decided, nil when codes or facts did.
	Party Party
	Rule  *Rule

	// PassedOver lists the other attempts for this recipient's domain
	// and why they did not decide, in the order they were made.
	PassedOver []PassedOver
	// CatchAll is the --catch-all-check result, nil when not run.
	CatchAll *bool
}

// PassedOver is one host/address an MTA would have tried and left.
type PassedOver struct {
	Host    string
	Address string
	Port    int
	Reason  string // Postfix-style reason, or "skipped: …"
}

// Line is the Postfix status line for the verdict, without syslog
// prefix and queue id, in log_adhoc.c's order:
//
//	to=<a@b>, relay=…, delay=…, delays=a/b/c/d, dsn=X.Y.Z, status=… (reason)
func (v Verdict) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "to=<%s>, relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)",
		v.Recipient, v.Relay, FormatDelay(v.Delay),
		FormatDelay(v.Delays[0]), FormatDelay(v.Delays[1]), FormatDelay(v.Delays[2]), FormatDelay(v.Delays[3]),
		v.DSN, v.Status, v.Reason)
	return b.String()
}

// JudgeAll judges every recipient of a probe, in input order.
func JudgeAll(res *probe.Result) []Verdict {
	if res == nil {
		return nil
	}
	out := make([]Verdict, 0, len(res.Recipients))
	for _, o := range res.Recipients {
		out = append(out, Judge(o, res))
	}
	return out
}

// Judge turns one outcome into a verdict. res supplies the context the
// outcome alone lacks: the configuration (EHLO name for unix sockets) and
// the DNSBL answers cited in blocklist explanations; it may be nil.
func Judge(o *probe.Outcome, res *probe.Result) Verdict {
	v := Verdict{Recipient: o.Recipient, InputLine: o.Line, CatchAll: o.CatchAll, Phase: o.Phase, Relay: "none"}
	var cfg probe.ConfigSummary
	if res != nil {
		cfg = res.Config
	}
	if o.Domain != nil {
		v.Domain = o.Domain.Domain
	}
	v.Delays = [4]time.Duration{o.DNS, 0, o.Setup, o.Transaction}
	v.Delay = o.Total
	if v.Delay == 0 {
		v.Delay = o.DNS + o.Setup + o.Transaction
	}
	if a := o.Attempt; a != nil {
		v.Host, v.Address, v.Port = a.Host, a.Address, a.Port
	}

	var pe *probe.Error
	var me *mx.Error
	errors.As(o.Err, &pe)
	errors.As(o.Err, &me)
	ctx := explainCtx{res: res, outcome: o}
	switch {
	case o.Err != nil && (errors.Is(o.Err, probe.ErrNotChecked) || errors.Is(o.Err, probe.ErrInterrupted)):
		v.Status, v.DSN, v.Category, v.Permanence = StatusNotChecked, "4.0.0", CategoryOther, PermanenceUnknown
		v.Reason = "not checked"
		if pe != nil && pe.Detail != "" {
			v.Reason += ": " + pe.Detail
		} else if errors.Is(o.Err, probe.ErrInterrupted) {
			v.Reason += ": interrupted"
		}
		v.Phase = ""
		ctx.notChecked = true
	case me != nil:
		v.Phase = probe.PhaseDNS
		if errors.Is(me, mx.ErrNoAddress) {
			me = lastHostError(o, me)
		}
		fam := mx.FamilyAny
		if o.Domain != nil && o.Domain.Route != nil {
			fam = o.Domain.Route.Family
		}
		v.Reason, v.DSN, v.Category = dnsReason(me, v.Domain, fam)
		v.Permanence = permanenceOf(0, v.DSN)
		v.Status = statusOf(v.DSN)
		ctx.dns = me
		v.Host, v.Address, v.Port = "", "", 0
	case o.Err != nil && pe == nil:
		v.Reason, v.DSN, v.Category, v.Permanence = o.Err.Error(), "4.0.0", CategoryOther, PermanenceUnknown
		v.Status = StatusDeferred
	default:
		if pe != nil && pe.Phase != "" && v.Phase == "" {
			v.Phase = pe.Phase
		}
		d := describe(o.Attempt, cfg, v.Phase, o.Reply, pe)
		v.Reason, v.DSN, v.Reply, v.Command = d.reason, d.dsn, d.reply, d.command
		if d.session {
			v.Relay = peerOf(o.Attempt, cfg).namaddrport()
		}
		switch {
		case d.reply != nil && d.cat == "":
			cl := ClassifyText(d.reply.Code, d.reply.Enhanced, d.reply.Text())
			v.Category, v.Permanence, v.Party, v.Rule = cl.Category, cl.Permanence, cl.Party, cl.Rule
		default:
			v.Category, v.Permanence = d.cat, permanenceOf(0, d.dsn)
		}
		if d.tlsLocal {
			v.Party = PartyLocal
		}
		v.Status = statusOf(v.DSN)
		ctx.desc = d
		if d.session && d.reply == nil && v.Category == CategoryProtocolError && !d.tlsLocal && !looksLMTP(ctx) {
			// A protocol error our wire client found in a session (replies
			// out of step, a non-SMTP response, data after the STARTTLS
			// 220, a broken handshake) is the receiving server's doing,
			// not the sender's configuration: the category's default
			// party (local) is for an MTA's own logged refusals.
			v.Party = PartyRecipient
		}
	}
	v.PassedOver = passedOver(o, cfg)
	ctx.allConnectFailed = allConnectFailed(o, cfg)
	if ctx.allConnectFailed || ctx.notChecked {
		// Every MX unreachable on port 25 points at your own network;
		// a probe that stopped is your run's business.
		v.Party = PartyLocal
	}
	if v.Party == "" {
		v.Party = defaultParty(v.Category)
	}
	v.Explanation = explain(&v, ctx)
	return v
}

// statusOf maps a dsn class to a status (see the package doc for why a
// temporary failure is "deferred").
func statusOf(dsn string) Status {
	switch {
	case strings.HasPrefix(dsn, "2"):
		return StatusDeliverable
	case strings.HasPrefix(dsn, "5"):
		return StatusUndeliverable
	}
	return StatusDeferred
}

// lastHostError: when no MX host has an address, Postfix reports the
// last host lookup's error (smtp_addr.c: the why buffer is overwritten
// per host; a soft error dominates).
func lastHostError(o *probe.Outcome, e *mx.Error) *mx.Error {
	if o.Domain == nil {
		return e
	}
	return routeError(o.Domain.Route, e)
}

// routeError is the error to report for a failed route: for "no MX host
// has an address" the hosts' own lookup errors, as Postfix reports them,
// else the route's error.
func routeError(rt *mx.Route, e *mx.Error) *mx.Error {
	if rt == nil || !errors.Is(e, mx.ErrNoAddress) {
		return e
	}
	var last, soft *mx.Error
	for _, h := range rt.Hosts {
		if h.Err != nil {
			last = h.Err
			if h.Err.Temporary {
				soft = h.Err
			}
		}
	}
	switch {
	case soft != nil:
		return soft
	case last != nil:
		return last
	}
	return e
}

// passedOver lists the attempts other than the deciding one, each with
// what Postfix would have logged for it (its "msg_info" skip line).
func passedOver(o *probe.Outcome, cfg probe.ConfigSummary) []PassedOver {
	if o.Domain == nil {
		return nil
	}
	var out []PassedOver
	for _, a := range o.Domain.Attempts {
		if a == o.Attempt || cfg.AllMX && accepted(a, o.Recipient) {
			// With --all-mx every host is asked; one that accepted was
			// not passed over (JudgeEachHost has its line).
			continue
		}
		po := PassedOver{Host: a.Host, Address: a.Address, Port: a.Port}
		switch {
		case a.Skipped != "":
			po.Reason = "skipped: " + a.Skipped
		default:
			po.Reason = attemptReason(a, o.Recipient, cfg)
		}
		out = append(out, po)
	}
	return out
}

// attemptReason is the reason one attempt gave for one recipient.
func attemptReason(a *probe.Attempt, rcpt string, cfg probe.ConfigSummary) string {
	for _, r := range a.Rcpts {
		if r.Recipient == rcpt {
			return describe(a, cfg, r.Phase, r.Reply, r.Err).reason
		}
	}
	if a.Err != nil {
		return describe(a, cfg, a.Err.Phase, a.Err.Reply, a.Err).reason
	}
	if len(a.Rcpts) > 0 {
		// The recipient was not carried: the attempt was made for
		// others of the same domain.
		return "not asked for this recipient"
	}
	return "no result"
}

// allConnectFailed reports whether every attempt actually made for the
// outcome's domain failed to connect with a timeout or an unreachable
// network on port 25: the signature of outbound port 25 being blocked
// locally rather than of any one server being down.
func allConnectFailed(o *probe.Outcome, cfg probe.ConfigSummary) bool {
	if o.Domain == nil {
		return false
	}
	made := 0
	for _, a := range o.Domain.Attempts {
		if a.Skipped != "" {
			continue
		}
		made++
		if a.Port != 25 || a.Err == nil || a.Err.Phase != probe.PhaseConnect {
			return false
		}
		if !describeError(a, peerOf(a, cfg), a.Err).connectTimeout {
			return false
		}
	}
	return made > 0
}
