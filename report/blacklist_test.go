package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/internal/golden"
)

func blacklistSample() []blacklist.Result {
	return []blacklist.Result{
		{Target: "192.0.2.99", Address: "192.0.2.99", List: "zen.spamhaus.org", Status: blacklist.Listed,
			Codes:    []string{"127.0.0.2", "127.0.0.4"},
			Meanings: []string{"SBL: Spamhaus Block List, known spam source or spam operation", "XBL: exploited host (malware, botnet, open proxy)"},
			Reason:   "https://check.spamhaus.org/listed/?searchterm=192.0.2.99", Query: "99.2.0.192.zen.spamhaus.org"},
		{Target: "192.0.2.99", Address: "192.0.2.99", List: "bl.spamcop.net", Status: blacklist.Clean, Query: "99.2.0.192.bl.spamcop.net"},
		{Target: "192.0.2.99", Address: "192.0.2.99", List: "b.barracudacentral.org", Status: blacklist.Unknown,
			Error: "no answer: 99.2.0.192.b.barracudacentral.org A: resolver 127.0.0.1:53: DNS query timed out", Query: "99.2.0.192.b.barracudacentral.org"},
		{Target: "mail.example.com", Address: "mail.example.com", List: "dbl.spamhaus.org", Status: blacklist.Unknown,
			Codes: []string{"127.255.255.254"}, Meanings: []string{"error: query through a public/open resolver, refused by Spamhaus"},
			Error: "list answered with an error code, not a listing: 127.255.255.254 error: query through a public/open resolver, refused by Spamhaus"},
		{Target: "mail.example.com", Address: "2001:db8::25", List: "zen.spamhaus.org", Status: blacklist.Clean},
		{Target: "mail.example.com", Address: "2001:db8::25", List: "bl.spamcop.net", Status: blacklist.Clean},
		{Target: "gone.example", List: "zen.spamhaus.org", Status: blacklist.Unknown,
			Error: "resolving gone.example: host name has no addresses"},
	}
}

const blacklistWarning = "resolver 8.8.8.8:53 (Google Public DNS) is a public resolver; zen.spamhaus.org refuses queries through it"

func TestBlacklistText(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, BlacklistText(&buf, blacklistSample(), BlacklistOptions{Warnings: []string{blacklistWarning}}))
	assert.NotContains(t, buf.String(), "\x1b[", "no colour unless asked")
	golden.CheckFile(t, filepath.Join("testdata", "blacklist_text.golden"), buf.Bytes())

	buf.Reset()
	require.NoError(t, BlacklistText(&buf, blacklistSample(), BlacklistOptions{Color: true}))
	assert.Contains(t, buf.String(), blacklistRed+"listed "+blacklistReset)
	assert.Contains(t, buf.String(), blacklistGreen+"clean"+blacklistReset)
	assert.Contains(t, buf.String(), blacklistYellow+"unknown"+blacklistReset)

	buf.Reset()
	require.NoError(t, BlacklistText(&buf, nil, BlacklistOptions{}))
	assert.Equal(t, "0 targets, 0 checks: 0 listed, 0 clean, 0 unknown.\n", buf.String())
}

