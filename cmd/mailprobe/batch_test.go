package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchRcpt knows "user…" local parts and defers "later…" ones with
// Postfix's verification-in-progress reply.
func batchRcpt(to string) error {
	switch {
	case strings.HasPrefix(to, "user"):
		return nil
	case strings.HasPrefix(to, "later"):
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 1, 1},
			Message: "<" + to + ">: Recipient address rejected: unverified address: Address verification in progress"}
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + "> User doesn't exist: " + to}
}

// startBatchServer starts s, answering RCPT with batchRcpt unless it says
// otherwise; the test fails if DATA ever arrives.
func startBatchServer(t *testing.T, s *fakemta.SMTP) string {
	t.Helper()
	if s.Rcpt == nil {
		s.Rcpt = batchRcpt
	}
	s.Domain = "mx.lab.test"
	return fakemta.StartSMTP(t, s).Addr
}

func runCLI(t *testing.T, ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func batchArgs(server string, extra ...string) []string {
	return append([]string{"probe", "--server", server, "--helo", "probe.example.net", "--dnsbl", "never",
		"--starttls", "never", "--timeout", "5s"}, extra...)
}

const batchInput = "# virtual_mailbox_maps\n" +
	"user1@lab.test   lab.test/user1/\n" +
	"nobody@lab.test  lab.test/nobody/\r\n" +
	"\n" +
	"@lab.test        catchall\n" +
	"not-an-address\n" +
	"later@lab.test   lab.test/later/\n" +
	"user2@lab.test\n"

func TestBatchCLIFormats(t *testing.T) {
	addr := startBatchServer(t, &fakemta.SMTP{})
	file := filepath.Join(t.TempDir(), "virtual")
	require.NoError(t, os.WriteFile(file, []byte(batchInput), 0o644))

	t.Run("jsonl", func(t *testing.T) {
		code, out, errOut := runCLI(t, context.Background(), "", batchArgs(addr, "--rcpt-file", file, "-o", "jsonl")...)
		assert.Equal(t, ExitUndeliverable, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 6, "one object per address line:\n%s", out)
		type doc struct {
			Address   string `json:"address"`
			InputLine int    `json:"input_line"`
			Status    string `json:"status"`
			DSN       string `json:"dsn"`
			Category  string `json:"category"`
			Line      string `json:"line"`
		}
		want := []doc{
			{"user1@lab.test", 2, "deliverable", "2.0.0", "deliverable", ""},
			{"nobody@lab.test", 3, "undeliverable", "5.1.1", "user-unknown", ""},
			{"@lab.test", 5, "skipped", "", "other", ""},
			{"not-an-address", 6, "invalid", "5.1.3", "other", ""},
			{"later@lab.test", 7, "deferred", "4.1.1", "user-unknown", ""},
			{"user2@lab.test", 8, "deliverable", "2.0.0", "deliverable", ""},
		}
		for i, l := range lines {
			var d doc
			require.NoError(t, json.Unmarshal([]byte(l), &d), l)
			d.Line = ""
			if want[i].Status == "deliverable" {
				want[i].DSN = d.DSN // go-smtp's default 250 carries its own enhanced code
			}
			assert.Equal(t, want[i], d, "line %d", i)
		}
		assert.Contains(t, errOut, "Summary: 6 addresses")
		assert.Contains(t, errOut, "Address verification in progress")
		assert.Contains(t, errOut, "re-run")
	})
	t.Run("postfix", func(t *testing.T) {
		code, out, errOut := runCLI(t, context.Background(), "", batchArgs(addr, "--rcpt-file", file, "-o", "postfix")...)
		assert.Equal(t, ExitUndeliverable, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 6)
		assert.Regexp(t, `^to=<user1@lab\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=deliverable \(250 `, lines[0])
		assert.Contains(t, lines[1], "dsn=5.1.1, status=undeliverable (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@lab.test> User doesn't exist: nobody@lab.test (in reply to RCPT TO command))")
		assert.Equal(t, "# line 5: @lab.test skipped: catch-all table key (@domain): it names no mailbox", lines[2])
		assert.Contains(t, lines[3], "to=<not-an-address>, relay=none, delay=0, delays=0/0/0/0, dsn=5.1.3, status=undeliverable (bad address syntax")
		assert.Contains(t, lines[4], "dsn=4.1.1, status=deferred")
		assert.Contains(t, errOut, "status:   deliverable 2, undeliverable 1, deferred 1, invalid 1, skipped 1")
	})
	t.Run("postmap", func(t *testing.T) {
		code, out, _ := runCLI(t, context.Background(), "", batchArgs(addr, "--rcpt-file", file, "-o", "postmap")...)
		assert.Equal(t, ExitUndeliverable, code)
		assert.Equal(t, "nobody@lab.test  REJECT 5.1.1 <nobody@lab.test> User doesn't exist: nobody@lab.test\n", out)
	})
	t.Run("text from stdin, summary after the results", func(t *testing.T) {
		code, out, errOut := runCLI(t, context.Background(), "user1@lab.test\nuser2@lab.test\n", batchArgs(addr, "--rcpt-file", "-")...)
		assert.Equal(t, ExitOK, code, errOut)
		assert.Regexp(t, `^\s+1  deliverable\s+2\.0\.0\s+user1@lab\.test\n\s+2  deliverable`, out)
		assert.Contains(t, out, "\nSummary: 2 addresses in ")
		assert.Empty(t, errOut)
	})
	t.Run("deferred only: exit 2", func(t *testing.T) {
		code, _, _ := runCLI(t, context.Background(), "later@lab.test\nuser1@lab.test\n", batchArgs(addr, "--rcpt-file", "-", "-o", "jsonl")...)
		assert.Equal(t, ExitDeferred, code)
	})
}

func TestBatchCLIUsage(t *testing.T) {
	addr := startBatchServer(t, &fakemta.SMTP{})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", batchArgs(addr, "--rcpt-file", "/nonexistent/rcpts"), "no such file"},
		{"arguments and a file", batchArgs(addr, "--rcpt-file", "-", "a@lab.test"), "not both"},
		{"json is not a stream", batchArgs(addr, "--rcpt-file", "-", "-o", "json"), "jsonl"},
		{"bad window", batchArgs(addr, "--rcpt-file", "-", "--rcpt-window", "0"), "--rcpt-window"},
		{"bad concurrency", batchArgs(addr, "--rcpt-file", "-", "--concurrency", "0"), "--concurrency"},
		{"all-mx", batchArgs(addr, "--rcpt-file", "-", "--all-mx"), "--all-mx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, context.Background(), "user1@lab.test\n", tt.args...)
			assert.Equal(t, ExitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.want)
		})
	}
}

