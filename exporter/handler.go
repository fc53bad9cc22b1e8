package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.yaml.in/yaml/v3"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// ScrapeTimeoutHeader is the header Prometheus sends with every scrape.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// queryParams are the only query parameters /probe accepts: a module is
// defined by the configuration file alone, never by a request.
var queryParams = map[string]bool{"target": true, "module": true, "debug": true}

// Budget is how long a probe may take: Prometheus's scrape timeout minus
// offset, capped by the module's timeout, as blackbox_exporter's
// getTimeout does. Without the header the module timeout applies. When the
// offset would leave nothing, half the scrape timeout is used, so the
// answer still comes before Prometheus gives up. fromScrape says that the
// scrape timeout, not the module's, set the budget.
func Budget(header string, moduleTimeout, offset time.Duration) (budget time.Duration, fromScrape bool, err error) {
	if header == "" {
		return moduleTimeout, false, nil
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(header), 64)
	if err != nil || secs <= 0 || secs > 86400 || secs != secs {
		return 0, false, fmt.Errorf("%s %q: want a positive number of seconds", ScrapeTimeoutHeader, header)
	}
	scrape := time.Duration(secs * float64(time.Second))
	d := scrape - offset
	if d <= 0 {
		d = scrape / 2
	}
	if moduleTimeout > 0 && moduleTimeout <= d {
		return moduleTimeout, false, nil
	}
	return d, true, nil
}

// dnsblReserve is the part of the budget kept for blocklist lookups after
// the dialogue, so a probe cut by the deadline still reports the DNSBL
// state within the budget.
func dnsblReserve(budget time.Duration) time.Duration {
	return min(budget/5, time.Second)
}

func (s *Server) refuse(w http.ResponseWriter, reason string, code int, err error) {
	s.refused.WithLabelValues(reason).Inc()
	s.log.Warn("probe request refused", "reason", reason, "err", err)
	http.Error(w, err.Error(), code)
}

