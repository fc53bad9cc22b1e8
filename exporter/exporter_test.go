package exporter

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// serverModule is a module probing lab script servers on 127.0.0.1.
const serverModule = `
  %s:
    protocol: smtp
    target: server
    recipients: [postmaster@lab.test]
    dnsbl: never
    starttls: may
    timeout: 5s
    phase_timeout: 3s
    backoff_421: 1m
    allowed_targets: ["127.0.0.1:*"]
`

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "mailprobe.yml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func newTestServer(t *testing.T, cfgText string, mod func(*Options)) (*Server, string) {
	t.Helper()
	path := writeConfig(t, t.TempDir(), cfgText)
	opts := Options{
		ConfigFile: path, Resolver: "127.0.0.1:1", DNSTimeout: time.Second, HELO: "probe.lab.test",
		TimeoutOffset: DefaultTimeoutOffset, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	require.NoError(t, err)
	return s, path
}

type answer struct {
	code int
	body string
}

func get(t *testing.T, h http.Handler, url string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.String()}
}

// series finds a sample line by metric name and label subset.
func series(body, name string, labels ...string) (string, bool) {
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lb := range labels {
			if !strings.Contains(l, lb) {
				ok = false
			}
		}
		if ok {
			return l[strings.LastIndex(l, " ")+1:], true
		}
	}
	return "", false
}

func TestBudget(t *testing.T) {
	cases := []struct {
		name       string
		header     string
		module     time.Duration
		offset     time.Duration
		want       time.Duration
		fromScrape bool
		err        bool
	}{
		{"no header: the module timeout", "", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second, false, false},
		{"header minus offset", "10", 20 * time.Second, 500 * time.Millisecond, 9500 * time.Millisecond, true, false},
		{"fractional header", "2.5", 20 * time.Second, 500 * time.Millisecond, 2 * time.Second, true, false},
		{"module timeout caps", "15", 5 * time.Second, 500 * time.Millisecond, 5 * time.Second, false, false},
		{"equal: module wins", "10.5", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second, false, false},
		{"offset larger than header: half the scrape timeout", "0.4", 10 * time.Second, 500 * time.Millisecond, 200 * time.Millisecond, true, false},
		{"zero offset", "3", 10 * time.Second, 0, 3 * time.Second, true, false},
		{"not a number", "ten", 10 * time.Second, 0, 0, false, true},
		{"negative", "-1", 10 * time.Second, 0, 0, false, true},
		{"zero", "0", 10 * time.Second, 0, 0, false, true},
		{"NaN", "NaN", 10 * time.Second, 0, 0, false, true},
		{"infinite", "+Inf", 10 * time.Second, 0, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fromScrape, err := Budget(c.header, c.module, c.offset)
			if c.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.fromScrape, fromScrape)
		})
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"example.org", "example.org", true},
		{"example.org", "example.org.evil.test", false},
		{"example.org", "xexample.org", false},
		{"*.example.org", "mx.example.org", true},
		{"*.example.org", "a.b.example.org", true},
		{"*.example.org", "example.org", false},
		{"*.example.org", "evilexample.org", false},
		{"*@example.org", "alice@example.org", true},
		{"*@example.org", "alice@example.org.evil.test", false},
		{"127.0.0.1:*", "127.0.0.1:2525", true},
		{"127.0.0.1:*", "127.0.0.10:25", false},
		{"unix:/run/dovecot/lmtp", "unix:/run/dovecot/lmtp", true},
		{"*", "anything", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"**", "", true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, globMatch(c.pattern, c.s), "%q ~ %q", c.pattern, c.s)
	}
}