func TestBatchCLIInterrupted(t *testing.T) {
	// The server answers at least ten RCPTs, then holds the first RCPT of
	// the next transaction until the test has "pressed Ctrl-C". Holding a
	// transaction's first RCPT, not the eleventh wherever it falls, is
	// what makes the count exact: the batch sends a transaction only after
	// it read every reply of the one before (probe/batch_worker.go), so
	// everything the server answered was decided before Ctrl-C. Held in
	// the middle of a group (RCPT 11 of 7–11), the replies to 7–10 raced
	// with the interrupt's close of the connection, and under -race and
	// load 6 addresses, not 10, came out decided (494 not checked).
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	release := make(chan struct{})
	var once sync.Once
	var holdAt atomic.Int64 // the RCPT (by count) the server holds
	b := &fakemta.SMTP{}
	rcpts := func() int64 { return int64(len(b.Rcpts())) } // this one's included
	b.Mail = func(string) error {
		if n := rcpts(); holdAt.Load() == 0 && n >= 10 {
			holdAt.Store(n + 1)
		}
		return nil
	}
	b.Rcpt = func(to string) error {
		if n := holdAt.Load(); n > 0 && rcpts() == n {
			once.Do(func() { cancel(probe.ErrInterrupted) })
			<-release
		}
		return batchRcpt(to)
	}
	addr := startBatchServer(t, b)
	t.Cleanup(func() { close(release) })
	var in strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&in, "user%d@lab.test\n", i)
	}
	code, out, errOut := runCLI(t, ctx, in.String(), batchArgs(addr, "--rcpt-file", "-", "-o", "jsonl", "--concurrency", "1", "--rcpt-window", "5")...)
	assert.Equal(t, ExitInterrupted, code, errOut)
	answered := int(holdAt.Load()) - 1
	require.GreaterOrEqual(t, answered, 10, "the server never held a RCPT")
	require.Less(t, answered, 500)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 500, "every address gets a line")
	notChecked := 0
	for i, l := range lines {
		var d struct {
			InputLine int    `json:"input_line"`
			Status    string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &d))
		assert.Equal(t, i+1, d.InputLine)
		switch {
		case i < answered:
			assert.Equal(t, "deliverable", d.Status, "line %d: answered before Ctrl-C", i+1)
		default:
			assert.Equal(t, "not-checked", d.Status, "line %d", i+1)
			notChecked++
		}
	}
	assert.Equal(t, 500-answered, notChecked)
	assert.Contains(t, errOut, fmt.Sprintf("interrupted: %d addresses not checked", notChecked))
}

// TestProbeCLIInterrupted: Ctrl-C while the server holds the RCPT reply.
// The report is still printed — the recipient not checked, because the
// run was interrupted — and the exit code is 130, so a script can tell an
// interrupt from a verdict (before: 2, "deferred").
func TestProbeCLIInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	release := make(chan struct{})
	addr := startBatchServer(t, &fakemta.SMTP{Rcpt: func(to string) error {
		cancel(probe.ErrInterrupted)
		<-release
		return batchRcpt(to)
	}})
	t.Cleanup(func() { close(release) })
	code, out, errOut := runCLI(t, ctx, "", batchArgs(addr, "-o", "postfix", "user1@lab.test")...)
	assert.Equal(t, ExitInterrupted, code, errOut)
	assert.Contains(t, out, "to=<user1@lab.test>")
	assert.Contains(t, out, "interrupted")
}
