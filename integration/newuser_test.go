package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/schematest"
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
	if slices.Contains(args, "-o") && (slices.Contains(args, "json") || slices.Contains(args, "jsonl")) && stdout.Len() > 0 {
		// Every document a real-server test produces conforms to the schema (#10 item 11).
		schematest.Validate(t, stdout.Bytes())
	}
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
		DSN         string `json:"dsn"`
		Line        string `json:"line"`
		Explanation struct {
			What, Cause, Next, Party string
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

// TestMXTruthPerHost: #10 item 5 against nsd. A domain whose MX host has
// no address (noaddr.it.test) or does not exist (nxhost.it.test) exists:
// the explanation says so, names the host, and does not advise running
// `mailprobe mx` — the command just run. A domain that does not exist
// is still called that.
func TestMXTruthPerHost(t *testing.T) {
	requireServers(t)
	out, stderr, _ := runRaw(t, "mx", "noaddr.it.test", "nxhost.it.test", "nxdomain.it.test")
	blocks := strings.Split(out, "\nRoute for ")
	require.Len(t, blocks, 3, out+stderr)
	assert.Contains(t, blocks[0], "The domain noaddr.it.test exists and has MX records, but its MX host host-noaddr.it.test has no A/AAAA records")
	assert.Contains(t, blocks[1], "The domain nxhost.it.test exists and has MX records, but its MX host missing-host.it.test does not exist")
	assert.Contains(t, blocks[2], "The domain nxdomain.it.test does not exist in DNS")
	for _, b := range blocks[:2] {
		assert.NotContains(t, b, "does not exist in DNS")
		assert.NotContains(t, b, "typo in the domain")
	}
	assert.NotContains(t, out, "`mailprobe mx", "mx does not advise running itself")
}

// TestBlacklistDomainChecksMXHosts: #10 item 5. `blacklist DOMAIN`
// checks the addresses of the domain's MX hosts, and a mail domain
// without A/AAAA of its own is not "unknown".
func TestBlacklistDomainChecksMXHosts(t *testing.T) {
	requireServers(t)
	out, stderr, code := runRaw(t, "blacklist", "--lists", dnsblZone, "-o", "json", "it.test", "dnsbl.it.test")
	require.Equal(t, 0, code, out+stderr)
	var doc struct {
		Results []struct {
			Target, Address, List, Status, Via string
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	var got []string
	for _, r := range doc.Results {
		got = append(got, r.Target+" "+r.Via+" "+r.Address+" "+r.Status)
	}
	assert.Equal(t, []string{"it.test mx.it.test 127.0.2.25 clean", "dnsbl.it.test mx-dnsbl.it.test 127.0.2.26 clean"}, got)
}

// TestLMTPUsageHints: #10 item 6 against the real Dovecot. A unix socket
// implies LMTP; SMTP spoken to its port 24 gets "use --protocol lmtp".
func TestLMTPUsageHints(t *testing.T) {
	requireServers(t)
	sock := servers.dir + "/dovecot/lmtp"
	out, stderr, code := runRaw(t, "probe", "--dnsbl", "never", "--server", "unix:"+sock, "-o", "json", "alice@it.test")
	require.Equal(t, 0, code, out+stderr)
	assert.Equal(t, "deliverable", decodeExplained(t, out).Recipients[0].Status)

	out, stderr, _ = runRaw(t, "probe", "--dnsbl", "never", "--server", lmtpAddr, "-o", "json", "alice@it.test")
	d := decodeExplained(t, out)
	require.Len(t, d.Recipients, 1, stderr)
	assert.Contains(t, strings.ToLower(d.Recipients[0].Explanation.Next), "this looks like an lmtp server: use --protocol lmtp")
}

// TestDefaultSenderAccepted: #10 item 4 against the real Postfix
// listeners of testdata/integration/postfix-mx/master.cf.in: 127.0.6.25
// runs reject_unknown_sender_domain, 127.0.6.26
// reject_multi_recipient_bounce. The old default postmaster@vm.localdomain
// got "450 4.1.8 … Sender address rejected: Domain not found" and the
// report blamed the server; the new default is accepted, a warning comes
// first, and a refused sender is named as the probe's own problem.
func TestDefaultSenderAccepted(t *testing.T) {
	requireServers(t)
	// A HELO name that does not resolve (the test resolver refuses it):
	// the null sender, and a warning before anything is sent.
	out, stderr, code := runRaw(t, "probe", "--server", "127.0.6.25", "--helo", "vm.localdomain", "--dnsbl", "never", "-o", "json", "alice@it.test")
	require.Equal(t, 0, code, out+stderr)
	assert.Contains(t, stderr, "warning: the EHLO name vm.localdomain does not resolve")
	assert.Equal(t, "deliverable", decodeExplained(t, out).Recipients[0].Status)

	// A HELO name that resolves: double-bounce@it, as Postfix's verify.
	out, stderr, code = runRaw(t, "probe", "--server", "127.0.6.25", "--helo", clientName, "--dnsbl", "never", "--transcript", "-o", "json", "alice@it.test")
	require.Equal(t, 0, code, out+stderr)
	assert.Contains(t, stderr, "MAIL FROM:<double-bounce@"+clientName+">")
	assert.NotContains(t, stderr, "warning")

	// The old default, given by hand: refused, and the report says whose problem it is.
	out, stderr, _ = runRaw(t, "probe", "--server", "127.0.6.25", "--from", "postmaster@vm.localdomain", "--dnsbl", "never", "-o", "json", "alice@it.test")
	assert.Contains(t, stderr, "warning: the sender's domain vm.localdomain does not resolve")
	r := decodeExplained(t, out).Recipients[0]
	assert.Equal(t, "deferred", r.Status)
	assert.Contains(t, r.Explanation.Next, "receiving server refused your probe's sender; use --from with an address of a domain you own")
	assert.NotContains(t, r.Explanation.What+r.Explanation.Cause, "on its side")

	// swaks's null sender, several recipients, reject_multi_recipient_bounce:
	// one transaction per recipient, so neither is refused as a bounce.
	out, stderr, code = runRaw(t, "probe", "--server", "127.0.6.26", "--from", "<>", "--dnsbl", "never", "-o", "json", "alice@it.test", "bob@it.test")
	require.Equal(t, 0, code, out+stderr)
	for _, r := range decodeExplained(t, out).Recipients {
		assert.Equal(t, "deliverable", r.Status)
	}
}

// TestTLSLevelsRealPostfix: #10 item 7 against Postfix #1, which offers
// no STARTTLS (smtpd_tls_security_level = none): at encrypt and above the
// recipient is deferred in Postfix's own words, and the text report's
// headline says which TLS happened; at may it says TLS was not offered.
func TestTLSLevelsRealPostfix(t *testing.T) {
	requireServers(t)
	for _, lvl := range []string{"encrypt", "verify", "secure"} {
		out, stderr, code := runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "--starttls", lvl, "alice@it.test")
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, out, "dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.it.test[127.0.2.25])", lvl)
		assert.Contains(t, out, "alice@it.test  deferred  (TLS: TLS not offered by the server (required at level "+lvl+"))", lvl)
	}
	out, stderr, code := runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "--starttls", "may", "alice@it.test")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "  TLS:           TLS not offered by the server: in clear\n")
	_, stderr, code = runRaw(t, "probe", "--dnsbl", "never", "--starttls", "dane", "alice@it.test")
	assert.Equal(t, 64, code)
	assert.Contains(t, stderr, "DANE is not checked yet")
}

