// Package golden is the one golden-file helper: Check compares output
// with a file under testdata/golden and, run with -update, rewrites it.
//
// It registers the -update flag itself, and every test package with
// golden or recorded files (report, maillog, postfixconf, integration)
// asks Updating instead of declaring its own flag (two registrations
// panic), so -update means the same everywhere.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/golden")
	}
}

// Updating reports whether the test binary runs with -update.
func Updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// Path is where the golden file name lives: testdata/golden/name.
func Path(name string) string { return filepath.Join("testdata", "golden", name) }

// Check compares got with testdata/golden/name, after rewriting the file
// when -update is given.
func Check(tb testing.TB, name string, got []byte) {
	tb.Helper()
	CheckFile(tb, Path(name), got)
}

// CheckFile is Check for a golden file elsewhere (report's batch and
// blacklist files live directly under testdata).
func CheckFile(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if Updating() {
		require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(tb, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(tb, err, "run go test with -update to create %s", path)
	assert.Equal(tb, string(want), string(got), "golden file %s", path)
}
