package integration

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exporter test's own servers (testdata/exporter/README.md).
const (
	exporterState = "/tmp/mailprobe-exporter-it"
	tlsMXAddr     = "127.0.4.25"
	exporterIP    = "127.0.4.1"
	prometheusIP  = "127.0.4.2"
)

// requireTool finds a program the exporter test needs: a skip without the
// set, a failure with MAILPROBE_INTEGRATION=1.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/usr/bin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
		t.Fatalf("MAILPROBE_INTEGRATION=1 but %s is not installed (scripts/servers-install)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// freePort returns a port free on ip now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCert makes a self-signed certificate for mx-tls.exporter.test that
// expires at notAfter, and returns it.
func writeCert(t *testing.T, dir string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	c, err := fakemta.NewCert(fakemta.CertSpec{CN: "mx-tls.exporter.test", DNSNames: []string{"mx-tls.exporter.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}, nil)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw}), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return c.Leaf
}

// lockExporterState serialises this test across processes: the test
// binaries of several worktrees share the fixed address 127.0.4.25 and
// the state directory, and one run's "stop the leftover" must not stop
// another run's Postfix. The lock is released when the test ends, after
// everything it started has stopped.
func lockExporterState(t *testing.T) {
	t.Helper()
	lockStateDir(t, exporterState)
}

// lockStateDir holds an exclusive lock on dir+".lock" until the test ends
// (waiting up to 5 minutes for another process's run to end): a test
// that starts servers of its own on fixed addresses with state in dir.
func lockStateDir(t *testing.T, dir string) {
	t.Helper()
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s.lock (another run of this test holds it?): %v", dir, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// startTLSPostfix starts the STARTTLS Postfix of testdata/exporter on
// 127.0.4.25:25 and returns its certificate.
func startTLSPostfix(t *testing.T) *x509.Certificate {
	t.Helper()
	postfix := requireTool(t, "postfix")
	lockExporterState(t)
	conf := filepath.Join(exporterState, "conf")
	// A leftover instance of an aborted run holds the address: stop it.
	if _, err := os.Stat(filepath.Join(conf, "main.cf")); err == nil {
		_ = exec.Command(postfix, "-c", conf, "stop").Run()
		waitClosed(tlsMXAddr + ":25")
	}
	require.NoError(t, os.RemoveAll(exporterState))
	for _, d := range []string{conf, filepath.Join(exporterState, "queue"), filepath.Join(exporterState, "log")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, exec.Command("install", "-d", "-o", "postfix", "-g", "postfix", "-m", "700", filepath.Join(exporterState, "data")).Run())
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(servers.repo, "testdata", "exporter", "postfix-tls", f+".in"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(conf, f), []byte(strings.ReplaceAll(string(b), "@STATE@", exporterState)), 0o644))
	}
	cert := writeCert(t, filepath.Join(exporterState, "tls"), time.Now().Add(10*24*time.Hour).Truncate(time.Second))
	resolv := filepath.Join(exporterState, "resolv.conf")
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
		waitClosed(tlsMXAddr + ":25")
	})
	require.Eventually(t, func() bool { return greets(tlsMXAddr+":25") == nil }, 15*time.Second, 100*time.Millisecond,
		"the TLS Postfix on %s:25 does not greet; see %s/log", tlsMXAddr, exporterState)
	return cert
}

func waitClosed(addr string) {
	for range 50 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
	}
}

// startProcess runs a long-lived server for the test's duration, output
// in a log file under dir.
func startProcess(t *testing.T, dir, name string, cmd *exec.Cmd) string {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start(), name)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return logPath
}

func waitHTTP(t *testing.T, u string) {
	t.Helper()
	require.Eventually(t, func() bool {
		r, err := http.Get(u)
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	}, 30*time.Second, 100*time.Millisecond, "%s not ready", u)
}

// promSample is one element of a Prometheus instant-query vector.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) float(t *testing.T) float64 {
	f, err := strconv.ParseFloat(s.Value[1].(string), 64)
	require.NoError(t, err)
	return f
}

// query asks Prometheus's HTTP API for an instant vector.
func query(t *testing.T, base, q string) []promSample {
	t.Helper()
	r, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	var doc struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(b, &doc), "%s", b)
	require.Equal(t, "success", doc.Status, "query %s: %s", q, doc.Error)
	return doc.Data.Result
}

// eventually waits until q returns exactly one sample and returns it.
func eventually(t *testing.T, base, q string) promSample {
	t.Helper()
	var got []promSample
	ok := assert.Eventually(t, func() bool {
		got = query(t, base, q)
		return len(got) == 1
	}, 60*time.Second, 500*time.Millisecond, "Prometheus never had one series for %s (last: %v)", q, got)
	if !ok {
		return promSample{}
	}
	return got[0]
}

