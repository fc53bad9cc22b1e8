package exporter

import (
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promtool finds promtool; without it the test skips, or fails when
// MAILPROBE_INTEGRATION=1 (CI installs it with the prometheus package).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MAILPROBE_INTEGRATION") == "1" {
			t.Fatalf("MAILPROBE_INTEGRATION=1 but promtool is missing (scripts/servers-install installs the prometheus package): %v", err)
		}
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	return p
}

func TestExamplesPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "config", "../examples/prometheus.yml"},
		{"check", "rules", "../examples/alerts.yml"},
		{"test", "rules", "../examples/alerts_test.yml"},
	} {
		t.Run(args[0]+" "+args[1], func(t *testing.T) {
			out, err := exec.Command(bin, args...).CombinedOutput()
			require.NoError(t, err, "promtool %v:\n%s", args, out)
			assert.Contains(t, string(out), "SUCCESS")
		})
	}
}

// TestAlertsUseExportedNames keeps alerts.yml and alerts_test.yml to the
// series the exporter really exports.
func TestAlertsUseExportedNames(t *testing.T) {
	names := map[string]bool{}
	pm := newProbeMetrics()
	ch := make(chan *prometheus.Desc, 64)
	for _, c := range []prometheus.Collector{pm.success, pm.duration, pm.dnsTime, pm.mxHosts, pm.hostsUp, pm.certExpiry,
		pm.tlsVersion, pm.phaseDuration, pm.statusCode, pm.enhanced, pm.starttls, pm.result, pm.dnsblListed, pm.dnsblError} {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		names[fq.FindStringSubmatch(d.String())[1]] = true
	}
	used := regexp.MustCompile(`\bprobe_[a-z_]+`)
	for _, f := range []string{"../examples/alerts.yml", "../examples/alerts_test.yml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, n := range used.FindAllString(string(b), -1) {
			assert.True(t, names[n], "%s uses %s, which the exporter does not export", f, n)
		}
	}
}
