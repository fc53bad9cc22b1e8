package lab

import (
	"io"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"
)

// reply builds the error value a go-smtp session returns to send an
// arbitrary reply. go-smtp writes an *smtp.SMTPError's code, enhanced code
// and text verbatim — whatever the class — so returning a 250 "error" from
// Rcpt sends "250 2.1.5 Ok", the wording Postfix and Dovecot use, instead
// of go-smtp's own "250 2.0.0 I'll make sure <…> gets this". A side effect
// we want: go-smtp then does not count the recipient, so a DATA that a
// client should never send meets "502 5.5.1 Missing RCPT TO command."
// even before Session.Data refuses it.
func reply(code int, enhanced smtp.EnhancedCode, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
}

var (
	replyRcptOk      = reply(250, smtp.EnhancedCode{2, 1, 5}, "Ok") // Postfix smtpd
	replyRcptOK      = reply(250, smtp.EnhancedCode{2, 1, 5}, "OK") // Dovecot LMTP, as in the seed swaks transcript
	replyNoData      = reply(554, smtp.EnhancedCode{5, 5, 1}, "Error: the mailprobe lab never accepts message content")
	replyTLSRequired = reply(530, smtp.EnhancedCode{5, 7, 0}, "Must issue a STARTTLS command first")
)

// rcptPolicy decides the reply to RCPT TO for one recipient. The address
// is as the client sent it, without angle brackets.
type rcptPolicy func(s *session, to string) *smtp.SMTPError

func userSet(addrs ...string) map[string]bool {
	m := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		m[strings.ToLower(a)] = true
	}
	return m
}

// postfixMailbox is Postfix with virtual mailboxes: known users get
// "250 2.1.5 Ok", others the smtpd_reject_unlisted_recipient wording.
func postfixMailbox(users map[string]bool) rcptPolicy {
	return func(_ *session, to string) *smtp.SMTPError {
		if users[strings.ToLower(to)] {
			return replyRcptOk
		}
		return reply(550, smtp.EnhancedCode{5, 1, 1},
			"<"+to+">: Recipient address rejected: User unknown in virtual mailbox table")
	}
}

// dovecotMailbox answers like Dovecot's LMTP server (seed: nausch.org
// verify example, "550 5.1.1 <paeddrigg@nausch.org> User doesn't exist:
// paeddrigg@nausch.org").
func dovecotMailbox(users map[string]bool) rcptPolicy {
	return func(_ *session, to string) *smtp.SMTPError {
		if users[strings.ToLower(to)] {
			return replyRcptOK
		}
		return reply(550, smtp.EnhancedCode{5, 1, 1}, "<"+to+"> User doesn't exist: "+to)
	}
}

// greylisting is postgrey behind Postfix: the first RCPT of a (client IP,
// sender, recipient) triplet is deferred with postgrey's default text
// ("Greylisted, see http://postgrey.schweikert.ch/help/%r.html", %r the
// recipient domain); later ones go on to the mailbox check. The triplet
// store lives in the Lab, so every Lab starts with an empty one.
func greylisting(next rcptPolicy) rcptPolicy {
	return func(s *session, to string) *smtp.SMTPError {
		if s.lab.grey.first(s.client, s.from, to) {
			_, domain, _ := strings.Cut(to, "@")
			return reply(450, smtp.EnhancedCode{4, 7, 1}, "<"+to+">: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/"+strings.ToLower(domain)+".html")
		}
		return next(s, to)
	}
}

// quota has one user over a soft quota (a temporary 452 4.2.2) and one
// over the hard limit as Dovecot's quota-status policy service reports it
// through Postfix (seed: check_policy_service inet:10.0.0.77:10000;
// Dovecot's quota_status_overquota default "552 5.2.2 Mailbox is full").
func quota(full, over string, next rcptPolicy) rcptPolicy {
	return func(s *session, to string) *smtp.SMTPError {
		switch strings.ToLower(to) {
		case full:
			return reply(452, smtp.EnhancedCode{4, 2, 2}, "<"+to+">: Mailbox full")
		case over:
			return reply(552, smtp.EnhancedCode{5, 2, 2}, "<"+to+">: Recipient address rejected: Mailbox is full")
		}
		return next(s, to)
	}
}

// relayDenied is Postfix's reject_unauth_destination: the host is listed
// as MX but does not consider the domain its own.
func relayDenied(_ *session, to string) *smtp.SMTPError {
	return reply(554, smtp.EnhancedCode{5, 7, 1}, "<"+to+">: Relay access denied")
}

// qmailRelayDenied is qmail-smtpd's rcpthosts refusal, word for word from
// the seed (OVH qmail documentation). qmail puts its status code in the
// text, not where RFC 2034 says.
func qmailRelayDenied(_ *session, _ string) *smtp.SMTPError {
	return reply(553, smtp.NoEnhancedCode, "sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)")
}

// unverified is Postfix's reject_unverified_recipient while the backend
// cannot confirm the user (seed: nausch.org, with its
// unverified_recipient_reject_reason "Recipient address lookup failed").
func unverified(users map[string]bool) rcptPolicy {
	return func(_ *session, to string) *smtp.SMTPError {
		if users[strings.ToLower(to)] {
			return replyRcptOk
		}
		return reply(450, smtp.EnhancedCode{4, 1, 1}, "<"+to+">: Recipient address rejected: unverified address: Recipient address lookup failed")
	}
}

func catchAll(_ *session, _ string) *smtp.SMTPError { return replyRcptOk }

// greylist remembers the triplets seen, per Lab.
type greylist struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (g *greylist) first(client, from, to string) bool {
	key := client + "\x00" + strings.ToLower(from) + "\x00" + strings.ToLower(to)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[key] {
		return false
	}
	if g.seen == nil {
		g.seen = make(map[string]bool)
	}
	g.seen[key] = true
	return true
}

func (g *greylist) reset() {
	g.mu.Lock()
	g.seen = nil
	g.mu.Unlock()
}

// backend creates sessions for one lab server.
type backend struct {
	lab  *Lab
	spec *serverSpec
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &session{lab: b.lab, spec: b.spec, client: "unix"}
	if host, _, err := net.SplitHostPort(c.Conn().RemoteAddr().String()); err == nil {
		s.client = host
	}
	return s, nil
}

type session struct {
	lab    *Lab
	spec   *serverSpec
	client string // client IP address, the first element of a greylisting triplet
	from   string
}

func (s *session) Reset()        { s.from = "" }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.spec.requireTLS {
		return replyTLSRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if r := s.spec.rcpt(s, to); r != nil {
		return r
	}
	return nil
}

// Data refuses message content. It cannot be reached through the
// recipients above (go-smtp counts none of them), but a lab whose job is
// to prove that DATA is never sent must not accept one either way.
func (s *session) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	return replyNoData
}
