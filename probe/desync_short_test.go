package probe_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestDesyncShortGroup: a pipelined group whose replies stop before its
// last command is out of step. With the reply to one RCPT skipped, the
// next recipient's 550 lands on it and RSET's 250 on the rejected one;
// only the missing reply to RSET shows it. No recipient may be decided
// from those replies: the host is tried again one command at a time.
func TestDesyncShortGroup(t *testing.T) {
	for _, script := range []string{"desync-skipped-rcpt-reply", "desync-skipped-rcpt-reply-plain"} {
		t.Run(script, func(t *testing.T) {
			srv := fakemta.ServeShipped(t, script)
			res, err := probe.Run(context.Background(), hostileConfig(t, srv), targets(t, "bob@lab.test", "carol@lab.test"))
			require.NoError(t, err)
			atts := res.Domains[0].Attempts
			require.Len(t, atts, 2, "attempts: %v", attemptErrs(atts))
			assert.ErrorIs(t, atts[0].Err, probe.ErrDesync)
			assert.Equal(t, probe.PhaseRSET, atts[0].Err.Phase)
			assert.Contains(t, atts[0].Err.Error(), "after 3 replies to a pipelined group of 4 commands, before the reply to RSET")
			assert.True(t, atts[1].WithoutPipelining, "the retry goes one command at a time")
			for _, o := range res.Recipients {
				v := report.Judge(o, res)
				assert.NotEqual(t, "deliverable", string(v.Status), "%s decided from a shifted reply: %s", o.Recipient, v.Line())
				assert.NotEqual(t, "undeliverable", string(v.Status), "%s decided from a shifted reply: %s", o.Recipient, v.Line())
			}
			assert.False(t, srv.SawVerb("DATA"))
		})
	}
}

// TestRSETNeverAnswered: RSET, read once every RCPT has been answered,
// gets probe.QuitGrace as QUIT does, not the phase timeout, and the wait
// is not MAIL/RCPT time in delays=. Pipelined, the missing reply is a
// group cut short (TestDesyncShortGroup), so the one-at-a-time retry
// decides; lock-step, the RCPT reply stands at once.
func TestRSETNeverAnswered(t *testing.T) {
	tests := []struct {
		script   string
		attempts int
	}{
		{"rset-never-answered", 2},
		{"rset-never-answered-plain", 1},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			start := time.Now()
			res, _ := runScripts(t, func(c *probe.Config) { c.Timeout, c.Deadline = 20*time.Second, time.Minute }, tt.script)
			elapsed := time.Since(start)
			require.Len(t, res.Domains[0].Attempts, tt.attempts, "attempts: %v", attemptErrs(res.Domains[0].Attempts))
			o := res.Recipients[0]
			require.NotNil(t, o.Reply, "err: %v", o.Err)
			assert.Equal(t, 550, o.Reply.Code)
			assert.Equal(t, probe.PhaseRCPT, o.Phase)
			assert.Less(t, elapsed, time.Duration(tt.attempts)*probe.QuitGrace+3*time.Second, "the RSET grace, not the 20 s phase timeout")
			assert.Less(t, o.Transaction, 500*time.Millisecond, "delays= does not blame the RSET wait on MAIL/RCPT")
			assert.Equal(t, "undeliverable", string(report.Judge(o, res).Status))
		})
	}
}

// TestContradictingReply: "250 5.1.1 … User unknown" says success and
// failure at once; it is never believed as an acceptance.
func TestContradictingReply(t *testing.T) {
	res, _ := runScripts(t, nil, "rcpt-250-failure-status")
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, probe.ErrProtocol)
	assert.Contains(t, o.Err.Error(), "a success code with the failure status 5.1.1, the reply contradicts itself")
	v := report.Judge(o, res)
	assert.Equal(t, "deferred", string(v.Status), v.Line())
}
