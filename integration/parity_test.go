package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// caseCategory is the category mailprobe must give each parity case, in the vocabulary of
// report.Category.
var caseCategory = map[string]string{
	"deliverable":        "deliverable",
	"unknown-user":       "user-unknown",
	"greylisted-450":     "greylisted",
	"mailbox-full-452":   "mailbox-full",
	"dead-best-mx":       "deliverable",
	"all-mx-dead":        "connection-refused",
	"null-mx":            "null-mx",
	"nxdomain":           "dns-failure",
	"mx-host-no-address": "dns-failure",
	"mx-host-nxdomain":   "dns-failure",
	"dnsbl-reject":       "blocklisted",
	"greeting-421":       "connection-limit",
	"greeting-timeout":   "connection-timeout",
	"resolver-servfail":  "dns-failure",
	"resolver-refused":   "dns-failure",
}

// wantStatus maps Postfix's verify status to mailprobe's: Postfix's verify says
// undeliverable for every failure and leaves temporary/permanent to the dsn class
// (RFC 3463 §3.1: 4 = persistent transient failure); mailprobe says deferred for those, as
// Postfix's delivery agents do.
func wantStatus(p statusLine) string {
	if p.Status == "undeliverable" && strings.HasPrefix(p.DSN, "4.") {
		return "deferred"
	}
	return p.Status
}

// wantExit is mailprobe's documented exit code for one recipient with that status.
func wantExit(status string) int {
	switch status {
	case "deliverable":
		return 0
	case "undeliverable":
		return 1
	default:
		return 2
	}
}

// TestParity holds mailprobe's verdict for each case next to what Postfix #2 logs when it
// verifies the same recipient from the same source address: relay, dsn and reason equal,
// status equal up to deferred/undeliverable, and every host Postfix passed over on the way
// (its "connect to …" lines) appears in mailprobe's passed_over. It also checks that the
// recorded parity data (postfix-verify-lines.txt, what the report wording was written
// against) still matches the live Postfix; -update rewrites it.
func TestParity(t *testing.T) {
	requireServers(t)
	cases := loadParityCases(t, parityFile())
	live := make(map[string]string, len(cases))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			pf := postfixVerify(t, c.Recipient)
			live[c.Name] = pf.Line
			res := probeMX(t, clientAddr, c.Recipient)
			require.Len(t, res.Doc.Recipients, 1, "stderr: %s", res.Stderr)
			got := res.Doc.Recipients[0]
			t.Logf("postfix:   %s", pf.Line)
			t.Logf("mailprobe: %s", got.Line)

			assert.Equal(t, c.Recipient, got.Address)
			assert.Equal(t, pf.Status.Relay, got.Relay, "relay")
			assert.Equal(t, pf.Status.DSN, got.DSN, "dsn")
			assert.Equal(t, pf.Status.Reason, got.Reason, "reason")
			assert.Equal(t, wantStatus(pf.Status), got.Status, "status")
			assert.Equal(t, caseCategory[c.Name], got.Category, "category")
			assert.Equal(t, wantExit(got.Status), res.Exit, "exit code")

			// mailprobe's own Postfix-style line says the same as its JSON fields
			ml, err := parseStatusLine(got.Line)
			require.NoError(t, err)
			assert.Equal(t, statusLine{To: c.Recipient, Relay: got.Relay, DSN: got.DSN, Status: got.Status, Reason: got.Reason}, ml)

			var passed []string
			for _, p := range got.PassedOver {
				passed = append(passed, p.Reason)
			}
			for _, a := range pf.Attempts {
				if a == pf.Status.Reason {
					continue // the last host tried: its error is the verdict's reason
				}
				assert.Contains(t, passed, a, "Postfix passed over a host that mailprobe does not report")
			}

			if c.Name == "dnsbl-reject" {
				listed := false
				for _, r := range res.Doc.DNSBL {
					listed = listed || (r.List == dnsblZone && r.Address == clientAddr && r.Status == "listed")
				}
				assert.True(t, listed, "mailprobe's dnsbl[] should show %s listed on %s: %+v", clientAddr, dnsblZone, res.Doc.DNSBL)
			}

			if !update() {
				saved, err := parseStatusLine(c.Line)
				require.NoError(t, err)
				assert.Equal(t, saved, pf.Status,
					"postfix-verify-lines.txt no longer matches the live Postfix: run the test with -update or scripts/collect-parity")
			}
		})
	}
	if update() && !t.Failed() {
		writeParityFile(t, parityFile(), cases, live)
	}
}

