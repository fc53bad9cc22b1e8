package probe

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// session is an open, greeted and introduced connection, ready for MAIL.
type session struct {
	p    *prober
	c    *conn
	att  *Attempt
	ext  map[string]string
	stop func() bool // releases the context watcher that closes the socket
}

// pending is a recipient carried through an attempt.
type pending struct {
	addr Address
	out  *Outcome // nil for the catch-all probe's random recipient
	res  RcptResult
	done bool
}

// open dials t and starts a session on the connection. On failure the
// attempt's Err is set, the connection is closed and nil is returned.
func (p *prober) open(ctx context.Context, t target, att *Attempt, tlsMode TLSMode) *session {
	start := time.Now()
	defer func() { att.Setup = time.Since(start) }()
	nc, err := p.dial(ctx, t, att)
	if err != nil {
		att.Err = err
		return nil
	}
	att.nexthop = t.nexthop
	return p.start(ctx, nc, t.host, att, tlsMode)
}

// start runs the opening of a session on nc, a connection that is already
// open (as mox's smtpclient.New does, so tests can hand it one end of a
// net.Pipe): it reads the greeting, introduces itself (EHLO/HELO/LHLO)
// and negotiates STARTTLS, or first the implicit TLS of SMTPS. host is
// the name a certificate must carry. start owns nc: on failure it sets
// att.Err, closes nc and returns nil; otherwise close ends it.
func (p *prober) start(ctx context.Context, nc net.Conn, host string, att *Attempt, tlsMode TLSMode) *session {
	c := newConn(nc, att, p.cfg.Timeout, p.deadline, p.tap)
	c.ctx = ctx
	// Closing the socket is what unblocks a read when the whole probe
	// is cancelled (Ctrl-C), not only when a deadline passes.
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	s := &session{p: p, c: c, att: att}
	fail := func(e *Error) *session {
		att.Err = e
		s.close(stop)
		return nil
	}

	if p.cfg.Protocol.spec().implicitTLS {
		if err := p.handshake(c, serverNameFor(host)); err != nil {
			return fail(err)
		}
	}
	greet, err := c.read(PhaseGreeting, "", time.Now())
	att.Greeting = greet
	if err != nil {
		return fail(err)
	}
	if greet.Class() != 2 {
		return fail(&Error{Kind: ErrRejected, Phase: PhaseGreeting, Reply: greet})
	}
	if e := s.hello(); e != nil {
		return fail(e)
	}
	if p.cfg.Protocol.spec().implicitTLS || tlsMode == TLSNever {
		return s.keep(stop)
	}
	if !offersSTARTTLS(s.ext) {
		if tlsMode == TLSAlways {
			return fail(&Error{Kind: ErrTLSRequired, Phase: PhaseSTARTTLS, Detail: "the server did not offer STARTTLS"})
		}
		return s.keep(stop)
	}
	r, err := c.do(command{verb: verbSTARTTLS})
	if err != nil {
		return fail(err)
	}
	if why := misfit(verbSTARTTLS, r); why != "" {
		c.closed = true
		return fail(desyncError(PhaseSTARTTLS, r, why))
	}
	if r.Code != 220 {
		// RFC 3207 §4: 454 "TLS not available due to temporary reason".
		// At the "may" level an MTA goes on in clear; asked for TLS, we
		// stop.
		if tlsMode == TLSAlways || c.closed {
			return fail(&Error{Kind: ErrRejected, Phase: PhaseSTARTTLS, Reply: r})
		}
		att.TLS = &TLSInfo{VerifyError: "STARTTLS refused: " + r.Text(), VerifyKind: VerifyOther}
		return s.keep(stop)
	}
	if c.waiting() {
		// Whatever came with the 220 is not the server's half of a
		// handshake we have not begun: never hand it to crypto/tls.
		c.closed = true
		return fail(&Error{Kind: ErrProtocol, Phase: PhaseSTARTTLS, Reply: r, Err: ErrDataBeforeTLS,
			Detail: "the server sent data after its 220 reply to STARTTLS, before the TLS handshake; it is not fed to the handshake"})
	}
	if err := p.handshake(c, serverNameFor(host)); err != nil {
		return fail(err)
	}
	// RFC 3207 §4.2: forget what was learned before TLS and ask again.
	if e := s.hello(); e != nil {
		return fail(e)
	}
	return s.keep(stop)
}

