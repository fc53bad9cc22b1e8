package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pvInstance is the Postfix of scripts/postfix-verify-up: reject_unverified_recipient on
// 127.0.5.25, relaying to the integration set.
type pvInstance struct {
	conf, smtp, log string
}

// requirePostfixVerify skips without the instance, or fails when MAILPROBE_INTEGRATION=1.
func requirePostfixVerify(t *testing.T) pvInstance {
	t.Helper()
	requireServers(t)
	pv := pvInstance{conf: os.Getenv("MAILPROBE_PV_CONF"), smtp: os.Getenv("MAILPROBE_PV_SMTP"), log: os.Getenv("MAILPROBE_PV_LOG")}
	err := error(nil)
	switch {
	case pv.conf == "" || pv.smtp == "":
		err = errors.New("MAILPROBE_PV_CONF/MAILPROBE_PV_SMTP not set")
	default:
		err = greets(pv.smtp)
	}
	if err != nil {
		if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
			t.Fatalf("MAILPROBE_INTEGRATION=1 but the postfix-verify instance is not usable: %v; start it with eval \"$(scripts/postfix-verify-up)\" (as root)", err)
		}
		t.Skip("postfix-verify instance: eval \"$(scripts/postfix-verify-up)\" as root, after scripts/servers-up")
	}
	return pv
}

// pvDoc is the part of `mailprobe postfix verify -o jsonl` these tests read.
type pvDoc struct {
	Recipient      string `json:"recipient"`
	Route          string `json:"route"`
	Transport      string `json:"transport"`
	Status         string `json:"status"`
	DSN            string `json:"dsn"`
	Category       string `json:"category"`
	Reply          string `json:"reply"`
	Relay          string `json:"relay"`
	Reason         string `json:"reason"`
	Prediction     string `json:"prediction"`
	PredictedReply string `json:"predicted_reply"`
	Error          string `json:"error"`
	Cache          *struct {
		Status     string `json:"status"`
		Current    bool   `json:"current"`
		Answer     string `json:"answer"`
		AnswerText string `json:"answer_reply"`
		Disagrees  bool   `json:"disagrees"`
		Stale      string `json:"stale"`
	} `json:"cache"`
}

