package lab

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartAndCloseLeaveNothingBehind(t *testing.T) {
	var dir string
	fakemta.NoGoroutineLeak(t, func() {
		l, err := Start(context.Background(), Options{})
		require.NoError(t, err)
		dir = l.dir
		assert.FileExists(t, l.LMTPSocket())
		// Open connections of every kind must not keep Close waiting.
		for _, addr := range []string{"127.0.0.10", "127.0.0.22", "127.0.0.16"} {
			c, err := net.Dial("tcp", net.JoinHostPort(addr, strconv.Itoa(l.Port())))
			require.NoError(t, err)
			defer c.Close()
		}
		u, err := net.Dial("unix", l.LMTPSocket())
		require.NoError(t, err)
		defer u.Close()
		require.NoError(t, l.Close())
		require.NoError(t, l.Close(), "Close twice")
	})
	_, err := os.Stat(dir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "socket directory %s still there: %v", dir, err)
}

func TestCancellingTheContextClosesTheLab(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Options{})
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.10", strconv.Itoa(l.Port()))
	cancel()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	}, 10*time.Second, 5*time.Millisecond, "the lab stops listening")
	require.NoError(t, l.Close())
}

func TestTwoLabsRunSideBySide(t *testing.T) {
	a := startLab(t, Options{})
	b := startLab(t, Options{})
	assert.NotEqual(t, a.Port(), b.Port())
	assert.NotEqual(t, a.LMTPSocket(), b.LMTPSocket())
}

func TestAddressesAndExpand(t *testing.T) {
	l := startLab(t, Options{})
	p := strconv.Itoa(l.Port())
	assert.Equal(t, "127.0.0.1:"+p, l.DNSAddr())
	assert.Equal(t, "connect to h[127.0.0.20]:"+p+": Connection refused", l.Expand("connect to h[127.0.0.20]:{port}: Connection refused"))
	assert.Equal(t, l.LMTPSocket(), l.Expand("{dir}/lmtp.sock"))
	assert.Equal(t, "no placeholders", l.Expand("no placeholders"))
}

func TestScenarioTable(t *testing.T) {
	l := startLab(t, Options{})
	categories := map[string]bool{}
	for _, c := range strings.Fields(`delivered deliverable user-unknown mailbox-full mailbox-disabled relay-denied
		blocklisted reputation greylisted rate-limited connection-limit policy-spf-dmarc-dkim reverse-dns
		tls-required auth-required message-size content-spam dns-failure null-mx connection-refused
		connection-timeout protocol-error server-error other`) {
		categories[c] = true
	}
	names := map[string]bool{}
	scs := l.Scenarios()
	require.Len(t, scs, len(scenarioTemplates))
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			assert.False(t, names[sc.Name], "duplicate name")
			names[sc.Name] = true
			assert.NotEmpty(t, sc.Title)
			assert.Contains(t, []string{"smtp", "lmtp"}, sc.Protocol)
			assert.True(t, categories[sc.Want.Category], "category %q not in the vocabulary", sc.Want.Category)
			assert.Contains(t, []string{StatusDeliverable, StatusUndeliverable, StatusDeferred}, sc.Want.Status)
			require.Regexp(t, `^[245]\.\d{1,3}\.\d{1,3}$`, sc.Want.DSN)
			// Status follows the dsn class, as in Postfix.
			want := map[byte]string{'2': StatusDeliverable, '4': StatusDeferred, '5': StatusUndeliverable}[sc.Want.DSN[0]]
			assert.Equal(t, want, sc.Want.Status)
			assert.NotContains(t, sc.Server, "{", "Server must be expanded")
			assert.NotContains(t, l.Expand(sc.Want.Reason), "{")
			if sc.Protocol == "lmtp" {
				assert.NotEmpty(t, sc.Server, "LMTP is reached with --server")
			}
		})
	}
	sc, ok := l.Scenario("lmtp-unix")
	require.True(t, ok)
	assert.Equal(t, "unix:"+l.LMTPSocket(), sc.Server)
	_, ok = l.Scenario("no-such-scenario")
	assert.False(t, ok)
}

// TestWantReasonsQuoteTheServers checks each "said:"/"refused to talk to
// me:" reason against what the lab's server really answers: the reason
// must carry the reply verbatim, so a drift in one shows up here.
func TestWantReasonsQuoteTheServers(t *testing.T) {
	l := startLab(t, Options{})
	p := strconv.Itoa(l.Port())
	for _, sc := range l.Scenarios() {
		reason := l.Expand(sc.Want.Reason)
		_, said, ok := strings.Cut(reason, " said: ")
		if !ok {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			reply, cmd, ok := strings.Cut(said, " (in reply to ")
			require.True(t, ok)
			host := reason[len("host "):strings.Index(reason, "[")]
			ip := reason[strings.Index(reason, "[")+1 : strings.Index(reason, "]")]
			if host != ip {
				assert.Contains(t, sc.DNS, host+". 300 IN A "+ip, "the reason names an MX host the DNS does not serve")
			}
			c := fakemta.Dial(t, "tcp", net.JoinHostPort(ip, p))
			greeting := c.Reply()
			require.True(t, strings.HasPrefix(greeting[0], "220 "), "%q", greeting)
			hello := "EHLO"
			if sc.Protocol == "lmtp" {
				hello = "LHLO"
			}
			require.Equal(t, "250", c.Cmd(hello + " probe.lab.test")[0][:3])
			got := c.Cmd("MAIL FROM:<postmaster@probe.lab.test>")
			if cmd == "RCPT TO command)" {
				require.Equal(t, "250", got[0][:3], "%q", got)
				got = c.Cmd("RCPT TO:<" + sc.Target + ">")
			} else {
				require.Equal(t, "MAIL FROM command)", cmd)
			}
			assert.Equal(t, reply, strings.Join(got, " "))
		})
	}
}