func (s *session) keep(stop func() bool) *session {
	s.stop = stop
	return s
}

// hello sends EHLO (LHLO for LMTP), falling back to HELO when an SMTP
// server does not know EHLO (RFC 5321 §4.1.4 allows it; Postfix does it on
// a 5xx).
func (s *session) hello() *Error {
	spec := s.p.cfg.Protocol.spec()
	v := spec.hello
	r, err := s.c.do(command{verb: v, arg: s.p.cfg.HELO})
	if err != nil {
		return err
	}
	if why := misfit(v, r); why != "" {
		s.c.closed = true
		return desyncError(v.phase(), r, why)
	}
	if r.Class() == 2 {
		s.ext = parseEHLO(r)
		s.att.Extensions = s.ext
		return nil
	}
	if spec.heloFallback && r.Class() == 5 && !s.c.closed {
		r, err = s.c.do(command{verb: verbHELO, arg: s.p.cfg.HELO})
		if err != nil {
			return err
		}
		if why := misfit(verbHELO, r); why != "" {
			s.c.closed = true
			return desyncError(PhaseHELO, r, why)
		}
		if r.Class() == 2 {
			s.ext = map[string]string{}
			s.att.Extensions = s.ext
			return nil
		}
		return &Error{Kind: ErrRejected, Phase: PhaseHELO, Reply: r}
	}
	return &Error{Kind: ErrRejected, Phase: v.phase(), Reply: r}
}

func (s *session) offers(kw string) bool {
	_, ok := s.ext[kw]
	return ok
}

// verify runs as many transactions as it takes to ask RCPT for every
// pending recipient: MAIL, a window of RCPTs, RSET. A 452 4.5.3 "too many
// recipients" (RFC 5321 §4.5.3.1.10) leaves a recipient for the next
// transaction. With last set, QUIT rides in the final group so that one
// recipient costs one round trip after EHLO when PIPELINING is offered.
// It returns the first error that ended the session.
func (s *session) verify(rcpts []*pending, last bool) *Error {
	start, quit0 := time.Now(), s.c.quitWait
	defer func() {
		// delays= blames MAIL and RCPT for their own time only: the wait
		// for a pipelined QUIT's reply is nobody's transaction.
		s.att.Transaction += time.Since(start) - (s.c.quitWait - quit0)
	}()
	todo := make([]*pending, 0, len(rcpts))
	for _, r := range rcpts {
		if s.p.fromUTF8 && !s.offers("SMTPUTF8") {
			// RFC 6531 §3.4: a UTF-8 sender cannot be given to a server
			// without SMTPUTF8, so no recipient can be asked.
			r.res = RcptResult{Recipient: r.addr.String(), Phase: PhaseMAIL,
				Err: &Error{Kind: ErrNoSMTPUTF8, Phase: PhaseMAIL, Detail: "the sender address needs SMTPUTF8"}}
			r.done = true
			continue
		}
		if r.addr.UTF8 && !s.offers("SMTPUTF8") {
			r.res = RcptResult{Recipient: r.addr.String(), Phase: PhaseRCPT,
				Err: &Error{Kind: ErrNoSMTPUTF8, Phase: PhaseRCPT}}
			r.done = true
			continue
		}
		todo = append(todo, r)
	}
	window := s.p.cfg.RcptWindow
	if window <= 0 {
		window = DefaultRcptWindow
	}
	for len(todo) > 0 {
		n := min(window, len(todo))
		final := last && n == len(todo)
		retry, quit, err := s.transaction(todo[:n], final)
		if err != nil {
			return err
		}
		if len(retry) == n {
			// The server limited us without deciding anyone: stop
			// rather than loop. The 452 stands as their answer.
			for _, r := range retry {
				r.done = true
			}
			retry = nil
		}
		todo = append(retry, todo[n:]...)
		if quit {
			break
		}
	}
	return nil
}

