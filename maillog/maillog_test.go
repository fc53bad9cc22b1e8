package maillog

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// ref is the reference time of the fixtures: RFC 3164 stamps get the
// year that puts them at or before it.
var ref = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// fixture returns a testdata/logs file without its "# " source comments.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "logs", name))
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// stubClassifier stands in for report in tests of maillog's own logic
// (parsing, tracking, grouping): the category is "by-report" and the
// permanence follows the dsn class, so golden files do not change when
// report's rules improve. TestCategories checks report's answers.
func stubClassifier() *Classifier {
	c := NewClassifier()
	c.explain = func(_ MTA, status, dsn, reason string) classified {
		perm := map[byte]string{'2': "success", '4': "temporary", '5': "permanent"}[dsn[0]]
		return classified{category: "by-report", permanence: perm, explain: &Explain{What: reason}}
	}
	return c
}

func readString(t testing.TB, name, log string, opts Options) (*Summary, []*Outcome) {
	t.Helper()
	if opts.Classifier == nil {
		opts.Classifier = stubClassifier()
	}
	var outs []*Outcome
	opts.Location = time.UTC
	if len(opts.Filter.Statuses) == 0 {
		opts.Filter.Statuses = []string{"all"}
	}
	opts.OnOutcome = func(o *Outcome) error { outs = append(outs, o); return nil }
	sum, err := Read([]Input{{Name: name, R: strings.NewReader(log), ModTime: ref}}, opts)
	require.NoError(t, err)
	return sum, outs
}

// render prints the text summary and the jsonl outcomes for a golden
// file. The explanations' wording belongs to package report and changes
// with it, so the golden files hold the category and permanence, and the
// explanation is only checked to be there (it is report's, tested there).
func render(t testing.TB, sum *Summary, outs []*Outcome) string {
	var b bytes.Buffer
	require.NoError(t, Text(&b, sum, TextOptions{Verbose: true}))
	var text []string
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "    next:    ") {
			text = append(text, l)
		}
	}
	b.Reset()
	b.WriteString(strings.Join(text, "\n"))
	b.WriteString("\n--- jsonl\n")
	w := JSONLWriter(&b)
	for _, o := range outs {
		assert.NotNil(t, o.Explanation, "%s %s has an explanation", o.QueueID, o.Recipient)
		c := *o
		c.Explanation = nil
		require.NoError(t, w(&c))
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./maillog -update to create %s", path)
	assert.Equal(t, string(want), got)
}

// TestGolden reads every fixture of real log lines (sources in each
// file's header) and compares the summary and the outcomes with the
// golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "logs", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			sum, outs := readString(t, name, fixture(t, name), Options{})
			golden(t, strings.TrimSuffix(name, ".log")+".golden", render(t, sum, outs))
		})
	}
}

func outcomeKeys(outs []*Outcome) []string {
	var keys []string
	for _, o := range outs {
		keys = append(keys, strings.Join([]string{o.QueueID, o.Recipient, o.Status, o.DSN, o.Category,
			o.FirstSeen.Format(time.RFC3339), o.LastSeen.Format(time.RFC3339), itoa(o.Attempts), o.Reason}, "|"))
	}
	sort.Strings(keys)
	return keys
}

// TestOutOfOrder: the same lines newest first (a paste in reverse) give
// the same outcomes and groups.
func TestOutOfOrder(t *testing.T) {
	for _, name := range []string{"postfix-seeds.log", "hosting.log", "exim-classic.log", "qmail-multilog.log", "postfix-public.log"} {
		t.Run(name, func(t *testing.T) {
			log := fixture(t, name)
			lines := strings.Split(strings.TrimSpace(log), "\n")
			rev := make([]string, len(lines))
			for i, l := range lines {
				rev[len(lines)-1-i] = l
			}
			_, fwd := readString(t, name, log, Options{})
			sum, back := readString(t, name, strings.Join(rev, "\n"), Options{})
			assert.Equal(t, outcomeKeys(fwd), outcomeKeys(back))
			if len(fwd) > 1 {
				assert.Positive(t, sum.OutOfOrder+int64(len(lines)), "reversed input is noticed")
			}
		})
	}
}

