package blacklist

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

const rbldnsdMissing = "real-server test: rbldnsd not installed; run the README's test command (installs it) or set MAILPROBE_INTEGRATION=1"

// rbldnsdPath finds rbldnsd, or skips (fails with MAILPROBE_INTEGRATION=1).
func rbldnsdPath(t *testing.T) string {
	for _, p := range []string{"rbldnsd", "/usr/sbin/rbldnsd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
		t.Fatal(rbldnsdMissing)
	}
	t.Skip(rbldnsdMissing)
	return ""
}

// startRbldnsd runs rbldnsd in the foreground on 127.0.0.1 with the given
// zone files and returns its UDP address. rbldnsd answers UDP only, which
// is exactly the DNSBL server behaviour the client must cope with.
func startRbldnsd(t *testing.T, files map[string]string, zones ...string) string {
	bin := rbldnsdPath(t)
	// rbldnsd drops privileges before reading the zone files, so the
	// directory must be readable by its user: t.TempDir's parents are 0700.
	dir, err := os.MkdirTemp("", "mailprobe-rbldnsd-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		// A free port: bind, note, release. Another process could take
		// it in between; then rbldnsd exits and we try again.
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		port := pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		args := []string{"-n", "-b", "127.0.0.1/" + strconv.Itoa(port), "-w", dir, "-t", "60", "-c", "0"}
		if os.Geteuid() == 0 {
			// rbldnsd refuses to run as root.
			u := "nobody"
			if _, err := user.Lookup("rbldns"); err == nil {
				u = "rbldns"
			}
			args = append(args, "-u", u)
		}
		args = append(args, zones...)
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitDNS(addr, exited); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; rbldnsd said: %s", err, out.String())
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return addr
	}
	t.Fatalf("starting rbldnsd: %v", lastErr)
	return ""
}

// waitDNS polls until the server answers a query, it exits, or 10 s pass.
func waitDNS(addr string, exited <-chan error) error {
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("1.0.0.127.ip.rbl.test.", dns.TypeA)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("rbldnsd exited: %v", err)
		default:
		}
		if _, _, err := c.Exchange(m, addr); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("rbldnsd did not answer on %s", addr)
}

func TestRbldnsd(t *testing.T) {
	addr := startRbldnsd(t, map[string]string{
		"ip.txt": `:127.0.0.2:Listed in the lab list, see http://lab.test/lookup?$
127.0.0.2
192.0.2.99
:127.0.0.4:Exploited host $
198.51.100.7
`,
		"ip6.txt": `:127.0.0.3:IPv6 listed $
2001:db8::99
`,
		"dom.txt": `:127.0.1.2:Spam domain $
test
spam.example
*.wild.example
`,
	}, "ip.rbl.test:ip4set:ip.txt", "ip.rbl.test:ip6trie:ip6.txt", "dom.rbl.test:dnset:dom.txt")

	lists, err := ParseLists("ip.rbl.test:127.0.0.2=lab listing;127.0.0.4=exploited host;127.0.0.3=IPv6 listing, dom.rbl.test=domain:127.0.1.2=spam domain")
	require.NoError(t, err)
	c := &Checker{
		Resolver: DNSResolver{Client: &dnsclient.Client{Servers: []string{addr}, Timeout: 2 * time.Second}},
		Lists:    lists,
	}
	tests := []struct {
		target Target
		list   string
		status Status
		codes  []string
		reason string
	}{
		{TargetIP(ip("192.0.2.99")), "ip.rbl.test", Listed, []string{"127.0.0.2"}, "Listed in the lab list, see http://lab.test/lookup?192.0.2.99"},
		{TargetIP(ip("::ffff:198.51.100.7")), "ip.rbl.test", Listed, []string{"127.0.0.4"}, "Exploited host 198.51.100.7"},
		{TargetIP(ip("192.0.2.1")), "ip.rbl.test", Clean, nil, ""},
		{TargetIP(ip("2001:db8::99")), "ip.rbl.test", Listed, []string{"127.0.0.3"}, "IPv6 listed 2001:db8::99"},
		{TargetIP(ip("2001:db8::1")), "ip.rbl.test", Clean, nil, ""},
		{TargetDomain("spam.example"), "dom.rbl.test", Listed, []string{"127.0.1.2"}, "Spam domain spam.example"},
		{TargetDomain("host.wild.example"), "dom.rbl.test", Listed, []string{"127.0.1.2"}, "Spam domain wild.example"}, // rbldnsd substitutes the matching entry,
		{TargetDomain("good.example"), "dom.rbl.test", Clean, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target.Name, func(t *testing.T) {
			rs := c.Check(context.Background(), []Target{tt.target})
			require.Len(t, rs, 1)
			r := rs[0]
			assert.Equal(t, tt.list, r.List)
			assert.Equal(t, tt.status, r.Status, r.Error)
			assert.Equal(t, tt.codes, r.Codes)
			assert.Equal(t, tt.reason, r.Reason)
		})
	}

	t.Run("health", func(t *testing.T) {
		for _, h := range c.Health(context.Background()) {
			assert.Equal(t, HealthOK, h.Status, "%s: %s", h.List, h.Problem)
		}
	})
}

// TestRbldnsdErrorRange: a real rbldnsd serving a list that answers every
// query with 127.255.255.254 and TXT "Error: open resolver" (what
// Spamhaus's mirrors answer a public resolver, MailScanner/v5#634). On a
// list not named spamhaus that used to read as "listed"; it is unknown,
// and the TXT says why (#10 item 2).
func TestRbldnsdErrorRange(t *testing.T) {
	addr := startRbldnsd(t, map[string]string{
		"err.txt": ":127.255.255.254:Error: open resolver\n0.0.0.0/1\n128.0.0.0/1\n",
		// waitDNS asks ip.rbl.test.
		"ip.txt": "127.0.0.2\n",
	}, "zen.lab.test:ip4set:err.txt", "ip.rbl.test:ip4set:ip.txt")
	lists, err := ParseLists("zen.lab.test")
	require.NoError(t, err)
	c := &Checker{
		Resolver: DNSResolver{Client: &dnsclient.Client{Servers: []string{addr}, Timeout: 2 * time.Second}},
		Lists:    lists,
	}
	rs := c.Check(context.Background(), []Target{TargetIP(ip("192.0.2.99"))})
	require.Len(t, rs, 1)
	assert.Equal(t, Unknown, rs[0].Status)
	assert.ErrorIs(t, rs[0].Err, ErrErrorCode)
	assert.Equal(t, []string{"127.255.255.254"}, rs[0].Codes)
	assert.Equal(t, "Error: open resolver", rs[0].Reason)
}
