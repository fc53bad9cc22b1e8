package postfixconf

import (
	"fmt"
	"strings"
)

// Prediction is what smtpd would answer a sender.
type Prediction string

const (
	PredictAccept  Prediction = "accept"
	PredictReject  Prediction = "reject"
	PredictDefer   Prediction = "defer"
	PredictUnknown Prediction = "unknown" // not probed (local delivery), or interrupted
)

// VerifyStatus is the verify service's status of an address
// (DEL_RCPT_STAT_*, verify.c verify_stat2name).
type VerifyStatus string

const (
	VerifyOK      VerifyStatus = "deliverable"   // DEL_RCPT_STAT_OK
	VerifyDefer   VerifyStatus = "deferred"      // DEL_RCPT_STAT_DEFER
	VerifyBounce  VerifyStatus = "undeliverable" // DEL_RCPT_STAT_BOUNCE
	VerifyPending VerifyStatus = "in-progress"   // DEL_RCPT_STAT_TODO
)

// InProgressText is the verify service's text for an address whose probe
// has not come back (verify.c).
const InProgressText = "Address verification in progress"

// smtpdReplyMax is the length smtpd truncates a reply to
// (smtpd_check.c smtpd_check_reject).
const smtpdReplyMax = 510

// PredictReply is reject_unverified_recipient's answer for an address
// whose verify status and text are known (smtpd_check.c
// reject_unverified_address): the deliverable pass; a bounce gets
// unverified_recipient_reject_code, anything else
// unverified_recipient_defer_code; a 4xx code reads "unverified address:
// TEXT" (at most 250 bytes of it), a 5xx one "undeliverable address:
// TEXT"; unverified_recipient_reject_reason replaces TEXT; the DSN is
// 4.1.1 with its class forced to the code's; soft_bounce turns 5xx into
// 4xx.
func (c *Config) PredictReply(rcpt string, st VerifyStatus, text string) (Prediction, string) {
	code := 0
	switch st {
	case VerifyOK:
		return PredictAccept, "250 2.1.5 Ok"
	case VerifyBounce:
		code = c.RejectCode
	default:
		code = c.DeferCode
	}
	if alt := c.P["unverified_recipient_reject_reason"]; code >= 400 && alt != "" {
		text = alt
	}
	var reply string
	switch code / 100 {
	case 2:
		return PredictAccept, "250 2.1.5 Ok"
	case 4:
		if len(text) > 250 {
			text = text[:250]
		}
		reply = fmt.Sprintf("%d 4.1.1 <%s>: Recipient address rejected: unverified address: %s", code, rcpt, text)
	default:
		reply = fmt.Sprintf("%d 4.1.1 <%s>: Recipient address rejected: undeliverable address: %s", code, rcpt, text)
	}
	return c.finishReply(reply)
}

// finishReply applies smtpd_check_reject's last steps: a code outside
// 400–599 becomes "450 4.7.1 Service unavailable", soft_bounce turns 5
// into 4, the DSN class follows the code, the text is cut at 510 bytes
// and non-printable bytes become spaces.
func (c *Config) finishReply(reply string) (Prediction, string) {
	b := []byte(reply)
	if len(b) < 9 || b[0] < '4' || b[0] > '5' {
		b = []byte("450 4.7.1 Service unavailable")
	}
	if c.P["soft_bounce"] == "yes" && b[0] == '5' {
		b[0] = '4'
	}
	b[4] = b[0]
	if len(b) > smtpdReplyMax {
		b = b[:smtpdReplyMax]
	}
	for i, ch := range b {
		if ch < 0x20 || ch == 0x7f {
			b[i] = ' '
		}
	}
	if b[0] == '5' {
		return PredictReject, string(b)
	}
	return PredictDefer, string(b)
}

// unlistedReply is smtpd's answer to a recipient that verification
// passes but that is not in its class's recipient table
// (smtpd_check.c check_rcpt_maps, reached when
// smtpd_reject_unlisted_recipient = yes and no restriction refused).
func (c *Config) unlistedReply(rcpt string, class Class) (Prediction, string, bool) {
	var codeParam, table string
	switch class {
	case ClassRelay:
		codeParam, table = "unknown_relay_recipient_reject_code", " in relay recipient table"
	case ClassVirtual:
		codeParam, table = "unknown_virtual_mailbox_reject_code", " in virtual mailbox table"
	default:
		return "", "", false
	}
	code := c.P[codeParam]
	if code == "" {
		code = "550"
	}
	if c.P["show_user_unknown_table_name"] == "no" {
		table = ""
	}
	p, r := c.finishReply(fmt.Sprintf("%s 5.1.1 <%s>: Recipient address rejected: User unknown%s", code, rcpt, table))
	return p, r, true
}

// errorTransportResult is what error(8) and retry report for a nexthop
// text "X.Y.Z text" (dsn_split with default 5.0.0, or 4.0.0 for retry).
func errorTransportResult(transport, nexthop string) (VerifyStatus, string, string) {
	dsn, text := "5.0.0", nexthop
	if transport == "retry" {
		dsn = "4.0.0"
	}
	if f := strings.SplitN(nexthop, " ", 2); len(f) == 2 && isDSN(f[0]) {
		dsn, text = f[0], f[1]
	}
	if transport == "retry" {
		dsn = "4" + dsn[1:]
	}
	if dsn[0] == '5' {
		return VerifyBounce, dsn, text
	}
	return VerifyDefer, dsn, text
}

func isDSN(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || (p[0] != "2" && p[0] != "4" && p[0] != "5") {
		return false
	}
	for _, x := range p[1:] {
		if x == "" || len(x) > 3 {
			return false
		}
		for _, c := range x {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}
