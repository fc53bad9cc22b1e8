package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestRankExit: the one mapping from report's ranks to exit codes; an
// interrupt wins over any verdict.
func TestRankExit(t *testing.T) {
	tests := []struct {
		rank report.Rank
		stop probe.Stop
		want int
	}{
		{report.RankOK, probe.StopNone, ExitOK},
		{report.RankDeferred, probe.StopNone, ExitDeferred},
		{report.RankUndeliverable, probe.StopNone, ExitUndeliverable},
		{report.RankOK, probe.StopInterrupted, ExitInterrupted},
		{report.RankUndeliverable, probe.StopInterrupted, ExitInterrupted},
		{report.RankDeferred, probe.StopDeadline, ExitDeferred},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, rankExit(tt.rank, tt.stop), "%v %v", tt.rank, tt.stop)
		err := withRank(tt.rank, tt.stop)
		assert.Equal(t, tt.want, exitCode(err, nil), "%v %v", tt.rank, tt.stop)
	}
}
