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
