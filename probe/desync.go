package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// ErrDesync: the server's replies no longer line up with the commands
// sent. An unsolicited reply (a server that talks before the command, or
// one extra reply inside a pipelined group) shifts every later reply by
// one, so that RCPT is paired with MAIL's 250 and a rejected recipient
// would read as accepted. Nothing read after the shift is believed: the
// attempt ends with a protocol error wrapping ErrDesync, and the host is
// tried once more without pipelining (see prober.attempt).
var ErrDesync = fmt.Errorf("%w: %s", ErrProtocol, desyncText)

const desyncText = "the server's replies are out of step with the commands"

// Waits of the checks for data the server sent unasked.
const (
	// peekWait is how long a check for waiting data may block where the
	// socket cannot be peeked without blocking (TLS, in-memory pipes): the
	// data, if any, has already arrived; this only lets one read see it.
	peekWait = time.Millisecond
	// strayReadWait bounds reading the stray reply that was found, for
	// the report: it is already (at least partly) there.
	strayReadWait = 200 * time.Millisecond
)

// waiting reports whether the server has sent bytes that no command has
// asked for yet: RFC 5321 §4.3.1 and §3.1 give the server a reply only in
// answer to a command (or the greeting), and RFC 2920 §3.1 has the client
// send a group only when it has read every reply to the last one. Bytes
// already buffered, or waiting in the socket, before a command goes out
// are therefore a reply out of step.
//
// A plain socket is peeked without blocking (MSG_PEEK|MSG_DONTWAIT). A TLS
// connection cannot be: its socket also carries records that are not
// data (a TLS 1.3 NewSessionTicket arrives after the handshake), so it is
// read through crypto/tls for at most peekWait, and whatever data that
// read finds stays in the buffer for the report.
func (c *conn) waiting() bool {
	if c.br.Buffered() > 0 {
		return true
	}
	if sc, ok := c.nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			var n int
			var perr error
			buf := make([]byte, 1)
			cerr := rc.Read(func(fd uintptr) bool {
				n, _, perr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				return true // never wait
			})
			// n == 0 with no error is the peer's FIN: nothing to read,
			// and the next read or write reports the lost connection.
			return cerr == nil && perr == nil && n > 0
		}
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(peekWait))
	_, err := c.br.Peek(1)
	_ = c.nc.SetReadDeadline(time.Time{})
	return err == nil
}

// unsolicited checks, before next is sent, for a reply nobody asked for.
// A 421 there is the server closing, which RFC 5321 §3.8 allows at any
// moment: that is what the session then reports. Anything else is a reply
// out of step (ErrDesync). nil when nothing is waiting.
func (c *conn) unsolicited(next verb) *Error {
	if c.closed || !c.waiting() {
		return nil
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(strayReadWait))
	r, err := ReadReply(c.br)
	if r != nil {
		for _, l := range r.Lines {
			c.note(DirReceived, l)
		}
	}
	c.closed = true // no QUIT: whatever it would get back is out of step too
	if err == nil && r.Code == 421 {
		c.att.Steps = append(c.att.Steps, Step{Phase: next.phase(), Reply: r, Start: time.Now()})
		return &Error{Kind: ErrRejected, Phase: next.phase(), Reply: r}
	}
	what := "bytes that are not a complete reply"
	if r != nil && err == nil {
		what = fmt.Sprintf("%q", r.Text())
	} else if r != nil {
		what = fmt.Sprintf("%q (incomplete)", r.Text())
	}
	e := desyncError(next.phase(), r, fmt.Sprintf("the server sent %s before the %s command was sent (RFC 5321 §4.3.1: a reply answers a command)", what, next.name()))
	c.att.Steps = append(c.att.Steps, Step{Phase: next.phase(), Reply: r, Start: time.Now(), Err: e.Error()})
	return e
}

// desyncError is the protocol error for replies out of step; detail names
// the signal that showed it.
func desyncError(phase Phase, r *Reply, detail string) *Error {
	return &Error{Kind: ErrProtocol, Phase: phase, Reply: r, Detail: desyncText + ": " + detail, Err: ErrDesync}
}

