package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/schematest"
	"github.com/mailprobe/mailprobe/lab"
)

// TestEveryDocumentConformsToSchema: #10 item 11. Each command's JSON —
// probe, demo (every lab scenario's probe document), mx, blacklist and
// its --health, explain (one text, and one per line), batch lines and
// version — has its "schema" field and conforms to
// schema/mailprobe.schema.json.
func TestEveryDocumentConformsToSchema(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	res := []string{"--resolver", l.DNSAddr()}
	port := fmt.Sprint(l.Port())
	rcpts := filepath.Join(t.TempDir(), "rcpts")
	require.NoError(t, os.WriteFile(rcpts, []byte("django@lmtp.lab.test\npaeddrigg@lmtp.lab.test\n@lmtp.lab.test\nbad@@lmtp.lab.test\n"), 0o644))
	explainIn := filepath.Join(t.TempDir(), "replies")
	require.NoError(t, os.WriteFile(explainIn, []byte("550 5.1.1 user unknown\n421 out of connection slots\n"), 0o644))
	runs := [][]string{
		{"demo", "-o", "json"},
		append([]string{"probe", "--port", port, "--lists", lab.DNSBLZone, "-o", "json", "alice@accept.lab.test", "alice@blocked.lab.test", "postmaster@nxdomain.lab.test"}, res...),
		append([]string{"probe", "--port", port, "--all-mx", "--dnsbl", "never", "-o", "json", "alice@backup.lab.test"}, res...),
		append([]string{"probe", "--protocol", "lmtp", "--server", "127.0.0.27:" + port, "--dnsbl", "never", "-o", "jsonl", "--rcpt-file", rcpts}, res...),
		append([]string{"mx", "-o", "json", "accept.lab.test", "noaddr.lab.test", "nullmx.lab.test"}, res...),
		append([]string{"blacklist", "--lists", lab.DNSBLZone, "-o", "json", "127.0.0.1", "accept.lab.test"}, res...),
		append([]string{"blacklist", "--lists", lab.DNSBLZone, "--health", "-o", "json"}, res...),
		{"explain", "-o", "json", "550 5.1.1 <a@b.example> User unknown"},
		{"explain", "-o", "jsonl", explainIn},
		{"version", "-o", "json"},
	}
	for _, args := range runs {
		t.Run(strings.Join(args[:min(3, len(args))], " "), func(t *testing.T) {
			out, stderr, code := cli(t, args...)
			require.NotEqual(t, ExitUsage, code, stderr)
			require.NotEqual(t, ExitInternal, code, stderr)
			require.Contains(t, out, `"schema"`)
			schematest.Validate(t, []byte(out))
		})
	}
}