func TestBlacklistJSON(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, BlacklistJSON(&buf, blacklistSample(), BlacklistOptions{Warnings: []string{blacklistWarning}}))
	golden.CheckFile(t, filepath.Join("testdata", "blacklist.json.golden"), buf.Bytes())

	var doc struct {
		Results []map[string]any `json:"results"`
		Summary BlacklistSummary `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Len(t, doc.Results, 7)
	for _, r := range doc.Results {
		for _, k := range []string{"target", "address", "list", "status", "codes", "meanings", "reason", "error"} {
			assert.Contains(t, r, k)
		}
		assert.NotNil(t, r["codes"], "codes is [] not null")
		assert.NotNil(t, r["meanings"], "meanings is [] not null")
	}
	assert.Equal(t, BlacklistSummary{Targets: 3, Checks: 7, Listed: 1, Clean: 3, Unknown: 3, Verdict: blacklist.Listed}, doc.Summary)
}

func TestBlacklistSummarize(t *testing.T) {
	r := func(target string, s blacklist.Status) blacklist.Result {
		return blacklist.Result{Target: target, Status: s}
	}
	tests := []struct {
		name string
		rs   []blacklist.Result
		want blacklist.Status
	}{
		{"nothing checked", nil, blacklist.Clean},
		{"all clean", []blacklist.Result{r("a", blacklist.Clean), r("b", blacklist.Clean)}, blacklist.Clean},
		{"unknown is not clean", []blacklist.Result{r("a", blacklist.Clean), r("a", blacklist.Unknown)}, blacklist.Unknown},
		{"listed wins", []blacklist.Result{r("a", blacklist.Unknown), r("b", blacklist.Listed), r("b", blacklist.Clean)}, blacklist.Listed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, BlacklistSummarize(tt.rs).Verdict)
		})
	}
}

func blacklistHealthSample() []blacklist.Health {
	return []blacklist.Health{
		{List: "bl.spamcop.net", Status: blacklist.HealthOK,
			Positive: blacklist.Result{Target: "127.0.0.2", Address: "127.0.0.2", List: "bl.spamcop.net", Status: blacklist.Listed, Codes: []string{"127.0.0.2"}, Meanings: []string{"reported as a spam source by SpamCop users"}},
			Negative: blacklist.Result{Target: "127.0.0.1", Address: "127.0.0.1", List: "bl.spamcop.net", Status: blacklist.Clean}},
		{List: "zen.spamhaus.org", Status: blacklist.HealthUnusable,
			Problem:  "cannot be used from this resolver: test point 127.0.0.2: list answered with an error code, not a listing: 127.255.255.254 error: query through a public/open resolver, refused by Spamhaus",
			Positive: blacklist.Result{Target: "127.0.0.2", Address: "127.0.0.2", List: "zen.spamhaus.org", Status: blacklist.Unknown, Codes: []string{"127.255.255.254"}, Meanings: []string{"error: query through a public/open resolver, refused by Spamhaus"}},
			Negative: blacklist.Result{Target: "127.0.0.1", Address: "127.0.0.1", List: "zen.spamhaus.org", Status: blacklist.Unknown, Codes: []string{"127.255.255.254"}, Meanings: []string{"error: query through a public/open resolver, refused by Spamhaus"}}},
	}
}

func TestBlacklistHealth(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, BlacklistHealthText(&buf, blacklistHealthSample(), BlacklistOptions{Warnings: []string{blacklistWarning}}))
	golden.CheckFile(t, filepath.Join("testdata", "blacklist_health_text.golden"), buf.Bytes())

	buf.Reset()
	require.NoError(t, BlacklistHealthJSON(&buf, blacklistHealthSample(), BlacklistOptions{}))
	golden.CheckFile(t, filepath.Join("testdata", "blacklist_health.json.golden"), buf.Bytes())
	var doc struct {
		Lists    []map[string]any `json:"lists"`
		Unusable int              `json:"unusable"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, 1, doc.Unusable)
	assert.Equal(t, "unusable", doc.Lists[1]["status"])

	buf.Reset()
	require.NoError(t, BlacklistHealthText(&buf, blacklistHealthSample()[:1], BlacklistOptions{}))
	assert.True(t, strings.HasSuffix(buf.String(), "All 1 list usable from this resolver.\n"), buf.String())
}

type blacklistFailingWriter struct{}

var errBlacklistWrite = errors.New("disk full")

func (blacklistFailingWriter) Write([]byte) (int, error) { return 0, errBlacklistWrite }

func TestBlacklistWriteErrors(t *testing.T) {
	assert.ErrorIs(t, BlacklistText(blacklistFailingWriter{}, blacklistSample(), BlacklistOptions{}), errBlacklistWrite)
	assert.ErrorIs(t, BlacklistJSON(blacklistFailingWriter{}, blacklistSample(), BlacklistOptions{}), errBlacklistWrite)
	assert.ErrorIs(t, BlacklistHealthText(blacklistFailingWriter{}, blacklistHealthSample(), BlacklistOptions{}), errBlacklistWrite)
	assert.ErrorIs(t, BlacklistHealthJSON(blacklistFailingWriter{}, blacklistHealthSample(), BlacklistOptions{}), errBlacklistWrite)
}
