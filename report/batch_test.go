package report

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/golden"
	"github.com/mailprobe/mailprobe/probe"
)

// batchSample is one item of every kind a batch emits, with fixed
// timings so the output is stable.
func batchSample(t *testing.T) ([]probe.BatchItem, *probe.Result) {
	t.Helper()
	res := &probe.Result{Config: probe.ConfigSummary{Protocol: probe.ProtocolLMTP, HELO: "probe.example.net",
		From: "postmaster@probe.example.net", Server: "127.0.2.24:24", Port: 24}}
	dom := &probe.DomainResult{Domain: "127.0.2.24:24"}
	att := &probe.Attempt{Host: "127.0.2.24", Address: "127.0.2.24", Port: 24, Network: "tcp",
		Setup: 2 * time.Millisecond, Transaction: 3 * time.Millisecond}
	reply := func(s string) *probe.Reply {
		r, err := probe.ParseReply(s)
		require.NoError(t, err)
		return r
	}
	out := func(rcpt string, line int, r *probe.Reply, err error) *probe.Outcome {
		o := &probe.Outcome{Recipient: rcpt, Line: line, Domain: dom, Attempt: att, Phase: probe.PhaseRCPT,
			Reply: r, Err: err, Setup: att.Setup, Transaction: att.Transaction, Total: 12 * time.Millisecond}
		if err != nil {
			o.Phase, o.Reply = probe.PhaseConnect, nil
		}
		return o
	}
	_, perr := probe.ParseAddress("recipient", "a@@it.test")
	items := []probe.BatchItem{
		{Line: 2, Input: "alice@it.test", Outcome: out("alice@it.test", 2, reply("250 2.1.5 OK"), nil)},
		{Line: 3, Input: "carol@it.test", Outcome: out("carol@it.test", 3, reply("550 5.1.1 <carol@it.test> User doesn't exist: carol@it.test"), nil)},
		{Line: 4, Input: "dave@it.test", Outcome: out("dave@it.test", 4,
			reply("450 4.1.1 <dave@it.test>: Recipient address rejected: unverified address: Address verification in progress"), nil)},
		{Line: 6, Input: "@it.test", Skip: "catch-all table key (@domain): it names no mailbox"},
		{Line: 7, Input: "a@@it.test", Err: perr},
		{Line: 8, Input: "erin@it.test", Outcome: out("erin@it.test", 8, nil,
			&probe.Error{Kind: probe.ErrNotChecked, Phase: probe.PhaseConnect, Detail: "interrupted"})},
	}
	for i := range items {
		items[i].Seq = i
	}
	return items, res
}

func TestBatchFormats(t *testing.T) {
	items, res := batchSample(t)
	formats := []struct {
		name  string
		write func(*bytes.Buffer, BatchEntry) error
	}{
		{"batch.jsonl", func(b *bytes.Buffer, e BatchEntry) error { return BatchJSONL(b, e) }},
		{"batch_postfix.golden", func(b *bytes.Buffer, e BatchEntry) error { return BatchPostfix(b, e) }},
		{"batch_postmap.golden", func(b *bytes.Buffer, e BatchEntry) error { return BatchPostmap(b, e) }},
		{"batch_text.golden", func(b *bytes.Buffer, e BatchEntry) error { return BatchText(b, e, TextOptions{}) }},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var buf bytes.Buffer
			for _, it := range items {
				require.NoError(t, f.write(&buf, BatchJudge(it, res)))
			}
			golden.CheckFile(t, filepath.Join("testdata", f.name), buf.Bytes())
		})
	}
}

func TestBatchSummary(t *testing.T) {
	items, res := batchSample(t)
	s := NewBatchSummary()
	for _, it := range items {
		s.Add(BatchJudge(it, res))
	}
	assert.Equal(t, 6, s.Total)
	assert.Equal(t, map[Status]int{StatusDeliverable: 1, StatusUndeliverable: 1, StatusDeferred: 1,
		StatusNotChecked: 1, BatchStatusInvalid: 1, BatchStatusSkipped: 1}, s.ByStatus)
	assert.Equal(t, 1, s.ByDSN["5.1.3"], "invalid lines count as bad address syntax")
	assert.Equal(t, 2, s.ByCategory[CategoryUserUnknown])
	assert.Equal(t, 1, s.Verifying)

	st := probe.BatchStats{Items: 6, Probed: 4, NotChecked: 1, Sessions: 2, Transactions: 3, Reconnects: 1,
		Closed421: 1, ErrorRotations: 1, Backoffs: 1, BackoffTime: time.Second, Interrupted: true, Duration: 1500 * time.Millisecond}
	var buf bytes.Buffer
	require.NoError(t, BatchSummaryText(&buf, s, st, TextOptions{}))
	golden.CheckFile(t, filepath.Join("testdata", "batch_summary.golden"), buf.Bytes())
}

type batchFailingWriter struct{}

var errBatchWrite = errors.New("disk full")

func (batchFailingWriter) Write([]byte) (int, error) { return 0, errBatchWrite }

func TestBatchWriteErrors(t *testing.T) {
	items, res := batchSample(t)
	e := BatchJudge(items[1], res)
	assert.ErrorIs(t, BatchJSONL(batchFailingWriter{}, e), errBatchWrite)
	assert.ErrorIs(t, BatchPostfix(batchFailingWriter{}, e), errBatchWrite)
	assert.ErrorIs(t, BatchPostmap(batchFailingWriter{}, e), errBatchWrite)
	assert.ErrorIs(t, BatchText(batchFailingWriter{}, e, TextOptions{}), errBatchWrite)
	assert.ErrorIs(t, BatchSummaryText(batchFailingWriter{}, NewBatchSummary(), probe.BatchStats{}, TextOptions{}), errBatchWrite)
}
