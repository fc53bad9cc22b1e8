package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/probe"
)

// Defaults of the serve flags, in one place (cmd/mailprobe/serve.go shows
// them as flag defaults).
const (
	DefaultListen        = "127.0.0.1:9125"
	DefaultMaxConcurrent = 16
	// DefaultTimeoutOffset is subtracted from Prometheus's scrape timeout
	// so the answer arrives before Prometheus gives up, as
	// blackbox_exporter's --timeout-offset (0.5 s) does.
	DefaultTimeoutOffset = 500 * time.Millisecond
)

// Options configure a Server; cmd fills them from flags.
type Options struct {
	ConfigFile string
	// Resolver and DNSTimeout are the global --resolver and
	// --dns-timeout; "" uses /etc/resolv.conf.
	Resolver   string
	DNSTimeout time.Duration
	// HELO is the EHLO name of modules that do not set helo.
	HELO string
	// AllowAnyTarget lifts the modules' allowed_targets.
	AllowAnyTarget bool
	MaxConcurrent  int
	TimeoutOffset  time.Duration
	Logger         *slog.Logger
}

// Server is the exporter: the loaded config, the exporter's own metrics
// and the politeness state shared by all requests.
type Server struct {
	opts Options
	log  *slog.Logger
	cfg  atomic.Pointer[Config]

	reloadMu sync.Mutex
	sem      chan struct{}

	mu      sync.Mutex
	keys    map[string]*keyLock
	backoff map[string]*backoffEntry
	now     func() time.Time

	reg       *prometheus.Registry
	probes    *prometheus.CounterVec
	refused   *prometheus.CounterVec
	durations *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	reloadOK  prometheus.Gauge
	reloadAt  prometheus.Gauge
}

// keyLock serialises probes of one target+module (per-target politeness:
// never two sessions for the same question at once).
type keyLock struct {
	token chan struct{}
	refs  int
}

// backoffEntry holds what a probe that met a 421 returned, served again
// until the back-off ends instead of knocking on the door again.
type backoffEntry struct {
	until    time.Time
	families []*dto.MetricFamily
}

// New loads the configuration and builds the server; a bad configuration
// or resolver is an error.
func New(opts Options) (*Server, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.TimeoutOffset < 0 {
		return nil, errors.New("timeout offset must not be negative")
	}
	if opts.DNSTimeout <= 0 {
		opts.DNSTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.HELO == "" {
		opts.HELO = probe.DefaultHELO()
	}
	if _, err := dnsclient.New(opts.Resolver, opts.DNSTimeout); err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	s := &Server{
		opts: opts, log: opts.Logger,
		sem:  make(chan struct{}, opts.MaxConcurrent),
		keys: map[string]*keyLock{}, backoff: map[string]*backoffEntry{}, now: time.Now,
	}
	s.initMetrics()
	cfg, err := Load(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	s.cfg.Store(cfg)
	s.reloadOK.Set(1)
	s.reloadAt.Set(float64(time.Now().Unix()))
	return s, nil
}

func (s *Server) initMetrics() {
	s.reg = prometheus.NewRegistry()
	s.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailprobe_probes_total",
		Help: "Probes answered, by module and result (success, failure, timeout, backoff).",
	}, []string{"module", "result"})
	s.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailprobe_probe_requests_refused_total",
		Help: "Probe requests refused before probing, by reason (bad-request, unknown-module, not-allowed, busy).",
	}, []string{"reason"})
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailprobe_probe_duration_seconds",
		Help:    "Duration of probes by module.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"module"})
	s.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mailprobe_probes_in_flight", Help: "Probes running now.",
	})
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mailprobe_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
	})
	s.reloadAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mailprobe_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload.",
	})
	s.reg.MustRegister(s.probes, s.refused, s.durations, s.inFlight, s.reloadOK, s.reloadAt,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Config is the configuration in force.
func (s *Server) Config() *Config { return s.cfg.Load() }

// Reload reads the configuration file again. A bad file is refused and
// the configuration in force stays, as Prometheus does.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cfg, err := Load(s.opts.ConfigFile)
	if err != nil {
		s.reloadOK.Set(0)
		s.log.Error("reload refused; the previous configuration stays in force", "err", err)
		return err
	}
	s.cfg.Store(cfg)
	s.reloadOK.Set(1)
	s.reloadAt.Set(float64(time.Now().Unix()))
	s.log.Info("configuration reloaded", "file", s.opts.ConfigFile, "modules", len(cfg.Modules))
	return nil
}

// WatchSIGHUP reloads on every SIGHUP until ctx ends.
func (s *Server) WatchSIGHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = s.Reload()
			}
		}
	}()
}

// Handler serves /probe, /metrics, /-/healthy, /-/ready, /-/reload.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", s.handleProbe)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "mailprobe exporter is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if s.cfg.Load() == nil {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "mailprobe exporter is Ready.")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "reload needs POST or PUT", http.StatusMethodNotAllowed)
			return
		}
		if err := s.Reload(); err != nil {
			http.Error(w, "reload refused, previous configuration kept: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "mailprobe exporter\n\n  /probe?target=DOMAIN|ADDRESS|HOST:PORT&module=NAME[&debug=true]\n  /metrics  /-/healthy  /-/ready  /-/reload (POST)\n\nmodules:")
		for _, n := range s.cfg.Load().ModuleNames() {
			fmt.Fprintln(w, "  "+n)
		}
	})
	return mux
}

// lockKey waits (bounded by ctx) until no other probe of key runs.
func (s *Server) lockKey(ctx context.Context, key string) (func(), error) {
	s.mu.Lock()
	kl := s.keys[key]
	if kl == nil {
		kl = &keyLock{token: make(chan struct{}, 1)}
		s.keys[key] = kl
	}
	kl.refs++
	s.mu.Unlock()
	drop := func() {
		s.mu.Lock()
		if kl.refs--; kl.refs == 0 {
			delete(s.keys, key)
		}
		s.mu.Unlock()
	}
	select {
	case kl.token <- struct{}{}:
		return func() { <-kl.token; drop() }, nil
	case <-ctx.Done():
		drop()
		return nil, context.Cause(ctx)
	}
}

// acquire takes one of the --max-concurrent slots, bounded by ctx.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	select {
	case s.sem <- struct{}{}:
		s.inFlight.Inc()
		return func() { s.inFlight.Dec(); <-s.sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// backingOff returns the stored result while key is in its 421 back-off.
func (s *Server) backingOff(key string) (*backoffEntry, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.backoff[key]
	if e == nil {
		return nil, 0
	}
	left := e.until.Sub(s.now())
	if left <= 0 {
		delete(s.backoff, key)
		return nil, 0
	}
	return e, left
}

func (s *Server) startBackoff(key string, d time.Duration, fams []*dto.MetricFamily) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backoff[key] = &backoffEntry{until: s.now().Add(d), families: fams}
}
