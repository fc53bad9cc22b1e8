package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/peertext"
)

// TestHostileScriptsThroughTheCLI runs every shipped misbehaving-server
// script through the command itself, text (with the transcript) and
// JSON: whatever the server sends, no control character, bidi control or
// invisible character reaches stdout or stderr raw (nor any JSON string),
// the run ends within its --deadline and a short grace, and it is never
// an internal error. The per-script verdicts are checked in
// probe/hostile_test.go and probe/desync_test.go; this is the renderers'
// side of the same guarantee.
func TestHostileScriptsThroughTheCLI(t *testing.T) {
	ds, err := dnsserve.Listen("127.0.0.1", dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ds.Close() })
	const deadline = 3 * time.Second
	for _, name := range fakemta.ScriptNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fakemta.ServeShipped(t, name)
			for _, format := range []string{"text", "json"} {
				args := []string{"probe", "--resolver", ds.Addr, "-o", format, "--server", srv.Addr(),
					"--timeout", "300ms", "--deadline", deadline.String(), "--dnsbl", "never",
					"--helo", "probe.lab.test", "--from", "postmaster@probe.lab.test", "alice@lab.test"}
				if format == "text" {
					args = append(args, "--transcript")
				}
				start := time.Now()
				code, stdout, stderr := runCLI(t, context.Background(), "", args...)
				assert.Less(t, time.Since(start), deadline+2*time.Second, "%s: bounded by --deadline", format)
				assert.NotEqual(t, ExitInternal, code, "%s: %s", format, stderr)
				for stream, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
					assert.True(t, utf8.ValidString(out), "%s %s: not UTF-8", format, stream)
					for i, r := range out {
						if r != '\n' && peertext.Unsafe(r) {
							t.Errorf("%s %s: raw %U at %d: %q", format, stream, r, i, out[max(0, i-40):min(len(out), i+10)])
							break
						}
					}
				}
				if format == "json" {
					var doc any
					require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
					walkStrings(doc, "", func(path, s string) {
						assert.True(t, peertext.Clean(strings.ReplaceAll(s, "\n", " ")), "json %s = %q", path, s)
					})
				}
			}
			assert.False(t, srv.SawVerb("DATA"), "DATA was sent")
		})
	}
}

func walkStrings(v any, path string, f func(path, s string)) {
	switch x := v.(type) {
	case string:
		f(path, x)
	case map[string]any:
		for k, e := range x {
			walkStrings(e, path+"."+k, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, path+"[]", f)
		}
	}
}
