package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// verb is one of the few commands this client can send. There is no DATA,
// BDAT or AUTH among them and no way to write a line that does not start
// with one of them: a probe can never transfer a message.
type verb string

const (
	verbEHLO     verb = "EHLO"
	verbHELO     verb = "HELO"
	verbLHLO     verb = "LHLO"
	verbSTARTTLS verb = "STARTTLS"
	verbMAIL     verb = "MAIL FROM:"
	verbRCPT     verb = "RCPT TO:"
	verbRSET     verb = "RSET"
	verbQUIT     verb = "QUIT"
)

// verbPhases ties every verb to the phase its reply belongs to; it is
// also where Phase.Command finds a phase's words, so the two cannot
// disagree.
var verbPhases = [...]struct {
	verb  verb
	phase Phase
}{
	{verbEHLO, PhaseEHLO}, {verbHELO, PhaseHELO}, {verbLHLO, PhaseLHLO}, {verbSTARTTLS, PhaseSTARTTLS},
	{verbMAIL, PhaseMAIL}, {verbRCPT, PhaseRCPT}, {verbRSET, PhaseRSET}, {verbQUIT, PhaseQUIT},
}

func (v verb) phase() Phase {
	for _, vp := range verbPhases {
		if vp.verb == v {
			return vp.phase
		}
	}
	return PhaseQUIT
}

// command is one line to send.
type command struct {
	verb verb
	arg  string
}

func (c command) line() string {
	switch c.verb {
	case verbMAIL, verbRCPT:
		return string(c.verb) + c.arg
	}
	if c.arg == "" {
		return string(c.verb)
	}
	return string(c.verb) + " " + c.arg
}

// Direction of a transcript line.
const (
	DirSent     = "->"
	DirReceived = "<-"
	DirInfo     = "=="
)

// TranscriptFunc receives every line sent and received, as swaks shows
// them. Lines are already neutralised.
type TranscriptFunc func(attempt *Attempt, dir, line string)

// conn is the strict wire client: one connection, replies read with a
// deadline per reply (never per byte, so a server trickling one byte a
// second is still bounded by the phase timeout), every step recorded in the
// Attempt.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	timeout  time.Duration // per phase
	deadline time.Time     // the whole probe's deadline
	att      *Attempt
	tap      TranscriptFunc
	closed   bool            // the server closed (421 or EOF); no QUIT owed
	ctx      context.Context // cancelling it closes the socket (see open)
	quitWait time.Duration   // time spent waiting for QUIT and RSET replies (not MAIL/RCPT time)
}

func newConn(nc net.Conn, att *Attempt, timeout time.Duration, deadline time.Time, tap TranscriptFunc) *conn {
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), timeout: timeout, deadline: deadline, att: att, tap: tap}
}

func (c *conn) phaseDeadline() time.Time {
	d := time.Now().Add(c.timeout)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		return c.deadline
	}
	return d
}

func (c *conn) note(dir, line string) {
	if c.tap != nil {
		c.tap(c.att, dir, line)
	}
}

// read reads one reply for phase and records it. QUIT's reply gets
// QuitGrace at most: nothing depends on it (Postfix does not even wait
// for it, smtp_skip_quit_response=yes), so a server that never answers
// QUIT costs seconds, not the phase timeout. So does RSET's: it is read
// once every RCPT of the transaction has been answered, and the time is
// nobody's MAIL/RCPT time (quitWait).
func (c *conn) read(phase Phase, cmdLine string, start time.Time) (*Reply, *Error) {
	deadline := c.phaseDeadline()
	t0 := time.Now()
	tail := phase == PhaseQUIT || phase == PhaseRSET
	if g := t0.Add(QuitGrace); tail && g.Before(deadline) {
		deadline = g
	}
	if tail {
		defer func() { c.quitWait += time.Since(t0) }()
	}
	_ = c.nc.SetReadDeadline(deadline)
	r, err := ReadReply(c.br)
	if r != nil {
		for _, l := range r.Lines {
			c.note(DirReceived, l)
		}
	}
	step := Step{Phase: phase, Command: cmdLine, Reply: r, Start: start, Duration: time.Since(start)}
	if err != nil {
		e := c.failure(phase, err)
		e.Reply = r
		step.Err = e.Error()
		c.att.Steps = append(c.att.Steps, step)
		return r, e
	}
	c.att.Steps = append(c.att.Steps, step)
	if r.Code == 421 {
		// RFC 5321 §3.8: 421 means the server is closing the channel.
		c.closed = true
	}
	return r, nil
}