const exporterModules = `modules:
  smtp:
    protocol: smtp
    target: mx
    starttls: may
    dnsbl: always
    lists: [dnsbl.test]
    source: 127.0.2.66
    timeout: 20s
    phase_timeout: 10s
    allowed_targets: [it.test, "*.it.test", "*@it.test"]
  tls:
    protocol: smtp
    target: server
    starttls: encrypt
    recipients: [postmaster@tls.exporter.test]
    dnsbl: never
    timeout: 10s
    allowed_targets: ["127.0.4.25:25"]
  lmtp:
    protocol: lmtp
    target: server
    recipients: [alice@it.test]
    dnsbl: never
    allowed_targets: ["127.0.2.24:24", "unix:@SOCKET@"]
`

const prometheusConfig = `global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files:
  - @ALERTS@
scrape_configs:
  - job_name: mailprobe-smtp
    metrics_path: /probe
    params:
      module: [smtp]
    scrape_interval: 6s
    scrape_timeout: 6s
    static_configs:
      - targets: [alice@it.test, nobody@it.test, grey.it.test, alldead.it.test]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: @EXPORTER@
  - job_name: mailprobe-tls
    metrics_path: /probe
    params:
      module: [tls]
    scrape_interval: 4s
    scrape_timeout: 4s
    static_configs:
      - targets: ["127.0.4.25:25"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: @EXPORTER@
  - job_name: mailprobe-lmtp
    metrics_path: /probe
    params:
      module: [lmtp]
    static_configs:
      - targets: ["127.0.2.24:24", "unix:@SOCKET@"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: @EXPORTER@
  - job_name: mailprobe
    static_configs:
      - targets: ["@EXPORTER@"]
`

