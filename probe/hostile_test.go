package probe_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/lab"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// hostileConfig has short timeouts so that a server that does nothing
// costs a fraction of a second, and a deadline well above them.
func hostileConfig(t *testing.T, srv *fakemta.ScriptServer) probe.Config {
	t.Helper()
	return probe.Config{
		Server: &probe.Server{Network: "tcp", Host: "127.0.0.1", Port: srv.Port()},
		HELO:   "probe.lab.test", From: "postmaster@probe.lab.test",
		Timeout: 300 * time.Millisecond, Deadline: 5 * time.Second, STARTTLS: probe.TLSAuto,
	}
}

func targets(t *testing.T, rcpts ...string) []probe.Target {
	t.Helper()
	var ts []probe.Target
	for _, r := range rcpts {
		a, err := probe.ParseAddress("recipient", r)
		require.NoError(t, err)
		ts = append(ts, probe.Target{Address: a})
	}
	return ts
}

// TestHostileServers runs the prober against every scripted misbehaving
// server of the lab: each run must end (the per-phase timeouts and the
// deadline bound it), name the phase and kind of failure truthfully,
// keep the server's bytes away from the terminal, and never send DATA.
func TestHostileServers(t *testing.T) {
	tests := []struct {
		script string
		rcpts  []string
		kind   error       // error kind of the first recipient, nil when a reply decided
		phase  probe.Phase // where the first recipient was decided
		code   int         // reply code of the first recipient, 0 when none
		check  func(t *testing.T, res *probe.Result)
	}{
		{script: "no-greeting", kind: probe.ErrTimeout, phase: probe.PhaseGreeting},
		{script: "slow-greeting", kind: probe.ErrTimeout, phase: probe.PhaseGreeting},
		{script: "greeting-then-silence", kind: probe.ErrTimeout, phase: probe.PhaseEHLO},
		{script: "endless-multiline", kind: probe.ErrProtocol, phase: probe.PhaseEHLO},
		{script: "megabyte-line", kind: probe.ErrProtocol, phase: probe.PhaseGreeting},
		{script: "http-server", kind: probe.ErrProtocol, phase: probe.PhaseGreeting},
		{script: "telnet-login", kind: probe.ErrProtocol, phase: probe.PhaseGreeting},
		{script: "binary", kind: probe.ErrProtocol, phase: probe.PhaseGreeting},
		{script: "invalid-utf8", code: 550, phase: probe.PhaseRCPT, check: func(t *testing.T, res *probe.Result) {
			r := res.Recipients[0].Reply
			assert.Contains(t, r.Text(), `\xed\xa0\x80`)
			assert.True(t, strings.ToValidUTF8(r.Text(), "?") == r.Text(), "reply text must be valid UTF-8")
		}},
		{script: "ansi-escape", code: 550, phase: probe.PhaseRCPT, check: func(t *testing.T, res *probe.Result) {
			var out bytes.Buffer
			require.NoError(t, report.Text(&out, res, report.TextOptions{}))
			assert.NotContains(t, out.String(), "\x1b", "an escape sequence reached the output")
			assert.NotContains(t, out.String(), "\u009b")
			assert.Contains(t, out.String(), `\x1b[31mno such user`)
		}},
		{script: "drop-after-greeting", kind: probe.ErrLost, phase: probe.PhaseEHLO},
		{script: "drop-mid-reply", kind: probe.ErrLost, phase: probe.PhaseEHLO},
		{script: "drop-after-mail", kind: probe.ErrLost, phase: probe.PhaseMAIL},
		{script: "drop-after-two-rcpts", rcpts: []string{"a@lab.test", "b@lab.test", "c@lab.test"}, code: 250, phase: probe.PhaseRCPT,
			check: func(t *testing.T, res *probe.Result) {
				assert.Equal(t, 250, res.Recipients[1].Reply.Code)
				third := res.Recipients[2]
				assert.ErrorIs(t, third.Err, probe.ErrLost, "the third RCPT was never answered")
				assert.Nil(t, third.Reply)
			}},
		{script: "421-at-ehlo", code: 421, phase: probe.PhaseEHLO},
		{script: "421-at-mail", code: 421, phase: probe.PhaseMAIL},
		{script: "421-at-rcpt", code: 421, phase: probe.PhaseRCPT},
		{script: "starttls-454", code: 250, phase: probe.PhaseRCPT, check: func(t *testing.T, res *probe.Result) {
			tlsInfo := res.Recipients[0].Attempt.TLS
			require.NotNil(t, tlsInfo)
			assert.Contains(t, tlsInfo.VerifyError, "454 4.7.0")
		}},
		{script: "starttls-garbage", check: func(t *testing.T, res *probe.Result) {
			atts := res.Domains[0].Attempts
			require.Len(t, atts, 2, "a failed STARTTLS is followed by a plaintext retry, as Postfix does")
			// The garbage came with the 220: never fed to the handshake.
			assert.ErrorIs(t, atts[0].Err, probe.ErrProtocol)
			assert.True(t, atts[1].PlaintextRetry)
		}},
		{script: "answers-data", code: 250, phase: probe.PhaseRCPT},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			srv := fakemta.ServeShipped(t, tt.script)
			rcpts := tt.rcpts
			if rcpts == nil {
				rcpts = []string{"alice@lab.test"}
			}
			res, err := probe.Run(context.Background(), hostileConfig(t, srv), targets(t, rcpts...))
			require.NoError(t, err)
			o := res.Recipients[0]
			if tt.kind != nil {
				assert.ErrorIs(t, o.Err, tt.kind, "outcome %+v", o.Err)
			}
			if tt.phase != "" {
				assert.Equal(t, tt.phase, o.Phase)
			}
			if tt.code != 0 {
				require.NotNil(t, o.Reply, "err: %v", o.Err)
				assert.Equal(t, tt.code, o.Reply.Code)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			for _, r := range res.Recipients {
				v := report.Judge(r, res)
				assert.NotEmpty(t, v.Reason)
				assert.NotContains(t, v.Line(), "\x1b")
			}
			assert.False(t, srv.SawVerb("DATA"), "DATA was sent")
			assert.False(t, srv.SawVerb("BDAT"), "BDAT was sent")
		})
	}
}

