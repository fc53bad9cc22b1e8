package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/mailprobe/mailprobe/peertext"
)

// ErrBadInput is wrapped by every *InputError: the input was refused before
// anything went on the wire.
var ErrBadInput = errors.New("bad input")

// InputError names what was wrong with a piece of user input.
type InputError struct {
	Field   string // "recipient", "--from", "--helo", "--server"…
	Value   string // quoted with %q when printed, so control characters show
	Problem string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Problem)
}

func (e *InputError) Unwrap() error { return ErrBadInput }

// Limits from RFC 5321 §4.5.3.1: a local part of at most 64 octets and a
// path of at most 256 octets including the angle brackets, hence 254 for
// the address itself (RFC 3696 erratum 1690).
const (
	MaxLocalPart = 64
	MaxAddress   = 254
	MaxDomain    = 253
)

// Address is a validated mailbox (RFC 5321 §4.1.2 Mailbox).
type Address struct {
	Local  string // as it goes on the wire: dot-atom or quoted string
	Domain string // as given (U-labels kept), or "[192.0.2.1]"
	// ASCIIDomain is the domain in A-label form, used for DNS.
	ASCIIDomain string
	// Literal is set for address literals ([192.0.2.1], [IPv6:…]).
	Literal netip.Addr
	// UTF8 is true when the address needs SMTPUTF8 (RFC 6531) to be sent.
	UTF8 bool
}

func (a Address) String() string {
	if a.Local == "" {
		return a.Domain
	}
	return a.Local + "@" + a.Domain
}

// ParseAddress validates a recipient or sender address. Angle brackets
// around it are accepted and removed.
func ParseAddress(field, s string) (Address, error) {
	bad := func(problem string) (Address, error) {
		return Address{}, &InputError{Field: field, Value: s, Problem: problem}
	}
	if p := controlProblem(s); p != "" {
		return bad(p)
	}
	in := s
	if strings.HasPrefix(in, "<") && strings.HasSuffix(in, ">") {
		in = in[1 : len(in)-1]
	}
	if len(in) > MaxAddress {
		return bad(fmt.Sprintf("address is %d octets long, the limit is %d (RFC 5321 §4.5.3.1.3)", len(in), MaxAddress))
	}
	at := strings.LastIndexByte(in, '@')
	if at < 0 {
		return bad("no @domain part")
	}
	local, domain := in[:at], in[at+1:]
	if local == "" {
		return bad("empty local part")
	}
	if len(local) > MaxLocalPart {
		return bad(fmt.Sprintf("local part is %d octets long, the limit is %d (RFC 5321 §4.5.3.1.1)", len(local), MaxLocalPart))
	}
	if p := localPartProblem(local); p != "" {
		return bad(p)
	}
	a := Address{Local: local}
	d, err := parseDomainPart(domain)
	if err != nil {
		return bad(err.Error())
	}
	a.Domain, a.ASCIIDomain, a.Literal = d.Domain, d.ASCIIDomain, d.Literal
	a.UTF8 = !isASCII(local) || d.UTF8
	return a, nil
}

// ParseDomain validates a bare domain target (no local part).
func ParseDomain(field, s string) (Address, error) {
	if p := controlProblem(s); p != "" {
		return Address{}, &InputError{Field: field, Value: s, Problem: p}
	}
	d, err := parseDomainPart(strings.TrimSuffix(s, "."))
	if err != nil {
		return Address{}, &InputError{Field: field, Value: s, Problem: err.Error()}
	}
	return d, nil
}

// ParseTarget accepts what `mailprobe probe` takes as an argument: a
// mailbox, or a bare domain.
func ParseTarget(s string) (Address, error) {
	if strings.Contains(s, "@") {
		return ParseAddress("recipient", s)
	}
	return ParseDomain("recipient", s)
}

// ValidateHELO checks a --helo name: a domain or an address literal, no
// controls, no spaces.
func ValidateHELO(s string) error {
	if p := controlProblem(s); p != "" {
		return &InputError{Field: "--helo", Value: s, Problem: p}
	}
	if _, err := parseDomainPart(s); err != nil {
		return &InputError{Field: "--helo", Value: s, Problem: err.Error()}
	}
	return nil
}

