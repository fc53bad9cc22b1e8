package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/golden"
	"github.com/mailprobe/mailprobe/internal/schematest"
)

// With -update (internal/golden's flag, the same everywhere) the
// real-server tests rewrite testdata/integration/postfix-verify-lines.txt
// and postfix-lmtp-lines.txt from what the running Postfix logs.
func update() bool { return golden.Updating() }

// skipMessage is what plain `go test ./...` shows for every real-server test.
const skipMessage = "real-server tests: run scripts/test-all as root (installs and starts Postfix, Dovecot, rbldnsd, nsd, dnsmasq)"

// The address plan of testdata/integration/README.md.
const (
	resolverAddr = "127.0.2.53"
	clientAddr   = "127.0.2.66" // Postfix #2 smtp_bind_address, listed in dnsbl.test
	probeAddr    = "127.0.2.67" // mailprobe's source in TestNeverData only
	clientName   = "client.it.test"
	lmtpAddr     = "127.0.2.24:24"
	mxAddr       = "127.0.2.25:25"
	dnsblZone    = "dnsbl.test"
	// probeTimeout equals Postfix #2's smtp_connect_timeout and smtp_helo_timeout.
	probeTimeout = "5s"
)

// realServers describes the running set; err says why it cannot be used.
type realServers struct {
	repo      string // repository root
	dir       string // $MAILPROBE_SERVERS_DIR
	mailprobe string // the binary under test, built by TestMain
	err       error
}

