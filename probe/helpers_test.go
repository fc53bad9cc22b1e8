package probe

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/require"
)

// requireNoData fails when a command that could transfer a message was
// ever received.
func requireNoData(t *testing.T, rec interface{ Lines() []string }) {
	t.Helper()
	requireNoDataIn(t, rec.Lines())
}

func requireNoDataIn(t *testing.T, cmds []string) {
	t.Helper()
	for _, c := range cmds {
		v := strings.ToUpper(strings.Fields(c + " x")[0])
		require.NotContains(t, []string{"DATA", "BDAT"}, v, "the probe sent %q", c)
	}
}

// testServer starts a well-behaved go-smtp server on 127.0.0.1:0 whose
// RCPT answer comes from rcpt, and returns its address and the server,
// which records what the client sent.
func testServer(t *testing.T, lmtp bool, rcpt func(string) error, opts ...func(*smtp.Server)) (string, *fakemta.SMTP) {
	t.Helper()
	s := fakemta.StartSMTP(t, &fakemta.SMTP{LMTP: lmtp, Rcpt: rcpt, Configure: func(srv *smtp.Server) {
		for _, o := range opts {
			o(srv)
		}
	}})
	return s.Addr, s
}

// scriptServer is a raw server for golden transcripts (fakemta's canned
// mode): it sends greeting, then for each line it reads, the next canned
// reply, and records what the client sent.
func scriptServer(t *testing.T, greeting string, replies []string) (string, *fakemta.ScriptServer) {
	t.Helper()
	s := fakemta.StartCanned(t, greeting, replies)
	return s.Addr(), s
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	a, err := ParseTarget(s)
	require.NoError(t, err)
	return Target{Address: a}
}
