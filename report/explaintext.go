package report

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

// Explained is the result of explaining one reply or one log line.
type Explained struct {
	// Kind says whose words the text was (reply, postfix, qmail, exim,
	// sendmail, courier, opensmtpd, dovecot, microsoft-ndr, gmail-dsn,
	// other).
	Kind TextKind `json:"kind"`
	// Code and Enhanced are the reply's (0 and "" for an MTA's own
	// reasons, whose dsn then stands in for the enhanced code).
	Code        int         `json:"code"`
	Enhanced    string      `json:"enhanced"`
	Reply       string      `json:"reply,omitempty"`
	Permanence  Permanence  `json:"permanence"`
	Category    Category    `json:"category"`
	Party       Party       `json:"party"`
	Provider    string      `json:"provider,omitempty"`
	Rule        string      `json:"rule,omitempty"` // id of the rule that decided
	Explanation Explanation `json:"explanation"`
	// The fields below are set when a log line was given.
	Status    string `json:"status,omitempty"`
	DSN       string `json:"dsn,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	Relay     string `json:"relay,omitempty"`
	Command   string `json:"command,omitempty"`
	Reason    string `json:"reason,omitempty"`

	// Line is the parsed Postfix line, nil for other texts.
	Line *PostfixLine `json:"-"`
}

// ErrEmptyInput is returned by ExplainText for blank input.
var ErrEmptyInput = errors.New("nothing to explain")

// ExplainText classifies and explains any text an MTA or provider
// wrote about one delivery: a bare reply (one line, several, or
// Postfix-joined "554-a 554-b 554 c", with or without the final line), a
// Postfix log line of any service, a qmail, Exim, sendmail, Courier,
// OpenSMTPD or Dovecot log line or bounce paragraph, a Microsoft NDR or
// a Gmail DSN. Text it cannot place still gets an answer (category
// other, permanence unknown unless a code says otherwise); the only
// error is ErrEmptyInput.
func ExplainText(s string) (Explained, error) {
	if strings.TrimSpace(s) == "" {
		return Explained{}, ErrEmptyInput
	}
	return explainFacts(readText(s)), nil
}

// classifyFacts classifies what readText found: the reply text first;
// when no rule places it, the whole text (an Exim "retry timeout
// exceeded", a Gmail paragraph around the reply); then the codes.
func classifyFacts(f *textFacts) Classification {
	enh := f.enhanced
	if enh == "" {
		enh = f.dsn
	}
	if f.reply != nil {
		renh := f.reply.Enhanced
		if renh == "" && f.reply.Code/100 == int(enh0(enh)) {
			renh = enh
		}
		cl := ClassifyText(f.reply.Code, renh, f.reply.Text())
		// A multi-line reply the bouncing MTA joined keeps the
		// continuation codes inside sentences ("is receiving
		// 450-4.2.1 mail at a rate", "unusual rate of 550-5.7.1
		// unsolicited mail"): the text without them is what the reply
		// says, so its match wins over one the split left to a broader
		// word.
		if t := unfold(f.reply.Text()); t != f.reply.Text() {
			if c2 := ClassifyText(f.reply.Code, renh, t); c2.Rule != nil {
				cl = c2
			}
		}
		if cl.Rule == nil && f.text != "" && f.text != f.reply.Text() && cl.Category != CategoryDeliverable {
			if c2 := ClassifyText(f.reply.Code, renh, f.text); c2.Rule != nil {
				cl = c2
			}
		}
		// A log line's dsn is what the MTA did with the reply: Postfix
		// defers after a 5xx greeting (smtp_skip_5xx_greeting), so
		// dsn=4.0.0 beats the 554.
		if f.line != nil && f.dsn != "" && cl.Permanence != PermanenceSuccess {
			if p := permanenceOf(0, f.dsn); p != PermanenceUnknown {
				cl.Permanence = p
			}
		}
		return cl
	}
	text := f.text
	if text == "" {
		text = f.reason
	}
	cl := ClassifyText(0, enh, text)
	if cl.Permanence == PermanenceUnknown && f.perm != "" {
		cl.Permanence = f.perm
	}
	return cl
}

func enh0(e string) byte {
	if e == "" {
		return 0
	}
	return e[0] - '0'
}

func explainFacts(f *textFacts) Explained {
	cl := classifyFacts(f)
	out := Explained{Kind: f.kind, Category: cl.Category, Permanence: cl.Permanence,
		Status: f.status, DSN: f.dsn, Recipient: f.recipient, Relay: f.relay, Command: f.command, Line: f.line}
	if f.line != nil {
		out.Reason = f.line.Reason
	} else if f.reply == nil && f.reason != f.text {
		out.Reason = f.reason
	}
	v := Verdict{Category: cl.Category, Permanence: cl.Permanence, Party: cl.Party, Rule: cl.Rule,
		DSN: f.dsn, Relay: f.relay, Recipient: f.recipient, Phase: f.phase, Command: f.command}
	if f.reply != nil {
		out.Code, out.Enhanced, out.Reply = f.reply.Code, f.reply.Enhanced, f.reply.Text()
		v.Reply = f.reply
		v.Reason = f.reply.Text()
		if v.DSN == "" {
			v.DSN = replyDSN(f.reply)
		}
		if v.Recipient == "" {
			v.Recipient = firstAddress(f.reply.Text())
		}
	} else {
		out.Enhanced = f.enhanced
		if out.Enhanced == "" {
			out.Enhanced = f.dsn
		}
		v.Reason = f.reason
	}
	if v.Relay == "" || f.reply != nil {
		// "The server" rather than a host name: in an smtpd reject line
		// the host is the client, and a bare reply names none.
		v.Relay = "none"
	}
	if v.Recipient != "" {
		v.Domain = v.Recipient[strings.LastIndexByte(v.Recipient, '@')+1:]
	}
	v.Status = statusOf(v.DSN)
	// A receiving server's log about its client: the client is the
	// sending side, unless the line is about a mailbox. A generic rule's
	// party is the view of a client that got the reply; a provider's or
	// MTA's own rule names its party for its own log, and keeps it.
	if f.serverSide && !recipientSide(v.Category) && (v.Rule == nil || strings.HasSuffix(v.Rule.File, "generic.yaml") && v.Rule.Party != PartyLocal) {
		v.Party = PartySender
	}
	// smtpd's reject of a client for its own trouble (452 Insufficient
	// system storage, 451 Temporary lookup failure, Server configuration
	// problem): the rejecting server is this one, your own set-up.
	if f.serverSide && f.line != nil && f.line.Kind == LineReject && v.Category == CategoryServerError {
		v.Party = PartyLocal
	}
	// Postfix smtp(8) failing to log in to the next hop ("SASL
	// authentication failed; server … said: 535 …", smtp_sasl_glue.c):
	// the reply is about your credentials, not a client of yours.
	if f.ownAuth && v.Category == CategoryAuthRequired {
		v.Party = PartyLocal
	} else if f.serverSide && v.Category == CategoryAuthRequired && (v.Rule == nil || strings.HasSuffix(v.Rule.File, "generic.yaml")) {
		// A receiving server's log of a client that did not (or could
		// not) log in: the client's move, whatever a generic rule's
		// (a client's) view. mta.yaml's server-side rules (saslauthd
		// unreachable) keep their own party.
		v.Party = PartySender
	}
	// smtp(8)'s "TLS is required, but host … refused to start TLS: 454 …"
	// and "… but was not offered by host …" (smtp_proto.c): the
	// requirement is this host's smtp_tls_security_level, whatever the
	// reply says.
	if v.Category == CategoryTLSRequired && strings.Contains(strings.ToLower(f.text), "tls is required, but ") {
		v.Party = PartyLocal
	}
	// A connection to this host's own services (loopback, a unix socket,
	// the LMTP hand-off to the local mailbox server) is your own set-up;
	// so is a connection failure a receiving server logs about its client
	// (its verification probe to its own backend failed: "unverified
	// address: connect to …").
	if (v.Category == CategoryConnectionRefused || v.Category == CategoryConnectionTimeout) && (ownService(f) || f.serverSide) {
		v.Party = PartyLocal
	}
	// A DNS failure in answer to MAIL FROM concerns the sender's domain.
	if v.Category == CategoryDNSFailure && strings.HasPrefix(f.command, "MAIL") {
		v.Party = PartySender
	}
	// A delivery the log calls done: delivered, not merely deliverable.
	if f.status == "sent" && (f.reply == nil || f.reply.Class() == 2) {
		v.Category, v.Permanence, v.Rule, v.Party = CategoryDelivered, PermanenceSuccess, nil, ""
		out.Category, out.Permanence = CategoryDelivered, PermanenceSuccess
	}
	ctx := explainCtx{text: f}
	out.Explanation = explain(&v, ctx)
	out.Party = out.Explanation.Party
	if v.Rule != nil {
		out.Rule, out.Provider = v.Rule.ID, v.Rule.Provider
	}
	return out
}

// ownService: the text is about a connection to this host's own
// services: a loopback address, a unix socket, Postfix's lmtp(8).
func ownService(f *textFacts) bool {
	if strings.HasSuffix(strings.ToLower(f.program), "/lmtp") {
		return true
	}
	low := strings.ToLower(f.text)
	// "problem talking to service …" is always one of master.cf's own
	// services (Postfix's mail_connect/attr_clnt warnings).
	for _, m := range []string{"connect to 127.", "[127.", "connect to localhost", "[::1]", "connect to private/", "connect to public/", "connect to /", "talking to server 127.", "problem talking to service "} {
		if strings.Contains(low, m) {
			return true
		}
	}
	return false
}

// foldCode is a continuation code inside a joined reply: " 450-4.2.1 ",
// " 550 5.7.1 ".
// Compiled on first use: nothing in report compiles at program start.
var foldCode = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\s[245]\d\d[- ]([245]\.\d{1,3}\.\d{1,3}\s+)?`)
})

// unfold removes the continuation codes after the first line's: the
// text a joined multi-line reply says, without the codes that split it.
func unfold(s string) string {
	if len(s) < 4 {
		return s
	}
	return s[:4] + foldCode().ReplaceAllString(s[4:], " ")
}