func TestAllowList(t *testing.T) {
	srv := fakemta.ServeShipped(t, "starttls-valid")
	cfg := "modules:" + fmt.Sprintf(serverModule, "lab") + `
  mx:
    target: mx
    dnsbl: never
    recipients: [postmaster, abuse]
    allowed_targets: [example.org, "*.example.org"]
  addr:
    target: mx
    dnsbl: never
    allowed_targets: ["*@example.org"]
`
	cases := []struct {
		name  string
		url   string
		any   bool
		code  int
		match string
	}{
		{"allowed server", "/probe?module=lab&target=" + srv.Addr(), false, 200, "probe_success 1"},
		{"server outside the patterns", "/probe?module=lab&target=127.0.0.2:25", false, 403, "allowed_targets"},
		{"domain outside the patterns", "/probe?module=mx&target=example.net", false, 403, "allowed_targets"},
		{"look-alike domain", "/probe?module=mx&target=example.org.evil.test", false, 403, "allowed_targets"},
		{"address in a module with fixed recipients", "/probe?module=mx&target=alice@example.org", false, 400, "own recipients"},
		{"address outside the patterns", "/probe?module=addr&target=alice@example.net", false, 403, "allowed_targets"},
		{"unknown module", "/probe?module=nope&target=example.org", false, 400, "unknown module"},
		{"no module", "/probe?target=example.org", false, 400, "unknown module"},
		{"no target", "/probe?module=mx", false, 400, "target= is missing"},
		{"a query cannot set options", "/probe?module=lab&target=" + srv.Addr() + "&recipients=x@y.test", false, 400, "unknown query parameter"},
		{"a query cannot define a module", "/probe?module=lab&target=" + srv.Addr() + "&protocol=lmtp", false, 400, "unknown query parameter"},
		{"repeated target", "/probe?module=lab&target=" + srv.Addr() + "&target=127.0.0.2:25", false, 400, "given 2 times"},
		{"control characters in the target", "/probe?module=mx&target=example.org%0d%0aRCPT", false, 400, "bad target"},
		{"--allow-any-target lifts the patterns", "/probe?module=lab&target=" + srv.Addr(), true, 200, "probe_success 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg
			if c.any {
				cfg = strings.ReplaceAll(cfg, `allowed_targets: ["127.0.0.1:*"]`, `allowed_targets: []`)
			}
			s, _ := newTestServer(t, cfg, func(o *Options) { o.AllowAnyTarget = c.any })
			a := get(t, s.Handler(), c.url, nil)
			assert.Equal(t, c.code, a.code, a.body)
			assert.Contains(t, a.body, c.match)
		})
	}
	// Without --allow-any-target an empty pattern list admits nothing.
	s, _ := newTestServer(t, strings.ReplaceAll(cfg, `allowed_targets: ["127.0.0.1:*"]`, `allowed_targets: []`), nil)
	a := get(t, s.Handler(), "/probe?module=lab&target="+srv.Addr(), nil)
	assert.Equal(t, 403, a.code)
}

func TestProbeMetrics(t *testing.T) {
	srv := fakemta.ServeShipped(t, "starttls-valid")
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	a := get(t, s.Handler(), "/probe?module=lab&target="+srv.Addr(), map[string]string{ScrapeTimeoutHeader: "5"})
	require.Equal(t, 200, a.code, a.body)
	want := []struct {
		name   string
		labels []string
		value  string
	}{
		{"probe_success", nil, "1"},
		{"probe_smtp_result_info", []string{`recipient="postmaster@lab.test"`, `status="deliverable"`, `category="deliverable"`, `dsn="2.1.5"`, `phase="rcpt"`, `relay="127.0.0.1[127.0.0.1]:`}, "1"},
		{"probe_smtp_status_code", []string{`host="127.0.0.1"`, `phase="rcpt"`}, "250"},
		{"probe_smtp_status_code", []string{`phase="greeting"`}, "220"},
		{"probe_smtp_enhanced_status_code", []string{`phase="rcpt"`, `code="2.1.5"`}, "1"},
		{"probe_smtp_starttls", []string{`address="127.0.0.1"`}, "1"},
		{"probe_tls_version_info", []string{`version="TLS 1.3"`}, "1"},
		{"probe_smtp_hosts_up", nil, "1"},
	}
	for _, w := range want {
		v, ok := series(a.body, w.name, w.labels...)
		if assert.True(t, ok, "%s%v missing in\n%s", w.name, w.labels, a.body) {
			assert.Equal(t, w.value, v, w.name)
		}
	}
	for _, name := range []string{"probe_smtp_phase_duration_seconds", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry"} {
		_, ok := series(a.body, name)
		assert.True(t, ok, name)
	}
	// A server module has no MX hosts to count.
	_, ok := series(a.body, "probe_mx_hosts")
	assert.False(t, ok)

	m := get(t, s.Handler(), "/metrics", nil)
	require.Equal(t, 200, m.code)
	v, ok := series(m.body, "mailprobe_probes_total", `module="lab"`, `result="success"`)
	assert.True(t, ok, m.body)
	assert.Equal(t, "1", v)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "mailprobe_probe_duration_seconds_count", "mailprobe_config_last_reload_successful"} {
		_, ok := series(m.body, name)
		assert.True(t, ok, name)
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	// A hostile server's text must never become a label value: only
	// codes, the category vocabulary and names from DNS/config do.
	srv := fakemta.ServeText(t, t.Name(), `send 220 evil.lab.test ESMTP
expect EHLO|HELO
send 250 evil.lab.test
expect MAIL
send 250 2.1.0 Ok
expect RCPT
sendraw "550 5.1.1 <postmaster@lab.test> \x1b[2J unknown user ${jndi:x} \"label=\"\r\n"
expect RSET
send 250 2.0.0 Ok
expect QUIT
send 221 2.0.0 Bye
close
`)
	// The server is honest apart from its text: RSET gets 250 as RFC 5321
	// §4.1.1.5 requires (and Postfix answers "250 2.0.0 Ok"), else the
	// probe's out-of-step check (probe/desync.go) rightly reads the reply as
	// a protocol error at rset and the rcpt series this test checks is gone.
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	a := get(t, s.Handler(), "/probe?module=lab&target="+srv.Addr(), nil)
	require.Equal(t, 200, a.code)
	assert.NotContains(t, a.body, "jndi")
	assert.NotContains(t, a.body, "\x1b")
	v, ok := series(a.body, "probe_smtp_result_info", `status="undeliverable"`, `category="user-unknown"`, `dsn="5.1.1"`, `phase="rcpt"`)
	assert.True(t, ok, a.body)
	assert.Equal(t, "1", v)
	v, _ = series(a.body, "probe_success")
	assert.Equal(t, "0", v)
}

