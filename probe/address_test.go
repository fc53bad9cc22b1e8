package probe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		ascii   string
		utf8    bool
		problem string // substring of the error; "" = valid
	}{
		{in: "user@example.org", want: "user@example.org", ascii: "example.org"},
		{in: "<user@Example.ORG>", want: "user@Example.ORG", ascii: "example.org"},
		{in: "first.last+tag@sub.example.org", want: "first.last+tag@sub.example.org", ascii: "sub.example.org"},
		{in: `"john doe"@example.org`, want: `"john doe"@example.org`, ascii: "example.org"},
		{in: `"a\"b"@example.org`, want: `"a\"b"@example.org`, ascii: "example.org"},
		{in: "user@[192.0.2.1]", want: "user@[192.0.2.1]", ascii: "[192.0.2.1]"},
		{in: "user@[IPv6:2001:db8::1]", want: "user@[IPv6:2001:db8::1]", ascii: "[IPv6:2001:db8::1]"},
		{in: "jörg@bücher.example", want: "jörg@bücher.example", ascii: "xn--bcher-kva.example", utf8: true},
		{in: "user@example.org\r\nDATA", problem: "carriage return"},
		{in: "user@example.org\nRCPT TO:<x@y>", problem: "line feed"},
		{in: "us\x00er@example.org", problem: "NUL"},
		{in: "us\x1ber@example.org", problem: "U+001B"},
		{in: "user@exa\u0085mple.org", problem: "U+0085"},
		{in: "\u202ebidi@example.org", problem: "bidi control character U+202E"},
		{in: "us\u200ber@example.org", problem: "U+200B"},
		{in: "user@exa\u2066mple.org", problem: "U+2066"},
		{in: "\xff@example.org", problem: "UTF-8"},
		{in: strings.Repeat("a", 65) + "@example.org", problem: "local part is 65 octets"},
		{in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + "." + strings.Repeat("e", 10) + ".org", problem: "octets long, the limit is 254"},
		{in: "user", problem: "no @domain"},
		{in: "@example.org", problem: "empty local part"},
		{in: "user@", problem: "missing domain"},
		{in: "user@localhost", problem: "single label"},
		{in: "user@-bad.example", problem: "hyphen"},
		{in: "user@exa mple.org", problem: "not allowed in a domain"},
		{in: "user@192.0.2.1", problem: "address literal"},
		{in: "user@[300.1.1.1]", problem: "invalid address literal"},
		{in: "user@[2001:db8::1]", problem: "invalid address literal"},
		{in: ".user@example.org", problem: "leading, trailing or double dot"},
		{in: "us..er@example.org", problem: "double dot"},
		{in: "us er@example.org", problem: "not allowed in an unquoted local part"},
		{in: `"unterminated@example.org`, problem: "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAddress("recipient", tt.in)
			if tt.problem != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrBadInput)
				assert.Contains(t, err.Error(), tt.problem)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.String())
			assert.Equal(t, tt.ascii, a.ASCIIDomain)
			assert.Equal(t, tt.utf8, a.UTF8)
		})
	}
}

func TestParseTargetDomain(t *testing.T) {
	a, err := ParseTarget("Example.ORG.")
	require.NoError(t, err)
	assert.Equal(t, "", a.Local)
	assert.Equal(t, "example.org", a.ASCIIDomain)
	assert.Equal(t, "postmaster@Example.ORG", DomainRecipient(a).String())
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		in, network, host string
		port              int
		problem           string
	}{
		{in: "127.0.0.1", network: "tcp", host: "127.0.0.1"},
		{in: "127.0.0.1:2525", network: "tcp", host: "127.0.0.1", port: 2525},
		{in: "[::1]:24", network: "tcp", host: "::1", port: 24},
		{in: "::1", network: "tcp", host: "::1"},
		{in: "mx.example.org.", network: "tcp", host: "mx.example.org"},
		{in: "localhost:25", network: "tcp", host: "localhost", port: 25},
		{in: "unix:/run/dovecot/lmtp", network: "unix", host: "/run/dovecot/lmtp"},
		{in: "unix:relative", problem: "absolute path"},
		{in: "host:99999", problem: "port"},
		{in: "host:x", problem: "port"},
		{in: "mx.example.org\r\n", problem: "carriage return"},
		{in: "bad host", problem: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseServer(tt.in)
			if tt.problem != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrBadInput)
				assert.Contains(t, err.Error(), tt.problem)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.network, s.Network)
			assert.Equal(t, tt.host, s.Host)
			assert.Equal(t, tt.port, s.Port)
		})
	}
}

// FuzzParseAddress: no input may panic, and an accepted address must be
// safe to put on the wire.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"user@example.org", `"a b"@example.org`, "u@[192.0.2.1]", "u@[IPv6:::1]",
		"jörg@bücher.example", "a@b\r\nDATA", "paeddrigg@nausch.org", "<x@y.z>", "@", "a@.", "a@b..c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress("recipient", s)
		if err != nil {
			return
		}
		out := a.String()
		if strings.ContainsAny(out, "\r\n\x00") {
			t.Fatalf("accepted %q, which would split an SMTP command", s)
		}
		if len(a.Local) > MaxLocalPart || len(out) > MaxAddress+2 {
			t.Fatalf("accepted over-long %q", s)
		}
	})
}
