package probe

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// TestBatchServerOutOfStepEverySession: a server that sends one reply too
// many to the first RCPT of every session, pipelined or not. No address
// can be decided; each used to cost MaxReconnects sessions and their
// back-off, so a batch took seconds per address without end. After
// DefaultMaxGiveUps addresses in a row were given up, the remaining
// addresses carry that protocol error at once — none is ever decided
// from a shifted reply.
func TestBatchServerOutOfStepEverySession(t *testing.T) {
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, n int, a string) string {
		if n == 1 {
			return "250 2.1.5 Ok\r\n250 2.1.5 Ok" // two replies to one RCPT
		}
		return users(a)
	}})
	items, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Concurrency: 1}, mixed(40, 5), nil)
	for _, it := range items {
		o := it.Outcome
		require.Error(t, o.Err, "line %d decided from replies out of step: %v", it.Line, o.Reply)
		assert.True(t, errors.Is(o.Err, ErrDesync), "line %d: %v", it.Line, o.Err)
	}
	assert.Equal(t, 1, st.Broken)
	assert.Equal(t, DefaultMaxGiveUps, st.GaveUp)
	assert.LessOrEqual(t, st.Sessions, DefaultMaxGiveUps*DefaultMaxReconnects, "sessions")
	requireNoDataIn(t, f.Lines())
}