// name is the command as an admin reads it in a message.
func (v verb) name() string {
	return strings.TrimSuffix(string(v), ":")
}

// misfit says why r cannot be the reply to a command with verb v, or ""
// when it can. Only unambiguous mismatches count, because real servers
// send odd but honest replies: Postfix answers RCPT with 250 2.1.5 and
// MAIL with 250 2.1.0, but others answer RCPT with 250 2.0.0 or with no
// enhanced code at all, and RFC 3463 defines X.1.0 as "other address
// status", which fits a recipient as well as a sender. Postfix with
// smtpd_delay_reject=yes (the default) answers RCPT with the sender's
// X.1.7/X.1.8 rejection, so those fit RCPT too. What never fits:
//
//   - a 3xx anywhere: mailprobe sends neither DATA nor AUTH, the only
//     commands answered 354/334;
//   - a success code other than the command's own: 250 for EHLO, HELO,
//     LHLO, MAIL and RSET, 220 for STARTTLS, 221 for QUIT, 250–252 for
//     RCPT (RFC 5321 §4.1.1, §4.3.2) — a 220 at EHLO is a second
//     greeting, a 221 at MAIL is QUIT's reply, a 250 at QUIT is RSET's;
//   - anything but 250 at RSET, which RFC 5321 §4.1.1.5 says MUST be
//     answered 250: a 550 there is the last RCPT's reply, shifted;
//   - X.1.5 ("destination address valid", RFC 3463 §3.2) on a success
//     at MAIL or at RSET: a recipient's status.
//
// A 421 fits every command: the server may close at any time (RFC 5321
// §3.8).
func misfit(v verb, r *Reply) string {
	if r.Code == 421 {
		return ""
	}
	if r.Class() == 3 {
		return fmt.Sprintf("%s was answered %d, an intermediate reply that only DATA or AUTH get", v.name(), r.Code)
	}
	if st := failureStatus(r); r.Class() == 2 && st != "" {
		// RFC 3463 §2: the class of the enhanced code agrees with the
		// reply code's first digit. "250 5.1.1 User unknown" says success
		// and failure at once — garbled, or another reply's text — and a
		// success believed from it would be a rejected recipient reported
		// deliverable. (Postfix takes the 250 and a default 2.0.0.)
		return fmt.Sprintf("%s was answered %q: a success code with the failure status %s, the reply contradicts itself", v.name(), r.Text(), st)
	}
	if r.Class() != 2 {
		if v == verbRSET {
			return fmt.Sprintf("RSET was answered %q; RSET always gets 250 (RFC 5321 §4.1.1.5), so this is the reply to an earlier command", r.Text())
		}
		if v == verbQUIT {
			return fmt.Sprintf("QUIT was answered %q; QUIT gets 221 (RFC 5321 §4.1.1.10)", r.Text())
		}
		return ""
	}
	want := map[verb]string{verbEHLO: "250", verbHELO: "250", verbLHLO: "250", verbMAIL: "250", verbRSET: "250",
		verbSTARTTLS: "220", verbQUIT: "221", verbRCPT: "250, 251 or 252"}[v]
	ok := false
	switch v {
	case verbRCPT:
		ok = r.Code >= 250 && r.Code <= 252
	default:
		ok = fmt.Sprint(r.Code) == want
	}
	if !ok {
		return fmt.Sprintf("%s was answered %q; its success reply is %s, so this is the reply to another command", v.name(), r.Text(), want)
	}
	if (v == verbMAIL || v == verbRSET) && enhancedSubject(r.Enhanced) == "1.5" {
		return fmt.Sprintf("%s was answered %q; %s means \"destination address valid\" (RFC 3463), the reply to a RCPT", v.name(), r.Text(), r.Enhanced)
	}
	return ""
}

