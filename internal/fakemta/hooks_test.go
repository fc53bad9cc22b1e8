package fakemta

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialogue sends lines one by one and returns the first line of each reply.
func dialogue(t *testing.T, addr string, lines ...string) []string {
	t.Helper()
	c := Dial(t, "tcp", addr)
	out := []string{c.Reply()[0]}
	for _, l := range lines {
		out = append(out, c.Cmd(l)[0])
	}
	return out
}

func TestServerLimits(t *testing.T) {
	s := Start(t, &Server{Pipelining: true, TxLimit: 1,
		Rcpt: func(_, _ int, a string) string { return "250 2.1.5 Ok" }})
	got := dialogue(t, s.Addr, "EHLO probe.lab.test", "MAIL FROM:<>", "RCPT TO:<a@lab.test>", "RCPT TO:<b@lab.test>", "RSET", "QUIT")
	assert.Equal(t, []string{"220 mx.test ESMTP fake", "250-mx.test", "250 2.1.0 Ok", "250 2.1.5 Ok",
		"452 4.5.3 Error: too many recipients", "250 2.0.0 Ok", "221 2.0.0 Bye"}, got)
	assert.EqualValues(t, 1, s.MaxPerTx())
	assert.Equal(t, 1, s.Conns())
	require.Eventually(t, func() bool { return len(s.Lines()) == 6 }, time.Second, 10*time.Millisecond)
	assert.Equal(t, "RCPT TO:<b@lab.test>", s.Lines()[3])
}

func TestServerHardErrors(t *testing.T) {
	s := Start(t, &Server{HardErrors: 1,
		Rcpt: func(_, _ int, a string) string {
			return "550 5.1.1 <" + a + ">: Recipient address rejected: User unknown"
		}})
	got := dialogue(t, s.Addr, "EHLO probe.lab.test", "MAIL FROM:<>", "RCPT TO:<a@lab.test>", "RSET")
	assert.Equal(t, "421 4.7.0 mx.test Error: too many errors", got[len(got)-1])
	assert.EqualValues(t, 1, s.Errors421())
}

func TestCanned(t *testing.T) {
	s := StartCanned(t, "220 canned.lab.test ESMTP\r\n", []string{"250 canned.lab.test\r\n", "221 Bye\r\n"})
	got := dialogue(t, s.Addr(), "EHLO probe.lab.test", "QUIT")
	assert.Equal(t, []string{"220 canned.lab.test ESMTP", "250 canned.lab.test", "221 Bye"}, got)
	require.Eventually(t, func() bool { return len(s.Lines()) == 2 }, time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"EHLO probe.lab.test", "QUIT"}, s.Lines())
}
