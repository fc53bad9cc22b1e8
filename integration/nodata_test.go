package integration

import (
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionCommands are the SMTP verbs a probe may use (RFC 5321 §4.1.1 minus DATA, and no
// BDAT, RFC 3030); Postfix counts every command of a session on its "disconnect from" line.
var sessionCommands = map[string]bool{
	"ehlo": true, "helo": true, "starttls": true, "mail": true, "rcpt": true,
	"rset": true, "noop": true, "quit": true, "commands": true,
}

// smtpd_client_port_logging puts the client's port after the address ("…]:PORT"), except on
// the 421 listener, whose reply text would carry it too (see master.cf).
var disconnectRE = regexp.MustCompile(`^(\S+ +\d+ [\d:]+) .* disconnect from probe\.it\.test\[127\.0\.2\.67\](?::(\d+))?((?: [a-z]+=\d+(?:/\d+)?)+)$`)

// loggedAt is when Postfix logged a line ("Dec 02 03:28:39", local time, no year).
func loggedAt(stamp string, now time.Time) time.Time {
	t, err := time.ParseInLocation("Jan _2 15:04:05 2006", stamp+" "+strconv.Itoa(now.Year()), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// TestNeverData runs mailprobe against every listener of the receiving Postfix - accepting,
// rejecting at RCPT, refusing at the greeting - from its own source address 127.0.2.67, and
// reads Postfix's "disconnect from … commands=" lines for those sessions — found by the client
// ports mailprobe reports, so other runs sharing the log do not count: no DATA or BDAT
// (and nothing else outside the probe's verbs) was ever sent, and recipients of one domain
// shared one session with one RCPT each.
func TestNeverData(t *testing.T) {
	requireServers(t)
	logFile := servers.log("postfix-mx.log")
	probes := []struct {
		rcpts   []string
		greeted bool // false: the listener answers 421 in place of the greeting
	}{
		{[]string{"alice@it.test"}, true},
		{[]string{"nobody@it.test"}, true},
		{[]string{"alice@it.test", "bob@it.test", "nobody@it.test", "ghost@it.test"}, true},
		{[]string{"alice@grey.it.test"}, true},
		{[]string{"alice@full.it.test"}, true},
		{[]string{"alice@deadbest.it.test"}, true},
		{[]string{"alice@dnsbl.it.test"}, true},
		{[]string{"alice@busy.it.test"}, false},
	}
	for _, p := range probes {
		t.Run(strings.Join(p.rcpts, ","), func(t *testing.T) {
			started := time.Now().Truncate(time.Second)
			args := append([]string{"probe", "-4", "--resolver", resolverAddr, "--source", probeAddr,
				"--helo", "probe.it.test", "--timeout", probeTimeout, "--dnsbl", "never"}, p.rcpts...)
			res := runMailprobe(t, args...)
			require.Len(t, res.Doc.Recipients, len(p.rcpts), "stderr: %s", res.Stderr)
			ports := map[string]bool{}
			for _, h := range res.Doc.Hosts {
				if _, port, err := net.SplitHostPort(h.Local); err == nil {
					ports[port] = true
				}
			}
			require.NotEmpty(t, ports, "mailprobe reports the local address of each connection")

			// Postfix logs the line when the session ends, possibly after mailprobe exited.
			var sessions [][]string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				data, err := os.ReadFile(logFile)
				require.NoError(t, err)
				sessions = sessions[:0]
				for _, l := range strings.Split(string(data), "\n") {
					m := disconnectRE.FindStringSubmatch(l)
					switch {
					case m == nil:
					case m[2] != "" && ports[m[2]]:
						sessions = append(sessions, strings.Fields(m[3]))
					case m[2] == "" && !p.greeted && !loggedAt(m[1], started).Before(started):
						// The 421 listener logs no port: every session from the probe's
						// address since this probe began must have sent nothing, ours
						// among them.
						sessions = append(sessions, strings.Fields(m[3]))
					}
				}
				if len(sessions) > 0 {
					break
				}
			}
			if !p.greeted {
				require.NotEmpty(t, sessions)
				for _, kvs := range sessions {
					assert.Equal(t, []string{"commands=0/0"}, kvs, "nothing may follow a 421 greeting")
				}
				return
			}
			require.Len(t, sessions, 1, "one Postfix session per probe (one host, recipients of one domain share it)")

			counts := map[string]string{}
			for _, kv := range sessions[0] {
				k, v, _ := strings.Cut(kv, "=")
				counts[k] = v
				assert.Truef(t, sessionCommands[k], "Postfix counted %q: %v", kv, sessions[0])
			}
			assert.NotContains(t, counts, "data")
			assert.NotContains(t, counts, "bdat")
			assert.Equal(t, "1", counts["ehlo"])
			assert.Equal(t, "1", counts["mail"])
			assert.Equal(t, strconv.Itoa(len(p.rcpts)), total(counts["rcpt"]), "one RCPT per recipient")
		})
	}
}

// total is the attempted count of a Postfix counter: "3" or "0/3" (accepted/attempted).
func total(v string) string {
	if _, after, ok := strings.Cut(v, "/"); ok {
		return after
	}
	return v
}
