package report

import (
	"errors"
	"strings"

	"github.com/mailprobe/mailprobe/probe"
)

// looksLMTP tells whether an SMTP session that failed at EHLO/HELO was
// in fact talking to an LMTP server (RFC 2033): its greeting says LMTP,
// or port 24 (LMTP's customary port) greeted and then answered EHLO with
// 500/502 as Dovecot's and Cyrus's LMTP services do ("500 5.5.1 Unknown
// command"). The probe's own settings, not the server, are then at
// fault.
func looksLMTP(c explainCtx) bool {
	if c.res == nil || c.outcome == nil || c.outcome.Attempt == nil {
		return false
	}
	if c.res.Config.Protocol != probe.ProtocolSMTP && c.res.Config.Protocol != "" {
		return false
	}
	a := c.outcome.Attempt
	if a.Greeting == nil || a.Greeting.Class() != 2 {
		return false
	}
	if strings.Contains(strings.ToLower(a.Greeting.Text()), "lmtp") {
		return true
	}
	if a.Port != probe.PortLMTP {
		return false
	}
	for _, st := range a.Steps {
		if st.Phase == probe.PhaseEHLO && st.Reply != nil && (st.Reply.Code == 500 || st.Reply.Code == 502) {
			return true
		}
	}
	return false
}

func explainLMTPAsSMTP(v *Verdict, w words) Explanation {
	return Explanation{
		What:  w.who + " greeted but refused EHLO" + w.said + ": this looks like an LMTP server (RFC 2033), which expects LHLO, not EHLO.",
		Cause: "The probe spoke SMTP to an LMTP service (Dovecot or Cyrus LMTP, port 24 or a unix socket).",
		Next:  "This looks like an LMTP server: use --protocol lmtp (as Postfix's lmtp(8) would: lmtp:[host]:24).",
	}
}

// senderRefused explains a refusal of MAIL FROM when it is about the
// probe's own sender (reject_unknown_sender_domain's "450 4.1.8 …
// Sender address rejected: Domain not found", an SPF or sender-callout
// refusal, a 5.1.7/5.1.8 sender status): the probe's settings are at
// fault, not the receiving server and not the recipient, about whom
// nothing is known yet. Refusals at MAIL that are about the connection
// (blocklists, rate limits, TLS, authentication) keep their own
// explanation.
func senderRefused(v *Verdict, c explainCtx, w words) (Explanation, bool) {
	if c.res == nil || v.Reply == nil || v.Reply.Class() < 4 {
		// Only a probe's own sender is "yours"; `mailprobe explain`
		// keeps the rule's words.
		return Explanation{}, false
	}
	// Postfix defers sender checks to RCPT (smtpd_delay_reject = yes) and
	// says "Sender address rejected" (smtpd_check.c); RFC 3463 X.1.7 and
	// X.1.8 are the sender's address statuses.
	enh := v.Reply.Enhanced
	aboutSender := strings.Contains(strings.ToLower(v.Reply.Text()), "sender address rejected") ||
		len(enh) >= 5 && (enh[1:] == ".1.7" || enh[1:] == ".1.8")
	if v.Phase != probe.PhaseMAIL && !aboutSender {
		return Explanation{}, false
	}
	switch v.Category {
	case CategoryBlocklisted, CategoryReputation, CategoryRateLimited, CategoryConnectionLimit,
		CategoryGreylisted, CategoryTLSRequired, CategoryAuthRequired, CategoryMessageSize:
		return Explanation{}, false
	}
	from := "<>"
	if c.res != nil {
		from = "<" + c.res.Config.From + ">"
	}
	what := w.who + " refused the probe's sender MAIL FROM:" + from + w.said + ": " + v.Reason + "."
	return Explanation{
		What:  what,
		Cause: "The receiving server checks the envelope sender — that its domain resolves (Postfix's reject_unknown_sender_domain), SPF, a sender-verification callout — and the probe's sender failed. Nothing is known about the recipient yet.",
		Next:  "The receiving server refused your probe's sender; use --from with an address of a domain you own (and --helo with this host's name in DNS).",
	}, true
}

// TLSSummary says in one phrase which TLS the deciding attempt had:
// "TLS 1.3 (TLS_AES_128_GCM_SHA256), certificate verified for
// mx.example.org", "TLS not offered by the server: in clear", "STARTTLS
// refused: 454 4.7.0 …", "not used (--starttls none)". It is "" when no
// session got as far as TLS (no connection, a refused greeting).
func TLSSummary(a *probe.Attempt, cfg probe.ConfigSummary) string {
	if a == nil || a.Skipped != "" {
		return ""
	}
	t := a.TLS
	switch {
	case t != nil && t.Version != "":
		s := t.Version + " (" + t.CipherSuite + ")"
		if cfg.Protocol == probe.ProtocolSMTPS {
			s = "implicit " + s
		}
		names := t.ServerName
		if len(t.MatchNames) > 0 {
			names = strings.Join(t.MatchNames, " or ")
		}
		if t.Verified {
			return s + ", certificate verified for " + names
		}
		return s + ", certificate not verified for " + names + ": " + t.VerifyError
	case t != nil && strings.HasPrefix(t.VerifyError, "STARTTLS refused: "):
		return t.VerifyError + " — went on in clear"
	case a.Err != nil && a.Err.Phase == probe.PhaseSTARTTLS && a.Err.Reply != nil && a.Err.Reply.Class() != 2:
		return "STARTTLS refused: " + a.Err.Reply.Text()
	case a.Err != nil && errors.Is(a.Err.Kind, probe.ErrTLSRequired):
		// Before the broken-STARTTLS case: this error's phase is
		// starttls too, but no STARTTLS was sent (none was offered).
		return "TLS not offered by the server (required at level " + levelName(cfg) + ")"
	case a.Err != nil && a.Err.Phase == probe.PhaseSTARTTLS:
		// Accepted (220) and then broken — data sent with the 220, a
		// reply out of step — is no refusal.
		return "STARTTLS failed: " + a.Err.Error()
	case a.Err != nil && a.Err.Phase == probe.PhaseTLS:
		return "TLS handshake failed: " + a.Err.Error()
	case a.PlaintextRetry:
		return "in clear: the TLS handshake failed on the first attempt, retried without TLS (as Postfix at level may)"
	case cfg.STARTTLS == probe.TLSNever && cfg.Protocol != probe.ProtocolSMTPS:
		return "not used (--starttls none)"
	case a.Extensions != nil:
		if _, ok := a.Extensions["STARTTLS"]; !ok {
			return "TLS not offered by the server: in clear"
		}
	}
	return ""
}

// levelName is the run's TLS level in Postfix's words.
func levelName(cfg probe.ConfigSummary) string {
	if cfg.TLSLevel != "" {
		return cfg.TLSLevel
	}
	if l, err := probe.ParseTLSLevel(string(cfg.STARTTLS)); err == nil {
		return l.Name
	}
	return string(cfg.STARTTLS)
}

// tlsAsked tells whether the run required TLS (encrypt and above), when
// the headline itself says which TLS happened.
func tlsAsked(cfg probe.ConfigSummary) bool {
	return cfg.STARTTLS == probe.TLSAlways || cfg.Protocol == probe.ProtocolSMTPS
}