// write sends the commands in one write (a PIPELINING group, RFC 2920, or
// a single command).
func (c *conn) write(cmds []command) *Error {
	var b strings.Builder
	for _, cmd := range cmds {
		l := cmd.line()
		if strings.ContainsAny(l, "\r\n\x00") {
			// Inputs are validated long before; this is the last line of
			// defence against command injection.
			return &Error{Kind: ErrProtocol, Phase: cmd.verb.phase(), Detail: "refusing to send a line with CR, LF or NUL"}
		}
		c.note(DirSent, l)
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	_ = c.nc.SetWriteDeadline(c.phaseDeadline())
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		return c.failure(cmds[0].verb.phase(), err)
	}
	return nil
}

// do sends one command and reads its reply, after checking that no reply
// is waiting that nothing asked for (desync.go).
func (c *conn) do(cmd command) (*Reply, *Error) {
	start := time.Now()
	if e := c.unsolicited(cmd.verb); e != nil {
		return nil, e
	}
	if err := c.write([]command{cmd}); err != nil {
		c.att.Steps = append(c.att.Steps, Step{Phase: cmd.verb.phase(), Command: cmd.line(), Start: start, Err: err.Error()})
		return nil, err
	}
	return c.read(cmd.verb.phase(), cmd.line(), start)
}

// pipeline sends a group of commands and reads one reply per command, in
// order (RFC 2920 §3.2). The writer runs beside the reader so that a long
// group cannot deadlock against a server that stops reading until its
// replies are consumed. Reading stops at the first error or 421; replies
// holds what was read. Before the group goes out, nothing may be waiting
// (RFC 2920 §3.1: a group follows the replies to the last one). A QUIT at
// the end of the group that gets no reply within QuitGrace is let go:
// every reply that matters has been read. The time spent waiting for it
// is kept in quitWait, so that delays= does not blame it on MAIL/RCPT.
func (c *conn) pipeline(cmds []command) (replies []*Reply, err *Error) {
	start := time.Now()
	if e := c.unsolicited(cmds[0].verb); e != nil {
		return nil, e
	}
	werr := make(chan *Error, 1)
	// The writer works on a copy of c: a failed write marks the copy
	// closed, not c, which the reader owns (a cancelled run closes the
	// socket under both at once).
	wc := *c
	go func() { werr <- wc.write(cmds) }()
	for _, cmd := range cmds {
		r, err := c.read(cmd.verb.phase(), cmd.line(), start)
		if cmd.verb == verbQUIT {
			if err != nil && errors.Is(err.Kind, ErrTimeout) {
				// Unanswered QUIT: hang up, as after any QUIT.
				<-werr
				return replies, nil
			}
		}
		if err != nil {
			// Unblock a writer stuck on a full socket buffer.
			_ = c.nc.SetWriteDeadline(time.Now())
			<-werr
			return replies, err
		}
		replies = append(replies, r)
		if c.closed {
			break
		}
	}
	if e := <-werr; e != nil && len(replies) < len(cmds) && !c.closed {
		return replies, e
	}
	return replies, nil
}

// failure maps a read or write error onto the *Error for phase (see
// the package's one mapper, failure in stop.go) and marks the dialogue
// over: after any failure there is nobody to say QUIT to.
func (c *conn) failure(phase Phase, err error) *Error {
	c.closed = true
	return failure(c.ctx, c.deadline, phase, err)
}

// parseEHLO reads the extension keywords of an EHLO/LHLO reply (RFC 5321
// §4.1.1.1): every line after the first is "KEYWORD [params]".
func parseEHLO(r *Reply) map[string]string {
	ext := map[string]string{}
	for _, l := range r.Lines[1:] {
		if len(l) < 5 {
			continue
		}
		kw, params, _ := strings.Cut(l[4:], " ")
		ext[strings.ToUpper(kw)] = params
	}
	return ext
}

func (a *Attempt) String() string {
	if a.Network == "unix" {
		return a.Host
	}
	return fmt.Sprintf("%s[%s]:%d", a.Host, a.Address, a.Port)
}
