package probe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// TestBatch421AtEveryRcpt: a server that answers every RCPT with 421 and
// hangs up. The batch does not reconnect address after address with
// growing pauses (it used to take minutes per few addresses): after
// DefaultMax421 sessions in a row ended that way, every remaining address
// of the destination gets the 421 as its result. With the default
// back-off (1 s, then 2 s) the run ends within the bound the README
// states: DefaultMax421 sessions and 1 s + 2 s of back-off.
func TestBatch421AtEveryRcpt(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts BatchOptions
	}{
		{"one session at a time", BatchOptions{Concurrency: 1, Backoff: DefaultBackoff}},
		{"default concurrency", BatchOptions{Backoff: DefaultBackoff}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string {
				return "421 4.3.2 mx.test Service shutting down"
			}})
			start := time.Now()
			items, st := runBatch(t, context.Background(), batchConfig(f.Addr), tt.opts, mixed(500, 7), nil)
			elapsed := time.Since(start)
			require.Len(t, items, 500)
			for _, it := range items {
				require.NotNil(t, it.Outcome.Reply, "line %d: %v", it.Line, it.Outcome.Err)
				assert.Equal(t, 421, it.Outcome.Reply.Code, "line %d", it.Line)
			}
			assert.Equal(t, 1, st.Suspended421)
			assert.LessOrEqual(t, st.Sessions, DefaultMax421+DefaultConcurrency, "sessions")
			bound := time.Duration(0)
			for i := 1; i < DefaultMax421; i++ {
				bound += min(DefaultBackoff<<(i-1), MaxBackoffFactor*DefaultBackoff)
			}
			assert.Less(t, elapsed, bound+2*time.Second, "ends within the stated bound (%s of back-off)", bound)
			assert.GreaterOrEqual(t, elapsed, DefaultBackoff, "the server's push-back was honoured")
			requireNoDataIn(t, f.Lines())
		})
	}
}

// TestBatch421ThenRecovers: 421s that are not in a row (a server that
// recovers) never suspend the destination.
func TestBatch421ThenRecovers(t *testing.T) {
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(conn, n int, a string) string {
		if conn <= DefaultMax421-1 && n == 1 {
			return "421 4.3.2 mx.test Service shutting down"
		}
		return users(a)
	}})
	items, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Concurrency: 1, Backoff: 10 * time.Millisecond}, mixed(50, 5), nil)
	requireCodes(t, items, wantCode)
	assert.Zero(t, st.Suspended421)
}

// TestBackoffCap: one pause never exceeds MaxBackoffFactor × Backoff,
// however long the push-back lasts.
func TestBackoffCap(t *testing.T) {
	w := &worker{b: &Batch{opts: BatchOptions{Backoff: time.Millisecond}}}
	start := time.Now()
	w.pause(context.Background(), 30, false)
	assert.Less(t, time.Since(start), time.Duration(MaxBackoffFactor)*time.Millisecond+50*time.Millisecond)
}