// controlProblem rejects anything that could split or smuggle an SMTP
// command: CR, LF, NUL and every other C0/C1 control, and invalid UTF-8.
func controlProblem(s string) string {
	if s == "" {
		return "empty"
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\r':
			return "contains a carriage return (CR)"
		case r == '\n':
			return "contains a line feed (LF)"
		case r == 0:
			return "contains a NUL byte"
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Sprintf("contains the control character U+%04X", r)
		case peertext.Unsafe(r):
			// A bidi control, zero-width or other invisible character:
			// no real mailbox has one, and echoed in a report it would
			// reorder or hide what the reader sees (the characters the
			// neutraliser escapes in peer text).
			return fmt.Sprintf("contains the invisible or bidi control character U+%04X", r)
		}
	}
	return ""
}

// localPartProblem checks RFC 5321 §4.1.2 Local-part = Dot-string /
// Quoted-string, with RFC 6531 UTF-8 allowed in atoms.
func localPartProblem(l string) string {
	if strings.HasPrefix(l, `"`) {
		if len(l) < 2 || !strings.HasSuffix(l, `"`) {
			return "unterminated quoted local part"
		}
		body := l[1 : len(l)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			switch {
			case c == '\\':
				if i+1 >= len(body) {
					return "quoted local part ends with a backslash"
				}
				i++
			case c == '"':
				return "unescaped quote inside quoted local part"
			case c < 0x20:
				return "control character in quoted local part"
			}
		}
		return ""
	}
	if strings.HasPrefix(l, ".") || strings.HasSuffix(l, ".") || strings.Contains(l, "..") {
		return "local part has a leading, trailing or double dot (quote it if the mailbox really has one)"
	}
	for _, r := range l {
		if r >= 0x80 {
			continue
		}
		if !isAtext(byte(r)) && r != '.' {
			return fmt.Sprintf("character %q is not allowed in an unquoted local part", r)
		}
	}
	return ""
}

func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func parseDomainPart(d string) (Address, error) {
	if d == "" {
		return Address{}, errors.New("missing domain")
	}
	if strings.HasPrefix(d, "[") {
		if !strings.HasSuffix(d, "]") {
			return Address{}, errors.New("unterminated address literal")
		}
		lit := d[1 : len(d)-1]
		v6 := false
		if len(lit) > 5 && strings.EqualFold(lit[:5], "IPv6:") {
			lit, v6 = lit[5:], true
		}
		ip, err := netip.ParseAddr(lit)
		if err != nil || ip.Zone() != "" || ip.Is6() != v6 {
			return Address{}, fmt.Errorf("invalid address literal %s (RFC 5321 §4.1.3: [192.0.2.1] or [IPv6:2001:db8::1])", d)
		}
		return Address{Domain: d, ASCIIDomain: d, Literal: ip}, nil
	}
	if len(d) > MaxDomain {
		return Address{}, fmt.Errorf("domain is %d octets long, the limit is %d", len(d), MaxDomain)
	}
	ascii := d
	utf := !isASCII(d)
	if utf {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return Address{}, fmt.Errorf("invalid internationalised domain: %v", err)
		}
		ascii = a
	}
	ascii = strings.ToLower(ascii)
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if l == "" {
			return Address{}, errors.New("domain has an empty label")
		}
		if len(l) > 63 {
			return Address{}, errors.New("domain label longer than 63 octets")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return Address{}, fmt.Errorf("domain label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return Address{}, fmt.Errorf("character %q is not allowed in a domain", c)
			}
		}
	}
	if len(labels) < 2 {
		return Address{}, errors.New("domain has a single label; mail domains need at least two (example.org)")
	}
	if _, err := netip.ParseAddr(ascii); err == nil {
		return Address{}, errors.New("an IP address must be written as an address literal: [192.0.2.1]")
	}
	return Address{Domain: d, ASCIIDomain: ascii, UTF8: utf}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
