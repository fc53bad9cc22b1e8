package main

import (
	"bytes"
	"context"
	"encoding/json"
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
