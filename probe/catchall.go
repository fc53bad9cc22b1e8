package probe

import (
	"crypto/rand"
	"encoding/hex"
)

// addCatchAllProbe adds a random local part at the group's domain: a
// server that accepts it accepts anything, so its "250" for a real
// recipient proves nothing about that mailbox.
func (p *prober) addCatchAllProbe(g *group) {
	if len(g.rcpts) == 0 {
		return
	}
	// With --server one group may hold several domains; a random local
	// part says something only about its own domain.
	for _, r := range g.rcpts[1:] {
		if r.addr.ASCIIDomain != g.rcpts[0].addr.ASCIIDomain {
			return
		}
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := g.rcpts[0].addr
	a.Local = "mailprobe-nonexistent-" + hex.EncodeToString(b[:])
	a.UTF8 = !isASCII(a.Domain)
	g.rcpts = append(g.rcpts, &pending{addr: a})
}

// judgeCatchAll records whether the random recipient was accepted, and
// removes it again.
func (p *prober) judgeCatchAll(g *group) {
	n := len(g.rcpts) - 1
	if n < 0 || g.rcpts[n].out != nil {
		return
	}
	probe := g.rcpts[n]
	g.rcpts = g.rcpts[:n]
	if probe.res.Phase != PhaseRCPT || probe.res.Reply == nil {
		return
	}
	accepted := probe.res.Reply.Class() == 2
	for _, r := range g.rcpts {
		r.out.CatchAll = &accepted
	}
}
