package probe

import (
	"context"
	"fmt"
	"sync"
)

func (p *prober) newAttempt(g *group, t target) *Attempt {
	att := &Attempt{Host: t.host, Address: t.address, Port: t.port, Network: t.network}
	if t.network == "unix" {
		att.Address, att.Port = "", 0
	}
	g.dom.Attempts = append(g.dom.Attempts, att)
	return att
}

// probeInOrder dials targets the way an MTA does: in preference order,
// moving on after connection failures, temporary errors and 5xx greetings,
// stopping at the first definitive answer for every recipient, and within
// Postfix's address and session limits.
func (p *prober) probeInOrder(ctx context.Context, g *group, targets []target) {
	left := g.rcpts
	addrs, sessions := 0, 0
	for _, t := range targets {
		var skip string
		switch {
		case len(left) == 0:
			skip = "not needed: an earlier host gave a definitive answer"
		case addrs >= p.cfg.MaxAddresses:
			skip = fmt.Sprintf("not tried: an MTA gives up after %d addresses (Postfix smtp_mx_address_limit)", p.cfg.MaxAddresses)
		case sessions >= p.cfg.MaxSessions:
			skip = fmt.Sprintf("not tried: an MTA gives up after %d sessions (Postfix smtp_mx_session_limit)", p.cfg.MaxSessions)
		case ctx.Err() != nil:
			skip = "not tried: " + p.ctxReason(ctx)
		}
		if skip != "" {
			att := p.newAttempt(g, t)
			att.Skipped = skip
			continue
		}
		addrs++
		att := p.attempt(ctx, g, t, left, p.cfg.STARTTLS)
		if att.Greeting != nil {
			sessions++
		}
		var still []*pending
		for _, r := range left {
			if !r.res.Definitive() {
				still = append(still, r)
			}
		}
		left = still
	}
}

// probeAll dials every target at once, each carrying every recipient; a
// recipient's outcome is then the one the first target in MTA order gave
// definitively, else the last.
func (p *prober) probeAll(ctx context.Context, g *group, targets []target) {
	per := make([][]*pending, len(targets))
	atts := make([]*Attempt, len(targets))
	for i, t := range targets {
		atts[i] = p.newAttempt(g, t)
		per[i] = make([]*pending, len(g.rcpts))
		for j, r := range g.rcpts {
			per[i][j] = &pending{addr: r.addr}
		}
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, atts[i], t, per[i], p.cfg.STARTTLS)
		}()
	}
	wg.Wait()
	for j, r := range g.rcpts {
		var chosen *Attempt
		for i := range targets {
			r.res, chosen = per[i][j].res, atts[i]
			if r.res.Definitive() {
				break
			}
		}
		if o := r.out; o != nil {
			o.Attempt, o.Transaction = chosen, chosen.Transaction
			for _, a := range atts {
				o.Setup += a.Setup
			}
		}
	}
}

// attempt makes one attempt for the recipients still open and records it
// in their outcomes.
func (p *prober) attempt(ctx context.Context, g *group, t target, rcpts []*pending, mode TLSMode) *Attempt {
	att := p.newAttempt(g, t)
	p.run(ctx, att, t, rcpts, mode)
	if p.plaintextFallback(att, mode) {
		// Postfix at the "may" level retries in clear after a failed
		// STARTTLS (PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_FAILURE in
		// smtp_proto.c); so do we, as a separate, labelled attempt.
		retry := p.newAttempt(g, t)
		retry.PlaintextRetry = true
		p.run(ctx, retry, t, rcpts, TLSNever)
		att = retry
	}
	if desyncRetry(ctx, att) {
		// Replies out of step in a pipelined session: talk to the host
		// once more, one command at a time, as Postfix does with a
		// server that mishandles pipelining. A second desync stands.
		retry := p.newAttempt(g, t)
		retry.WithoutPipelining = true
		retry.PlaintextRetry = att.PlaintextRetry
		m := mode
		if att.PlaintextRetry {
			m = TLSNever
		}
		p.run(ctx, retry, t, rcpts, m)
		att = retry
	}
	for _, r := range rcpts {
		if o := r.out; o != nil {
			o.Attempt = att
			o.Setup += att.Setup
			o.Transaction = att.Transaction
		}
	}
	return att
}

// run is one connection: open, verify every recipient, close. Recipients
// not decided by a reply take the error that ended the attempt.
func (p *prober) run(ctx context.Context, att *Attempt, t target, rcpts []*pending, mode TLSMode) {
	for _, r := range rcpts {
		r.done = false
		r.res = RcptResult{Recipient: r.addr.String()}
	}
	p.converse(p.open(ctx, t, att, mode), att, rcpts)
}

// converse asks s (nil when it could not be opened) for every recipient
// and closes it. Recipients not decided by a reply take the error that
// ended the attempt.
func (p *prober) converse(s *session, att *Attempt, rcpts []*pending) {
	if s != nil {
		if err := s.verify(rcpts, true); err != nil {
			att.Err = err
		}
		if d := s.finish(nil); d != nil && att.Err == nil {
			// Found out of step only at QUIT: what was read before is
			// not to be believed either.
			att.Err = d
			for _, r := range rcpts {
				if r.done {
					r.res = RcptResult{Recipient: r.addr.String(), Phase: d.Phase, Err: d}
				}
			}
		}
	}
	for _, r := range rcpts {
		if !r.done && r.res.Reply == nil && r.res.Err == nil && att.Err != nil {
			r.res.Phase, r.res.Err, r.res.Reply = att.Err.Phase, att.Err, att.Err.Reply
		}
		att.Rcpts = append(att.Rcpts, r.res)
	}
}
