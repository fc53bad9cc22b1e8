package exporter

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// PhaseTimeout is the phase label of a recipient the probe's time budget
// (scrape timeout minus offset, or the module timeout) ran out on before
// any server decided it. It is not a probe.Phase: it names the exporter's
// cut, not a step of the dialogue.
const PhaseTimeout = "timeout"

// DNSBL roles: whose address a blocklist answer is about.
const (
	RoleSource = "source" // the local address the probe connected from (or public_ip)
	RoleMX     = "mx"     // an address of a receiving host
)

// probeMetrics are the per-probe series, registered on a fresh registry
// for every /probe request as blackbox_exporter's prober does, so a
// scrape sees exactly this probe's series and nothing stale.
type probeMetrics struct {
	success, duration, dnsTime          prometheus.Gauge
	mxHosts, hostsUp, certExpiry        prometheus.Gauge
	tlsVersion                          *prometheus.GaugeVec
	phaseDuration, statusCode, enhanced *prometheus.GaugeVec
	starttls                            *prometheus.GaugeVec
	result                              *prometheus.GaugeVec
	dnsblListed, dnsblError             *prometheus.GaugeVec
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

func newProbeMetrics() *probeMetrics {
	return &probeMetrics{
		success:    gauge("probe_success", "Whether every recipient of the probe was accepted (1) or not (0)."),
		duration:   gauge("probe_duration_seconds", "How long the probe took, in seconds."),
		dnsTime:    gauge("probe_dns_lookup_time_seconds", "Time spent resolving MX hosts and their addresses, in seconds."),
		mxHosts:    gauge("probe_mx_hosts", "Number of MX hosts the target domain has (0 for a null MX or a DNS failure)."),
		hostsUp:    gauge("probe_smtp_hosts_up", "Number of host addresses tried that greeted with 2xx."),
		certExpiry: gauge("probe_ssl_earliest_cert_expiry", "Earliest expiry (Unix time) of the server certificates seen, as blackbox_exporter."),
		tlsVersion: gaugeVec("probe_tls_version_info", "TLS version of the sessions, as blackbox_exporter.", "version"),
		phaseDuration: gaugeVec("probe_smtp_phase_duration_seconds",
			"Duration of each phase of the dialogue per host address, in seconds.", "host", "address", "phase"),
		statusCode: gaugeVec("probe_smtp_status_code",
			"Reply code of each phase per host address (the highest when a phase had several replies).", "host", "address", "phase"),
		enhanced: gaugeVec("probe_smtp_enhanced_status_code",
			"RFC 3463 enhanced status code of each phase per host address, as the code label (value 1).", "host", "address", "phase", "code"),
		starttls: gaugeVec("probe_smtp_starttls",
			"Whether the session to the host address ran under STARTTLS (1) or in clear (0).", "host", "address"),
		result: gaugeVec("probe_smtp_result_info",
			"The verdict per recipient (value 1): status, category from mailprobe's fixed vocabulary, DSN, Postfix relay= and the deciding phase.",
			"recipient", "status", "category", "dsn", "relay", "phase"),
		dnsblListed: gaugeVec("probe_dnsbl_listed",
			"Whether the address is listed on the blocklist (1) or not (0); absent when the list did not answer.", "list", "address", "role"),
		dnsblError: gaugeVec("probe_dnsbl_error",
			"1 when the blocklist did not answer usably (error code such as 127.255.255.x, SERVFAIL, timeout): not a listing.", "list", "address", "role"),
	}
}

func (pm *probeMetrics) register(reg *prometheus.Registry) {
	reg.MustRegister(pm.success, pm.duration, pm.dnsTime, pm.hostsUp,
		pm.phaseDuration, pm.statusCode, pm.enhanced, pm.starttls, pm.result,
		pm.dnsblListed, pm.dnsblError, pm.tlsVersion)
}

// outcome is one probe's facts and verdicts, ready to become series.
type outcome struct {
	req      *request
	res      *probe.Result
	verdicts []report.Verdict
	// cut is set when the time budget ran out before the probe ended.
	cut     bool
	elapsed time.Duration
}

// success is probe_success: every recipient deliverable.
func (o *outcome) success() bool {
	if len(o.verdicts) == 0 {
		return false
	}
	for _, v := range o.verdicts {
		if v.Status != report.StatusDeliverable {
			return false
		}
	}
	return true
}

// phaseOf is the phase label of a verdict: where the decision happened,
// or "timeout" when the budget ran out before a server decided.
func (o *outcome) phaseOf(v report.Verdict) string {
	if o.cut && (v.Reply == nil || v.Status == report.StatusNotChecked) {
		return PhaseTimeout
	}
	if v.Phase == "" {
		return "none"
	}
	return string(v.Phase)
}

// fill sets the series from the outcome and registers them on reg.
func (pm *probeMetrics) fill(reg *prometheus.Registry, o *outcome) {
	pm.register(reg)
	pm.success.Set(b2f(o.success()))
	pm.duration.Set(o.elapsed.Seconds())
	for _, v := range o.verdicts {
		pm.result.WithLabelValues(v.Recipient, string(v.Status), string(v.Category), v.DSN, v.Relay, o.phaseOf(v)).Set(1)
	}
	res := o.res
	if res == nil {
		return
	}
	var dnsTime time.Duration
	mxHosts, hasRoute := 0, false
	var earliest time.Time
	up := map[string]bool{}
	local := map[netip.Addr]bool{}
	for _, d := range res.Domains {
		dnsTime += d.DNSDuration
		if d.Route != nil {
			hasRoute = true
			mxHosts += len(d.Route.Hosts)
		}
		for _, a := range d.Attempts {
			if a.Skipped != "" {
				continue
			}
			if ap, err := netip.ParseAddrPort(a.Local); err == nil {
				local[ap.Addr().Unmap()] = true
			}
			pm.attempt(a)
			if a.Greeting != nil && a.Greeting.Class() == 2 {
				up[a.Host+"\x00"+a.Address] = true
			}
			if t := a.TLS; t != nil {
				pm.tlsVersion.WithLabelValues(t.Version).Set(1)
				if !t.NotAfter.IsZero() && (earliest.IsZero() || t.NotAfter.Before(earliest)) {
					earliest = t.NotAfter
				}
			}
		}
	}
	pm.dnsTime.Set(dnsTime.Seconds())
	pm.hostsUp.Set(float64(len(up)))
	if hasRoute || o.req.module.Target == TargetMX {
		reg.MustRegister(pm.mxHosts)
		pm.mxHosts.Set(float64(mxHosts))
	}
	if !earliest.IsZero() {
		reg.MustRegister(pm.certExpiry)
		pm.certExpiry.Set(float64(earliest.Unix()))
	}
	if res.PublicIP != "" {
		if ip, err := netip.ParseAddr(res.PublicIP); err == nil {
			local[ip] = true
		}
	}
	for _, r := range res.DNSBL {
		role := RoleMX
		if ip, err := netip.ParseAddr(r.Address); err == nil && local[ip.Unmap()] {
			role = RoleSource
		}
		switch r.Status {
		case blacklist.Listed:
			pm.dnsblListed.WithLabelValues(r.List, r.Address, role).Set(1)
		case blacklist.Clean:
			pm.dnsblListed.WithLabelValues(r.List, r.Address, role).Set(0)
		default:
			pm.dnsblError.WithLabelValues(r.List, r.Address, role).Set(1)
		}
	}
}

// attempt sets the per-host series of one connection.
func (pm *probeMetrics) attempt(a *probe.Attempt) {
	durations := map[probe.Phase]time.Duration{}
	codes := map[probe.Phase]int{}
	enh := map[probe.Phase]string{}
	for _, s := range a.Steps {
		durations[s.Phase] += s.Duration
		if s.Reply != nil && s.Reply.Code >= codes[s.Phase] {
			codes[s.Phase] = s.Reply.Code
			if s.Reply.Enhanced != "" {
				enh[s.Phase] = s.Reply.Enhanced
			}
		}
	}
	for ph, d := range durations {
		pm.phaseDuration.WithLabelValues(a.Host, a.Address, string(ph)).Set(d.Seconds())
	}
	for ph, c := range codes {
		pm.statusCode.WithLabelValues(a.Host, a.Address, string(ph)).Set(float64(c))
	}
	for ph, e := range enh {
		// Only a well-formed X.Y.Z reaches here (probe checks it), so the
		// label holds digits and dots, never server text.
		if probe.ValidEnhanced(e) {
			pm.enhanced.WithLabelValues(a.Host, a.Address, string(ph), e).Set(1)
		}
	}
	if a.Greeting != nil && a.Greeting.Class() == 2 && a.TLS == nil {
		pm.starttls.WithLabelValues(a.Host, a.Address).Set(0)
	}
	if a.TLS != nil {
		pm.starttls.WithLabelValues(a.Host, a.Address).Set(1)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// codeLabel is used in logs: the reply code of a verdict, "" without one.
func codeLabel(v report.Verdict) string {
	if v.Reply == nil {
		return ""
	}
	return strconv.Itoa(v.Reply.Code)
}