// TestFilesInAnyOrder: rotated files given newest first, one of them
// gzip-compressed, are read oldest first.
func TestFilesInAnyOrder(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(fixture(t, "postfix-seeds.log")), "\n")
	dir := t.TempDir()
	half := len(lines) / 2
	older := filepath.Join(dir, "mail.log.1.gz")
	newer := filepath.Join(dir, "mail.log")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Join(lines[:half], "\n") + "\n"))
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(older, gz.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(newer, []byte(strings.Join(lines[half:], "\n")+"\n"), 0o644))
	for _, f := range []string{older, newer} {
		require.NoError(t, os.Chtimes(f, ref, ref))
	}
	inputs, closeAll, err := OpenFiles([]string{newer, older}, nil, 0, time.UTC)
	require.NoError(t, err)
	defer closeAll()
	require.Equal(t, older, inputs[0].Name, "oldest first")
	var got []*Outcome
	_, err = Read(inputs, Options{Location: time.UTC, Filter: Filter{Statuses: []string{"all"}}, Classifier: stubClassifier(),
		OnOutcome: func(o *Outcome) error { got = append(got, o); return nil }})
	require.NoError(t, err)
	_, want := readString(t, "all", strings.Join(lines, "\n"), Options{})
	assert.Equal(t, outcomeKeys(want), outcomeKeys(got))
}

// TestEviction: with room for one open message, the older unfinished one
// is evicted and reported as open; memory stays bounded.
func TestEviction(t *testing.T) {
	log := fixture(t, "postfix-public.log")
	sum, outs := readString(t, "public", log, Options{Tracker: TrackerOptions{MaxOpen: 1}})
	assert.Positive(t, sum.Evicted)
	var evicted int
	for _, o := range outs {
		if strings.HasPrefix(o.Note, "evicted") {
			evicted++
			assert.True(t, o.Open)
		}
	}
	assert.Equal(t, int(sum.Evicted), evicted)
}

// TestUnreadable: lines that cannot be read are counted per format and
// kept with their line numbers, never dropped silently.
func TestUnreadable(t *testing.T) {
	log := strings.Join([]string{
		"this is not a log line",
		"Mar  9 09:02:11 host postfix/smtp[5196]: A6B12241F2: to=<test@t-online.de, relay=mx",
		"@400000003f87e0740c7fb6f4 starting delivery 3534823: msg",
		"Mar  9 09:02:11 host kernel: eth0 up",
	}, "\n")
	sum, _ := readString(t, "bad", log, Options{})
	assert.Equal(t, map[string]int64{"unknown": 1, "postfix": 1, "qmail": 1}, sum.Unreadable)
	require.Len(t, sum.Samples, 3)
	assert.Equal(t, int64(2), sum.Samples[1].Line)
	assert.Equal(t, int64(1), sum.Other)
	var b bytes.Buffer
	require.NoError(t, Text(&b, sum, TextOptions{Verbose: true}))
	assert.Contains(t, b.String(), "unreadable postfix line bad:2:")
}

// TestFilters: --domain, --sender, --status and --since/--until.
func TestFilters(t *testing.T) {
	log := fixture(t, "postfix-public.log")
	_, outs := readString(t, "f", log, Options{Filter: Filter{Domains: []string{"POBOX.com"}}})
	require.Len(t, outs, 1)
	assert.Equal(t, "deferred", outs[0].Status)
	_, outs = readString(t, "f", log, Options{Filter: Filter{Senders: []string{"@fb8ca5e4ccd2.infogene.fr"}}})
	require.Len(t, outs, 1)
	assert.Equal(t, "bounced", outs[0].Status)
	_, outs = readString(t, "f", log, Options{Filter: Filter{Statuses: []string{"sent"}}})
	for _, o := range outs {
		assert.Equal(t, "sent", o.Status)
	}
	since := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	sum, outs := readString(t, "f", log, Options{Filter: Filter{Since: since, Until: until}})
	assert.Positive(t, sum.OutsideWindow)
	for _, o := range outs {
		assert.False(t, o.LastSeen.Before(since) || o.LastSeen.After(until), o.LastSeen)
	}
}