func runPostfixVerify(t *testing.T, args ...string) ([]byte, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, servers.mailprobe, append([]string{"postfix"}, append(args, "--resolver", resolverAddr)...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("mailprobe postfix %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), stderr.String(), code
}

// askRCPT sends EHLO, MAIL and RCPT to the instance and returns its RCPT reply as one line
// ("code text"), then QUITs. It connects from 127.0.5.67, an address of the test's own range.
func askRCPT(smtp, rcpt string) (string, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.5.67")}}
	c, err := d.Dial("tcp", smtp)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// smtpd waits up to address_verify_poll_count × poll_delay (7 s) for a new address.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return "", err
	}
	for _, cmd := range []string{"EHLO tester.it.test", "MAIL FROM:<tester@client.it.test>"} {
		if err := tp.PrintfLine("%s", cmd); err != nil {
			return "", err
		}
		if _, _, err := tp.ReadResponse(250); err != nil {
			return "", fmt.Errorf("%s: %w", cmd, err)
		}
	}
	if err := tp.PrintfLine("RCPT TO:<%s>", rcpt); err != nil {
		return "", err
	}
	code, msg, err := tp.ReadResponse(0)
	if err != nil && code == 0 {
		return "", err
	}
	_ = tp.PrintfLine("QUIT")
	return fmt.Sprintf("%d %s", code, strings.ReplaceAll(msg, "\n", " ")), nil
}

// TestPostfixVerifyPredictions runs `mailprobe postfix verify` over the instance's
// configuration (its relay_recipient_maps and virtual_alias_maps, hash tables, plus a FILE)
// and then asks the real Postfix, which has reject_unverified_recipient switched on, for the
// same recipients: for each one the reply mailprobe predicted — or, where the verify cache
// holds a current entry, the answer it read from the cache — must be Postfix's reply, byte
// for byte. The expectations below pin what each case is for, so that a run where
// everything is accepted (or refused) cannot pass.
func TestPostfixVerifyPredictions(t *testing.T) {
	pv := requirePostfixVerify(t)
	out, stderr, code := runPostfixVerify(t, "verify", "-c", pv.conf, "--verify-cache", "-o", "jsonl", "--timeout", probeTimeout,
		"hash:"+filepath.Join(pv.conf, "relay_recipients"), "hash:"+filepath.Join(pv.conf, "virtual"),
		"hash:"+filepath.Join(pv.conf, "vmailbox"),
		filepath.Join(servers.repo, "testdata", "postfix-verify", "extra-recipients.txt"))
	t.Logf("stderr:\n%s", stderr)
	docs := map[string]pvDoc{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var d pvDoc
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d), sc.Text())
		require.NotContains(t, docs, d.Recipient, "exactly one result per recipient")
		docs[d.Recipient] = d
		order = append(order, d.Recipient)
	}
	assert.Equal(t, 1, code, "exit code: some recipients would be refused")

	sock := os.Getenv("MAILPROBE_IT_LMTP_SOCKET")
	if sock == "" {
		sock = filepath.Join(servers.dir, "dovecot", "lmtp")
	}
	queue := filepath.Join(filepath.Dir(pv.conf), "queue")
	want := []struct {
		rcpt, route, prediction, status string
	}{
		{"alice@it.test", "lmtp:inet:127.0.2.24:24", "accept", "deliverable"},
		{"nobody@it.test", "lmtp:inet:127.0.2.24:24", "reject", "undeliverable"},
		{"bob@it.test", "lmtp:unix:" + queue + "/private/dovecot-lmtp", "accept", "deliverable"},
		{"carol@it.test", "lmtp:unix:" + queue + "/private/dovecot-lmtp", "reject", "undeliverable"},
		{"alice@sock.it.test", "lmtp:unix:" + sock, "accept", "deliverable"},
		{"nobody@sock.it.test", "lmtp:unix:" + sock, "reject", "undeliverable"},
		{"alice@deadbest.it.test", "smtp:[127.0.2.25]:25", "accept", "deliverable"},
		{"nobody@deadbest.it.test", "smtp:[127.0.2.25]:25", "reject", "undeliverable"},
		{"alice@grey.it.test", "smtp:[127.0.2.27]:25", "defer", "deferred"},
		// the nexthop's MX (dead1 refuses, then mx.it.test), not the recipient domain's
		{"alice@viamx.it.test", "smtp:deadbest.it.test", "reject", "undeliverable"},
		{"someone@retired.it.test", "error:5.1.2 this domain no longer receives mail", "reject", "undeliverable"},
		{"anyone@void.it.test", "discard:void.it.test", "accept", "deliverable"},
		{"info@it.test", "lmtp:inet:127.0.2.24:24", "accept", "deliverable"},
		{"team@it.test", "alias:alice@it.test,bob@it.test", "accept", "deliverable"},
		{"gone@it.test", "lmtp:inet:127.0.2.24:24", "reject", "undeliverable"},
		{"postmaster@it.test", "lmtp:inet:127.0.2.24:24", "reject", "deliverable"}, // verified, but unlisted
		{"alice+tag@it.test", "lmtp:inet:127.0.2.24:24", "reject", "undeliverable"},
		// virtual(8) answers from its tables
		{"vera@vbox.it.test", "virtual:vbox.it.test", "accept", "deliverable"},
		{"nobody@vbox.it.test", "virtual:vbox.it.test", "reject", "undeliverable"},
	}
	require.Len(t, docs, len(want), "recipients: %v", order)
	for _, w := range want {
		d, ok := docs[w.rcpt]
		if assert.True(t, ok, "no result for %s", w.rcpt) {
			assert.Equal(t, w.route, d.Route, "%s: route", w.rcpt)
			assert.Equal(t, w.prediction, d.Prediction, "%s: prediction (%s)", w.rcpt, d.PredictedReply)
			assert.Equal(t, w.status, d.Status, "%s: verify status (%s)", w.rcpt, d.Reason)
			assert.Empty(t, d.Error, w.rcpt)
		}
	}
	// The seeded stale negative: the cache still defers bob, whom the backend accepts today.
	bob := docs["bob@it.test"]
	if assert.NotNil(t, bob.Cache, "bob@it.test has a verify cache entry") {
		assert.True(t, bob.Cache.Current)
		assert.True(t, bob.Cache.Disagrees)
		assert.Contains(t, bob.Cache.Stale, "stale negative")
		assert.Equal(t, "defer", bob.Cache.Answer)
	}

	// Every other entry the cache holds (from earlier runs) is Postfix's own record of the
	// same answer: it must agree with today's probe.
	for rcpt, d := range docs {
		if d.Cache != nil && rcpt != "bob@it.test" {
			assert.False(t, d.Cache.Disagrees, "%s: cache %s vs probe %s", rcpt, d.Cache.Status, d.Status)
		}
	}

	// Ask the real Postfix, every recipient in its own session at once (each new address
	// costs smtpd at least one address_verify_poll_delay).
	got := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, rcpt := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := askRCPT(pv.smtp, rcpt)
			if err != nil {
				reply = "error: " + err.Error()
			}
			mu.Lock()
			got[rcpt] = reply
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, rcpt := range order {
		d := docs[rcpt]
		expect := d.PredictedReply
		if d.Cache != nil && d.Cache.Current {
			expect = d.Cache.AnswerText
		}
		assert.Equal(t, expect, got[rcpt], "%s: Postfix's answer (route %s)", rcpt, d.Route)
		t.Logf("%-24s %-7s %s", rcpt, d.Prediction, got[rcpt])
	}

	// The route is the one Postfix's own verify probes took: its delivery agents log the same
	// relay= for every recipient that was probed over SMTP or LMTP.
	if pv.log != "" {
		logb, err := os.ReadFile(pv.log)
		require.NoError(t, err)
		for _, rcpt := range order {
			d := docs[rcpt]
			if d.Relay == "" || rcpt == "bob@it.test" {
				continue // not probed over SMTP/LMTP, or answered from the cache
			}
			// an alias's probe is logged as to=<target>, orig_to=<alias>
			re := regexp.MustCompile(`(?:to|orig_to)=<` + regexp.QuoteMeta(rcpt) + `>, (?:orig_to=<[^>]*>, )?relay=([^,]+),`)
			m := re.FindAllSubmatch(logb, -1)
			if assert.NotEmpty(t, m, "%s: no verify delivery line in %s", rcpt, pv.log) {
				assert.Equal(t, string(m[len(m)-1][1]), d.Relay, "%s: relay", rcpt)
			}
		}
	}
}

