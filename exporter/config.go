package exporter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mailprobe/mailprobe/probe"
)

// ErrConfig marks a configuration file that cannot be used; Load wraps
// every problem with it, so a reload can say "refused, old kept".
var ErrConfig = errors.New("bad exporter configuration")

// Config is a loaded, validated configuration file: the modules a
// /probe request may name. A Config is never changed after Load; a
// reload replaces it as a whole.
type Config struct {
	Modules map[string]*Module `yaml:"modules"`
}

// TargetKind says how a module reads the target= query parameter.
type TargetKind string

const (
	// TargetMX: target is a DOMAIN or an ADDRESS and is delivered to the
	// way an MTA would, through its MX hosts.
	TargetMX TargetKind = "mx"
	// TargetServer: target is HOST, HOST:PORT or unix:PATH, dialled
	// directly like `mailprobe probe --server`.
	TargetServer TargetKind = "server"
)

// Module is one named set of probe options. Field names are the YAML
// keys; the zero value of each means the default in moduleDefaults.
type Module struct {
	Protocol probe.Protocol `yaml:"protocol"`
	Target   TargetKind     `yaml:"target"`
	Port     int            `yaml:"port"`
	HELO     string         `yaml:"helo"`
	// Sender is the envelope sender; absent means postmaster@HELO, ""
	// the null sender <>.
	Sender *string `yaml:"sender"`
	// Recipients: with target mx, local parts asked at the target domain
	// (default postmaster, which RFC 5321 §4.5.1 makes mandatory); with
	// target server, whole addresses (required). A target that is an
	// address is probed as itself and only in a module without
	// recipients.
	Recipients []string `yaml:"recipients"`
	// STARTTLS takes Postfix's smtp_tls_security_level words (none, may,
	// encrypt) or the probe's own (never, auto, always).
	STARTTLS  string `yaml:"starttls"`
	TLSVerify bool   `yaml:"tls_verify"`
	// DNSBL is auto (when a server refused), always or never; Lists the
	// blocklists in mailprobe's --lists syntax, one entry per item.
	DNSBL    string   `yaml:"dnsbl"`
	Lists    []string `yaml:"lists"`
	PublicIP string   `yaml:"public_ip"`
	AllMX    bool     `yaml:"all_mx"`
	// IPFamily is any, ipv4 or ipv6.
	IPFamily string `yaml:"ip_family"`
	Source   string `yaml:"source"`
	// Timeout caps the whole probe; the scrape timeout (minus the
	// offset) shortens it further. PhaseTimeout bounds each phase.
	Timeout      time.Duration `yaml:"timeout"`
	PhaseTimeout time.Duration `yaml:"phase_timeout"`
	// Backoff421 is how long a target+module is not probed again after a
	// server answered 421 (RFC 5321 §4.2.2: the service is closing); the
	// last result is served meanwhile.
	Backoff421 time.Duration `yaml:"backoff_421"`
	// AllowedTargets are the target patterns this module may probe
	// (case-insensitive; '*' matches any run of characters). Empty means
	// none unless the exporter runs with --allow-any-target.
	AllowedTargets []string `yaml:"allowed_targets"`

	// Derived by validate: the probe options every request starts from.
	name    string
	options probe.Options
}

// moduleDefaults is the one table of module defaults: Load applies it
// before validating, so every module that passes validation is complete.
var moduleDefaults = struct {
	Protocol     probe.Protocol
	STARTTLS     string
	DNSBL        string
	IPFamily     string
	Timeout      time.Duration
	PhaseTimeout time.Duration
	Backoff421   time.Duration
	Recipient    string
}{
	Protocol: probe.ProtocolSMTP,
	STARTTLS: "may",
	DNSBL:    "auto",
	IPFamily: "any",
	// Prometheus's default scrape_timeout is 10 s: a module timeout of
	// 10 s lets the scrape header decide.
	Timeout:      10 * time.Second,
	PhaseTimeout: 10 * time.Second,
	// Postfix's minimal_backoff_time (300 s) is how long an MTA waits
	// before it tries a deferring destination again.
	Backoff421: 5 * time.Minute,
	Recipient:  "postmaster",
}