// TestAllMXRealPostfix: #10 item 8 against deadbest.it.test (a dead best
// MX, a live backup): without --all-mx the MTA's view is exit 0; with it
// the worst host decides (exit 2), -o postfix has one line per host, and
// the accepting host is not "passed over".
func TestAllMXRealPostfix(t *testing.T) {
	requireServers(t)
	_, stderr, code := runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "alice@deadbest.it.test")
	require.Equal(t, 0, code, stderr)
	out, stderr, code := runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "--all-mx", "-o", "postfix", "alice@deadbest.it.test")
	assert.Equal(t, 2, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Contains(t, lines[0], "status=deferred (connect to dead1.it.test[127.0.2.31]:25: Connection refused)")
	assert.Contains(t, lines[1], "relay=mx.it.test[127.0.2.25]:25")
	out, _, _ = runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "--all-mx", "alice@deadbest.it.test")
	assert.NotContains(t, out, "Passed over:   mx.it.test")
	assert.Contains(t, out, "Passed over:   dead1.it.test[127.0.2.31]:25")

	// Two domains at once: every transcript line names its host.
	_, stderr, _ = runRaw(t, "probe", "-4", "--helo", clientName, "--dnsbl", "never", "--transcript", "-o", "json", "alice@it.test", "alice@grey.it.test")
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "mailprobe: warning") {
			assert.True(t, strings.HasPrefix(l, "["), "unlabelled transcript line %q", l)
		}
	}
}

