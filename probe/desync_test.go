package probe_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// runScripts probes alice@lab.test against a server running the named
// scripts in turn (one per connection, the last repeating).
func runScripts(t *testing.T, cfgEdit func(*probe.Config), names ...string) (*probe.Result, *fakemta.ScriptServer) {
	t.Helper()
	srv := fakemta.ServeShipped(t, names...)
	cfg := hostileConfig(t, srv)
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	res, err := probe.Run(context.Background(), cfg, targets(t, "alice@lab.test"))
	require.NoError(t, err)
	assert.False(t, srv.SawVerb("DATA"), "DATA was sent")
	return res, srv
}

// TestDesync: servers whose replies fall out of step with the commands —
// an extra reply inside a pipelined group, a missing one, a reply before
// the command, a second greeting, a reply that only another command gets —
// are never believed. The recipient is never reported from a shifted
// reply: the attempt is a protocol error that says the replies are out of
// step, and a pipelined host is tried once more one command at a time.
func TestDesync(t *testing.T) {
	tests := []struct {
		name    string
		scripts []string
		// attempts made, and whether the last was the one-at-a-time retry
		attempts int
		retry    bool
		// want: "desync" when the protocol error stands, else the reply
		// code that decided the recipient on the retry.
		desync bool
		code   int
		phase  probe.Phase // phase the first desync was found in
		detail string      // substring of the first attempt's error
		final  error       // when set, the kind of the outcome's error instead
	}{
		{name: "extra reply in a pipelined group", scripts: []string{"desync-extra-reply"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseRSET, detail: "RSET always gets 250"},
		{name: "extra reply, pipelining only: the retry gets the truth", scripts: []string{"desync-extra-reply", "plain-unknown"},
			attempts: 2, retry: true, code: 550, phase: probe.PhaseRSET},
		{name: "extra reply without enhanced codes", scripts: []string{"desync-extra-reply-plain"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseRSET, detail: `"550 no such user here"`},
		{name: "extra reply, recipient accepted", scripts: []string{"desync-all-accepted", "plain-accept"},
			attempts: 2, retry: true, code: 250, phase: probe.PhaseRSET, detail: "destination address valid"},
		// One command at a time, the missing MAIL reply is a timeout.
		{name: "missing reply", scripts: []string{"desync-missing-reply"},
			attempts: 2, retry: true, final: probe.ErrTimeout, phase: probe.PhaseMAIL, detail: "destination address valid"},
		{name: "stray reply after RSET lands on QUIT", scripts: []string{"desync-extra-after-rset"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseQUIT, detail: "QUIT was answered"},
		{name: "reply before MAIL was sent", scripts: []string{"desync-reply-before-mail"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseMAIL, detail: "before the MAIL FROM command was sent"},
		{name: "early talker before EHLO", scripts: []string{"desync-early-talker"},
			attempts: 1, desync: true, phase: probe.PhaseEHLO, detail: "before the EHLO command was sent"},
		{name: "second greeting read as EHLO's reply", scripts: []string{"desync-double-greeting"},
			attempts: 1, desync: true, phase: probe.PhaseEHLO, detail: "EHLO was answered"},
		{name: "lock-step, late extra reply", scripts: []string{"desync-lockstep-late-extra"},
			attempts: 1, desync: true, detail: "out of step"},
		{name: "354 to RCPT", scripts: []string{"desync-354-at-rcpt"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseRCPT, detail: "intermediate reply"},
		{name: "stray reply over TLS", scripts: []string{"desync-after-tls"},
			attempts: 2, retry: true, desync: true, phase: probe.PhaseMAIL, detail: "before the MAIL FROM command was sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := runScripts(t, nil, tt.scripts...)
			atts := res.Domains[0].Attempts
			require.Len(t, atts, tt.attempts, "attempts: %v", attemptErrs(atts))
			first := atts[0]
			require.NotNil(t, first.Err)
			assert.ErrorIs(t, first.Err, probe.ErrDesync)
			assert.ErrorIs(t, first.Err, probe.ErrProtocol)
			assert.Contains(t, first.Err.Error(), "the server's replies are out of step with the commands")
			if tt.phase != "" {
				assert.Equal(t, tt.phase, first.Err.Phase)
			}
			if tt.detail != "" {
				assert.Contains(t, first.Err.Error(), tt.detail)
			}
			last := atts[len(atts)-1]
			assert.Equal(t, tt.retry, last.WithoutPipelining, "the retry goes one command at a time")
			o := res.Recipients[0]
			v := report.Judge(o, res)
			if tt.final != nil {
				assert.ErrorIs(t, o.Err, tt.final)
				assert.Equal(t, "deferred", string(v.Status))
				return
			}
			if tt.desync {
				assert.ErrorIs(t, o.Err, probe.ErrDesync)
				assert.NotEqual(t, "deliverable", string(v.Status), "a shifted reply is never a verdict")
				assert.NotEqual(t, "undeliverable", string(v.Status), "a shifted reply is never a verdict")
				assert.Contains(t, v.Reason, "out of step")
				assert.Equal(t, report.PartyRecipient, v.Party, "the receiving server broke the dialogue, not the sender")
				return
			}
			require.NotNil(t, o.Reply, "err: %v", o.Err)
			assert.Equal(t, tt.code, o.Reply.Code)
			assert.Equal(t, probe.PhaseRCPT, o.Phase)
			assert.Same(t, last, o.Attempt)
		})
	}
}

func attemptErrs(atts []*probe.Attempt) []string {
	var out []string
	for _, a := range atts {
		if a.Err != nil {
			out = append(out, a.Err.Error())
		} else {
			out = append(out, "ok")
		}
	}
	return out
}

// TestNoDesyncOnHonestServers: odd but honest replies — a multi-line
// greeting, RCPT answered 250 2.0.0 or 250 2.1.0, qmail's "250 flushed"
// to RSET, a 221 without enhanced code, the sender refused at RCPT time
// (Postfix's smtpd_delay_reject) — never count as out of step, pipelined
// or not.
func TestNoDesyncOnHonestServers(t *testing.T) {
	tests := []struct {
		script string
		code   int
	}{
		{"odd-but-honest", 250},
		{"odd-but-honest-x10", 250},
		{"sender-rejected-at-rcpt", 450},
		{"plain-accept", 250},
		{"plain-unknown", 550},
		{"starttls-valid", 250},
		{"junk-after-quit", 250},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			res, _ := runScripts(t, nil, tt.script)
			atts := res.Domains[0].Attempts
			require.Len(t, atts, 1, "attempts: %v", attemptErrs(atts))
			assert.Nil(t, atts[0].Err)
			o := res.Recipients[0]
			require.NotNil(t, o.Reply, "err: %v", o.Err)
			assert.Equal(t, tt.code, o.Reply.Code)
			assert.Equal(t, probe.PhaseRCPT, o.Phase)
		})
	}
}

// TestQuitNeverAnswered: a pipelined QUIT that gets no reply costs
// probe.QuitGrace at most, not the phase timeout, and the wait is not
// counted as MAIL/RCPT time (the fourth delays= field).
func TestQuitNeverAnswered(t *testing.T) {
	start := time.Now()
	res, _ := runScripts(t, func(c *probe.Config) { c.Timeout, c.Deadline = 20*time.Second, time.Minute }, "quit-never-answered")
	elapsed := time.Since(start)
	o := res.Recipients[0]
	require.NotNil(t, o.Reply, "err: %v", o.Err)
	assert.Equal(t, 250, o.Reply.Code)
	assert.Nil(t, o.Err)
	assert.Less(t, elapsed, probe.QuitGrace+time.Second, "the QUIT grace, not the 20 s phase timeout")
	assert.GreaterOrEqual(t, elapsed, probe.QuitGrace-100*time.Millisecond, "QUIT was given its grace")
	assert.Less(t, o.Transaction, 500*time.Millisecond, "delays= does not blame the QUIT wait on MAIL/RCPT")
	v := report.Judge(o, res)
	assert.Equal(t, "deliverable", string(v.Status))
	fields := strings.Split(v.Line(), "delays=")
	require.Len(t, fields, 2)
	d := strings.Split(strings.SplitN(fields[1], ",", 2)[0], "/")
	require.Len(t, d, 4)
	// MAIL and RCPT only: well under the QUIT grace it would show with
	// the QUIT wait in it (not "0" exactly: under load and -race the
	// loopback exchange itself can take 10 ms, printed "0.01").
	d3, err := strconv.ParseFloat(d[3], 64)
	require.NoError(t, err, d[3])
	assert.Less(t, d3, 0.5, "the fourth delays= field is MAIL and RCPT only")
}

// TestBatchDesync: in a batch, a session whose replies fall out of step
// decides nobody; the next session at that destination goes one command
// at a time and gets the truth.
func TestBatchDesync(t *testing.T) {
	srv := fakemta.ServeShipped(t, "desync-extra-reply", "plain-unknown")
	cfg := hostileConfig(t, srv)
	cfg.Deadline = 0
	b, err := probe.NewBatch(cfg, probe.BatchOptions{Concurrency: 1, Backoff: time.Millisecond})
	require.NoError(t, err)
	var items []probe.BatchItem
	err = b.Run(context.Background(), probe.NewRcptReader(strings.NewReader("alice@lab.test\n")), func(it probe.BatchItem) error {
		items = append(items, it)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, items, 1)
	o := items[0].Outcome
	require.NotNil(t, o.Reply, "err: %v", o.Err)
	assert.Equal(t, 550, o.Reply.Code, "decided on the one-command-at-a-time session")
	require.NotNil(t, o.Attempt)
	assert.True(t, o.Attempt.WithoutPipelining)
	assert.Equal(t, 2, b.Stats().Sessions)
	assert.False(t, srv.SawVerb("DATA"))
}