// TestPostfixRoute checks `mailprobe postfix route`: no traffic, the route and its reasons.
func TestPostfixRoute(t *testing.T) {
	pv := requirePostfixVerify(t)
	out, stderr, code := runPostfixVerify(t, "route", "-c", pv.conf, "-o", "jsonl", "bob@it.test", "alice+x@it.test", "team@it.test", "x@elsewhere.test")
	require.Equal(t, 0, code, stderr)
	var routes []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		routes = append(routes, m)
	}
	require.Len(t, routes, 4)
	queue := filepath.Join(filepath.Dir(pv.conf), "queue")
	assert.Equal(t, "lmtp:unix:"+queue+"/private/dovecot-lmtp", routes[0]["route"])
	assert.Equal(t, "lmtp:inet:127.0.2.24:24", routes[1]["route"], "alice+x@it.test takes it.test's entry")
	assert.Equal(t, "alias:alice@it.test,bob@it.test", routes[2]["route"])
	// elsewhere.test is not a relay domain (as subdomains of it.test would be): the default
	// class, MX lookup
	assert.Equal(t, "smtp:elsewhere.test", routes[3]["route"])
	assert.Equal(t, "default", routes[3]["class"])
	assert.Equal(t, true, routes[3]["mx"])
	assert.Equal(t, "127.0.5.66", routes[3]["bind"])

	_, stderr, code = runPostfixVerify(t, "route", "-c", pv.conf, "not an address")
	assert.Equal(t, 64, code, stderr)
}

// TestPostfixVerifyPostmapTable: the access table of `-o postmap`, used by a Postfix without
// verification (127.0.5.26: check_recipient_access with that table), answers every refused
// recipient exactly as reject_unverified_recipient would.
func TestPostfixVerifyPostmapTable(t *testing.T) {
	pv := requirePostfixVerify(t)
	tableSMTP := os.Getenv("MAILPROBE_PV_TABLE_SMTP")
	if tableSMTP == "" {
		tableSMTP = "127.0.5.26:25"
	}
	args := []string{"verify", "-c", pv.conf, "--timeout", probeTimeout, "--catch-all-check=false",
		"hash:" + filepath.Join(pv.conf, "relay_recipients")}
	table, stderr, code := runPostfixVerify(t, append(args, "-o", "postmap")...)
	require.Equal(t, 1, code, stderr)
	out, _, _ := runPostfixVerify(t, append(args, "-o", "jsonl")...)
	predicted := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var d pvDoc
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d))
		if d.Prediction == "reject" {
			predicted[d.Recipient] = d.PredictedReply
		}
	}
	require.NotEmpty(t, predicted)
	lines := strings.Split(strings.TrimSpace(string(table)), "\n")
	require.Len(t, lines, len(predicted), "one table entry per refused recipient:\n%s", table)

	path := filepath.Join(pv.conf, "unverified_reject")
	require.NoError(t, os.WriteFile(path, table, 0o644))
	t.Cleanup(func() {
		_ = os.WriteFile(path, nil, 0o644)
		_ = exec.Command("postmap", "-c", pv.conf, "hash:"+path).Run()
	})
	pm, err := exec.Command("postmap", "-c", pv.conf, "hash:"+path).CombinedOutput()
	require.NoError(t, err, "postmap: %s", pm)
	for rcpt, want := range predicted {
		got, err := askRCPT(tableSMTP, rcpt)
		require.NoError(t, err)
		assert.Equal(t, want, got, rcpt)
	}
}
