package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mailprobe/mailprobe/probe"
)

// TestTLSSummarySTARTTLS: only a STARTTLS answered with an error is
// "refused"; one accepted with 220 and then broken (bytes sent with the
// 220, found by the hostile-server runs) says what broke.
func TestTLSSummarySTARTTLS(t *testing.T) {
	refused := &probe.Attempt{Err: &probe.Error{Kind: probe.ErrRejected, Phase: probe.PhaseSTARTTLS,
		Reply: &probe.Reply{Code: 454, Lines: []string{"454 4.7.0 TLS not available"}}}}
	assert.Equal(t, "STARTTLS refused: 454 4.7.0 TLS not available", TLSSummary(refused, probe.ConfigSummary{}))

	broken := &probe.Attempt{Err: &probe.Error{Kind: probe.ErrProtocol, Phase: probe.PhaseSTARTTLS,
		Reply: &probe.Reply{Code: 220, Lines: []string{"220 go"}}, Detail: "the server sent data after its 220 reply to STARTTLS"}}
	got := TLSSummary(broken, probe.ConfigSummary{})
	assert.NotContains(t, got, "refused")
	assert.Contains(t, got, "STARTTLS failed: ")
	assert.Contains(t, got, "data after its 220 reply")
}

// TestTLSSummaryNotOffered: STARTTLS required but not offered carries the
// starttls phase with no STARTTLS sent; it is "not offered", not "failed"
// (TestTLSLevelsRealPostfix saw "STARTTLS failed" when the broken case
// came first).
func TestTLSSummaryNotOffered(t *testing.T) {
	a := &probe.Attempt{Err: &probe.Error{Kind: probe.ErrTLSRequired, Phase: probe.PhaseSTARTTLS, Detail: "the server did not offer STARTTLS"}}
	assert.Equal(t, "TLS not offered by the server (required at level encrypt)", TLSSummary(a, probe.ConfigSummary{TLSLevel: "encrypt"}))
}
