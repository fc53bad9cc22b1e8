// Package peertext is the one neutraliser for text that comes from the
// other side: SMTP reply lines and EHLO keywords, TLS certificate
// subjects, issuers and names, DNS names and TXT records. Everything a
// peer sends passes through Neutralise where it enters a result, so no
// renderer (text, JSON, a Postfix line, a transcript) can hand a server's
// bytes to a terminal or to a human reader in a form that changes what
// they see.
//
// What is escaped, and why:
//
//   - C0 controls and DEL (\x1b, \x07, \x08, \r…), and the C1 controls
//     U+0080–U+009F (\u009b is a one-character CSI on many terminals):
//     terminal escape sequences, cursor movement, bells, overwriting.
//   - Every Unicode bidirectional control: U+202A–U+202E (embeddings,
//     overrides), U+2066–U+2069 (isolates), U+200E, U+200F (marks), U+061C
//     (Arabic letter mark). They reorder what is displayed, the
//     "Trojan Source" trick (CVE-2021-42574): "550 user unknown" can be
//     made to show as something else.
//   - Zero-width and invisible characters: U+200B–U+200D, U+2060–U+2064,
//     U+FEFF, U+180E, U+00AD, the Hangul fillers, variation selectors,
//     tag characters — every format character (category Cf) and every
//     other default-ignorable code point. They make two different texts
//     look the same.
//   - U+2028 and U+2029 (line and paragraph separators): line breaks in
//     disguise.
//   - Bytes that are not UTF-8, as \xNN.
//
// Escapes are plain ASCII (\x1b, \u202e, \U000e0001), so the result is
// valid UTF-8, Neutralise is idempotent, and JSON carries the escaped
// text as it is. Tabs become a space. Everything else, including every
// printable non-ASCII letter, passes through.
package peertext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Neutralise returns s with every unsafe character escaped (see the
// package doc). Text that is printable ASCII is returned as it is, without
// allocating.
func Neutralise(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// Unsafe reports whether r must not reach a reader as it is: a control
// character, a bidi control, a format or other invisible character, or a
// line/paragraph separator. Tests use it to check that no such rune is
// left anywhere in a result.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r < 0x7f:
		return false
	case r == 0x2028, r == 0x2029:
		return true
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0:
		// Hangul fillers: letters (Lo) that render as nothing.
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Bidi_Control, unicode.Join_Control)
}

// Clean reports whether s holds nothing Neutralise would change: valid
// UTF-8 without an unsafe rune. A tab counts as unsafe (Neutralise makes
// it a space).
func Clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if Unsafe(r) {
			return false
		}
	}
	return true
}

// All neutralises every string of ss in place and returns ss.
func All(ss []string) []string {
	for i, s := range ss {
		ss[i] = Neutralise(s)
	}
	return ss
}