// TestVerifyFrontDetected: #10 item 10 against Postfix #1 (mx.it.test,
// reject_unverified_recipient in front of Dovecot, address_verify_poll_delay
// 1 s): a batch of addresses it has not verified yet answers about one per
// second per session; the summary says so and advises verifying against
// the backend, and the sessions run in parallel up to --concurrency.
func TestVerifyFrontDetected(t *testing.T) {
	requireServers(t)
	// Fresh local parts: the verify cache must not know them.
	var lines []string
	stamp := time.Now().UnixNano()
	for i := 0; i < 6; i++ {
		lines = append(lines, fmt.Sprintf("fresh%d-%d@it.test", stamp, i))
	}
	path := t.TempDir() + "/rcpts"
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	start := time.Now()
	out, stderr, _ := runRaw(t, "probe", "--server", "127.0.2.25", "--helo", clientName, "--concurrency", "3", "--rcpt-file", path)
	took := time.Since(start)
	assert.Contains(t, out, "verify against the backend instead", stderr)
	assert.Contains(t, out, "reject_unverified_recipient")
	// One session: ≥ 6 s (one poll per address); three: about a third.
	assert.Less(t, took, 5*time.Second, out)
}

// TestMessageRateLimitRealPostfix: Postfix #1's 127.0.6.27 allows one
// MAIL FROM per client per minute (smtpd_client_message_rate_limit = 1).
// Within a few probes one is refused at MAIL FROM with Postfix's own
// "450 4.7.1 Error: too much mail from 127.0.2.66": a rate limit on the
// sending side, temporary — not a server error.
func TestMessageRateLimitRealPostfix(t *testing.T) {
	requireServers(t)
	for i := 0; i < 3; i++ {
		out, stderr, code := runRaw(t, "probe", "--server", "127.0.6.27", "--source", clientAddr, "--helo", clientName, "--dnsbl", "never", "-o", "json", "alice@it.test")
		r := decodeExplained(t, out).Recipients[0]
		if r.Status == "deliverable" {
			require.Equal(t, 0, code, out+stderr)
			continue
		}
		assert.Equal(t, 2, code, stderr)
		assert.Equal(t, "deferred", r.Status)
		assert.Equal(t, "rate-limited", r.Category)
		assert.Equal(t, "4.7.1", r.DSN)
		assert.Contains(t, r.Line, "said: 450 4.7.1 Error: too much mail from "+clientAddr+" (in reply to MAIL FROM command)")
		assert.Equal(t, "sender", r.Explanation.Party)
		return
	}
	t.Fatal("three probes within a minute, none refused by smtpd_client_message_rate_limit = 1")
}