func TestScrapeTimeoutCut(t *testing.T) {
	// The server greets and then never answers: a probe only its budget
	// ends. It must say timeout, not interrupted, name the cause, and
	// answer before Prometheus's own timeout.
	srv := fakemta.ServeShipped(t, "greeting-then-silence")
	cfg := "modules:" + strings.ReplaceAll(strings.ReplaceAll(fmt.Sprintf(serverModule, "lab"), "phase_timeout: 3s", "phase_timeout: 30s"), "timeout: 5s", "timeout: 1500ms")
	cases := []struct {
		name     string
		header   string
		min, max time.Duration
		stop     string
	}{
		{"scrape timeout header", "1.2", 500 * time.Millisecond, 1200 * time.Millisecond, "stop=scrape-timeout"},
		{"module timeout without a header", "", 1000 * time.Millisecond, 1500 * time.Millisecond, "stop=deadline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs lockedBuffer
			s, _ := newTestServer(t, cfg, func(o *Options) {
				o.Logger = slog.New(slog.NewTextHandler(&logs.buf, nil))
			})
			hdr := map[string]string{}
			if c.header != "" {
				hdr[ScrapeTimeoutHeader] = c.header
			}
			start := time.Now()
			a := get(t, s.Handler(), "/probe?module=lab&target="+srv.Addr(), hdr)
			took := time.Since(start)
			require.Equal(t, 200, a.code, a.body)
			assert.Less(t, took, c.max, "the answer must come within the budget")
			assert.GreaterOrEqual(t, took, c.min)
			v, _ := series(a.body, "probe_success")
			assert.Equal(t, "0", v)
			_, ok := series(a.body, "probe_smtp_result_info", `phase="timeout"`)
			assert.True(t, ok, a.body)
			assert.NotContains(t, a.body, "interrupted")
			assert.Contains(t, logs.buf.String(), "result=timeout")
			assert.Contains(t, logs.buf.String(), "phase=timeout")
			assert.Contains(t, logs.buf.String(), c.stop)
			m := get(t, s.Handler(), "/metrics", nil)
			v, _ = series(m.body, "mailprobe_probes_total", `result="timeout"`)
			assert.Equal(t, "1", v)
		})
	}
	t.Run("debug names the scrape timeout", func(t *testing.T) {
		s, _ := newTestServer(t, cfg, nil)
		a := get(t, s.Handler(), "/probe?module=lab&debug=true&target="+srv.Addr(), map[string]string{ScrapeTimeoutHeader: "1.2"})
		assert.Contains(t, a.body, "the scrape timeout minus the offset")
		assert.Contains(t, a.body, "scrape timeout")
		assert.NotContains(t, a.body, "interrupted")
	})
}

