package fakemta

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Step
	}{
		{"send", "send 220 mx.lab.test ESMTP", []Step{{Op: OpSend, Text: "220 mx.lab.test ESMTP"}}},
		{"send empty line", "send", []Step{{Op: OpSend}}},
		{"comments and blanks", "# a comment\n\n  \nclose\n", []Step{{Op: OpClose}}},
		{"CRLF text", "send 220 x\r\nclose\r\n", []Step{{Op: OpSend, Text: "220 x"}, {Op: OpClose}}},
		{"sendraw", `sendraw "220 \x1b[2J\x1b]0;pwned\x07 evil\r\n"`, []Step{{Op: OpSendRaw, Text: "220 \x1b[2J\x1b]0;pwned\x07 evil\r\n"}}},
		{"sendraw backquoted", "sendraw `login: `", []Step{{Op: OpSendRaw, Text: "login: "}}},
		{"expect verbs", "expect ehlo|HELO", []Step{{Op: OpExpect, Verbs: []string{"EHLO", "HELO"}}}},
		{"expect any", "expect", []Step{{Op: OpExpect}}},
		{"expect star", "expect *", []Step{{Op: OpExpect}}},
		{"sleep", "sleep 1.5s", []Step{{Op: OpSleep, Delay: 1500 * time.Millisecond}}},
		{"trickle", "trickle 1s 220 slow ESMTP", []Step{{Op: OpTrickle, Delay: time.Second, Text: "220 slow ESMTP"}}},
		{"repeat-forever", "repeat-forever 250-x", []Step{{Op: OpRepeatForever, Text: "250-x"}}},
		{"bigline", "bigline 1048576", []Step{{Op: OpBigLine, Size: 1 << 20}}},
		{"hang", "hang", []Step{{Op: OpHang}}},
		{"tls default", "tls", []Step{{Op: OpTLS, Cert: CertSelfSigned}}},
		{"tls expired", "tls expired", []Step{{Op: OpTLS, Cert: CertExpired}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScript(tt.name, tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.name, s.Name)
			assert.Equal(t, tt.want, s.Steps)
		})
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct{ name, text, msg string }{
		{"empty", "# nothing\n", "no steps"},
		{"unknown op", "sned 220", `unknown operation "sned"`},
		{"sendraw unquoted", "sendraw 220 x", "Go-quoted"},
		{"sendraw empty", `sendraw ""`, "nothing"},
		{"bad verb", "expect MAIL FROM", "bad verb"},
		{"empty verb", "expect EHLO||HELO", "bad verb"},
		{"bad duration", "sleep soon", "bad duration"},
		{"zero duration", "sleep 0s", "outside"},
		{"huge duration", "sleep 2h", "outside"},
		{"trickle without line", "trickle 1s", "duration and a line"},
		{"bigline too small", "bigline 3", "bigline wants"},
		{"bigline too big", "bigline 999999999", "bigline wants"},
		{"bigline not a number", "bigline many", "bigline wants"},
		{"close with argument", "close now", "no argument"},
		{"repeat nothing", "repeat-forever", "needs a line"},
		{"unknown cert", "tls bogus", "unknown certificate kind"},
		{"after close", "close\nsend 220 x", "can never run"},
		{"after hang", "hang\nclose", "can never run"},
		{"after repeat-forever", "repeat-forever 250-x\nclose", "can never run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScript("t", tt.text)
			require.ErrorIs(t, err, ErrScriptSyntax)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	_, err := ParseScript("lines", "send 220 x\nsleep never")
	assert.ErrorContains(t, err, "lines:2:", "errors name the line")
}

func TestShippedScriptsParseAndRoundTrip(t *testing.T) {
	names := ScriptNames()
	for _, want := range []string{
		"no-greeting", "slow-greeting", "greeting-then-silence", "endless-multiline", "megabyte-line",
		"http-server", "telnet-login", "binary", "invalid-utf8", "ansi-escape", "drop-mid-reply",
		"drop-after-greeting", "drop-after-mail", "drop-after-two-rcpts", "starttls-454", "starttls-garbage",
		"starttls-self-signed", "starttls-valid", "starttls-expired", "starttls-wrong-name",
		"421-at-ehlo", "421-at-mail", "421-at-rcpt", "answers-data",
	} {
		assert.Contains(t, names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := LoadScript(name)
			require.NoError(t, err)
			again, err := ParseScript(name, s.String())
			require.NoError(t, err)
			assert.Equal(t, s.Steps, again.Steps)
		})
	}
	_, err := LoadScript("no-such-script")
	assert.ErrorIs(t, err, ErrUnknownScript)
}

// FuzzParseScript checks that any text either fails with ErrScriptSyntax
// or parses into a script whose String form parses back to the same steps.
func FuzzParseScript(f *testing.F) {
	for _, name := range ScriptNames() {
		b, err := scriptFS.ReadFile("testdata/scripts/" + name + ".txt")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseScript("fuzz", text)
		if err != nil {
			require.ErrorIs(t, err, ErrScriptSyntax)
			return
		}
		again, err := ParseScript("fuzz", s.String())
		require.NoError(t, err, "String() gave %q", s.String())
		require.Equal(t, s.Steps, again.Steps)
	})
}
