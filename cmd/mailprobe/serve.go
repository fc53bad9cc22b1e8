package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/exporter"
	"github.com/mailprobe/mailprobe/probe"
)

func init() { subcommands = append(subcommands, newServeCmd) }

type serveFlags struct {
	config, listen, helo string
	maxConcurrent        int
	allowAny             bool
	offset               time.Duration
}

func newServeCmd(g *globals) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Prometheus exporter: probe a target per scrape of /probe?target=…&module=…",
		Long: `Serve SMTP/LMTP probes to Prometheus, as blackbox_exporter does for HTTP: each
scrape of /probe?target=TARGET&module=NAME runs one probe (never DATA) with the
options of module NAME from the configuration file and answers with its series.
/metrics holds the exporter's own; /-/healthy, /-/ready, and /-/reload (POST) or
SIGHUP to reload the configuration (a bad file is refused, the old one kept).

Only targets matching a module's allowed_targets are probed unless
--allow-any-target is given. Listening on anything but loopback needs an explicit
--listen with an IP address.`,
		Example: `  mailprobe serve --config examples/mailprobe.yml --resolver 127.0.2.53
  mailprobe serve --config mailprobe.yml --listen 127.0.0.1:9125 --max-concurrent 8`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("serve takes no arguments (got %q); targets come with each /probe request", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "module configuration file (YAML; see examples/mailprobe.yml)")
	fl.StringVar(&f.listen, "listen", exporter.DefaultListen, "address to serve HTTP on: IP:PORT")
	fl.StringVar(&f.helo, "helo", "", "EHLO/LHLO name of modules without helo (default this machine's FQDN)")
	fl.IntVar(&f.maxConcurrent, "max-concurrent", exporter.DefaultMaxConcurrent, "probes running at once; more wait within their budget")
	fl.BoolVar(&f.allowAny, "allow-any-target", false, "probe targets outside the modules' allowed_targets (an open prober: only behind access control)")
	fl.DurationVar(&f.offset, "timeout-offset", exporter.DefaultTimeoutOffset, "subtracted from Prometheus's scrape timeout to get the probe budget")
	return cmd
}

// checkListen accepts IP:PORT only. A host-less ":9125" would listen on
// every interface without saying so; a host name could resolve anywhere.
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return usagef("--listen %q: want IP:PORT (%v)", s, err)
	}
	if host == "" {
		return usagef("--listen %q: name the address (e.g. 127.0.0.1%s, or 0.0.0.0%s for every interface)", s, s, s)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return usagef("--listen %q: the host must be an IP address", s)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return usagef("--listen %q: bad port", s)
	}
	return nil
}

func runServe(cmd *cobra.Command, g *globals, f *serveFlags) error {
	if f.config == "" {
		return usagef("serve needs --config FILE (see examples/mailprobe.yml)")
	}
	if err := checkListen(f.listen); err != nil {
		return err
	}
	if f.maxConcurrent < 1 {
		return usagef("--max-concurrent %d: want at least 1", f.maxConcurrent)
	}
	if f.offset < 0 {
		return usagef("--timeout-offset must not be negative")
	}
	helo := f.helo
	if helo == "" {
		helo = probe.DefaultHELO()
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil))
	srv, err := exporter.New(exporter.Options{
		ConfigFile: f.config, Resolver: g.resolver, DNSTimeout: g.dnsTimeout, HELO: helo,
		AllowAnyTarget: f.allowAny, MaxConcurrent: f.maxConcurrent, TimeoutOffset: f.offset, Logger: log,
	})
	if err != nil {
		if errors.Is(err, exporter.ErrConfig) {
			return &usageError{err}
		}
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		// The address given cannot be used (in use, not local): the
		// caller's to fix, and nothing was probed.
		return usagef("--listen %s: %v", f.listen, errors.Unwrap(err))
	}
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	srv.WatchSIGHUP(ctx)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	log.Info("listening", "address", ln.Addr().String(), "config", f.config, "modules", len(srv.Config().Modules),
		"allow_any_target", f.allowAny, "max_concurrent", f.maxConcurrent)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shut)
	log.Info("stopped")
	return nil
}
