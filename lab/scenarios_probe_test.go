package lab_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/lab"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestScenariosEndToEnd probes every lab scenario with the real prober
// and judges it with the real report package: status, dsn, category and
// the Postfix-style reason must be what the scenario says Postfix would
// log. Afterwards no server may have seen DATA or BDAT.
func TestScenariosEndToEnd(t *testing.T) {
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Options{Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })

	for _, sc := range l.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			cfg, targets, err := l.ProbeConfig(sc)
			require.NoError(t, err)
			res, err := probe.Run(ctx, cfg, targets)
			require.NoError(t, err)
			require.Len(t, res.Recipients, 1)
			v := report.Judge(res.Recipients[0], res)
			assert.Equal(t, sc.Want.Status, string(v.Status), "status; line: %s", v.Line())
			assert.Equal(t, sc.Want.DSN, v.DSN, "dsn; line: %s", v.Line())
			assert.Equal(t, sc.Want.Category, string(v.Category), "category; line: %s", v.Line())
			assert.Equal(t, l.Expand(sc.Want.Reason), v.Reason)
		})
	}
	for _, verb := range []string{"DATA", "BDAT"} {
		assert.False(t, l.SawVerb(verb), "a lab server received %s", verb)
	}
}
