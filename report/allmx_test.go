package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

// allMXFixture: two MX hosts both asked at once (--all-mx); the first
// deferred the recipient, the second accepted it.
func allMXFixture(t *testing.T) (*probe.Outcome, *probe.Result) {
	grey := mustReply(t, "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted")
	ok := mustReply(t, "250 2.1.5 Ok")
	a1, a2, a3 := tcpAttempt("mx1.example.org", "192.0.2.1", 25), tcpAttempt("mx2.example.org", "192.0.2.2", 25), tcpAttempt("mx3.example.org", "192.0.2.3", 25)
	a1.Rcpts = []probe.RcptResult{{Recipient: "a@example.org", Phase: probe.PhaseRCPT, Reply: grey}}
	a2.Rcpts = []probe.RcptResult{{Recipient: "a@example.org", Phase: probe.PhaseRCPT, Reply: ok}}
	a3.Rcpts = []probe.RcptResult{{Recipient: "a@example.org", Phase: probe.PhaseRCPT, Reply: ok}}
	o, res := fixture("a@example.org", a2, probe.PhaseRCPT, ok, nil)
	o.Domain.Attempts = []*probe.Attempt{a1, a2, a3}
	res.Config.AllMX = true
	return o, res
}

// TestAllMX: #10 item 8. With --all-mx a host that accepted is not
// "passed over"; -o postfix prints one line per host and address; the
// worst host decides the rank (so the exit code).
func TestAllMX(t *testing.T) {
	o, res := allMXFixture(t)
	v := Judge(o, res)
	assert.Equal(t, StatusDeliverable, v.Status)
	require.Len(t, v.PassedOver, 1, "only the host that did not accept")
	assert.Equal(t, "mx1.example.org", v.PassedOver[0].Host)

	each := JudgeEachHost(res)
	require.Len(t, each, 3)
	assert.Equal(t, []Status{StatusDeferred, StatusDeliverable, StatusDeliverable}, []Status{each[0].Status, each[1].Status, each[2].Status})
	assert.Equal(t, RankDeferred, RankVerdicts(each), "the worst host decides")
	assert.Equal(t, RankOK, RankVerdicts(JudgeAll(res)), "an MTA's view alone would say OK")

	var b bytes.Buffer
	require.NoError(t, Postfix(&b, res))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], "relay=mx1.example.org[192.0.2.1]:25")
	assert.Contains(t, lines[0], "status=deferred")
	assert.Contains(t, lines[2], "relay=mx3.example.org[192.0.2.3]:25")
}