// transaction sends MAIL, the RCPTs of group and RSET (and QUIT when
// final), pipelined when the server offers PIPELINING (RFC 2920), else in
// lock-step. It returns the recipients to try again in a new transaction.
func (s *session) transaction(group []*pending, final bool) (retry []*pending, quit bool, _ *Error) {
	mail := command{verb: verbMAIL, arg: "<" + s.p.from + ">"}
	needUTF8 := false
	for _, r := range group {
		needUTF8 = needUTF8 || r.addr.UTF8
	}
	if needUTF8 || s.p.fromUTF8 {
		mail.arg += " SMTPUTF8"
	}
	cmds := []command{mail}
	for _, r := range group {
		cmds = append(cmds, command{verb: verbRCPT, arg: "<" + r.addr.String() + ">"})
	}
	cmds = append(cmds, command{verb: verbRSET})
	// QUIT rides along only where it saves a round trip and cannot cost
	// anything: pipelined, and with a single recipient, which no "452
	// too many recipients" can send back for another transaction.
	pipelined := s.offers("PIPELINING") && !s.att.WithoutPipelining
	final = final && pipelined && len(group) == 1
	if final {
		cmds = append(cmds, command{verb: verbQUIT})
	}

	var replies []*Reply
	var e *Error
	if pipelined {
		replies, e = s.c.pipeline(cmds)
	} else {
		replies, e = s.lockstep(cmds)
	}
	// Replies out of step are never believed (desync.go): a reply that
	// cannot be its command's, or one reply more than there were
	// commands, means every reply may belong to another command.
	if d := checkReplies(cmds, replies); d != nil {
		e = d
	} else if last := len(replies) - 1; e == nil && last >= 0 && cmds[last].verb != verbQUIT {
		// After QUIT's 221 the dialogue is over: whatever follows (a
		// blank line, a banner) can shift nothing.
		e = s.c.leftover(cmds[last].verb)
	} else if d := shortGroup(pipelined, cmds, replies, e); d != nil {
		e = d
	}
	if e != nil && errors.Is(e, ErrDesync) {
		s.c.closed = true // no QUIT into a dialogue out of step
		for _, r := range group {
			r.res = RcptResult{Recipient: r.addr.String(), Phase: e.Phase, Err: e}
			r.done = true
		}
		return nil, final, e
	}
	if final && len(replies) == len(cmds) {
		s.c.closed = true // QUIT answered
	}
	// Decide each recipient from the replies read.
	var mailReply *Reply
	if len(replies) > 0 {
		mailReply = replies[0]
	}
	for i, r := range group {
		r.res.Recipient = r.addr.String()
		switch {
		case mailReply != nil && mailReply.Class() != 2:
			r.res.Phase, r.res.Reply = PhaseMAIL, mailReply
			r.res.Err = &Error{Kind: ErrRejected, Phase: PhaseMAIL, Reply: mailReply}
		case len(replies) > i+1:
			rep := replies[i+1]
			r.res.Phase, r.res.Reply = PhaseRCPT, rep
			if rep.Class() != 2 {
				r.res.Err = &Error{Kind: ErrRejected, Phase: PhaseRCPT, Reply: rep}
			}
			if tooManyRecipients(rep) && !s.c.closed {
				retry = append(retry, r)
				continue
			}
		case e != nil:
			// Unanswered: the error that ended the session decides.
			ph := PhaseRCPT
			if mailReply == nil {
				ph = PhaseMAIL
			}
			r.res.Phase, r.res.Err = ph, e
			if e.Reply != nil {
				r.res.Reply = e.Reply
			}
		default:
			// A 421 ended reading early: it answers everything after it.
			lastR := replies[len(replies)-1]
			r.res.Phase, r.res.Reply = PhaseRCPT, lastR
			r.res.Err = &Error{Kind: ErrRejected, Phase: PhaseRCPT, Reply: lastR}
		}
		r.done = true
	}
	if e != nil {
		return nil, final, e
	}
	if mailReply != nil && mailReply.Class() != 2 {
		return nil, final, &Error{Kind: ErrRejected, Phase: PhaseMAIL, Reply: mailReply}
	}
	if s.c.closed && !final {
		last := replies[len(replies)-1]
		return nil, final, &Error{Kind: ErrRejected, Phase: last.phaseHint(cmds, len(replies)-1), Reply: last}
	}
	return retry, final, nil
}