// failureStatus is the 4.x.x or 5.x.x enhanced code a reply's first line
// carries after its code, "" for none. (Reply.Enhanced holds a code only
// when its class agrees with the reply code's.)
func failureStatus(r *Reply) string {
	if len(r.Lines) == 0 || len(r.Lines[0]) < 4 {
		return ""
	}
	f := strings.Fields(r.Lines[0][4:])
	if len(f) > 0 && ValidEnhanced(f[0]) && (f[0][0] == '4' || f[0][0] == '5') {
		return f[0]
	}
	return ""
}

// enhancedSubject is "subject.detail" of an RFC 3463 code ("1.5" of
// "2.1.5"), "" for none.
func enhancedSubject(e string) string {
	if _, rest, ok := strings.Cut(e, "."); ok {
		return rest
	}
	return ""
}

// checkReplies checks a run of replies against the commands they answer
// (replies[i] answers cmds[i]). The first reply that cannot be its
// command's makes the whole run untrustworthy: every reply after a shift
// belongs to another command.
func checkReplies(cmds []command, replies []*Reply) *Error {
	for i, r := range replies {
		if i >= len(cmds) {
			break
		}
		if why := misfit(cmds[i].verb, r); why != "" {
			return desyncError(cmds[i].verb.phase(), r, why)
		}
	}
	return nil
}

// leftover checks, after the last reply of a group was read, that the
// server did not send more replies than there were commands (RFC 2920
// §3.2: one reply per command, in order).
func (c *conn) leftover(last verb) *Error {
	if c.closed || !c.waiting() {
		return nil
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(strayReadWait))
	r, err := ReadReply(c.br)
	if r != nil {
		for _, l := range r.Lines {
			c.note(DirReceived, l)
		}
	}
	c.closed = true
	what := "bytes that are not a complete reply"
	if r != nil && !errors.Is(err, ErrProtocol) {
		what = fmt.Sprintf("%q", r.Text())
	}
	e := desyncError(last.phase(), r, fmt.Sprintf("the server sent one reply more than the commands it was given: %s came after the reply to %s", what, last.name()))
	c.att.Steps = append(c.att.Steps, Step{Phase: last.phase(), Reply: r, Start: time.Now(), Err: e.Error()})
	return e
}

// desyncRetry reports whether att ended out of step while pipelining, so
// that one more attempt, without pipelining, is worth making.
func desyncRetry(ctx context.Context, att *Attempt) bool {
	if att.Err == nil || !errors.Is(att.Err, ErrDesync) || att.WithoutPipelining || ctx.Err() != nil {
		return false
	}
	_, offered := att.Extensions["PIPELINING"]
	return offered
}

// shortGroup reports a pipelined group whose replies stopped, by a
// timeout or a hang-up, after some but not all of its commands were
// answered. RFC 2920 §3.2 gives every command of a group one reply, in
// order; when one is missing — a server that skipped the reply to one
// RCPT — every later reply belongs to the command before it, and the
// last command, the RSET, is the one left without an answer: a rejected
// recipient would read as accepted with the RSET's 250. So a group cut
// short is out of step, and the host is tried again one command at a
// time, where each reply is read before the next command goes out. A
// group that stopped at a 421 (the server closing, RFC 5321 §3.8) or
// before any reply is not: nothing was shifted. Lock-step runs never are.
func shortGroup(pipelined bool, cmds []command, replies []*Reply, e *Error) *Error {
	if !pipelined || e == nil || len(replies) == 0 || len(replies) >= len(cmds) {
		return nil
	}
	if !errors.Is(e.Kind, ErrTimeout) && !errors.Is(e.Kind, ErrLost) {
		return nil
	}
	missing := cmds[len(replies)]
	if missing.verb == verbQUIT {
		return nil // an unanswered QUIT is let go (conn.pipeline)
	}
	how := "stopped answering"
	if errors.Is(e.Kind, ErrLost) {
		how = "closed the connection"
	}
	return desyncError(missing.verb.phase(), nil, fmt.Sprintf(
		"the server %s after %d replies to a pipelined group of %d commands, before the reply to %s: with one reply missing, each reply may be the one to the command before it (RFC 2920 §3.2)",
		how, len(replies), len(cmds), missing.verb.name()))
}
