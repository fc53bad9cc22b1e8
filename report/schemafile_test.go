package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/schematest"
	"github.com/mailprobe/mailprobe/probe"
)

// TestGoldenJSONConformsToSchema: #10 item 11. Every JSON document the
// report tests compare against (their golden files: probe, mx,
// blacklist, blacklist health, batch lines) conforms to
// schema/mailprobe.schema.json.
func TestGoldenJSONConformsToSchema(t *testing.T) {
	var files []string
	require.NoError(t, filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".json.golden")) {
			files = append(files, p)
		}
		return err
	}))
	require.GreaterOrEqual(t, len(files), 5, "%v", files)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			schematest.Validate(t, b)
		})
	}
}

// TestSchemaCategoriesMatch: the schema's category vocabulary is the
// classifier's.
func TestSchemaCategoriesMatch(t *testing.T) {
	b, err := os.ReadFile(schematest.Path())
	require.NoError(t, err)
	var s struct {
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(b, &s))
	var want []string
	for _, c := range Categories {
		want = append(want, string(c))
	}
	assert.Equal(t, want, s.Defs["category"].Enum)
}

// TestProbeDocWithServer: with --server the recipient's domain is the
// recipient's, empty lists are [], and the document has its verdict and
// counts.
func TestProbeDocWithServer(t *testing.T) {
	o, res := fixture("alice@it.test", tcpAttempt("127.0.2.24", "127.0.2.24", 24), probe.PhaseRCPT, mustReply(t, "250 2.1.5 OK"), nil)
	o.Domain.Domain = "127.0.2.24:24" // what probe records with --server
	res.Config.Server = "127.0.2.24:24"
	var b bytes.Buffer
	require.NoError(t, JSON(&b, res))
	schematest.Validate(t, b.Bytes())
	var doc ProbeDoc
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, "it.test", doc.Recipients[0].Domain)
	assert.Equal(t, ProbeSummary{Verdict: StatusDeliverable, Recipients: 1, Deliverable: 1}, doc.Summary)
	assert.False(t, doc.DNSBLChecked)
	assert.NotNil(t, doc.DNSBL)
	assert.True(t, slices.Equal(doc.Warnings, []string{}))
}

// TestBatchInvalidLineJSON: an invalid line's "line" does not pretend a
// delivery status.
func TestBatchInvalidLineJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, BatchJSONL(&b, BatchEntry{Line: 9, Input: "frank@@it.test", Status: BatchStatusInvalid, Problem: "character '@' is not allowed"}))
	schematest.Validate(t, b.Bytes())
	assert.NotContains(t, b.String(), "status=undeliverable")
	assert.Contains(t, b.String(), `"schema":"mailprobe.batch-line/v1"`)
}

// TestProbeDocVerifyKind: why a certificate did not verify reaches the
// JSON document as tls.verify_kind (#9 item 7: VerifyKind reaches the
// output), one of the schema's values, "" for a verified certificate.
func TestProbeDocVerifyKind(t *testing.T) {
	for _, kind := range []probe.VerifyKind{probe.VerifyOK, probe.VerifyExpired, probe.VerifyNotYetValid,
		probe.VerifyHostname, probe.VerifyUnknownAuthority, probe.VerifyOther} {
		t.Run(string(kind), func(t *testing.T) {
			a := tcpAttempt("mx.it.test", "127.0.2.24", 25)
			a.TLS = &probe.TLSInfo{Version: "TLS 1.3", ServerName: "mx.it.test", Verified: kind == probe.VerifyOK, VerifyKind: kind}
			if kind != probe.VerifyOK {
				a.TLS.VerifyError = "certificate did not verify"
			}
			_, res := fixture("alice@it.test", a, probe.PhaseRCPT, mustReply(t, "250 2.1.5 OK"), nil)
			var b bytes.Buffer
			require.NoError(t, JSON(&b, res))
			schematest.Validate(t, b.Bytes())
			var doc struct {
				Hosts []struct {
					TLS map[string]any `json:"tls"`
				} `json:"hosts"`
			}
			require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
			require.Len(t, doc.Hosts, 1)
			require.Contains(t, doc.Hosts[0].TLS, "verify_kind")
			assert.Equal(t, string(kind), doc.Hosts[0].TLS["verify_kind"])
		})
	}
}