// phaseHint names the phase of the i-th command of cmds.
func (r *Reply) phaseHint(cmds []command, i int) Phase {
	if i < len(cmds) {
		return cmds[i].verb.phase()
	}
	return PhaseRCPT
}

// lockstep sends one command at a time, stopping at a failed MAIL or a
// closed session. Replies line up with cmds like pipeline's.
func (s *session) lockstep(cmds []command) ([]*Reply, *Error) {
	var replies []*Reply
	for i, cmd := range cmds {
		r, err := s.c.do(cmd)
		if err != nil {
			return replies, err
		}
		replies = append(replies, r)
		if s.c.closed || (i == 0 && r.Class() != 2) {
			return replies, nil
		}
	}
	return replies, nil
}

// tooManyRecipients recognises RFC 5321 §4.5.3.1.10's 452 (and the 4.5.3
// enhanced code), the signal to start a new transaction for the rest.
func tooManyRecipients(r *Reply) bool {
	return r.Code == 452 && (r.Status == EnhancedCode{4, 5, 3} || strings.Contains(strings.ToLower(r.Message()), "too many recipients"))
}

// close ends the session politely (RSET already went with the last
// transaction; QUIT unless the server has closed) and releases the socket.
func (s *session) close(stop func() bool) { _ = s.finish(stop) }

// finish is close that also reports a dialogue found out of step at QUIT:
// a reply waiting before QUIT went out, or a QUIT answered with anything
// but 221 (the RSET's 250, one reply behind), means the replies read
// before were shifted too, and the caller must not believe them.
func (s *session) finish(stop func() bool) *Error {
	if stop == nil {
		stop = s.stop
	}
	var desync *Error
	if !s.c.closed {
		// RFC 5321 §4.1.1.10: the client sends QUIT and waits for the
		// reply; QuitGrace at most (read), since nothing depends on it.
		r, err := s.c.do(command{verb: verbQUIT})
		switch {
		case err != nil && errors.Is(err, ErrDesync):
			desync = err
		case err == nil:
			if why := misfit(verbQUIT, r); why != "" {
				desync = desyncError(PhaseQUIT, r, why)
			}
		}
		s.c.closed = true
	}
	if stop != nil {
		stop()
	}
	_ = s.c.nc.Close()
	return desync
}

// RunConn runs one probe dialogue on nc, a connection already open to
// host: the greeting, EHLO (LHLO for LMTP), STARTTLS as cfg.STARTTLS says
// (or implicit TLS for SMTPS), MAIL, one RCPT per recipient, RSET and
// QUIT — what Run does on each address it dials, without dialling and
// without MX (mox's smtpclient.New takes its connection the same way).
// host is the name a certificate must carry. RunConn owns nc and closes
// it. It returns an error only for a bad configuration; what happened is
// in the Attempt, one RcptResult per recipient in Rcpts.
func RunConn(ctx context.Context, cfg Config, nc net.Conn, host string, rcpts []Address) (*Attempt, error) {
	cfg, err := cfg.withDefaults(false)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	p := newProber(cfg)
	start := time.Now()
	ctx, cancel := p.begin(ctx, start)
	defer cancel()
	att := &Attempt{Host: host, Network: nc.RemoteAddr().Network()}
	ps := make([]*pending, len(rcpts))
	for i, a := range rcpts {
		ps[i] = &pending{addr: a, res: RcptResult{Recipient: a.String()}}
	}
	s := p.start(ctx, nc, host, att, cfg.STARTTLS)
	att.Setup = time.Since(start)
	p.converse(s, att, ps)
	return att, nil
}