var servers realServers

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	repo, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	servers.repo = repo
	servers.dir = os.Getenv("MAILPROBE_SERVERS_DIR")
	if servers.dir == "" {
		servers.dir = "/tmp/mailprobe-servers"
	}
	servers.err = checkServers(servers.dir)
	if servers.err != nil {
		fmt.Fprintf(os.Stderr, "integration: %s (%v)\n", skipMessage, servers.err)
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "mailprobe-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	servers.mailprobe = filepath.Join(tmp, "mailprobe")
	build := exec.Command(goTool(), "build", "-o", servers.mailprobe, "./cmd/mailprobe")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: go build ./cmd/mailprobe: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func sendmailPath() string {
	if p, err := exec.LookPath("sendmail"); err == nil {
		return p
	}
	return "/usr/sbin/sendmail"
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// checkServers reports why the real-server set cannot be used, or nil.
func checkServers(dir string) error {
	if os.Geteuid() != 0 {
		return errors.New("not root: sendmail -C and the resolv.conf mount namespace need root")
	}
	if _, err := os.Stat(filepath.Join(dir, "running")); err != nil {
		return fmt.Errorf("the set is not running (%w)", err)
	}
	for _, addr := range []string{mxAddr, lmtpAddr} {
		if err := greets(addr); err != nil {
			return err
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("it.test.", dns.TypeMX)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, net.JoinHostPort(resolverAddr, "53"))
	if err != nil {
		return fmt.Errorf("test resolver %s: %w", resolverAddr, err)
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return fmt.Errorf("test resolver %s: it.test MX: %s with %d answers", resolverAddr, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	return nil
}

// greets dials addr and waits for a 220 greeting.
func greets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%s: reading greeting: %w", addr, err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("%s greets with %q", addr, strings.TrimSpace(line))
	}
	_, err = c.Write([]byte("QUIT\r\n"))
	return err
}

// requireServers skips the test without the set, or fails it when MAILPROBE_INTEGRATION=1.
func requireServers(t *testing.T) {
	t.Helper()
	if servers.err == nil {
		return
	}
	if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
		t.Fatalf("MAILPROBE_INTEGRATION=1 but the real servers are not usable: %v; start them with scripts/servers-up (as root)", servers.err)
	}
	t.Skip(skipMessage)
}

func (s realServers) conf(parts ...string) string {
	return filepath.Join(append([]string{s.dir, "conf"}, parts...)...)
}

func (s realServers) log(name string) string { return filepath.Join(s.dir, "log", name) }

// probeDoc is the part of `mailprobe probe --output json` (schema mailprobe.probe/v1) that
// these tests read.
type probeDoc struct {
	Schema     string         `json:"schema"`
	Recipients []recipientDoc `json:"recipients"`
	DNSBL      []struct {
		Address string `json:"address"`
		List    string `json:"list"`
		Status  string `json:"status"`
	} `json:"dnsbl"`
	// Hosts are the connections made; Local is "addr:port", the client port a test finds
	// its own sessions by in a server's log.
	Hosts []struct {
		Address string `json:"address"`
		Local   string `json:"local"`
	} `json:"hosts"`
}

type recipientDoc struct {
	Address  string `json:"address"`
	Line     string `json:"line"`
	Status   string `json:"status"`
	DSN      string `json:"dsn"`
	Reason   string `json:"reason"`
	Relay    string `json:"relay"`
	Command  string `json:"command"`
	Phase    string `json:"phase"`
	Category string `json:"category"`
	Reply    *struct {
		Code     int      `json:"code"`
		Enhanced string   `json:"enhanced"`
		Text     string   `json:"text"`
		Lines    []string `json:"lines"`
	} `json:"reply"`
	PassedOver []struct {
		Host    string `json:"host"`
		Address string `json:"address"`
		Port    int    `json:"port"`
		Reason  string `json:"reason"`
	} `json:"passed_over"`
}

// mailprobeResult is one run of the binary.
type mailprobeResult struct {
	Doc    probeDoc
	Exit   int
	Stderr string
}

// runMailprobe runs the built binary with args plus --output json and decodes its report.
func runMailprobe(t *testing.T, args ...string) mailprobeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Every lookup goes to the test resolver on loopback, even when a
	// test does not name one: the machine's own resolver is off limits.
	if !slices.Contains(args, "--resolver") {
		args = append(args, "--resolver", resolverAddr)
	}
	cmd := exec.CommandContext(ctx, servers.mailprobe, append(args, "--output", "json")...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := mailprobeResult{Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.Exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("mailprobe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	require.NoErrorf(t, json.Unmarshal(stdout.Bytes(), &res.Doc),
		"mailprobe %s: JSON report\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout.String(), stderr.String())
	// Every document a real-server test produces conforms to the schema (#10 item 11).
	schematest.Validate(t, stdout.Bytes())
	return res
}

// probeMX probes rcpt via MX the way Postfix #2 sends: through the test resolver, IPv4 only
// (its inet_protocols), from source, with its EHLO name, sender and timeouts.
func probeMX(t *testing.T, source, rcpt string) mailprobeResult {
	t.Helper()
	return runMailprobe(t, "probe", "-4", "--resolver", resolverAddr, "--source", source,
		"--helo", clientName, "--from", "postmaster@"+clientName, "--timeout", probeTimeout,
		"--lists", dnsblZone, rcpt)
}

// statusLine is a Postfix delivery status line split into the fields parity is about.
type statusLine struct {
	To, Relay, DSN, Status, Reason string
}

var statusLineRE = regexp.MustCompile(`^to=<([^>]*)>, (?:orig_to=<[^>]*>, )?relay=([^,]+), (?:conn_use=\d+, )?` +
	`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=(\d\.\d{1,3}\.\d{1,3}), status=([a-z-]+) \((.*)\)$`)

func parseStatusLine(line string) (statusLine, error) {
	m := statusLineRE.FindStringSubmatch(line)
	if m == nil {
		return statusLine{}, fmt.Errorf("not a Postfix status line: %q", line)
	}
	return statusLine{To: m[1], Relay: m[2], DSN: m[3], Status: m[4], Reason: m[5]}, nil
}

// postfixVerification is what Postfix #2 logged for one `sendmail -bv`.
type postfixVerification struct {
	Line   string     // the status line from "to=<" on
	Status statusLine // Line, split
	// Attempts are the smtp(8) lines about hosts passed over on the way, e.g.
	// "connect to dead1.it.test[127.0.2.31]:25: Connection refused".
	Attempts []string
}

// maillogRE splits a Postfix log line: program[pid], the queue ID when there is one, the rest.
var maillogRE = regexp.MustCompile(`^\S+ +\d+ [\d:]+ \S+ (\S+\[\d+\]): (?:([0-9A-F]{6,}): )?(.*)$`)

// postfixVerify has Postfix #2 verify rcpt (MX lookup through the test resolver, SMTP from
// 127.0.2.66 up to RCPT, never DATA) and returns what it logged.
func postfixVerify(t *testing.T, rcpt string) postfixVerification {
	t.Helper()
	return verifyWith(t, "postfix-out", "postmaster@"+clientName, rcpt)
}

// postfixVerifyLMTP has Postfix #1 verify rcpt through its own transport: LMTP to Dovecot on
// 127.0.2.24:24, or on Dovecot's unix socket for sock.it.test. The -bv report goes to
// report.it.test, whose transport discards it.
func postfixVerifyLMTP(t *testing.T, rcpt string) postfixVerification {
	t.Helper()
	return verifyWith(t, "postfix-mx", "verify@report.it.test", rcpt)
}

// verifyWith runs `sendmail -bv rcpt` through instance and returns the verdict it logged. The
// log is shared by every run on the machine, so the probe is found by its own queue ID: the
// sender carries a tag no other run uses (sender+TAG@domain; only the local part changes, and
// the report to it is discarded like the untagged one), pickup logs "QID: uid=0 from=<it>",
// and the verdict is the "QID: to=<rcpt>, … status=" line.
func verifyWith(t *testing.T, instance, sender, rcpt string) postfixVerification {
	t.Helper()
	logFile := servers.log(instance + ".log")
	local, domain, _ := strings.Cut(sender, "@")
	var tag [6]byte
	_, _ = rand.Read(tag[:])
	sender = local + "+" + hex.EncodeToString(tag[:]) + "@" + domain
	out, err := exec.Command(sendmailPath(), "-C", servers.conf(instance), "-f", sender,
		"-bv", rcpt).CombinedOutput()
	require.NoErrorf(t, err, "sendmail -bv %s: %s", rcpt, out)

	picked := " uid=0 from=<" + sender + ">"
	want := "to=<" + rcpt + ">, "
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, err := os.ReadFile(logFile)
		require.NoError(t, err)
		qid, start := "", -1
		lines := strings.Split(string(data), "\n")
		for i, l := range lines {
			m := maillogRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			if qid == "" {
				if m[2] != "" && strings.HasSuffix(" "+m[3], picked) {
					qid, start = m[2], i
				}
				continue
			}
			if m[2] != qid || !strings.HasPrefix(m[3], want) || !strings.Contains(m[3], ", status=") {
				continue
			}
			sl, err := parseStatusLine(m[3])
			require.NoError(t, err)
			if sl.Status != "deliverable" && sl.Status != "undeliverable" {
				continue
			}
			v := postfixVerification{Line: m[3], Status: sl}
			// The hosts passed over: what the same delivery agent process logged between
			// the pickup of this probe and its verdict, after any line of another
			// delivery it made in between.
			for _, prev := range lines[start:i] {
				pm := maillogRE.FindStringSubmatch(prev)
				switch {
				case pm == nil || pm[1] != m[1]:
				case pm[2] != "" && pm[2] != qid:
					v.Attempts = nil
				case strings.HasPrefix(pm[3], "connect to "):
					v.Attempts = append(v.Attempts, pm[3])
				}
			}
			return v
		}
	}
	t.Fatalf("%s logged no verify status for <%s> (sender %s) in %s within 30 s", instance, rcpt, sender, logFile)
	return postfixVerification{}
}

// parityCase is one line of testdata/integration/postfix-verify-lines.txt.
type parityCase struct {
	Name, Recipient, Line string
}

func parityFile() string { return testdataFile("postfix-verify-lines.txt") }

func lmtpParityFile() string { return testdataFile("postfix-lmtp-lines.txt") }

func testdataFile(name string) string {
	return filepath.Join(servers.repo, "testdata", "integration", name)
}

// defaultServersDir is where scripts/collect-parity ran when it recorded paths (the LMTP
// socket) into the parity files.
const defaultServersDir = "/tmp/mailprobe-servers"

func loadParityCases(t *testing.T, file string) []parityCase {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var cases []parityCase
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.SplitN(l, "\t", 3)
		require.Lenf(t, f, 3, "%s: %q", file, l)
		cases = append(cases, parityCase{Name: f[0], Recipient: f[1],
			Line: strings.ReplaceAll(f[2], defaultServersDir, servers.dir)})
	}
	require.NotEmpty(t, cases)
	return cases
}

// swaksOutcome is what scripts/swaks-probe reports: swaks' exit code and the last server
// reply before QUIT (or swaks' own error).
type swaksOutcome struct {
	Exit int
	Last string
}

var swaksRE = regexp.MustCompile(`^exit=(\d+)\t(.*)$`)

func swaks(t *testing.T, rcpt string, extra ...string) swaksOutcome {
	t.Helper()
	cmd := exec.Command(filepath.Join(servers.repo, "scripts", "swaks-probe"), append([]string{rcpt}, extra...)...)
	cmd.Env = append(os.Environ(), "MAILPROBE_SERVERS_DIR="+servers.dir)
	out, err := cmd.Output()
	require.NoErrorf(t, err, "swaks-probe %s", rcpt)
	m := swaksRE.FindStringSubmatch(strings.TrimRight(string(out), "\n"))
	require.NotNilf(t, m, "swaks-probe output %q", out)
	var o swaksOutcome
	_, err = fmt.Sscan(m[1], &o.Exit)
	require.NoError(t, err)
	o.Last = m[2]
	return o
}