// writeParityFile rewrites file (-update) with the live lines, keeping its header comments.
func writeParityFile(t *testing.T, file string, cases []parityCase, live map[string]string) {
	t.Helper()
	old, err := os.ReadFile(file)
	require.NoError(t, err)
	var b strings.Builder
	for _, l := range strings.Split(string(old), "\n") {
		if strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	for _, c := range cases {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", c.Name, c.Recipient,
			strings.ReplaceAll(live[c.Name], servers.dir, defaultServersDir))
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
}

// TestSwaksOutcome runs swaks --quit-after RCPT on every case and checks that it reaches the
// same accept/reject outcome as mailprobe, with the same server reply when there was one.
// swaks tries only the first MX and knows nothing of null MX (RFC 7505) or DNS errors:
// where it cannot reach a server, mailprobe must not call the recipient deliverable either,
// and for the dead lowest-preference MX both must have found that host refusing connections.
func TestSwaksOutcome(t *testing.T) {
	requireServers(t)
	for _, c := range loadParityCases(t, parityFile()) {
		t.Run(c.Name, func(t *testing.T) {
			sw := swaks(t, c.Recipient)
			res := probeMX(t, clientAddr, c.Recipient)
			require.Len(t, res.Doc.Recipients, 1)
			got := res.Doc.Recipients[0]
			t.Logf("swaks:     exit=%d %s", sw.Exit, sw.Last)
			t.Logf("mailprobe: %s", got.Line)

			switch sw.Exit {
			case 0: // RCPT accepted
				assert.Equal(t, "deliverable", got.Status)
				require.NotNil(t, got.Reply)
				assert.Equal(t, sw.Last, lastLine(got))
			case 21, 24: // refused at the greeting (21) or at RCPT (24): a server reply both saw
				assert.NotEqual(t, "deliverable", got.Status)
				if strings.HasPrefix(sw.Last, "Timeout") {
					assert.Equal(t, "greeting", got.Phase)
					assert.Nil(t, got.Reply)
					return
				}
				require.NotNil(t, got.Reply, "swaks saw %q", sw.Last)
				assert.Equal(t, sw.Last, lastLine(got))
			case 2: // swaks could not connect (first MX dead, or no usable MX host)
				if c.Name == "dead-best-mx" {
					assert.Contains(t, sw.Last, "Connection refused")
					require.NotEmpty(t, got.PassedOver)
					assert.Equal(t, "127.0.2.31", got.PassedOver[0].Address)
					assert.Contains(t, got.PassedOver[0].Reason, "Connection refused")
					assert.Equal(t, "deliverable", got.Status, "mailprobe goes on to the backup MX as Postfix does")
					return
				}
				assert.NotEqual(t, "deliverable", got.Status)
				assert.Nil(t, got.Reply, "swaks reached no server, so mailprobe should have no reply either")
			default:
				t.Fatalf("unexpected swaks exit %d: %s", sw.Exit, sw.Last)
			}
		})
	}
}

// lastLine is the last line of the reply mailprobe judged by, as it came off the wire; swaks
// shows each reply line separately.
func lastLine(r recipientDoc) string {
	if r.Reply == nil || len(r.Reply.Lines) == 0 {
		return ""
	}
	return r.Reply.Lines[len(r.Reply.Lines)-1]
}