// TestClassifierCache: the same reply is classified once.
func TestClassifierCache(t *testing.T) {
	c := NewClassifier()
	for i := 0; i < 3; i++ {
		o := &Outcome{MTA: MTAPostfix, Status: "deferred", DSN: "4.4.1", Reason: "connect to a.example[192.0.2.1]:25: Connection refused"}
		c.Classify(o)
		assert.Equal(t, "connection-refused", o.Category)
	}
	assert.Equal(t, int64(1), c.Misses)
	assert.Equal(t, int64(2), c.Hits)
}

// TestCategories: real lines get report's categories — the classifier
// probe and explain use — through maillog's adapter, for every MTA.
func TestCategories(t *testing.T) {
	cases := []struct {
		file, rcpt, status, category string
	}{
		{"postfix-seeds.log", "paeddrigg@nausch.org", "undeliverable", "user-unknown"},
		{"postfix-seeds.log", "django@nausch.org", "sent", "delivered"},
		{"postfix-public.log", "ehs@pobox.com", "deferred", "connection-timeout"},
		{"postfix-public.log", "quotauser@otherdomain.tld", "bounced", "mailbox-full"},
		{"postfix-public.log", "root@fb8ca5e4ccd2.infogene.fr", "bounced", "dns-failure"},
		{"qmail-multilog.log", "response@sleekzine.com", "deferred", ""},
		{"exim-4.97.log", "userz@domain.com", "bounced", ""},
		{"exim-classic.log", "oksana@birzhatm.ua", "rejected", "user-unknown"},
		{"exim-classic.log", "dir@ml3.ru", "rejected", "relay-denied"},
	}
	logs := map[string][]*Outcome{}
	for _, c := range cases {
		outs, ok := logs[c.file]
		if !ok {
			_, outs = readString(t, c.file, fixture(t, c.file), Options{Classifier: NewClassifier()})
			logs[c.file] = outs
		}
		var found *Outcome
		for _, o := range outs {
			if o.Recipient == c.rcpt {
				found = o
			}
		}
		require.NotNil(t, found, c.rcpt)
		assert.Equal(t, c.status, found.Status, c.rcpt)
		if c.category != "" {
			assert.Equal(t, c.category, found.Category, c.rcpt)
		}
		assert.NotEmpty(t, found.Category, c.rcpt)
		require.NotNil(t, found.Explanation, c.rcpt)
		assert.NotEmpty(t, found.Explanation.Next, c.rcpt)
	}
}

// TestQueue reads real `postqueue -j` output (the maillog test Postfix's
// queue, testdata/queue/postqueue-j.jsonl) and groups what is stuck.
func TestQueue(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "queue", "postqueue-j.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	now := time.Unix(1796181926, 0).Add(2 * time.Hour)
	var outs []*Outcome
	sum, err := ReadQueue(f, "postqueue -j", now, Options{OnOutcome: func(o *Outcome) error { outs = append(outs, o); return nil }})
	require.NoError(t, err)
	assert.Equal(t, int64(2), sum.Messages)
	assert.Equal(t, map[string]int{"deferred": 2}, sum.ByStatus)
	byRcpt := map[string]*Outcome{}
	for _, o := range outs {
		byRcpt[o.Recipient] = o
		assert.Equal(t, int64(7200), o.AgeSeconds)
		assert.True(t, o.Open)
	}
	require.Contains(t, byRcpt, "alice@grey.it.test")
	assert.Equal(t, "greylisted", byRcpt["alice@grey.it.test"].Category)
	assert.Equal(t, "4.2.0", byRcpt["alice@grey.it.test"].DSN)
	require.Contains(t, byRcpt, "alice@alldead.it.test")
	assert.Equal(t, "connection-refused", byRcpt["alice@alldead.it.test"].Category)
	bad, err := ReadQueue(strings.NewReader("{not json\n"), "bad", now, Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), bad.Unreadable["postqueue-json"])
}
