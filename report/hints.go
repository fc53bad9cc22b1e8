package report

import (
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
