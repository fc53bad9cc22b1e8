package probe

import (
	"slices"
	"strings"
)

// Protocol is the dialect spoken to the server.
type Protocol string

const (
	ProtocolSMTP  Protocol = "smtp"  // EHLO (HELO fallback), optional STARTTLS
	ProtocolLMTP  Protocol = "lmtp"  // RFC 2033: LHLO, no STARTTLS fallback to HELO
	ProtocolSMTPS Protocol = "smtps" // RFC 8314 implicit TLS
)

// protocolSpec is what a protocol changes in the dialogue. Adding a
// protocol is adding its row to protocols (and, for a new greeting
// command, its verb in client.go).
type protocolSpec struct {
	port         int
	hello        verb // the introduction: EHLO, or LHLO (RFC 2033 §4.1)
	heloFallback bool // HELO after a 5xx to EHLO (RFC 5321 §4.1.4; Postfix does it)
	implicitTLS  bool // TLS before the greeting (RFC 8314 §3.3)
	// backend: a delivery backend behind the MTA (LMTP), which keeps no
	// smtpd-style error count per session.
	backend bool
}

// protocolRow is one protocol of the table.
type protocolRow struct {
	name Protocol
	spec protocolSpec
}

// protocols is the table of the protocols a probe speaks, in the order
// messages list them.
var protocols = []protocolRow{
	{ProtocolSMTP, protocolSpec{port: PortSMTP, hello: verbEHLO, heloFallback: true}},
	{ProtocolLMTP, protocolSpec{port: PortLMTP, hello: verbLHLO, backend: true}},
	{ProtocolSMTPS, protocolSpec{port: PortSMTPS, hello: verbEHLO, heloFallback: true, implicitTLS: true}},
}

func (p Protocol) row() int {
	return slices.IndexFunc(protocols, func(r protocolRow) bool { return r.name == p })
}

// spec returns p's row; an unknown protocol (never past NewConfig) gets
// SMTP's.
func (p Protocol) spec() protocolSpec {
	if i := p.row(); i >= 0 {
		return protocols[i].spec
	}
	return protocols[0].spec
}

// Valid reports whether p is a protocol the probe speaks.
func (p Protocol) Valid() bool { return p.row() >= 0 }

// protocolNames lists the protocols for messages: "smtp, lmtp or smtps".
func protocolNames() string {
	names := make([]string, len(protocols))
	for i, r := range protocols {
		names[i] = string(r.name)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// DefaultPort is the port of a protocol.
func DefaultPort(p Protocol) int { return p.spec().port }
