package counts

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

type format string

func TestRanked(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]int
		want []string
	}{
		{"empty", nil, []string{}},
		{"largest first", map[string]int{"a": 1, "b": 3, "c": 2}, []string{"b 3", "c 2", "a 1"}},
		{"ties by key", map[string]int{"5.1.1": 2, "4.7.1": 2, "2.0.0": 5}, []string{"2.0.0 5", "4.7.1 2", "5.1.1 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Ranked(tt.in))
		})
	}
}

func TestRankedNamedKeysInt64(t *testing.T) {
	assert.Equal(t, []string{"postfix 10", "exim 1", "qmail 1"},
		Ranked(map[format]int64{"qmail": 1, "postfix": 10, "exim": 1}))
}
