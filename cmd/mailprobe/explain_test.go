package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runExplain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"explain"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestExplainExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{"permanent reply", []string{"550 5.1.1 <a@b> User unknown"}, "", ExitUndeliverable},
		{"temporary reply", []string{"450 4.2.0 <a@b>: Recipient address rejected: Greylisted"}, "", ExitDeferred},
		{"success reply", []string{"250 2.1.5 OK"}, "", ExitOK},
		{"unquoted words are joined", []string{"550", "5.1.1", "User", "unknown"}, "", ExitUndeliverable},
		{"status=sent line", []string{"postfix/smtp[1]: A1B2C3D4E5: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=0.45, delays=0.1/0.02/0.2/0.13, dsn=2.0.0, status=sent (250 2.0.0 OK)"}, "", ExitOK},
		{"status=deferred line", []string{"to=<a@b.example>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.b.example[192.0.2.1]:25: Connection timed out)"}, "", ExitDeferred},
		{"status=bounced line", []string{"to=<a@b.example>, relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.1.0, status=bounced (Domain b.example does not accept mail (nullMX))"}, "", ExitUndeliverable},
		{"multi-line reply from stdin", nil, "554-mx.example\n554-IP address is black listed.\n554 see https://example.net\n", ExitUndeliverable},
		{"dash reads stdin", []string{"-"}, "421 4.3.2 out of connection slots\n", ExitDeferred},
		{"empty input", nil, "", ExitUsage},
		{"unclassifiable text is answered, not refused", []string{"hello there"}, "", ExitDeferred},
		{"bad output", []string{"--output", "postfix", "250 ok"}, "", ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runExplain(t, tt.stdin, tt.args...)
			assert.Equal(t, tt.code, code, stderr)
		})
	}
}

