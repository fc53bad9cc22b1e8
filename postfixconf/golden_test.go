package postfixconf

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/golden"
	"github.com/mailprobe/mailprobe/probe"
)

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
	golden.Check(t, "verify.txt", fix(text.Bytes()))
	golden.Check(t, "verify.jsonl", fix(jsonl.Bytes()))
	golden.Check(t, "verify.postmap", fix(pm.Bytes()))

	var routes bytes.Buffer
	for _, a := range []string{"user+other@relay.test", "info@alias.test", "x@list.test"} {
		rt, err := r.Resolve(context.Background(), a)
		require.NoError(t, err)
		require.NoError(t, RouteText(&routes, rt))
		require.NoError(t, RouteJSONL(&routes, rt))
	}
	golden.Check(t, "route.txt", fix(routes.Bytes()))
}
