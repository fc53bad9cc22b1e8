package probe

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		code     int
		enhanced string
		text     string
		message  string
		err      error
	}{
		{name: "single", in: "250 2.1.5 Ok\r\n", code: 250, enhanced: "2.1.5", text: "250 2.1.5 Ok", message: "Ok"},
		{name: "code only", in: "250\r\n", code: 250, text: "250"},
		{name: "bare LF", in: "220 mx ESMTP\n", code: 220, text: "220 mx ESMTP", message: "mx ESMTP"},
		{name: "multi-line as Postfix joins it",
			in:   "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available\r\n554-No SMTP service\r\n554-IP address is black listed.\r\n554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=192.0.2.1&c=bl\r\n",
			code: 554, text: "554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=192.0.2.1&c=bl"},
		{name: "gmail multi-line with enhanced codes", in: "550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp\r\n",
			code: 550, enhanced: "5.1.1", message: "The email account that you tried to reach does not exist. https://support.google.com/mail/?p=NoSuchUser - gsmtp"},
		{name: "enhanced class must match", in: "550 4.1.1 odd\r\n", code: 550, enhanced: ""},
		{name: "not enhanced", in: "421 newd1.sm66.com out of connection slots\r\n", code: 421, enhanced: ""},
		{name: "code changes", in: "250-a\r\n251 b\r\n", err: ErrInconsistent},
		{name: "not SMTP", in: "HTTP/1.1 400 Bad Request\r\n", err: ErrMalformedReply},
		{name: "bad separator", in: "250x\r\n", err: ErrMalformedReply},
		{name: "1xx is not a reply here", in: "100 continue\r\n", err: ErrMalformedReply},
		{name: "huge line", in: "250 " + strings.Repeat("x", 1<<20) + "\r\n", err: ErrLineTooLong},
		{name: "endless continuation", in: strings.Repeat("250-x\r\n", MaxReplyLines+5), err: ErrTooManyLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.ErrorIs(t, err, ErrProtocol)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.code, r.Code)
			assert.Equal(t, tt.enhanced, r.Enhanced)
			if tt.text != "" {
				assert.Equal(t, tt.text, r.Text())
			}
			if tt.message != "" {
				assert.Equal(t, tt.message, r.Message())
			}
		})
	}
}

func TestReadReplyPartialLineIsNotAReply(t *testing.T) {
	// A reply cut off before its CRLF (EOF, or a deadline mid-line) must
	// never be taken as a reply.
	r, err := ReadReply(bufio.NewReader(strings.NewReader("250 2.1.5 O")))
	require.Error(t, err)
	assert.Nil(t, r)
}

func TestNeutralise(t *testing.T) {
	assert.Equal(t, "220 ok", Neutralise("220 ok"))
	assert.Equal(t, `220 \x1b[2J\x1b]0;pwned\x07 evil`, Neutralise("220 \x1b[2J\x1b]0;pwned\x07 evil"))
	assert.Equal(t, `220 bad \xff\xfe utf8`, Neutralise("220 bad \xff\xfe utf8"))
	assert.Equal(t, `220 c1 \u009b`, Neutralise("220 c1 \u009b"))
	assert.Equal(t, "220 grüße a b", Neutralise("220 grüße a\tb"))
}

func TestParseReplyText(t *testing.T) {
	r, err := ParseReply("554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=80.150.6.137&c=bl")
	require.NoError(t, err)
	assert.Equal(t, 554, r.Code)
	require.Len(t, r.Lines, 4)
	assert.Equal(t, "554-No SMTP service", r.Lines[1])

	r, err = ParseReply("450 4.1.1 <paeddrigg@nausch.org>: Recipient address rejected: unverified address: Recipient address lookup failed")
	require.NoError(t, err)
	assert.Equal(t, "4.1.1", r.Enhanced)

	_, err = ParseReply("   ")
	require.ErrorIs(t, err, ErrProtocol)
}

// FuzzReadReply: the reply reader never panics, never returns a reply
// with a line over the limit, and never passes control characters on.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 2.1.5 Ok\r\n", "220-a\r\n220 b\r\n", "554-x\r\n554-y\r\n554 z\r\n", "250-x\r\n251 y\r\n",
		"421 newd1.sm66.com out of connection slots\r\n", "220 \x1b[2J evil\r\n", "HTTP/1.1 200 OK\r\n",
		"550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org\r\n", "\xff\xfe\r\n", "250",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ReadReply(bufio.NewReader(strings.NewReader(string(in))))
		if r == nil {
			return
		}
		if err == nil && (r.Code < 200 || r.Code > 599) {
			t.Fatalf("code %d accepted", r.Code)
		}
		for _, l := range r.Lines {
			if len(l) > 4*MaxReplyLineLength+8 {
				t.Fatalf("line of %d bytes", len(l))
			}
			for _, c := range []byte(l) {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("control byte %#x passed through in %q", c, l)
				}
			}
		}
		_ = r.Message()
		_ = r.Text()
	})
}

func FuzzParseReply(f *testing.F) {
	f.Add("554-a 554-b 554 c")
	f.Add("550 5.1.1 user unknown")
	f.Add("250")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseReply(s)
	})
}