func TestConcurrencyBounds(t *testing.T) {
	// Each session takes 300 ms before its greeting.
	slow := `sleep 300ms
send 220 slow.lab.test ESMTP
expect EHLO|HELO
send 250 slow.lab.test
expect MAIL
send 250 2.1.0 Ok
expect RCPT
send 250 2.1.5 Ok
expect QUIT
send 221 bye
close
`
	t.Run("max-concurrent bounds all probes", func(t *testing.T) {
		var addrs []string
		for range 6 {
			addrs = append(addrs, fakemta.ServeText(t, t.Name(), slow).Addr())
		}
		s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), func(o *Options) { o.MaxConcurrent = 2 })
		peak := watchPeak(t, func() int { return len(s.sem) })
		var wg sync.WaitGroup
		var ok atomic.Int32
		for _, addr := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := get(t, s.Handler(), "/probe?module=lab&target="+addr, nil)
				if v, _ := series(a.body, "probe_success"); a.code == 200 && v == "1" {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(6), ok.Load(), "every probe waits for a slot and succeeds")
		assert.Equal(t, 2, peak(), "never more than --max-concurrent at once, and the bound is used")
	})
	t.Run("one probe per target and module at once", func(t *testing.T) {
		addr := fakemta.ServeText(t, t.Name(), slow).Addr()
		s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab")+fmt.Sprintf(serverModule, "other"), func(o *Options) { o.MaxConcurrent = 10 })
		peak := watchPeak(t, func() int { return len(s.sem) })
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); get(t, s.Handler(), "/probe?module=lab&target="+addr, nil) }()
		}
		wg.Wait()
		assert.Equal(t, 1, peak(), "probes of one target+module run one after another")
		// Another module may probe the same target beside it.
		peak = watchPeak(t, func() int { return len(s.sem) })
		for _, m := range []string{"lab", "other"} {
			wg.Add(1)
			go func() { defer wg.Done(); get(t, s.Handler(), "/probe?module="+m+"&target="+addr, nil) }()
		}
		wg.Wait()
		assert.Equal(t, 2, peak())
	})
	t.Run("a slot that never frees ends in 503 within the budget", func(t *testing.T) {
		addr := fakemta.ServeText(t, t.Name(), slow).Addr()
		s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), func(o *Options) { o.MaxConcurrent = 1 })
		s.sem <- struct{}{} // every slot taken
		defer func() { <-s.sem }()
		start := time.Now()
		a := get(t, s.Handler(), "/probe?module=lab&target="+addr, map[string]string{ScrapeTimeoutHeader: "1"})
		assert.Equal(t, http.StatusServiceUnavailable, a.code)
		assert.Contains(t, a.body, "--max-concurrent")
		assert.Less(t, time.Since(start), time.Second)
	})
}

// watchPeak samples n until the returned function is called and returns
// the largest value seen.
func watchPeak(t *testing.T, n func() int) func() int {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if v := int64(n()); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var once sync.Once
	get := func() int {
		once.Do(func() { close(stop); <-done })
		return int(peak.Load())
	}
	t.Cleanup(func() { get() })
	return get
}

