package integration

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLMTPDovecot probes Dovecot's LMTP service directly (LHLO, MAIL, RCPT, RFC 2033), over
// TCP and over its unix socket, and holds each verdict next to the line Postfix #1 logs when
// its lmtp(8) client verifies the same recipient against the same Dovecot. For a unix socket
// Postfix names the relay after its own host name (myhostname, which is also its LHLO name),
// so mailprobe is given that name with --helo.
func TestLMTPDovecot(t *testing.T) {
	requireServers(t)
	cases := loadParityCases(t, lmtpParityFile())
	live := make(map[string]string, len(cases))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			server := lmtpAddr
			if strings.Contains(c.Name, "unix") {
				server = "unix:" + servers.dir + "/dovecot/lmtp"
			}
			pf := postfixVerifyLMTP(t, c.Recipient)
			live[c.Name] = pf.Line
			res := runMailprobe(t, "probe", "--protocol", "lmtp", "--server", server, "--dnsbl", "never",
				"--helo", "mx.it.test", "--from", "verify@report.it.test", "--timeout", probeTimeout, c.Recipient)
			require.Len(t, res.Doc.Recipients, 1, "stderr: %s", res.Stderr)
			got := res.Doc.Recipients[0]
			t.Logf("postfix:   %s", pf.Line)
			t.Logf("mailprobe: %s", got.Line)

			assert.Equal(t, pf.Status.Relay, got.Relay, "relay")
			assert.Equal(t, pf.Status.DSN, got.DSN, "dsn")
			assert.Equal(t, pf.Status.Reason, got.Reason, "reason")
			assert.Equal(t, wantStatus(pf.Status), got.Status, "status")
			assert.Equal(t, wantExit(got.Status), res.Exit, "exit code")
			if strings.Contains(c.Name, "unknown") {
				assert.Equal(t, "user-unknown", got.Category)
				assert.Contains(t, got.Reason, "User doesn't exist: "+c.Recipient)
			} else {
				assert.Equal(t, "deliverable", got.Category)
			}
			if !update() {
				saved, err := parseStatusLine(c.Line)
				require.NoError(t, err)
				assert.Equal(t, saved, pf.Status,
					"postfix-lmtp-lines.txt no longer matches the live Postfix: run the test with -update or scripts/collect-parity")
			}
		})
	}
	if update() && !t.Failed() {
		writeParityFile(t, lmtpParityFile(), cases, live)
	}
}

// TestLMTPSession sends several recipients, known and unknown, in one LMTP transaction over
// each transport: every recipient gets its own verdict from Dovecot's per-RCPT replies.
func TestLMTPSession(t *testing.T) {
	requireServers(t)
	for _, server := range []string{lmtpAddr, "unix:" + servers.dir + "/dovecot/lmtp"} {
		t.Run(server, func(t *testing.T) {
			res := runMailprobe(t, "probe", "--protocol", "lmtp", "--server", server, "--dnsbl", "never", "--timeout", probeTimeout,
				"alice@it.test", "nobody@it.test", "bob@it.test", "postmaster@it.test", "ghost@it.test")
			want := map[string]string{
				"alice@it.test": "deliverable", "nobody@it.test": "undeliverable", "bob@it.test": "deliverable",
				"postmaster@it.test": "deliverable", "ghost@it.test": "undeliverable",
			}
			require.Len(t, res.Doc.Recipients, len(want), "stderr: %s", res.Stderr)
			for _, r := range res.Doc.Recipients {
				assert.Equal(t, want[r.Address], r.Status, r.Line)
				if r.Status == "undeliverable" {
					assert.Equal(t, "5.1.1", r.DSN, r.Line)
					assert.Equal(t, "user-unknown", r.Category, r.Line)
				} else {
					assert.Equal(t, "2.1.5", r.DSN, r.Line)
				}
			}
			assert.Equal(t, 1, res.Exit, "some recipients undeliverable")
		})
	}
}
