// Package exporter is `mailprobe serve`: a Prometheus exporter that runs
// one SMTP or LMTP probe (never DATA) per scrape, as blackbox_exporter
// does for HTTP.
//
// Prometheus holds the target list and scrapes
//
//	/probe?target=TARGET&module=NAME
//
// for each target; module NAME from the configuration file (Load, Parse)
// names the probe options, and a request can change none of them: only
// target, module and debug are accepted, recipients come from the file,
// and the target must match the module's allowed_targets unless the
// exporter runs with AllowAnyTarget. Every module passes through
// probe.NewConfig when the file loads and again, with the request's
// server and budget, for each probe.
//
// A probe's series live on a registry of their own, built per request
// (metrics.go), so a scrape sees exactly that probe. The budget is the
// X-Prometheus-Scrape-Timeout-Seconds header minus an offset, capped by
// the module's timeout (Budget); the probe's context ends with
// probe.ErrScrapeTimeout or probe.ErrDeadline, and a recipient the budget
// cut before any server decided carries the phase "timeout". Politeness is
// the server's: at most MaxConcurrent probes at once, one per target and
// module, and after a 421 (RFC 5321 §3.8) the target+module is left alone
// for the module's backoff_421 while its stored series are served.
//
// The exporter's own metrics, /-/healthy, /-/ready, and /-/reload and
// SIGHUP (a bad file is refused and the configuration in force kept)
// follow Prometheus's own components.
package exporter