func TestBackoffAfter421(t *testing.T) {
	srv := fakemta.ServeShipped(t, "421-at-rcpt")
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	now := time.Now()
	s.now = func() time.Time { return now }
	url := "/probe?module=lab&target=" + srv.Addr()
	first := get(t, s.Handler(), url, nil)
	require.Equal(t, 200, first.code)
	v, _ := series(first.body, "probe_smtp_status_code", `phase="rcpt"`)
	require.Equal(t, "421", v, first.body)
	sessions := func() int {
		n := 0
		for _, c := range srv.Commands() {
			if c.Verb() == "EHLO" {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, sessions())

	second := get(t, s.Handler(), url, nil)
	require.Equal(t, 200, second.code)
	assert.Equal(t, 1, sessions(), "no new session during the back-off")
	v, ok := series(second.body, "probe_smtp_backoff_seconds")
	assert.True(t, ok, second.body)
	assert.Equal(t, "60", v)
	v, _ = series(second.body, "probe_smtp_status_code", `phase="rcpt"`)
	assert.Equal(t, "421", v, "the stored result is served")

	dbg := get(t, s.Handler(), url+"&debug=true", nil)
	assert.Equal(t, 1, sessions(), "debug=true does not probe during the back-off either")
	assert.Contains(t, dbg.body, "Not probed")
	assert.Contains(t, dbg.body, "probe_smtp_backoff_seconds 60")

	now = now.Add(61 * time.Second)
	third := get(t, s.Handler(), url, nil)
	require.Equal(t, 200, third.code)
	assert.Equal(t, 2, sessions(), "after the back-off the target is probed again")
	_, ok = series(third.body, "probe_smtp_backoff_seconds")
	assert.False(t, ok)
}

func TestReloadBadConfigKeepsOld(t *testing.T) {
	good := "modules:" + fmt.Sprintf(serverModule, "lab")
	s, path := newTestServer(t, good, nil)
	h := s.Handler()
	post := func() answer {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
		return answer{rec.Code, rec.Body.String()}
	}
	bad := []struct{ name, text string }{
		{"not YAML", "modules: [:"},
		{"unknown key", good + "    recipent: [x@y.test]\n"},
		{"bad TLS level", strings.Replace(good, "starttls: may", "starttls: sometimes", 1)},
		{"no modules", "modules: {}\n"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(b.text), 0o644))
			a := post()
			assert.Equal(t, http.StatusInternalServerError, a.code)
			assert.Contains(t, a.body, "previous configuration kept")
			assert.Equal(t, []string{"lab"}, s.Config().ModuleNames(), "old configuration in force")
			m := get(t, h, "/metrics", nil)
			v, _ := series(m.body, "mailprobe_config_last_reload_successful")
			assert.Equal(t, "0", v)
		})
	}
	require.NoError(t, os.WriteFile(path, []byte(good+fmt.Sprintf(serverModule, "second")), 0o644))
	a := post()
	assert.Equal(t, 200, a.code, a.body)
	assert.Equal(t, []string{"lab", "second"}, s.Config().ModuleNames())
	assert.Equal(t, http.StatusMethodNotAllowed, get(t, h, "/-/reload", nil).code, "GET must not reload")

	t.Run("SIGHUP", func(t *testing.T) {
		ctx := t.Context()
		s.WatchSIGHUP(ctx)
		require.NoError(t, os.WriteFile(path, []byte(good+fmt.Sprintf(serverModule, "third")), 0o644))
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
		require.Eventually(t, func() bool { return len(s.Config().ModuleNames()) == 2 && s.Config().Modules["third"] != nil },
			5*time.Second, 10*time.Millisecond)
		require.NoError(t, os.WriteFile(path, []byte("modules: [:"), 0o644))
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
		time.Sleep(200 * time.Millisecond)
		assert.NotNil(t, s.Config().Modules["third"], "a bad file on SIGHUP keeps the old configuration")
	})
}

func TestHealthReady(t *testing.T) {
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	assert.Equal(t, 200, get(t, s.Handler(), "/-/healthy", nil).code)
	assert.Equal(t, 200, get(t, s.Handler(), "/-/ready", nil).code)
	root := get(t, s.Handler(), "/", nil)
	assert.Contains(t, root.body, "lab")
	assert.Equal(t, 404, get(t, s.Handler(), "/nope", nil).code)
	req := httptest.NewRequest(http.MethodHead, "/probe?module=lab&target=127.0.0.1:25", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "HEAD must not cause a probe")
}

func TestDebug(t *testing.T) {
	srv := fakemta.ServeShipped(t, "starttls-valid")
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	a := get(t, s.Handler(), "/probe?module=lab&debug=true&target="+srv.Addr(), nil)
	require.Equal(t, 200, a.code)
	for _, want := range []string{"Transcript:", "-> EHLO probe.lab.test", "<- 250 2.1.5 Ok", "Report:", "postmaster@lab.test",
		"Metrics that would have been returned:", "probe_success 1", "Module configuration:", "recipients:"} {
		assert.Contains(t, a.body, want)
	}
	assert.Regexp(t, regexp.MustCompile(`(?m)^# TYPE probe_success gauge$`), a.body)
	assert.Equal(t, 400, get(t, s.Handler(), "/probe?module=lab&debug=maybe&target="+srv.Addr(), nil).code)
}

