package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestProgressCountsResults: #10 item 9. The progress line counts
// results (not bytes read), says how many were checked per second, and
// with a regular file how far through it the results are and an ETA.
func TestProgressCountsResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcpts")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("a@lab.test\n", 9)+"b@lab.test"), 0o644))
	n, err := countLines(path)
	require.NoError(t, err)
	assert.EqualValues(t, 10, n)

	p := &progress{start: time.Now().Add(-2 * time.Second)}
	p.lines.Store(10)
	v := &report.Verdict{Status: report.StatusDeliverable}
	for line := 1; line <= 4; line++ {
		p.results++
		p.checked++
		p.line = line
	}
	got := p.render(p.start.Add(2 * time.Second))
	assert.Contains(t, got, " 40%")
	assert.Contains(t, got, "4 results, 2 checked/s")
	assert.Contains(t, got, "ETA 3s")

	// A not-checked result (after Ctrl-C) is a result, not a checked address.
	q := &progress{w: &strings.Builder{}, start: time.Now()}
	q.tick(probe.BatchItem{Line: 1}, report.BatchEntry{Status: report.StatusNotChecked, Verdict: v})
	q.tick(probe.BatchItem{Line: 2}, report.BatchEntry{Status: report.StatusDeliverable, Verdict: v})
	assert.Equal(t, 2, q.results)
	assert.Equal(t, 1, q.checked)
}
