package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestVersion: #10 item 12. --version and `version` print the module
// version, the commit and the Go version from the build information.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, stderr, code := cli(t, args...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "mailprobe ")
		assert.Contains(t, out, "module github.com/mailprobe/mailprobe")
		assert.Contains(t, out, "commit ")
		assert.Contains(t, out, "built with "+runtime.Version())
	}
	out, _, code := cli(t, "version", "-o", "json")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"schema": "mailprobe.version/v1"`)

	v := versionFrom(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/mailprobe/mailprobe", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "6e9ff8b66fe1"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-02T03:10:04Z"}}}, true)
	assert.Equal(t, "mailprobe v1.2.3\n  module github.com/mailprobe/mailprobe\n  commit 6e9ff8b66fe1 (modified)\n  commit time 2026-12-02T03:10:04Z\n  built with go1.26.8\n", v.String())
	assert.Equal(t, "(unknown)", versionFrom(nil, false).Commit)
}

// TestRootHelp: the exit-code table appears once (with 130), and the
// DNSBL timeout's help does not print two defaults.
func TestRootHelp(t *testing.T) {
	out, _, code := cli(t, "--help")
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(out, "Exit codes:"), out)
	assert.Contains(t, out, "130 interrupted")
	out, _, _ = cli(t, "blacklist", "--help")
	assert.NotContains(t, out, "(default: --dns-timeout) (default 5s)")
	assert.Contains(t, out, "timeout of one DNSBL query (default: the --dns-timeout value)\n")
}

// TestCompletionValues: shell completion offers the values of the
// enumerated flags.
func TestCompletionValues(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"probe", "--protocol", ""}, []string{"smtp", "lmtp", "smtps"}},
		{[]string{"probe", "--starttls", ""}, []string{"auto", "always", "never"}},
		{[]string{"probe", "--dnsbl", ""}, []string{"auto", "always", "never"}},
		{[]string{"probe", "-o", ""}, []string{"text", "json", "postfix", "jsonl", "postmap"}},
		{[]string{"mx", "--output", ""}, []string{"text", "json"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, code := cli(t, append([]string{"__complete"}, tt.args...)...)
			require.Equal(t, 0, code)
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if l == "" || strings.HasPrefix(l, ":") {
					continue
				}
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
			for _, w := range tt.want {
				assert.Contains(t, got, w)
			}
		})
	}
}