func TestParseConfig(t *testing.T) {
	bad := []struct{ name, text, want string }{
		{"unknown key", "modules:\n  a:\n    protcol: smtp\n", "protcol"},
		{"bad protocol", "modules:\n  a:\n    protocol: http\n", "protocol"},
		{"lmtp through MX", "modules:\n  a:\n    protocol: lmtp\n    target: mx\n", "LMTP"},
		{"server without recipients", "modules:\n  a:\n    target: server\n", "recipients"},
		{"address as a local part", "modules:\n  a:\n    recipients: [a@b.test]\n", "local parts"},
		{"bad recipient", "modules:\n  a:\n    target: server\n    recipients: [\"a b@c.test\"]\n", "recipients"},
		{"bad starttls", "modules:\n  a:\n    starttls: perhaps\n", "starttls"},
		{"bad dnsbl", "modules:\n  a:\n    dnsbl: sometimes\n", "dnsbl"},
		{"bad source", "modules:\n  a:\n    source: host.test\n", "source"},
		{"negative timeout", "modules:\n  a:\n    timeout: -1s\n", "timeout"},
		{"bad duration", "modules:\n  a:\n    timeout: soon\n", "time.Duration"},
		{"bad helo", "modules:\n  a:\n    helo: \"a b\"\n", "helo"},
		{"pattern with a space", "modules:\n  a:\n    allowed_targets: [\"a b\"]\n", "allowed_targets"},
		{"empty module", "modules:\n  a:\n", "empty"},
		{"no modules", "other: 1\n", "other"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, err := Parse([]byte(b.text))
			require.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), b.want)
		})
	}
	cfg, err := Parse([]byte("modules:\n  a: {allowed_targets: [x.test]}\n"))
	require.NoError(t, err)
	m := cfg.Modules["a"]
	assert.Equal(t, moduleDefaults.Timeout, m.Timeout)
	assert.Equal(t, moduleDefaults.Backoff421, m.Backoff421)
	assert.Equal(t, TargetMX, m.Target)
	assert.Equal(t, "may", m.STARTTLS)
}

func TestExampleConfig(t *testing.T) {
	cfg, err := Load("../examples/mailprobe.yml")
	require.NoError(t, err)
	assert.Equal(t, []string{"lmtp", "smtp"}, cfg.ModuleNames())
	assert.Equal(t, TargetServer, cfg.Modules["lmtp"].Target)
	assert.Equal(t, TargetMX, cfg.Modules["smtp"].Target)
	r, err := resolve(cfg.Modules["smtp"], "Example.ORG")
	require.NoError(t, err)
	assert.Equal(t, "example.org", r.target)
	assert.True(t, cfg.Modules["smtp"].allowed(r.target))
	require.Len(t, r.targets, 1)
	assert.True(t, strings.EqualFold("postmaster@example.org", r.targets[0].Address.String()))
	r, err = resolve(cfg.Modules["lmtp"], "unix:/run/dovecot/lmtp")
	require.NoError(t, err)
	assert.True(t, cfg.Modules["lmtp"].allowed(r.target))
}

func TestBackoffHoldsForWaitingScrapes(t *testing.T) {
	// A server that is slow to say 421: scrapes that arrive while the
	// first probe runs wait for it, then get its result, never a session
	// of their own.
	l := fakemta.ServeText(t, "slow-421", "sleep 300ms\nsend 421 4.3.2 busy.lab.test Service not available, closing transmission channel\nclose")
	s, _ := newTestServer(t, "modules:"+fmt.Sprintf(serverModule, "lab"), nil)
	var wg sync.WaitGroup
	bodies := make([]string, 3)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = get(t, s.Handler(), "/probe?module=lab&target="+l.Addr(), nil).body
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, l.Conns(), "one session for three scrapes")
	backoff := 0
	for _, b := range bodies {
		v, _ := series(b, "probe_smtp_status_code", `phase="greeting"`)
		assert.Equal(t, "421", v, b)
		if _, ok := series(b, "probe_smtp_backoff_seconds"); ok {
			backoff++
		}
	}
	assert.Equal(t, 2, backoff, "the two that waited are served the stored result")
}
