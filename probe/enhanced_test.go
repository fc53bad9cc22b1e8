package probe

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEnhancedCode(t *testing.T) {
	tests := []struct {
		in   string
		want EnhancedCode
		ok   bool
	}{
		{"5.1.1", EnhancedCode{5, 1, 1}, true},
		{"4.7.28", EnhancedCode{4, 7, 28}, true},
		{"5.2.122", EnhancedCode{5, 2, 122}, true},
		{"2.0.0", EnhancedCode{2, 0, 0}, true},
		{"3.1.1", EnhancedCode{}, false}, // no class 3 in RFC 3463
		{"5.1", EnhancedCode{}, false},
		{"5.1.1.1", EnhancedCode{}, false},
		{"5.1000.1", EnhancedCode{}, false},
		{"5.a.1", EnhancedCode{}, false},
		{"", EnhancedCode{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseEnhancedCode(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.ok, ValidEnhanced(tt.in), tt.in)
		if ok {
			assert.Equal(t, tt.in, got.String())
		}
	}
	assert.Equal(t, "", EnhancedCode{}.String())
	c := EnhancedCode{4, 7, 1}
	assert.Equal(t, 4, c.Class())
	assert.Equal(t, 7, c.Subject())
	assert.Equal(t, 1, c.Detail())
}

// TestReplyStatus: the reader fills the typed code next to the text, and
// only from a code of the reply's own class.
func TestReplyStatus(t *testing.T) {
	for _, tt := range []struct {
		wire string
		want EnhancedCode
	}{
		{"550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try\r\n", EnhancedCode{5, 1, 1}},
		{"452 4.5.3 Error: too many recipients\r\n", EnhancedCode{4, 5, 3}},
		{"250 Ok\r\n", EnhancedCode{}},
		{"550 4.1.1 mismatched class\r\n", EnhancedCode{}},
	} {
		r, err := ReadReply(bufio.NewReader(strings.NewReader(tt.wire)))
		require.NoError(t, err)
		assert.Equal(t, tt.want, r.Status, tt.wire)
		assert.Equal(t, tt.want.String(), r.Enhanced, tt.wire)
	}
}