func TestExplainJSON(t *testing.T) {
	code, out, _ := runExplain(t, "", "--output", "json",
		"Nov  4 21:09:50 vml000087 postfix/lmtp[5001]: 14246C00088: to=<paeddrigg@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.08, delays=0.03/0.01/0.01/0.02, dsn=5.1.1, status=undeliverable (host 10.0.0.77[10.0.0.77] said: 550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org (in reply to RCPT TO command))")
	require.Equal(t, ExitUndeliverable, code)
	var doc struct {
		Code        int    `json:"code"`
		Enhanced    string `json:"enhanced"`
		Permanence  string `json:"permanence"`
		Category    string `json:"category"`
		Status      string `json:"status"`
		DSN         string `json:"dsn"`
		Explanation struct {
			What, Cause, Next string
		} `json:"explanation"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, 550, doc.Code)
	assert.Equal(t, "5.1.1", doc.Enhanced)
	assert.Equal(t, "permanent", doc.Permanence)
	assert.Equal(t, "user-unknown", doc.Category)
	assert.Equal(t, "undeliverable", doc.Status)
	assert.Equal(t, "5.1.1", doc.DSN)
	assert.NotEmpty(t, doc.Explanation.What)
	assert.NotEmpty(t, doc.Explanation.Cause)
	assert.NotEmpty(t, doc.Explanation.Next)

	// A bare reply has no status or dsn.
	code, out, _ = runExplain(t, "", "-o", "json", "421 4.7.0 mx.example Error: too many connections from 192.0.2.9")
	assert.Equal(t, ExitDeferred, code)
	assert.NotContains(t, out, `"status"`)
	assert.Contains(t, out, `"category": "connection-limit"`)
	assert.Contains(t, out, `"permanence": "temporary"`)
}

func TestExplainText(t *testing.T) {
	code, out, _ := runExplain(t, "", "450 4.1.1 <a@b>: Recipient address rejected: unverified address: Recipient address lookup failed")
	assert.Equal(t, ExitDeferred, code)
	assert.Contains(t, out, "category:    user-unknown")
	assert.Contains(t, out, "could not confirm")
}

// TestExplainStdinLines: with "-" every line is one result; -o jsonl
// writes one object per input line, and a multi-line reply's
// continuation lines stay one text.
func TestExplainStdinLines(t *testing.T) {
	in := strings.Join([]string{
		"Nov  4 21:09:50 vml000087 postfix/lmtp[5001]: 14246C00088: to=<paeddrigg@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.08, delays=0.03/0.01/0.01/0.02, dsn=5.1.1, status=undeliverable (host 10.0.0.77[10.0.0.77] said: 550 5.1.1 <paeddrigg@nausch.org> User doesn't exist: paeddrigg@nausch.org (in reply to RCPT TO command))",
		"",
		"550-5.7.1 [192.0.2.9] Our system has detected that this message is",
		"550-5.7.1 likely unsolicited mail.",
		"421 4.3.2 out of connection slots",
		"nothing a mail server would say",
	}, "\n")
	code, out, stderr := runExplain(t, in, "-o", "jsonl", "-")
	require.Equal(t, ExitUndeliverable, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	var cats []string
	for _, l := range lines {
		var doc struct {
			Category, Permanence, Party, Kind string
		}
		require.NoError(t, json.Unmarshal([]byte(l), &doc), l)
		cats = append(cats, doc.Category+"/"+doc.Permanence+"/"+doc.Kind)
	}
	assert.Equal(t, []string{
		"user-unknown/permanent/postfix",
		"content-spam/permanent/reply",
		"connection-limit/temporary/reply",
		"other/unknown/other",
	}, cats)

	// -o json with - is one array.
	code, out, _ = runExplain(t, "250 2.1.5 Ok\n250 2.0.0 Ok\n", "-o", "json", "-")
	assert.Equal(t, ExitOK, code)
	var arr []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &arr), out)
	assert.Len(t, arr, 2)
}

// TestExplainOtherMTAs: the README's three examples, real texts.
func TestExplainOtherMTAs(t *testing.T) {
	tests := []struct {
		name, text, want string
		code             int
	}{
		// sisimai/set-of-emails maildir/bsd/lhost-qmail-02.eml@18e585c (a qmail bounce paragraph).
		{"qmail", "192.0.2.153 does not like recipient.\nRemote host said: 550 5.1.1 <userunknown@example.jp>... User Unknown\nGiving up on 192.0.2.153.", "user-unknown", ExitUndeliverable},
		// https://github.com/notqmail/notqmail/issues/244 (a qmail-send log line, _ for spaces).
		{"qmail", "delivery 245: failure: Unable_to_run_qmail-remote./", "other", ExitUndeliverable},
		// https://github.com/hestiacp/hestiacp/issues/3381 (an Exim mainlog line).
		{"exim", "2023-03-24 10:02:24 1pfdJV-004eVE-9X == zeus@zeusteam.dev R=dnslookup T=remote_smtp defer (113): No route to host H=mail.zeusteam.dev [50.20.205.93]: mail.zeusteam.dev [50.20.205.93]", "connection-refused", ExitDeferred},
		// sisimai/set-of-emails maildir/bsd/lhost-office365-01.eml@18e585c (a Microsoft 365 NDR).
		{"microsoft", "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'", "user-unknown", ExitUndeliverable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runExplain(t, "", "-o", "json", tt.text)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, out, `"category": "`+tt.want+`"`)
			assert.Contains(t, out, `"kind": "`+tt.name[:min(len(tt.name), 4)])
		})
	}
}

// TestRulesFlag: a bad --rules file is a usage error naming the rule and
// the problem; a good one changes the answer.
func TestRulesFlag(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad.yaml"
	require.NoError(t, os.WriteFile(bad, []byte("- id: acme-block\n  category: blocked\n  party: sender\n  match: [acme]\n  examples: [{text: x, source: y}]\n"), 0o644))
	code, _, stderr := runExplain(t, "", "--rules", bad, "550 acme says no")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr, "rule acme-block")
	assert.Contains(t, stderr, `category "blocked"`)

	code, _, stderr = runExplain(t, "", "--rules", dir+"/missing.yaml", "550 x")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr, "no such file")
}

// TestOutputFormatRegistry: the flag's help and error list what the
// command really writes.
func TestOutputFormatRegistry(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"probe", "-o", "jsonl", "a@example.org"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "jsonl is for batches")

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"mx", "-o", "postfix", "example.org"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "mx writes text, json")

	for cmd, fs := range outputFormats {
		if strings.Contains(cmd, " ") {
			continue
		}
		stdout.Reset()
		run(context.Background(), []string{cmd, "--help"}, strings.NewReader(""), &stdout, &stderr)
		for _, f := range fs {
			assert.Contains(t, stdout.String(), f.name+" (", "%s --help lists %s", cmd, f.name)
		}
	}
	// The global form still works.
	code, _, _ = runExplainRoot(t, "-o", "json", "explain", "250 ok")
	assert.Equal(t, ExitOK, code)
}

func runExplainRoot(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}
