package peertext

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNeutralise(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"printable ASCII is untouched", "250 2.1.5 Ok", "250 2.1.5 Ok"},
		{"printable non-ASCII is untouched", "550 Benutzer unbekannt: Müller 用户", "550 Benutzer unbekannt: Müller 用户"},
		{"ESC sequence", "550 \x1b[31mred\x1b[0m", `550 \x1b[31mred\x1b[0m`},
		{"OSC title and bell", "220 \x1b]0;pwned\x07", `220 \x1b]0;pwned\x07`},
		{"CR, backspace, NUL, DEL", "a\rb\bc\x00d\x7f", `a\x0db\x08c\x00d\x7f`},
		{"tab becomes a space", "a\tb", "a b"},
		{"C1 CSI", "550 \u009b31m", `550 \u009b31m`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"right-to-left override", "250 \u202eko resu", `250 \u202eko resu`},
		{"every embedding and override", "\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"every isolate", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero-width space, non-joiner, joiner", "a\u200bb\u200cc\u200dd", `a\u200bb\u200cc\u200dd`},
		{"word joiner and invisible operators", "\u2060\u2061\u2062\u2063\u2064", `\u2060\u2061\u2062\u2063\u2064`},
		{"byte order mark", "\ufeff250 Ok", `\ufeff250 Ok`},
		{"soft hyphen, Mongolian vowel separator", "a\u00adb\u180ec", `a\u00adb\u180ec`},
		{"Hangul fillers", "\u3164\u115f\u1160\uffa0", `\u3164\u115f\u1160\uffa0`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"variation selector", "a\ufe0f", `a\ufe0f`},
		{"tag characters (astral)", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"interlinear annotation", "\ufff9a\ufffab\ufffb", `\ufff9a\ufffab\ufffb`},
		{"invalid UTF-8", "a\xffb\xed\xa0\x80", `a\xffb\xed\xa0\x80`},
		{"an escape that is already text stays as it is", `\x1b[31m`, `\x1b[31m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Neutralise(tt.in)
			assert.Equal(t, tt.want, got)
			assert.True(t, Clean(got), "result must be clean: %q", got)
			assert.Equal(t, got, Neutralise(got), "idempotent")
		})
	}
}

// TestNeutraliseEveryRune: for every code point, the result is clean, and
// a rune passes through unchanged exactly when it is safe.
func TestNeutraliseEveryRune(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		s := string(r)
		got := Neutralise(s)
		if !Clean(got) {
			t.Fatalf("U+%04X: result %q is not clean", r, got)
		}
		if r != '\t' && (got == s) == Unsafe(r) {
			t.Fatalf("U+%04X: unsafe=%v but result %q", r, Unsafe(r), got)
		}
	}
}

// TestJSONCarriesEscapes: a neutralised string goes through encoding/json
// with its escapes as text, and the JSON bytes hold no unsafe rune.
func TestJSONCarriesEscapes(t *testing.T) {
	b, err := json.Marshal(map[string]string{"reply": Neutralise("550 \x1b[2J\u202eevil\u200b")})
	require.NoError(t, err)
	assert.True(t, Clean(string(b)), "%s", b)
	assert.Equal(t, `{"reply":"550 \\x1b[2J\\u202eevil\\u200b"}`, string(b))
}

func FuzzNeutralise(f *testing.F) {
	for _, s := range []string{"250 Ok", "\x1b[2J", "\u202e\u200b", "\xff\xfe", "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Neutralise(s)
		if !Clean(got) {
			t.Fatalf("%q → %q is not clean", s, got)
		}
		if Neutralise(got) != got {
			t.Fatalf("not idempotent on %q", s)
		}
		if Clean(s) && got != s {
			t.Fatalf("clean text %q changed to %q", s, got)
		}
	})
}
