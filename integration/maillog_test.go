package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The maillog test's own sending Postfix (testdata/maillog/README.md).
const (
	maillogState  = "/tmp/mailprobe-maillog-it"
	maillogSource = "127.0.3.25" // its smtp_bind_address, in the maillog range 127.0.3.0/24
	maillogSender = "tester@sender.maillog.test"
	// its content filter: a second smtpd that queues each message again
	maillogFilter = "127.0.3.25[127.0.3.25]:10026"
)

// startMaillogPostfix starts the sending Postfix of testdata/maillog with
// an empty queue and log, and returns its configuration directory.
func startMaillogPostfix(t *testing.T) string {
	t.Helper()
	postfix := requireTool(t, "postfix")
	// Test binaries of several worktrees share 127.0.3.25 and the state
	// directory: one run's "stop the leftover" and RemoveAll must not
	// hit another run's Postfix and log (its deferred lines vanished).
	lockStateDir(t, maillogState)
	conf := filepath.Join(maillogState, "conf")
	if _, err := os.Stat(filepath.Join(conf, "main.cf")); err == nil {
		_ = exec.Command(postfix, "-c", conf, "stop").Run() // a leftover of an aborted run
	}
	require.NoError(t, os.RemoveAll(maillogState))
	for _, d := range []string{conf, filepath.Join(maillogState, "queue"), filepath.Join(maillogState, "log")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, exec.Command("install", "-d", "-o", "postfix", "-g", "postfix", "-m", "700", filepath.Join(maillogState, "data")).Run())
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(servers.repo, "testdata", "maillog", "postfix", f+".in"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(conf, f), []byte(strings.ReplaceAll(string(b), "@STATE@", maillogState)), 0o644))
	}
	resolv := filepath.Join(maillogState, "resolv.conf")
	require.NoError(t, os.WriteFile(resolv, []byte("nameserver "+resolverAddr+"\n"), 0o644))
	if out, err := exec.Command(postfix, "-c", conf, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix -c %s check: %v\n%s", conf, err, out)
	}
	start := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && exec "$2" -c "$3" start`, "sh", resolv, postfix, conf)
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command(postfix, "-c", conf, "stop").Run()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(maillogState, "log", "postfix.log")); err == nil {
				t.Logf("maillog test Postfix log:\n%s", b)
			}
		}
	})
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(maillogState, "queue", "pid", "master.pid"))
		return err == nil
	}, 15*time.Second, 100*time.Millisecond, "the maillog test Postfix did not start; see %s/log", maillogState)
	return conf
}

// submit sends one real message with sendmail -C (pickup → cleanup → qmgr → smtp).
func submit(t *testing.T, conf, rcpt string) {
	t.Helper()
	msg := fmt.Sprintf("From: <%s>\nTo: <%s>\nSubject: mailprobe maillog test\n\nA real message for %s.\n", maillogSender, rcpt, rcpt)
	cmd := exec.Command(sendmailPath(), "-C", conf, "-f", maillogSender, rcpt)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sendmail %s: %s", rcpt, out)
}

// runMaillog runs `mailprobe maillog ARGS…` and returns stdout.
func runMaillog(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, servers.mailprobe, append([]string{"maillog"}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "mailprobe maillog %s\nstderr: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// maillogOutcome is the part of a `mailprobe maillog -o jsonl` line the test reads.
type maillogOutcome struct {
	QueueID     string    `json:"queue_id"`
	NextQueueID string    `json:"next_queue_id"`
	PrevQueueID string    `json:"prev_queue_id"`
	Recipient   string    `json:"recipient"`
	Domain      string    `json:"domain"`
	Status      string    `json:"status"`
	DSN         string    `json:"dsn"`
	Category    string    `json:"category"`
	Relay       string    `json:"relay"`
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Open        bool      `json:"open"`
	AgeSeconds  int64     `json:"age_seconds"`
	Explanation *struct {
		What  string `json:"what"`
		Cause string `json:"cause"`
		Next  string `json:"next"`
	} `json:"explanation"`
}

// decodeOutcomes returns the outcomes by recipient. With the test
// Postfix's content filter every message is logged twice: handed to the
// filter (next_queue_id) and re-queued under a new id (prev_queue_id);
// the map holds the re-queued one, parents the hand-overs.
func decodeOutcomes(t *testing.T, jsonl string) (out, parents map[string]maillogOutcome) {
	t.Helper()
	out, parents = map[string]maillogOutcome{}, map[string]maillogOutcome{}
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var o maillogOutcome
		require.NoError(t, json.Unmarshal(sc.Bytes(), &o), sc.Text())
		switch {
		case o.Recipient == "":
		case o.NextQueueID != "" && o.Relay == maillogFilter:
			parents[o.Recipient] = o
		default:
			out[o.Recipient] = o
		}
	}
	return out, parents
}

// postfixSettled reports whether a Postfix log holds, for each recipient,
// at least n delivery status lines ("QUEUEID: to=<rcpt>, relay=…,
// status=…", complete up to the newline) and, for each such line with a
// final status (sent, bounced), qmgr's "QUEUEID: removed" after it.
// Postfix logs the status line first and "removed" when the queue file is
// gone (qmgr/qmgr_active.c), so a reader between the two sees the message
// still open.
func postfixSettled(log []byte, rcpts []string, n int) bool {
	lines := strings.Split(string(log), "\n")
	lines = lines[:len(lines)-1] // the last piece has no newline yet: not a whole line
	removed := map[string]int{}  // queue id → line index of its "removed"
	for i, l := range lines {
		if qid, ok := strings.CutSuffix(l, ": removed"); ok {
			removed[qid[strings.LastIndexByte(qid, ' ')+1:]] = i
		}
	}
	for _, rcpt := range rcpts {
		seen := 0
		for i, l := range lines {
			before, after, ok := strings.Cut(l, ": to=<"+rcpt+">, relay=")
			if !ok {
				continue
			}
			seen++
			if strings.Contains(after, ", status=deferred ") {
				continue
			}
			qid := before[strings.LastIndexByte(before, ' ')+1:]
			if r, ok := removed[qid]; !ok || r < i {
				return false
			}
		}
		if seen < n {
			return false
		}
	}
	return true
}

// TestMaillogRealPostfix: a real Postfix delivers real messages through a
// content filter (re-queued under a new id, as amavis does) — to
// Dovecot users through Postfix #1, to an unknown user, to the greylisting
// and mailbox-full listeners, to a domain whose MX hosts are dead, to a
// domain that does not exist — and mailprobe maillog reads its log and its
// queue (postqueue -j) and reports each outcome; --probe checks the
// still-deferring domains live.
func TestMaillogRealPostfix(t *testing.T) {
	requireServers(t)
	conf := startMaillogPostfix(t)
	logFile := filepath.Join(maillogState, "log", "postfix.log")
	want := map[string]struct{ status, dsn, category string }{
		"alice@it.test":         {"sent", "2.0.0", "delivered"},
		"bob@it.test":           {"sent", "2.0.0", "delivered"},
		"nobody@it.test":        {"bounced", "5.1.1", "user-unknown"},
		"alice@grey.it.test":    {"deferred", "4.2.0", "greylisted"},
		"alice@full.it.test":    {"deferred", "4.2.2", "mailbox-full"},
		"alice@alldead.it.test": {"deferred", "4.4.1", "connection-refused"},
		"x@nxdomain.it.test":    {"bounced", "5.4.4", "dns-failure"},
	}
	for rcpt := range want {
		submit(t, conf, rcpt)
	}
	// every recipient gets its first delivery attempt within seconds:
	// two status lines each, the hand-over to the content filter and the
	// re-queued message's own attempt; and qmgr's "removed" of every
	// message whose status line was final (it follows the status line, for
	// a bounce only after the non-delivery notice is queued), else the
	// reader rightly calls that message still open
	rcpts := make([]string, 0, len(want))
	for rcpt := range want {
		rcpts = append(rcpts, rcpt)
	}
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(logFile)
		return postfixSettled(b, rcpts, 2)
	}, 60*time.Second, 200*time.Millisecond, "Postfix did not try (and, where final, remove) every recipient; see %s", logFile)

	// the log
	got, handed := decodeOutcomes(t, runMaillog(t, "-o", "jsonl", "--status", "all", "--sender", maillogSender, logFile))
	for rcpt, w := range want {
		o, ok := got[rcpt]
		if !assert.True(t, ok, "no outcome for %s", rcpt) {
			continue
		}
		// followed through the content filter: the hand-over and the
		// re-queued message name each other
		if p, ok := handed[rcpt]; assert.True(t, ok, "no content-filter hand-over for %s", rcpt) {
			assert.Equal(t, "sent", p.Status, rcpt)
			assert.Equal(t, o.QueueID, p.NextQueueID, rcpt)
			assert.Equal(t, p.QueueID, o.PrevQueueID, rcpt)
		}
		assert.Equal(t, w.status, o.Status, rcpt)
		assert.Equal(t, w.dsn, o.DSN, rcpt)
		assert.Equal(t, w.category, o.Category, rcpt)
		assert.Equal(t, 1, o.Attempts, rcpt)
		assert.Equal(t, w.status == "deferred", o.Open, "%s: deferred mail has no removed line", rcpt)
		assert.NotEmpty(t, o.QueueID, rcpt)
		assert.NotEmpty(t, o.Reason, rcpt)
		assert.False(t, o.FirstSeen.IsZero(), rcpt)
		require.NotNil(t, o.Explanation, rcpt)
		assert.NotEmpty(t, o.Explanation.Next, rcpt)
	}
	assert.Equal(t, "mx.it.test[127.0.2.25]:25", got["alice@it.test"].Relay)
	assert.Equal(t, "mx-grey.it.test[127.0.2.27]:25", got["alice@grey.it.test"].Relay)
	assert.Equal(t, "none", got["alice@alldead.it.test"].Relay)

	// the text summary groups by domain and category
	text := runMaillog(t, "--sender", maillogSender, logFile)
	assert.Contains(t, text, "Recipients: 9 sent, 3 deferred, 2 bounced") // 7 hand-overs to the filter
	assert.Contains(t, text, "Note: 7 messages came back from a content filter under a new queue id")
	assert.Contains(t, text, "grey.it.test: 1 recipients\n  deferred  greylisted (temporary): 1 recipients in 1 messages, 1 attempts")
	assert.Contains(t, text, "it.test: 1 recipients\n  bounced  user-unknown (permanent)")

	// the queue: what is stuck now
	// qmgr moves a deferred message from the active to the deferred queue
	// just after the delivery agent logs: wait for that
	var queue map[string]maillogOutcome
	require.Eventually(t, func() bool {
		queue, _ = decodeOutcomes(t, runMaillog(t, "--queue", "--postfix-config", conf, "-o", "jsonl"))
		for rcpt, w := range want {
			if w.status == "deferred" && queue[rcpt].Status != "deferred" {
				return false
			}
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "the deferred messages did not reach the deferred queue")
	for rcpt, w := range want {
		q, inQueue := queue[rcpt]
		assert.Equal(t, w.status == "deferred", inQueue, "%s in the queue", rcpt)
		if inQueue {
			assert.Equal(t, "deferred", q.Status, rcpt)
			assert.Equal(t, w.category, q.Category, rcpt)
			assert.Equal(t, got[rcpt].QueueID, q.QueueID, rcpt)
			assert.GreaterOrEqual(t, q.AgeSeconds, int64(0), rcpt)
		}
	}

	// --probe: today's answer beside the log's, from the same address
	probed := runMaillog(t, "--queue", "--postfix-config", conf, "--probe", "--resolver", resolverAddr,
		"--source", maillogSource, "-4", "--dnsbl", "never", "--timeout", probeTimeout, "--helo", "sender.maillog.test")
	assert.Contains(t, probed, "now:     still deferred: 450 4.2.0 <alice@grey.it.test>")
	assert.Contains(t, probed, "now:     still deferred: 452 4.2.2 <alice@full.it.test>: Recipient address rejected: Mailbox full")
	assert.Contains(t, probed, "now:     still deferred: connect to dead2.it.test[127.0.2.32]:25: Connection refused")
}

// TestPostfixSettled: the wait above must not pass between a final status
// line and qmgr's "removed", nor on a line still being written. The lines
// are from this test's own Postfix on loopback (a real run).
func TestPostfixSettled(t *testing.T) {
	const (
		handed  = "Dec 02 04:34:05 sender postfix-maillog/smtp[6175]: 4C6A7984046: to=<nobody@it.test>, relay=127.0.3.25[127.0.3.25]:10026, delay=0.11, delays=0.04/0.02/0.04/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 606329849D8)\n"
		handedR = "Dec 02 04:34:05 sender postfix-maillog/qmgr[6163]: 4C6A7984046: removed\n"
		bounced = "Dec 02 04:34:05 sender postfix-maillog/smtp[6181]: 606329849D8: to=<nobody@it.test>, relay=mx.it.test[127.0.2.25]:25, delay=0.06, delays=0/0.01/0/0.04, dsn=5.1.1, status=bounced (host mx.it.test[127.0.2.25] said: 550 5.1.1 <nobody@it.test>: Recipient address rejected: undeliverable address: host 127.0.2.24[127.0.2.24] said: 550 5.1.1 <nobody@it.test> User doesn't exist: nobody@it.test (in reply to RCPT TO command) (in reply to RCPT TO command))\n"
		notice  = "Dec 02 04:34:05 sender postfix-maillog/bounce[6190]: 606329849D8: sender non-delivery notification: 7E3D39842A4\n"
		bounceR = "Dec 02 04:34:05 sender postfix-maillog/qmgr[6163]: 606329849D8: removed\n"
		grey    = "Dec 02 04:34:05 sender postfix-maillog/smtp[6189]: 641FA9849DA: to=<alice@grey.it.test>, relay=mx-grey.it.test[127.0.2.27]:25, delay=0.21, delays=0/0.03/0.01/0.18, dsn=4.2.0, status=deferred (host mx-grey.it.test[127.0.2.27] said: 450 4.2.0 <alice@grey.it.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/grey.it.test.html (in reply to RCPT TO command))\n"
		greyH   = "Dec 02 04:34:05 sender postfix-maillog/smtp[6181]: 5662C9849D4: to=<alice@grey.it.test>, relay=127.0.3.25[127.0.3.25]:10026, delay=0.1, delays=0.05/0.03/0.02/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 641FA9849DA)\n"
		greyHR  = "Dec 02 04:34:05 sender postfix-maillog/qmgr[6163]: 5662C9849D4: removed\n"
	)
	rcpts := []string{"nobody@it.test", "alice@grey.it.test"}
	cases := []struct {
		name string
		log  string
		want bool
	}{
		{"all attempts logged, final ones removed", handed + handedR + greyH + greyHR + bounced + notice + grey + bounceR, true},
		{"bounce not yet removed", handed + handedR + greyH + greyHR + bounced + notice + grey, false},
		{"hand-over not yet removed", handed + greyH + greyHR + bounced + notice + bounceR + grey, false},
		{"second attempt missing", handed + handedR + greyH + greyHR + grey, false},
		{"deferred line still being written", handed + handedR + greyH + greyHR + bounced + notice + bounceR + grey[:120], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, postfixSettled([]byte(c.log), rcpts, 2))
		})
	}
}
