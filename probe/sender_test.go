package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// TestChooseSender: #10 item 4. The default sender is double-bounce@HELO
// when the HELO name resolves (Postfix verify's sender), else the null
// sender; names that do not resolve are warned about before sending.
func TestChooseSender(t *testing.T) {
	dnsSrv := startFakeDNS(t, map[string]string{}, map[string]string{"probe.example.net.": "127.0.0.1", "mail.example.net.": "127.0.0.1"})
	c, err := dnsclient.New(dnsSrv.addr, time.Second)
	require.NoError(t, err)
	tests := []struct {
		name, helo, from string
		auto             bool
		want             string
		warn             []string
	}{
		{"HELO resolves", "probe.example.net", "", true, "double-bounce@probe.example.net", nil},
		{"HELO does not resolve: null sender", "vm.localdomain", "", true, "", []string{"the EHLO name vm.localdomain does not resolve", "MAIL FROM:<>"}},
		{"explicit sender, domain resolves", "probe.example.net", "me@mail.example.net", false, "me@mail.example.net", nil},
		{"explicit sender, domain does not resolve", "probe.example.net", "postmaster@vm.localdomain", false, "postmaster@vm.localdomain",
			[]string{"the sender's domain vm.localdomain does not resolve", "use --from with an address of a domain you own"}},
		{"explicit null sender", "probe.example.net", "", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{HELO: tt.helo, From: tt.from, SenderAuto: tt.auto, DNS: c}
			warns := ChooseSender(context.Background(), &cfg)
			assert.Equal(t, tt.want, cfg.From)
			assert.False(t, cfg.SenderAuto)
			all := strings.Join(warns, "\n")
			for _, w := range tt.warn {
				assert.Contains(t, all, w)
			}
			if tt.warn == nil {
				assert.Empty(t, warns)
			}
		})
	}
}

// TestNullSenderOneRcptPerTransaction: with <> over SMTP each recipient
// gets its own transaction, so reject_multi_recipient_bounce never sees a
// second RCPT; the warnings reach Warn before the first connection.
func TestNullSenderOneRcptPerTransaction(t *testing.T) {
	addr, rec := testServer(t, false, knownUsers("a@lab.test", "b@lab.test"))
	dnsSrv := startFakeDNS(t, map[string]string{}, map[string]string{})
	c, err := dnsclient.New(dnsSrv.addr, time.Second)
	require.NoError(t, err)
	cfg := baseConfig(addr)
	cfg.From, cfg.SenderAuto, cfg.HELO, cfg.DNS = "", true, "vm.localdomain", c
	var warned []string
	cfg.Warn = func(s string) { warned = append(warned, s); assert.Empty(t, rec.Lines(), "warned before sending") }
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test"), mustTarget(t, "b@lab.test")})
	require.NoError(t, err)
	require.Len(t, warned, 1)
	assert.Contains(t, warned[0], "vm.localdomain does not resolve")
	assert.Equal(t, warned, res.Warnings)
	assert.Empty(t, res.Config.From)
	for _, o := range res.Recipients {
		require.NotNil(t, o.Reply)
		assert.Equal(t, 250, o.Reply.Code)
	}
	mails := 0
	for _, c := range rec.Lines() {
		if strings.HasPrefix(c, "MAIL FROM:<>") {
			mails++
		}
	}
	assert.Equal(t, 2, mails, "one MAIL FROM:<> per recipient: %v", rec.Lines())
}

// TestChooseSenderAsksOnceForTheHELOName: --from postmaster@HELO (the
// usual pairing, scripts/bench-swaks's) asks DNS about that name once,
// not once for the HELO check and again for the sender check, and still
// gives both warnings when it does not resolve (issue 12 item 5: round
// trips are most of a probe's time).
func TestChooseSenderAsksOnceForTheHELOName(t *testing.T) {
	dnsSrv := startFakeDNS(t, map[string]string{}, map[string]string{"probe.example.net.": "127.0.0.1"})
	c, err := dnsclient.New(dnsSrv.addr, time.Second)
	require.NoError(t, err)
	tests := []struct {
		name, helo, from string
		warn             []string
	}{
		{"resolves", "probe.example.net", "postmaster@probe.example.net", nil},
		{"case and trailing dot", "Probe.Example.NET.", "postmaster@probe.example.net", nil},
		{"does not resolve", "vm.localdomain", "postmaster@VM.localdomain",
			[]string{"the EHLO name vm.localdomain does not resolve", "the sender's domain VM.localdomain does not resolve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := dnsSrv.mxQueries(tt.helo)
			cfg := Config{HELO: tt.helo, From: tt.from, DNS: c}
			warns := ChooseSender(context.Background(), &cfg)
			assert.Equal(t, before+1, dnsSrv.mxQueries(tt.helo), "MX queries for %s", tt.helo)
			assert.Equal(t, tt.from, cfg.From)
			assert.Len(t, warns, len(tt.warn))
			all := strings.Join(warns, "\n")
			for _, w := range tt.warn {
				assert.Contains(t, all, w)
			}
		})
	}
}

// mxQueries is how many MX queries for name (any case, with or without
// the final dot) the server has answered.
func (f *fakeDNS) mxQueries(name string) int {
	return f.zone.Queries(strings.TrimSuffix(strings.ToLower(name), ".")+".", dns.TypeMX)
}