// TestDeadlineBoundsSilentServer: with a per-phase timeout far above the
// deadline, the deadline ends the probe and says so.
func TestDeadlineBoundsSilentServer(t *testing.T) {
	srv := fakemta.ServeShipped(t, "no-greeting")
	cfg := hostileConfig(t, srv)
	cfg.Timeout, cfg.Deadline = time.Minute, 400*time.Millisecond
	res, err := probe.Run(context.Background(), cfg, targets(t, "alice@lab.test"))
	require.NoError(t, err)
	assert.ErrorIs(t, res.Recipients[0].Err, probe.ErrDeadline)
	assert.Less(t, res.Duration, 30*time.Second, "the deadline must end the probe long before the phase timeout")
}

// TestCancelEndsProbe: cancelling (Ctrl-C) ends a probe of a server that
// does nothing, with an interrupted outcome.
func TestCancelEndsProbe(t *testing.T) {
	srv := fakemta.ServeShipped(t, "greeting-then-silence")
	cfg := hostileConfig(t, srv)
	cfg.Timeout, cfg.Deadline = time.Minute, time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := probe.Run(ctx, cfg, targets(t, "alice@lab.test"))
	require.NoError(t, err)
	assert.Error(t, res.Recipients[0].Err)
	assert.Less(t, res.Duration, 30*time.Second)
}