// tlsLevels maps Postfix's smtp_tls_security_level words and the probe's
// own to probe.TLSMode (Postfix's "encrypt" is mandatory TLS without
// verification; tls_verify adds the verification).
var tlsLevels = map[string]probe.TLSMode{
	"none": probe.TLSNever, "never": probe.TLSNever,
	"may": probe.TLSAuto, "auto": probe.TLSAuto,
	"encrypt": probe.TLSAlways, "always": probe.TLSAlways,
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates configuration text. Unknown keys are
// errors: a misspelt option must not silently become a default.
func Parse(b []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(cfg.Modules) == 0 {
		return nil, fmt.Errorf("%w: no modules", ErrConfig)
	}
	for name, m := range cfg.Modules {
		if m == nil {
			return nil, fmt.Errorf("%w: module %q is empty", ErrConfig, name)
		}
		if err := m.validate(name); err != nil {
			return nil, fmt.Errorf("%w: module %q: %w", ErrConfig, name, err)
		}
	}
	return &cfg, nil
}

// ModuleNames lists the modules in sorted order.
func (c *Config) ModuleNames() []string {
	names := make([]string, 0, len(c.Modules))
	for n := range c.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (m *Module) validate(name string) error {
	m.name = name
	d := moduleDefaults
	if m.Protocol == "" {
		m.Protocol = d.Protocol
	}
	switch m.Protocol {
	case probe.ProtocolSMTP, probe.ProtocolSMTPS:
		if m.Target == "" {
			m.Target = TargetMX
		}
	case probe.ProtocolLMTP:
		// LMTP has no MX routing (RFC 2033 §1: it is for the last hop).
		if m.Target == "" {
			m.Target = TargetServer
		}
	default:
		return fmt.Errorf("protocol %q: want smtp, lmtp or smtps", m.Protocol)
	}
	switch m.Target {
	case TargetMX:
		if m.Protocol == probe.ProtocolLMTP {
			return errors.New("target mx: LMTP is spoken to a server, not through MX (use target: server)")
		}
		if len(m.Recipients) == 0 {
			m.Recipients = nil // the target itself, or postmaster@target
		}
		for _, r := range m.Recipients {
			if strings.Contains(r, "@") {
				return fmt.Errorf("recipients %q: with target mx recipients are local parts, asked at the target domain", r)
			}
			if _, err := probe.ParseAddress("recipients", r+"@example.invalid"); err != nil {
				return err
			}
		}
	case TargetServer:
		if len(m.Recipients) == 0 {
			return errors.New("target server needs recipients (whole addresses)")
		}
		for _, r := range m.Recipients {
			if _, err := probe.ParseAddress("recipients", r); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("target %q: want mx or server", m.Target)
	}
	if m.STARTTLS == "" {
		m.STARTTLS = d.STARTTLS
	}
	mode, ok := tlsLevels[m.STARTTLS]
	if !ok {
		return fmt.Errorf("starttls %q: want none, may or encrypt", m.STARTTLS)
	}
	if m.DNSBL == "" {
		m.DNSBL = d.DNSBL
	}
	if m.IPFamily == "" {
		m.IPFamily = d.IPFamily
	}
	switch m.IPFamily {
	case "any", "ipv4", "ipv6":
	default:
		return fmt.Errorf("ip_family %q: want any, ipv4 or ipv6", m.IPFamily)
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"timeout", &m.Timeout, d.Timeout}, {"phase_timeout", &m.PhaseTimeout, d.PhaseTimeout}, {"backoff_421", &m.Backoff421, d.Backoff421}} {
		if *f.v < 0 {
			return fmt.Errorf("%s %v: must not be negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, p := range m.AllowedTargets {
		if strings.TrimSpace(p) == "" || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("allowed_targets %q: a pattern is one word", p)
		}
	}
	o := probe.DefaultOptions()
	o.Protocol, o.Port, o.HELO = string(m.Protocol), m.Port, m.HELO
	if m.Sender != nil {
		o.From, o.NullSender = *m.Sender, *m.Sender == ""
	}
	o.STARTTLS, o.TLSVerify = string(mode), m.TLSVerify
	o.Timeout, o.Deadline = m.PhaseTimeout, m.Timeout
	o.Source, o.PublicIP = m.Source, m.PublicIP
	o.IPv4, o.IPv6 = m.IPFamily == "ipv4", m.IPFamily == "ipv6"
	o.AllMX = m.AllMX
	o.DNSBL, o.Lists = m.DNSBL, strings.Join(m.Lists, ",")
	m.options = o
	// The one validation path: probe.NewConfig checks every option. The
	// resolver here is a placeholder for construction only (nothing is
	// sent); each request builds its Config again with the real one.
	check := o
	check.Resolver = "127.0.0.1"
	if m.Target == TargetServer {
		check.Server = "127.0.0.1"
		if m.Protocol == probe.ProtocolLMTP {
			check.Server = "unix:/"
		}
	}
	if _, err := probe.NewConfig(check); err != nil {
		return errors.New(optionNames.Replace(err.Error()))
	}
	return nil
}

// optionNames turns the flag names in probe's errors into this file's
// keys.
var optionNames = strings.NewReplacer("--from", "sender", "--public-ip", "public_ip", "--starttls", "starttls",
	"--timeout and --deadline", "timeout and phase_timeout", "--", "")
