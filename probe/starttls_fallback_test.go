package probe_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// TestStartTLSFallback: at the "may" level (--starttls auto), every way a
// STARTTLS can fail after the server's 220 — plaintext where the
// ServerHello belongs, a handshake that stalls until the timeout, a fatal
// alert, a hang-up, bytes that came with the 220 — is followed by one
// plaintext attempt labelled as such, as Postfix does
// (PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_FAILURE). The second connection
// runs a well-behaved script, so the recipient is decided there.
// At the encrypt level (--starttls always) there is no fallback.
func TestStartTLSFallback(t *testing.T) {
	tests := []struct {
		script string
		kind   error // the first attempt's error kind
		phase  probe.Phase
	}{
		{"starttls-garbage", probe.ErrProtocol, probe.PhaseSTARTTLS},
		{"starttls-injected", probe.ErrProtocol, probe.PhaseSTARTTLS},
		{"starttls-plaintext-after-220", probe.ErrTLS, probe.PhaseTLS},
		{"starttls-stall", probe.ErrTimeout, probe.PhaseTLS},
		{"starttls-alert", probe.ErrTLS, probe.PhaseTLS},
		{"starttls-close-after-220", probe.ErrTLS, probe.PhaseTLS},
	}
	for _, tt := range tests {
		t.Run(tt.script+"/may", func(t *testing.T) {
			start := time.Now()
			res, srv := runScripts(t, nil, tt.script, "plain-accept")
			atts := res.Domains[0].Attempts
			require.Len(t, atts, 2, "attempts: %v", attemptErrs(atts))
			require.NotNil(t, atts[0].Err)
			assert.ErrorIs(t, atts[0].Err, tt.kind, "%v", atts[0].Err)
			assert.Equal(t, tt.phase, atts[0].Err.Phase)
			assert.False(t, atts[0].PlaintextRetry)
			assert.True(t, atts[1].PlaintextRetry, "the retry is labelled")
			assert.Nil(t, atts[1].Err)
			o := res.Recipients[0]
			require.NotNil(t, o.Reply, "err: %v", o.Err)
			assert.Equal(t, 250, o.Reply.Code)
			assert.Same(t, atts[1], o.Attempt)
			assert.Equal(t, "deliverable", string(report.Judge(o, res).Status))
			assert.Less(t, time.Since(start), 3*time.Second)
			// The plaintext retry never asked for STARTTLS again.
			n := 0
			for _, c := range srv.Commands() {
				if c.Verb() == "STARTTLS" {
					n++
				}
			}
			assert.Equal(t, 1, n, "STARTTLS once, on the first connection")
		})
		t.Run(tt.script+"/encrypt", func(t *testing.T) {
			res, _ := runScripts(t, func(c *probe.Config) { c.STARTTLS = probe.TLSAlways }, tt.script, "plain-accept")
			atts := res.Domains[0].Attempts
			require.Len(t, atts, 1, "no fallback at encrypt: %v", attemptErrs(atts))
			assert.ErrorIs(t, atts[0].Err, tt.kind)
			o := res.Recipients[0]
			assert.Error(t, o.Err)
			assert.Equal(t, "deferred", string(report.Judge(o, res).Status))
		})
		t.Run(tt.script+"/verify", func(t *testing.T) {
			res, _ := runScripts(t, func(c *probe.Config) { c.TLSVerify = true }, tt.script, "plain-accept")
			require.Len(t, res.Domains[0].Attempts, 1, "no fallback when the certificate must verify")
		})
	}
}

// TestStartTLSFallbackByLevel: by Postfix's level names, only "may" falls
// back to plaintext after a failed handshake; "none" never starts TLS;
// encrypt, verify and secure fail the host.
func TestStartTLSFallbackByLevel(t *testing.T) {
	for _, tt := range []struct {
		level    string
		attempts int
		status   string
	}{
		{"none", 1, "deliverable"}, // STARTTLS never asked: the first session is plaintext
		{"may", 2, "deliverable"},
		{"encrypt", 1, "deferred"},
		{"verify", 1, "deferred"},
		{"secure", 1, "deferred"},
	} {
		t.Run(tt.level, func(t *testing.T) {
			lvl, err := probe.ParseTLSLevel(tt.level)
			require.NoError(t, err)
			// Under "none" the first connection must not be the TLS one.
			scripts := []string{"starttls-alert", "plain-accept"}
			if tt.level == "none" {
				scripts = []string{"plain-accept"}
			}
			res, _ := runScripts(t, func(c *probe.Config) {
				c.STARTTLS, c.TLSVerify, c.TLSSecure, c.TLSLevel = lvl.Mode, lvl.Verify, lvl.Nexthop, lvl.Name
			}, scripts...)
			require.Len(t, res.Domains[0].Attempts, tt.attempts, "attempts: %v", attemptErrs(res.Domains[0].Attempts))
			assert.Equal(t, tt.status, string(report.Judge(res.Recipients[0], res).Status))
		})
	}
}