// TestCertificateFacts: the scripted servers present an expired, a
// wrong-name, a self-signed and a valid certificate; the probe reports
// each precisely and, without --tls-verify, goes on to RCPT.
func TestCertificateFacts(t *testing.T) {
	tests := []struct {
		script, kind string
		verified     bool
	}{
		{"starttls-valid", "", true},
		{"starttls-expired", "expired", false},
		{"starttls-wrong-name", "hostname", false},
		{"starttls-self-signed", "unknown-authority", false},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			srv := fakemta.ServeShipped(t, tt.script)
			cfg := hostileConfig(t, srv)
			// The certificate is checked against the host name, so name
			// the server and let a loopback DNS server resolve it.
			cfg.Server = &probe.Server{Network: "tcp", Host: "mx.script.lab.test", Port: srv.Port()}
			cfg.DNS = hostsDNS(t, map[string]string{"mx.script.lab.test.": "127.0.0.1"})
			roots, err := fakemta.ScriptRootCAs()
			require.NoError(t, err)
			cfg.TLSRoots = roots
			res, err := probe.Run(context.Background(), cfg, targets(t, "alice@lab.test"))
			require.NoError(t, err)
			o := res.Recipients[0]
			require.NotNil(t, o.Reply, "err: %v", o.Err)
			assert.Equal(t, 250, o.Reply.Code)
			info := o.Attempt.TLS
			require.NotNil(t, info)
			assert.Equal(t, tt.verified, info.Verified, info.VerifyError)
			assert.Equal(t, probe.VerifyKind(tt.kind), info.VerifyKind)
			assert.Equal(t, "mx.script.lab.test", info.ServerName)
		})
	}
}

// hostsDNS serves A records for names on a loopback port (UDP and TCP).
func hostsDNS(t *testing.T, hosts map[string]string) *dnsclient.Client {
	t.Helper()
	var records []string
	for name, ip := range hosts {
		records = append(records, name+" 60 IN A "+ip)
	}
	zone, err := dnsserve.NewZone(records...)
	require.NoError(t, err)
	srv, err := dnsserve.Listen("127.0.0.1", zone)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	c, err := dnsclient.New(srv.Addr, time.Second)
	require.NoError(t, err)
	return c
}

// TestCatchAllCheck uses the lab: its catch-all server accepts a random
// local part, the ordinary MX does not.
func TestCatchAllCheck(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	for name, want := range map[string]bool{"catch-all": true, "accept": false} {
		t.Run(name, func(t *testing.T) {
			sc, ok := l.Scenario(name)
			require.True(t, ok)
			cfg, ts, err := l.ProbeConfig(sc)
			require.NoError(t, err)
			cfg.CatchAllCheck = true
			res, err := probe.Run(context.Background(), cfg, ts)
			require.NoError(t, err)
			o := res.Recipients[0]
			require.NotNil(t, o.CatchAll)
			assert.Equal(t, want, *o.CatchAll)
			assert.Equal(t, 250, o.Reply.Code)
			v := report.Judge(o, res)
			if want {
				assert.Contains(t, v.Explanation.What+v.Explanation.Cause+v.Explanation.Next, "catch-all")
			}
		})
	}
	assert.False(t, l.SawVerb("DATA"))
}

// TestAllMX: --all-mx dials every host at once and reports each; the
// recipient's verdict is still the one an MTA would reach.
func TestAllMX(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	sc, ok := l.Scenario("backup-mx")
	require.True(t, ok)
	cfg, ts, err := l.ProbeConfig(sc)
	require.NoError(t, err)
	cfg.AllMX = true
	res, err := probe.Run(context.Background(), cfg, ts)
	require.NoError(t, err)
	atts := res.Domains[0].Attempts
	require.Len(t, atts, 2, "every MX address is tried")
	assert.ErrorIs(t, atts[0].Err, probe.ErrRefused)
	assert.Nil(t, atts[1].Err)
	require.Len(t, atts[1].Rcpts, 1)
	assert.Equal(t, 250, atts[1].Rcpts[0].Reply.Code)
	o := res.Recipients[0]
	assert.Same(t, atts[1], o.Attempt)
	v := report.Judge(o, res)
	assert.Equal(t, report.Status("deliverable"), v.Status)
	assert.False(t, l.SawVerb("DATA"))
}