// TestExporterPrometheus runs `mailprobe serve` against the real set, a
// real Prometheus scraping it, and asserts the series through
// Prometheus's HTTP API.
func TestExporterPrometheus(t *testing.T) {
	requireServers(t)
	prom := requireTool(t, "prometheus")
	cert := startTLSPostfix(t)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mailprobe.yml")
	socket := servers.dir + "/dovecot/lmtp"
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(exporterModules, "@SOCKET@", socket)), 0o644))
	exporterAddr := net.JoinHostPort(exporterIP, strconv.Itoa(freePort(t, exporterIP)))
	serveLog := startProcess(t, dir, "mailprobe-serve", exec.Command(servers.mailprobe, "serve",
		"--config", cfgPath, "--listen", exporterAddr, "--resolver", resolverAddr, "--helo", "probe.it.test"))
	waitHTTP(t, "http://"+exporterAddr+"/-/ready")

	promAddr := net.JoinHostPort(prometheusIP, strconv.Itoa(freePort(t, prometheusIP)))
	promCfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(promCfg, []byte(strings.NewReplacer("@EXPORTER@", exporterAddr, "@SOCKET@", socket,
		"@ALERTS@", filepath.Join(servers.repo, "examples", "alerts.yml")).Replace(prometheusConfig)), 0o644))
	startProcess(t, dir, "prometheus", exec.Command(prom, "--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr))
	base := "http://" + promAddr
	waitHTTP(t, base+"/-/ready")

	t.Run("known user: success", func(t *testing.T) {
		s := eventually(t, base, `probe_success{job="mailprobe-smtp",instance="alice@it.test"} == 1`)
		assert.Equal(t, 1.0, s.float(t))
		eventually(t, base, `probe_smtp_result_info{instance="alice@it.test",status="deliverable",category="deliverable",dsn="2.1.5",phase="rcpt",relay="mx.it.test[127.0.2.25]:25"}`)
		eventually(t, base, `probe_smtp_status_code{instance="alice@it.test",host="mx.it.test",address="127.0.2.25",phase="rcpt"} == 250`)
		eventually(t, base, `probe_mx_hosts{instance="alice@it.test"} == 1`)
		eventually(t, base, `probe_smtp_hosts_up{instance="alice@it.test"} == 1`)
	})
	t.Run("unknown user: user-unknown", func(t *testing.T) {
		eventually(t, base, `probe_success{instance="nobody@it.test"} == 0`)
		eventually(t, base, `probe_smtp_result_info{instance="nobody@it.test",status="undeliverable",category="user-unknown",dsn="5.1.1"}`)
		eventually(t, base, `probe_smtp_status_code{instance="nobody@it.test",phase="rcpt"} == 550`)
	})
	t.Run("greylisted: 450", func(t *testing.T) {
		eventually(t, base, `probe_smtp_status_code{instance="grey.it.test",host="mx-grey.it.test",phase="rcpt"} == 450`)
		eventually(t, base, `probe_smtp_enhanced_status_code{instance="grey.it.test",phase="rcpt",code="4.2.0"}`)
		eventually(t, base, `probe_smtp_result_info{instance="grey.it.test",status="deferred",category="greylisted"}`)
	})
	t.Run("DNSBL: the listed source address", func(t *testing.T) {
		eventually(t, base, `probe_dnsbl_listed{instance="alice@it.test",list="dnsbl.test",address="127.0.2.66",role="source"} == 1`)
		eventually(t, base, `probe_dnsbl_listed{instance="alice@it.test",list="dnsbl.test",address="127.0.2.25",role="mx"} == 0`)
	})
	t.Run("STARTTLS: certificate expiry", func(t *testing.T) {
		s := eventually(t, base, `probe_ssl_earliest_cert_expiry{instance="127.0.4.25:25"}`)
		assert.Equal(t, float64(cert.NotAfter.Unix()), s.float(t))
		eventually(t, base, `probe_smtp_starttls{instance="127.0.4.25:25",address="127.0.4.25"} == 1`)
		eventually(t, base, `probe_tls_version_info{instance="127.0.4.25:25"}`)
		eventually(t, base, `probe_success{instance="127.0.4.25:25"} == 1`)
		// The alert rule's condition holds: it expires within 14 days.
		eventually(t, base, `probe_ssl_earliest_cert_expiry{instance="127.0.4.25:25"} - time() < 14 * 86400`)
	})
	t.Run("every MX unreachable", func(t *testing.T) {
		eventually(t, base, `probe_mx_hosts{instance="alldead.it.test"} == 2`)
		eventually(t, base, `probe_smtp_hosts_up{instance="alldead.it.test"} == 0`)
		eventually(t, base, `probe_smtp_result_info{instance="alldead.it.test",status="deferred",category="connection-refused"}`)
	})
	t.Run("the shipped alert rules see the real series", func(t *testing.T) {
		// Each rule's condition holds; its for: keeps it pending.
		for _, a := range []string{
			`ALERTS{alertname="MailDomainDeferring",instance="grey.it.test",category="greylisted"}`,
			`ALERTS{alertname="MailRecipientUndeliverable",instance="nobody@it.test",category="user-unknown"}`,
			`ALERTS{alertname="MailTLSCertificateExpiringSoon",instance="127.0.4.25:25"}`,
			`ALERTS{alertname="MailSourceListedOnDNSBL",list="dnsbl.test",address="127.0.2.66"}`,
			`ALERTS{alertname="MailAllMXUnreachable",instance="alldead.it.test"}`,
		} {
			eventually(t, base, a)
		}
		for _, s := range query(t, base, `ALERTS{job="mailprobe-lmtp"} or ALERTS{instance="alice@it.test"}`) {
			t.Errorf("no alert expected for a deliverable target, got %v", s.Metric)
		}
	})
	t.Run("LMTP", func(t *testing.T) {
		eventually(t, base, `probe_success{job="mailprobe-lmtp",instance="127.0.2.24:24"} == 1`)
		eventually(t, base, `probe_success{job="mailprobe-lmtp",instance="unix:`+socket+`"} == 1`)
		eventually(t, base, `probe_smtp_result_info{instance="unix:`+socket+`",status="deliverable",recipient="alice@it.test"}`)
	})
	t.Run("exporter metrics", func(t *testing.T) {
		eventually(t, base, `mailprobe_probes_total{job="mailprobe",module="smtp",result="success"} > 0`)
		eventually(t, base, `mailprobe_probes_total{job="mailprobe",module="smtp",result="failure"} > 0`)
		eventually(t, base, `go_goroutines{job="mailprobe"}`)
		for _, job := range []string{"mailprobe-smtp", "mailprobe-tls", "mailprobe-lmtp", "mailprobe"} {
			for _, s := range query(t, base, `up{job="`+job+`"}`) {
				assert.Equal(t, 1.0, s.float(t), "up %v", s.Metric)
			}
		}
	})
	t.Run("one log line per probe", func(t *testing.T) {
		b, err := os.ReadFile(serveLog)
		require.NoError(t, err)
		assert.Regexp(t, `msg=probe target=alice@it.test module=smtp result=success ms=\d+ status=deliverable category=deliverable`, string(b))
		assert.Regexp(t, `msg=probe target=nobody@it.test module=smtp result=failure ms=\d+ status=undeliverable category=user-unknown dsn=5.1.1`, string(b))
	})
}
