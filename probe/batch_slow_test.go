package probe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// TestBatchSlowFrontRunsInParallel: #10 item 10. A server that answers
// each RCPT slowly (a front Postfix with reject_unverified_recipient
// asking its backend) is detected, counted for the summary's advice, and
// the remaining addresses are spread over up to --concurrency sessions
// so the waits overlap.
func TestBatchSlowFrontRunsInParallel(t *testing.T) {
	const delay = 600 * time.Millisecond
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true,
		Rcpt: func(_, _ int, a string) string { time.Sleep(delay); return users(a) }})
	start := time.Now()
	items, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Concurrency: 4}, mixed(8, 0), nil)
	took := time.Since(start)
	requireCodes(t, items, wantCode)
	assert.Positive(t, st.SlowRcpts, "slow answers are counted")
	assert.GreaterOrEqual(t, f.Conns(), 3, "sessions in parallel")
	// One session would take 8 × 600 ms = 4.8 s.
	assert.Less(t, took, 8*delay*3/4, "the waits overlap")
}

// TestBatchFastServerNotSlow: a fast server is not flagged.
func TestBatchFastServerNotSlow(t *testing.T) {
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string { return users(a) }})
	_, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{}, mixed(50, 5), nil)
	assert.Zero(t, st.SlowRcpts)
}
