package maillog

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/lab"
)

// TestProbeLive probes, against the in-process lab, one recipient that
// a log showed deferred and that is accepted today and one that is still
// greylisted: the verdicts say "now accepted … postqueue -f" and "still
// deferred: 450 …", and no lab server saw DATA.
func TestProbeLive(t *testing.T) {
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Options{Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	accept, ok := l.Scenario("accept")
	require.True(t, ok)
	grey, ok := l.Scenario("greylisted")
	require.True(t, ok)
	cfg, acceptTargets, err := l.ProbeConfig(accept)
	require.NoError(t, err)
	_, greyTargets, err := l.ProbeConfig(grey)
	require.NoError(t, err)
	lives := []*Live{
		{Domain: acceptTargets[0].Address.Domain, Recipient: acceptTargets[0].Address.String(), LogReason: "connect to …: Connection refused"},
		{Domain: greyTargets[0].Address.Domain, Recipient: greyTargets[0].Address.String()},
		{Domain: "bad", Recipient: "not an address@"},
	}
	require.NoError(t, ProbeLive(ctx, cfg, lives))
	assert.Equal(t, "deliverable", lives[0].Status)
	assert.Equal(t, "now accepted: the problem is gone, flush the queue (postqueue -f)", lives[0].Verdict)
	assert.Equal(t, "deferred", lives[1].Status)
	assert.True(t, strings.HasPrefix(lives[1].Verdict, "still deferred: 450 4.7.1"), lives[1].Verdict)
	assert.Equal(t, "not-checked", lives[2].Status)
	assert.False(t, l.SawVerb("DATA"))
}
