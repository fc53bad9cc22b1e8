package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

// TestBatchSummaryRateCountsChecked: #10 item 9. The summary's rate
// counts only addresses actually checked; "backed off" appears only when
// the stats say the server pushed back.
func TestBatchSummaryRateCountsChecked(t *testing.T) {
	var b bytes.Buffer
	st := probe.BatchStats{Probed: 10, NotChecked: 4, Duration: time.Second, Sessions: 1, Transactions: 1, Interrupted: true}
	require.NoError(t, BatchSummaryText(&b, NewBatchSummary(), st, TextOptions{}))
	assert.Contains(t, b.String(), "(6 checked/s)")
	assert.NotContains(t, b.String(), "backed off")

	b.Reset()
	st.Backoffs, st.BackoffTime = 2, 3*time.Second
	require.NoError(t, BatchSummaryText(&b, NewBatchSummary(), st, TextOptions{}))
	assert.Contains(t, b.String(), "backed off 2 times (3s) when the server pushed back")
}

// TestBatchSummaryAdvisesBackend: #10 item 10. Slow RCPT answers (a
// verifying front Postfix) get the advice to verify against the backend.
func TestBatchSummaryAdvisesBackend(t *testing.T) {
	var b bytes.Buffer
	st := probe.BatchStats{Probed: 4, Duration: 4 * time.Second, Sessions: 2, Transactions: 3, SlowRcpts: 3, SlowRcptTime: 3 * time.Second}
	require.NoError(t, BatchSummaryText(&b, NewBatchSummary(), st, TextOptions{}))
	assert.Contains(t, b.String(), "(3 answered in 1s each on average)")
	assert.Contains(t, b.String(), "verify against the backend instead (--server it,")
	assert.Contains(t, b.String(), "--protocol lmtp --server BACKEND:24")
}
