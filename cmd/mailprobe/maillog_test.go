package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runMaillogCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"maillog"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// realLog is a fixture of real Postfix lines (sources in its header).
func realLog(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "maillog", "testdata", "logs", "own-delivery.log"))
	require.NoError(t, err)
	return string(b)
}

// TestMaillogOutputs: text, json and jsonl of the same log agree, every
// outcome is its own (the tracker reuses its buffers), stdin is read
// without FILE.
func TestMaillogOutputs(t *testing.T) {
	log := realLog(t)
	code, text, stderr := runMaillogCmd(t, log, "--year", "2026")
	require.Equal(t, ExitOK, code, stderr)
	assert.Contains(t, text, "Recipients: 3 sent, 2 deferred, 2 bounced")

	code, js, stderr := runMaillogCmd(t, log, "-o", "json", "--status", "all", "-")
	require.Equal(t, ExitOK, code, stderr)
	var doc struct {
		Schema   string `json:"schema"`
		Outcomes []struct {
			QueueID   string `json:"queue_id"`
			Recipient string `json:"recipient"`
			Status    string `json:"status"`
		} `json:"outcomes"`
		Groups []json.RawMessage `json:"groups"`
	}
	require.NoError(t, json.Unmarshal([]byte(js), &doc))
	assert.Equal(t, "mailprobe.maillog/v1", doc.Schema)
	require.Len(t, doc.Outcomes, 7)
	seen := map[string]bool{}
	for _, o := range doc.Outcomes {
		seen[o.QueueID+" "+o.Recipient] = true
	}
	assert.Len(t, seen, 7, "distinct outcomes")

	code, jl, _ := runMaillogCmd(t, log, "-o", "jsonl") // every status by default
	require.Equal(t, ExitOK, code)
	n := 0
	for sc := bufio.NewScanner(strings.NewReader(jl)); sc.Scan(); n++ {
		var o map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &o))
		for _, k := range []string{"queue_id", "recipient", "domain", "status", "dsn", "category", "attempts", "relay", "reason", "first_seen", "last_seen", "explanation"} {
			assert.Contains(t, o, k)
		}
	}
	assert.Equal(t, 7, n)
}

// TestMaillogUsage: bad flags are usage errors (exit 64), nothing read.
func TestMaillogUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--status", "nonsense"},
		{"--since", "yesterday-ish"},
		{"--max-open", "0"},
		{"-o", "postmap"},
		{"--queue", "x.json", "mail.log"},
		{"/nonexistent/mail.log"},
		{"--probe", "--protocol", "carrier-pigeon"},
		// --domain without a value takes the next FILE as its value
		{"--domain", "/var/log/mail.log"},
		{"--domain", "a..example"},
		{"--sender", "bad@@example.org"},
		{"--sender", "nobody"},
		{"--sender", "@"},
		{"--since", "2026-12-02", "--until", "2026-12-01"},
		{"--year", "1800"},
		{"--year", "abc"},
		// a log given to --queue=FILE, a --postfix-config without main.cf
		{"--queue=" + filepath.Join("..", "..", "maillog", "testdata", "logs", "hosting.log")},
		{"--queue", "--postfix-config", t.TempDir()},
	} {
		code, _, stderr := runMaillogCmd(t, "", args...)
		assert.Equal(t, ExitUsage, code, "%v: %s", args, stderr)
		assert.NotEmpty(t, stderr, args)
	}
}

// TestMaillogFilterForms: filter values are read as a log writes them —
// a domain with its trailing dot, a sender in angle brackets, a
// single-label domain of a local delivery — so they select what they name.
func TestMaillogFilterForms(t *testing.T) {
	log := realLog(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--domain", "GREY.IT.TEST."}, "Recipients: 1 deferred"},
		{[]string{"--sender", "<tester@sender.maillog.test>", "--status", "all"}, "Recipients: 1 sent, 2 deferred, 2 bounced"},
		{[]string{"--sender", "@sender.maillog.test", "--status", "all"}, "Recipients: 1 sent, 2 deferred, 2 bounced"},
		{[]string{"--domain", "localhost"}, "Recipients: none"},
	} {
		code, out, stderr := runMaillogCmd(t, log, append([]string{"--year", "2026"}, tt.args...)...)
		require.Equal(t, ExitOK, code, "%v: %s", tt.args, stderr)
		assert.Contains(t, out, tt.want, tt.args)
	}
}
