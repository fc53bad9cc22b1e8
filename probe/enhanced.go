package probe

import (
	"strconv"
	"strings"
)

// EnhancedCode is an RFC 3463 enhanced status code as numbers — class,
// subject, detail — as go-smtp's EnhancedCode: "5.1.1" is {5, 1, 1}. The
// zero value means the reply carried none. Consumers branch on the
// numbers (Subject() == 7 is a policy refusal, RFC 3463 §3.8) instead of
// cutting strings; String gives the text form back.
type EnhancedCode [3]int

// ParseEnhancedCode parses "C.SSS.DDD": class 2, 4 or 5, subject and
// detail of one to three digits (RFC 3463 §2).
func ParseEnhancedCode(s string) (EnhancedCode, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return EnhancedCode{}, false
	}
	var c EnhancedCode
	for i, p := range parts {
		if len(p) < 1 || len(p) > 3 {
			return EnhancedCode{}, false
		}
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return EnhancedCode{}, false
			}
		}
		c[i], _ = strconv.Atoi(p)
	}
	return c, true
}

// ValidEnhanced reports whether s has the form of an RFC 3463 status code
// with class 2, 4 or 5.
func ValidEnhanced(s string) bool {
	_, ok := ParseEnhancedCode(s)
	return ok
}

// IsZero reports whether the reply carried no enhanced code.
func (c EnhancedCode) IsZero() bool { return c == EnhancedCode{} }

// Class is 2 (success), 4 (persistent transient) or 5 (permanent).
func (c EnhancedCode) Class() int { return c[0] }

// Subject is the RFC 3463 §3 subject: 1 addressing, 2 mailbox, 3 mail
// system, 4 network and routing, 5 protocol, 6 content, 7 security or
// policy.
func (c EnhancedCode) Subject() int { return c[1] }

// Detail is the third number.
func (c EnhancedCode) Detail() int { return c[2] }

// String is the text form ("5.1.1"), "" for the zero value.
func (c EnhancedCode) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.Itoa(c[0]) + "." + strconv.Itoa(c[1]) + "." + strconv.Itoa(c[2])
}
