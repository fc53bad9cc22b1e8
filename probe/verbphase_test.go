package probe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVerbPhaseCommand: every verb's reply belongs to its phase, and the
// phase's command words are Postfix's "(in reply to … command)" words;
// phases that send nothing have none.
func TestVerbPhaseCommand(t *testing.T) {
	tests := []struct {
		verb    verb
		phase   Phase
		command string
	}{
		{verbEHLO, PhaseEHLO, "EHLO"},
		{verbHELO, PhaseHELO, "HELO"},
		{verbLHLO, PhaseLHLO, "LHLO"},
		{verbSTARTTLS, PhaseSTARTTLS, "STARTTLS"},
		{verbMAIL, PhaseMAIL, "MAIL FROM"},
		{verbRCPT, PhaseRCPT, "RCPT TO"},
		{verbRSET, PhaseRSET, "RSET"},
		{verbQUIT, PhaseQUIT, "QUIT"},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			assert.Equal(t, tt.phase, tt.verb.phase())
			assert.Equal(t, tt.command, tt.phase.Command())
		})
	}
	for _, p := range []Phase{PhaseDNS, PhaseConnect, PhaseTLS, PhaseGreeting} {
		assert.Empty(t, p.Command(), p)
	}
}
