package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runRaw runs the built binary with args (plus --resolver, the test
// resolver, unless given) and returns stdout, stderr and the exit code.
func runRaw(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !slices.Contains(args, "--resolver") {
		args = append(args, "--resolver", resolverAddr)
	}
	cmd := exec.CommandContext(ctx, servers.mailprobe, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("mailprobe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

// explainedDoc reads what these tests need of a probe document.
type explainedDoc struct {
	Recipients []struct {
		Status      string `json:"status"`
		Category    string `json:"category"`
		Explanation struct {
			What, Cause, Next string
		} `json:"explanation"`
	} `json:"recipients"`
	DNSBL []struct {
		Address, List, Status string
	} `json:"dnsbl"`
}

func decodeExplained(t *testing.T, out string) explainedDoc {
	t.Helper()
	var d explainedDoc
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	return d
}

// TestNamedListIsAsked: #10 item 1 against the real Postfix with
// reject_rbl_client dnsbl.test. The lists given do not exist (the test
// resolver answers REFUSED for them), so none of them can say "clean";
// the list the reply names ("blocked using dnsbl.test") is asked too and
// cited. Before the fix the explanation said "None of the 2 checked lists
// has 127.0.2.66, so the block is most likely the provider's own list".
func TestNamedListIsAsked(t *testing.T) {
	requireServers(t)
	out, stderr, code := runRaw(t, "probe", "-4", "--source", clientAddr, "--helo", clientName,
		"--from", "postmaster@"+clientName, "--lists", "zen.lab.test,bl.lab.test", "-o", "json", "alice@dnsbl.it.test")
	require.Equal(t, 1, code, stderr)
	d := decodeExplained(t, out)
	require.Len(t, d.Recipients, 1)
	r := d.Recipients[0]
	assert.Equal(t, "blocklisted", r.Category)
	assert.Contains(t, r.Explanation.Cause, "Listed: dnsbl.test lists 127.0.2.66")
	assert.NotContains(t, r.Explanation.Cause, "provider's own list")
	assert.NotContains(t, r.Explanation.Cause, "private", "the reply names the address the server saw")
	var asked []string
	for _, x := range d.DNSBL {
		if x.Address == clientAddr {
			asked = append(asked, x.List+"="+x.Status)
		}
	}
	assert.ElementsMatch(t, []string{"zen.lab.test=unknown", "bl.lab.test=unknown", "dnsbl.test=listed"}, asked)
}

// TestDNSBLAutoQuietAfterUserUnknown: #10 item 3 against the real
// Postfix: an unknown user (550 5.1.1 from reject_unverified_recipient)
// and greylisting cause no DNSBL lookups with --dnsbl auto.
func TestDNSBLAutoQuietAfterUserUnknown(t *testing.T) {
	requireServers(t)
	for _, rcpt := range []string{"carol@it.test", "alice@grey.it.test", "alice@full.it.test"} {
		t.Run(rcpt, func(t *testing.T) {
			out, stderr, _ := runRaw(t, "probe", "-4", "--source", clientAddr, "--helo", clientName,
				"--from", "postmaster@"+clientName, "--lists", dnsblZone, "-o", "json", rcpt)
			d := decodeExplained(t, out)
			require.Len(t, d.Recipients, 1, stderr)
			assert.NotEqual(t, "deliverable", d.Recipients[0].Status)
			assert.Empty(t, d.DNSBL, "no DNSBL lookups after %s", d.Recipients[0].Category)
		})
	}
}
