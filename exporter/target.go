package exporter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailprobe/mailprobe/probe"
)

// Sentinel request errors; the handler maps each to an HTTP status.
var (
	ErrUnknownModule = errors.New("unknown module")
	ErrBadTarget     = errors.New("bad target")
	ErrNotAllowed    = errors.New("target not allowed for this module")
)

// request is a target resolved against its module: what to probe, and
// the key under which per-target politeness is kept.
type request struct {
	module  *Module
	target  string // normalised: lower-case domain, address or server
	server  *probe.Server
	targets []probe.Target
}

// key identifies a target+module for politeness and back-off.
func (r *request) key() string { return r.module.name + "\x00" + r.target }

// resolve parses target for module m. Recipients come from the module
// only: with target mx the query names a domain (or one address, in a
// module without recipients), with target server a host; a query can
// never add a recipient or change an option.
func resolve(m *Module, raw string) (*request, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: target= is missing", ErrBadTarget)
	}
	r := &request{module: m}
	switch m.Target {
	case TargetServer:
		srv, err := probe.ParseServer(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadTarget, err)
		}
		if srv.Network == "unix" && m.Protocol != probe.ProtocolLMTP {
			return nil, fmt.Errorf("%w: unix:PATH needs an lmtp module", ErrBadTarget)
		}
		r.server = srv
		r.target = srv.String()
		if srv.Network == "tcp" {
			r.target = strings.ToLower(r.target)
		}
		for _, rc := range m.Recipients {
			a, err := probe.ParseAddress("recipients", rc)
			if err != nil {
				return nil, err // validated at load; kept for safety
			}
			r.targets = append(r.targets, probe.Target{Address: a})
		}
	default:
		addr, err := probe.ParseTarget(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadTarget, err)
		}
		if addr.Local != "" {
			if len(m.Recipients) > 0 {
				return nil, fmt.Errorf("%w: module %q has its own recipients; give a domain", ErrBadTarget, m.name)
			}
			r.target = strings.ToLower(addr.Local + "@" + addr.ASCIIDomain)
			r.targets = []probe.Target{{Address: addr}}
			break
		}
		r.target = strings.ToLower(addr.ASCIIDomain)
		locals := m.Recipients
		if len(locals) == 0 {
			locals = []string{moduleDefaults.Recipient}
		}
		for _, l := range locals {
			a := addr
			a.Local = l
			r.targets = append(r.targets, probe.Target{Address: a})
		}
	}
	return r, nil
}

// allowed reports whether the module's patterns admit target.
func (m *Module) allowed(target string) bool {
	for _, p := range m.AllowedTargets {
		if globMatch(strings.ToLower(p), target) {
			return true
		}
	}
	return false
}

// globMatch matches s against pattern, where '*' stands for any run of
// characters (dots, '@' and '/' included) and everything else is
// literal. Iterative with one back-tracking point, so it is linear in
// practice and never recursive on hostile input.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