func (s *Server) handleProbe(w http.ResponseWriter, r *http.Request) {
	// GET only: a probe is a side effect on somebody's server, and HEAD
	// (curl -I, link checkers) must not cause one.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		s.refuse(w, "bad-request", http.StatusMethodNotAllowed, errors.New("probe needs GET"))
		return
	}
	q := r.URL.Query()
	for k, v := range q {
		if !queryParams[k] {
			s.refuse(w, "bad-request", http.StatusBadRequest, fmt.Errorf("unknown query parameter %q: modules are defined in the configuration file only", k))
			return
		}
		if len(v) != 1 {
			s.refuse(w, "bad-request", http.StatusBadRequest, fmt.Errorf("query parameter %q given %d times", k, len(v)))
			return
		}
	}
	debug := false
	if d := q.Get("debug"); d != "" {
		b, err := strconv.ParseBool(d)
		if err != nil {
			s.refuse(w, "bad-request", http.StatusBadRequest, fmt.Errorf("debug=%q: want true or false", d))
			return
		}
		debug = b
	}
	cfg := s.cfg.Load()
	name := q.Get("module")
	m := cfg.Modules[name]
	if m == nil {
		s.refuse(w, "unknown-module", http.StatusBadRequest, fmt.Errorf("%w %q (configured: %s)", ErrUnknownModule, name, strings.Join(cfg.ModuleNames(), ", ")))
		return
	}
	req, err := resolve(m, q.Get("target"))
	if err != nil {
		s.refuse(w, "bad-request", http.StatusBadRequest, err)
		return
	}
	if !s.opts.AllowAnyTarget && !m.allowed(req.target) {
		s.refuse(w, "not-allowed", http.StatusForbidden, fmt.Errorf("%w: %q does not match module %q's allowed_targets (or run with --allow-any-target)", ErrNotAllowed, req.target, name))
		return
	}
	budget, fromScrape, err := Budget(r.Header.Get(ScrapeTimeoutHeader), m.Timeout, s.opts.TimeoutOffset)
	if err != nil {
		s.refuse(w, "bad-request", http.StatusBadRequest, err)
		return
	}
	// The probe's context ends with the cause probe reports as its Stop:
	// a scrape timeout, or the module's own deadline. Its end leaves the
	// DNSBL reserve; hard is when the answer must be written.
	cause := probe.ErrDeadline
	if fromScrape {
		cause = probe.ErrScrapeTimeout
	}
	start := time.Now()
	hard := start.Add(budget)
	ctx, cancel := context.WithDeadlineCause(r.Context(), hard.Add(-dnsblReserve(budget)), cause)
	defer cancel()

	unlock, err := s.lockKey(ctx, req.key())
	if err != nil {
		s.refuse(w, "busy", http.StatusServiceUnavailable, fmt.Errorf("another probe of %q with module %q did not finish within the budget (%v)", req.target, name, err))
		return
	}
	defer unlock()
	// Checked under the key lock, so a scrape that waited for the probe
	// that met a 421 does not knock again either.
	if e, left := s.backingOff(req.key()); e != nil {
		// Not even debug=true knocks again during the back-off.
		s.probes.WithLabelValues(name, "backoff").Inc()
		s.log.Info("probe", "target", req.target, "module", name, "result", "backoff", "backoff_left_s", int(left.Seconds()))
		g := prometheus.NewRegistry()
		bo := gauge("probe_smtp_backoff_seconds", "Seconds until this target+module is probed again after a 421; the series shown are from the probe that met it.")
		bo.Set(left.Seconds())
		g.MustRegister(bo)
		stored := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return e.families, nil })
		all := prometheus.Gatherers{stored, g}
		if debug {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Not probed: %s with module %s met a 421 and is left alone for %v more (backoff_421).\n\nMetrics returned (from the probe that met the 421):\n",
				req.target, name, left.Round(time.Second))
			writeFamilies(w, all)
			return
		}
		promhttp.HandlerFor(all, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}

	release, err := s.acquire(ctx)
	if err != nil {
		s.refuse(w, "busy", http.StatusServiceUnavailable, fmt.Errorf("all %d probe slots (--max-concurrent) stayed busy for the whole budget (%v)", cap(s.sem), err))
		return
	}
	defer release()

	var transcript *lockedBuffer
	if debug {
		transcript = &lockedBuffer{}
	}
	o, err := s.run(ctx, req, start, hard, transcript)
	if err != nil {
		s.refuse(w, "bad-request", http.StatusBadRequest, err)
		return
	}
	reg := prometheus.NewRegistry()
	newProbeMetrics().fill(reg, o)
	result := "failure"
	switch {
	case o.success():
		result = "success"
	case o.cut:
		result = "timeout"
	}
	s.probes.WithLabelValues(name, result).Inc()
	s.durations.WithLabelValues(name).Observe(o.elapsed.Seconds())
	s.logProbe(o, result)
	if saw421(o.res) && m.Backoff421 > 0 {
		if fams, err := reg.Gather(); err == nil {
			s.startBackoff(req.key(), m.Backoff421, fams)
		}
	}
	if debug {
		s.writeDebug(w, o, reg, transcript, budget, fromScrape)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// run probes one request: the dialogue until ctx ends, the DNSBL
// lookups until hard.
func (s *Server) run(ctx context.Context, req *request, start, hard time.Time, transcript *lockedBuffer) (*outcome, error) {
	cfg, err := s.probeConfig(req, time.Until(hard), hard)
	if err != nil {
		return nil, err
	}
	if transcript != nil {
		cfg.Transcript = transcript.tap
	}
	res, err := probe.Run(ctx, cfg, req.targets)
	if err != nil {
		return nil, err
	}
	o := &outcome{req: req, res: res, verdicts: report.JudgeAll(res), elapsed: time.Since(start)}
	o.cut = res.Stop == probe.StopScrapeTimeout || res.Stop == probe.StopDeadline
	return o, nil
}

// probeConfig turns a module into a probe.Config for one request,
// through probe.NewConfig like every other caller: the module's options
// with this request's server, the time left and the global resolver. The
// context ends the dialogue before left runs out (with its cause);
// Deadline is the backstop.
func (s *Server) probeConfig(req *request, left time.Duration, hard time.Time) (probe.Config, error) {
	left = max(left, time.Millisecond)
	o := req.module.options
	if o.HELO == "" {
		o.HELO = s.opts.HELO
	}
	if req.server != nil {
		o.Server = req.server.String()
	}
	o.Resolver, o.DNSTimeout = s.opts.Resolver, s.opts.DNSTimeout
	o.Deadline = left
	o.Timeout = min(o.Timeout, left)
	cfg, err := probe.NewConfig(o)
	if err != nil {
		return cfg, err
	}
	if cfg.DNSBL != nil {
		cfg.DNSBL = boundedDNSBL{hard: hard, DNSBLChecker: cfg.DNSBL}
	}
	return cfg, nil
}

// boundedDNSBL keeps the blocklist lookups inside the request's budget:
// probe gives them a grace period of their own after its deadline, which
// must not outlast the scrape.
type boundedDNSBL struct {
	hard time.Time
	probe.DNSBLChecker
}

func (b boundedDNSBL) CheckAddrs(ctx context.Context, addrs []netip.Addr, named []string) []blacklist.Result {
	ctx, cancel := context.WithDeadline(ctx, b.hard)
	defer cancel()
	return b.DNSBLChecker.CheckAddrs(ctx, addrs, named)
}

// saw421 reports whether any server answered 421 (RFC 5321 §3.8: the
// service is closing the channel), the signal to back off.
func saw421(res *probe.Result) bool {
	if res == nil {
		return false
	}
	for _, d := range res.Domains {
		for _, a := range d.Attempts {
			if a.Greeting != nil && a.Greeting.Code == 421 {
				return true
			}
			if a.Err != nil && a.Err.Reply != nil && a.Err.Reply.Code == 421 {
				return true
			}
			for _, st := range a.Steps {
				if st.Reply != nil && st.Reply.Code == 421 {
					return true
				}
			}
		}
	}
	return false
}

// logProbe writes the one log line of a probe.
func (s *Server) logProbe(o *outcome, result string) {
	attrs := []any{"target", o.req.target, "module", o.req.module.name, "result", result,
		"ms", o.elapsed.Milliseconds()}
	if len(o.verdicts) > 0 {
		// The worst verdict speaks for the probe: the first that is not
		// deliverable, else the first.
		v := o.verdicts[0]
		for _, x := range o.verdicts {
			if x.Status != report.StatusDeliverable {
				v = x
				break
			}
		}
		attrs = append(attrs, "status", string(v.Status), "category", string(v.Category), "dsn", v.DSN,
			"phase", o.phaseOf(v), "relay", v.Relay)
		if c := codeLabel(v); c != "" {
			attrs = append(attrs, "code", c)
		}
	}
	if o.res != nil && o.res.Stop != probe.StopNone {
		attrs = append(attrs, "stop", string(o.res.Stop))
	}
	s.log.Info("probe", attrs...)
}

// writeDebug answers debug=true as blackbox_exporter does: what happened,
// then the series that would have been returned, then the module.
func (s *Server) writeDebug(w http.ResponseWriter, o *outcome, reg *prometheus.Registry, tr *lockedBuffer, budget time.Duration, fromScrape bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b bytes.Buffer
	from := "the module's timeout"
	if fromScrape {
		from = "the scrape timeout minus the offset"
	}
	fmt.Fprintf(&b, "Probe of %s with module %s: budget %v (%s), took %v\n\nTranscript:\n",
		o.req.target, o.req.module.name, budget.Round(time.Millisecond), from, o.elapsed.Round(time.Millisecond))
	b.Write(tr.bytes())
	b.WriteString("\nReport:\n")
	if err := report.Text(&b, o.res, report.TextOptions{}); err != nil {
		fmt.Fprintf(&b, "(report failed: %v)\n", err)
	}
	b.WriteString("\nMetrics that would have been returned:\n")
	writeFamilies(&b, reg)
	b.WriteString("\nModule configuration:\n")
	y, _ := yaml.Marshal(o.req.module)
	b.Write(y)
	_, _ = io.Copy(w, &b)
}

// writeFamilies writes what g gathers in the text exposition format.
func writeFamilies(w io.Writer, g prometheus.Gatherer) {
	fams, err := g.Gather()
	if err != nil {
		fmt.Fprintf(w, "(gathering failed: %v)\n", err)
	}
	for _, mf := range fams {
		_, _ = expfmt.MetricFamilyToText(w, mf)
	}
}

// lockedBuffer collects the transcript of a debug probe; with all_mx
// attempts write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) tap(att *probe.Attempt, dir, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, "[%s] %s %s\n", probe.Neutralise(att.String()), dir, probe.Neutralise(line))
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}
