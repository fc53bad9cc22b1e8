package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/lab"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestDemoCommandReproducesTheProbe runs every scenario twice, each on a
// lab of its own so that state (greylisting) cannot tell them apart: once
// as the demo does, with the lab's Config, and once through the command
// line the demo prints for it. Both JSON documents must agree in
// everything but timings and the labs' ports. Before the command was
// derived from the Config it omitted the HELO, the lab DNSBL and the
// timeouts, and the silent and blocklisted scenarios came out different.
func TestDemoCommandReproducesTheProbe(t *testing.T) {
	ctx := context.Background()
	// One instant for both labs' certificates: the JSON reports their
	// validity to the second, and labs started on either side of a
	// second boundary differed there (not_before, not_after).
	now := time.Now()
	demoLab, err := lab.Start(ctx, lab.Options{Now: now})
	require.NoError(t, err)
	defer demoLab.Close()
	cliLab, err := lab.Start(ctx, lab.Options{Now: now})
	require.NoError(t, err)
	defer cliLab.Close()

	for _, sc := range demoLab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			cfg, targets, err := demoConfig(demoLab, sc)
			require.NoError(t, err)
			res, err := probe.Run(ctx, cfg, targets)
			require.NoError(t, err)
			var want bytes.Buffer
			require.NoError(t, report.JSON(&want, res))

			cliCfg, cliTargets, err := demoConfig(cliLab, sc)
			require.NoError(t, err)
			line := reproduce(cliCfg, cliTargets)
			args := shellWords(t, line)
			require.Equal(t, []string{"mailprobe", "probe"}, args[:2], line)
			_, got, stderr := runCLI(t, ctx, "", append(args[1:], "-o", "json")...)
			require.NotEmpty(t, got, "stderr: %s", stderr)

			assert.Equal(t, comparable(t, want.String(), demoLab), comparable(t, got, cliLab), "command: %s", line)
			assert.Contains(t, line, "--helo probe.lab.test")
			assert.Contains(t, line, "--timeout 1s")
			assert.Contains(t, line, "--lists "+lab.DNSBLZone)
		})
	}
}

var (
	timingKeys = map[string]bool{"started": true, "duration_ms": true, "delay": true, "delays": true,
		"setup_ms": true, "transaction_ms": true, "ms": true, "local": true, "dns_ms": true, "total_ms": true}
	delayText = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9./]+`)
	randLocal = regexp.MustCompile(`mailprobe-nonexistent-[0-9a-f]+`)
	// The labs' ports differ (ephemeral listeners): every port is PORT.
	anyPort   = regexp.MustCompile(`(\]:|[0-9]:)[0-9]{2,5}\b`)
	portField = regexp.MustCompile(`"port": [0-9]+`)
)

// comparable is a JSON document without timings, with the lab's ports
// (all ports) and resolver address replaced by placeholders.
func comparable(t *testing.T, doc string, l *lab.Lab) any {
	t.Helper()
	doc = strings.ReplaceAll(doc, l.DNSAddr(), "RESOLVER")
	doc = anyPort.ReplaceAllString(doc, "${1}PORT")
	doc = portField.ReplaceAllString(doc, `"port": 0`)
	doc = delayText.ReplaceAllString(doc, "delay=D")
	doc = randLocal.ReplaceAllString(doc, "mailprobe-nonexistent-X")
	var v any
	require.NoError(t, json.Unmarshal([]byte(doc), &v), doc)
	return stripTimings(v)
}

func stripTimings(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if timingKeys[k] {
				delete(v, k)
				continue
			}
			v[k] = stripTimings(x)
		}
	case []any:
		for i, x := range v {
			v[i] = stripTimings(x)
		}
	}
	return v
}

// shellWords splits what shellQuote joined: words separated by spaces,
// single quotes with '\” inside.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	require.False(t, quoted, "unterminated quote in %s", s)
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func TestShellQuote(t *testing.T) {
	for _, w := range []string{"plain", "", "it's", "a b", "unix:/run/x", "$HOME"} {
		assert.Equal(t, []string{w}, shellWords(t, shellQuote(w)), w)
	}
}
