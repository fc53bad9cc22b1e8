package postfixconf

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./postfixconf/ -update")
	assert.Equal(t, string(want), string(got), "golden %s (go test ./postfixconf/ -update rewrites it)", name)
}

// TestGoldenOutput renders the routes decided without a probe (error,
// retry, alias to several, virtual(8), local(8)) in every format.
func TestGoldenOutput(t *testing.T) {
	r := loadResolver(t, "basic")
	dir := r.c.Dir
	rcpts := []Recipient{{Address: "nobody@alias.test", Source: "FILE:1"}, {Address: "team@alias.test", Source: "FILE:2"},
		{Address: "a@vmail2.test", Source: "FILE:3"}, {Address: "b@vmail2.test", Source: "FILE:4"},
		{Address: "a@mx.example.test", Source: "FILE:5"}, {Address: "x@retry.test", Source: "FILE:6"}}
	rep, err := r.Verify(context.Background(), rcpts, Options{Probe: probe.DefaultOptions()})
	require.NoError(t, err)
	var text, jsonl, pm bytes.Buffer
	for _, res := range rep.Results {
		require.NoError(t, Text(&text, res))
		require.NoError(t, JSONL(&jsonl, res))
		require.NoError(t, Postmap(&pm, res))
	}
	require.NoError(t, SummaryText(&text, rep))
	fix := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), dir, "@DIR@")) }
	golden(t, "verify.txt", fix(text.Bytes()))
	golden(t, "verify.jsonl", fix(jsonl.Bytes()))
	golden(t, "verify.postmap", fix(pm.Bytes()))

	var routes bytes.Buffer
	for _, a := range []string{"user+other@relay.test", "info@alias.test", "x@list.test"} {
		rt, err := r.Resolve(context.Background(), a)
		require.NoError(t, err)
		require.NoError(t, RouteText(&routes, rt))
		require.NoError(t, RouteJSONL(&routes, rt))
	}
	golden(t, "route.txt", fix(routes.Bytes()))
}
