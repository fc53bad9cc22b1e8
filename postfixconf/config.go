package postfixconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// params is every main.cf parameter this package reads, fetched in one
// postconf run. Their meaning is postconf(5)'s.
var params = []string{
	"myhostname", "mydomain", "myorigin", "mydestination", "inet_interfaces", "proxy_interfaces",
	"relay_domains", "relay_recipient_maps",
	"virtual_alias_domains", "virtual_alias_maps", "virtual_mailbox_domains", "virtual_mailbox_maps",
	"local_recipient_maps",
	"transport_maps", "local_transport", "virtual_transport", "relay_transport", "default_transport", "relayhost",
	"address_verify_transport_maps", "address_verify_local_transport", "address_verify_virtual_transport",
	"address_verify_relay_transport", "address_verify_default_transport", "address_verify_relayhost",
	"address_verify_sender_dependent_relayhost_maps", "address_verify_sender_dependent_default_transport_maps",
	"address_verify_sender", "address_verify_sender_ttl", "address_verify_map",
	"address_verify_poll_count", "address_verify_poll_delay",
	"address_verify_negative_cache",
	"address_verify_positive_expire_time", "address_verify_positive_refresh_time",
	"address_verify_negative_expire_time", "address_verify_negative_refresh_time",
	"unverified_recipient_reject_code", "unverified_recipient_defer_code", "unverified_recipient_reject_reason",
	"parent_domain_matches_subdomains", "recipient_delimiter", "propagate_unmatched_extensions",
	"show_user_unknown_table_name", "soft_bounce",
	"smtp_bind_address", "smtp_bind_address6", "lmtp_bind_address", "lmtp_bind_address6",
	"smtp_helo_name", "lmtp_lhlo_name", "inet_protocols", "smtp_tcp_port", "lmtp_tcp_port",
	"smtp_dns_support_level", "disable_dns_lookups",
	"smtp_connect_timeout", "smtp_rcpt_timeout", "lmtp_connect_timeout", "lmtp_rcpt_timeout",
	"queue_directory", "data_directory", "config_directory",
	"smtpd_reject_unlisted_recipient", "unknown_relay_recipient_reject_code", "unknown_virtual_mailbox_reject_code",
	"smtp_tls_security_level", "lmtp_tls_security_level",
	"relocated_maps", "relocated_prefix_enable",
	"virtual_uid_maps", "virtual_gid_maps", "virtual_minimum_uid",
}

// optionalParams are parameters newer than some supported Postfix
// versions, with the behaviour of the versions that lack them.
var optionalParams = map[string]string{
	// Not in Postfix 3.7 (Debian 12), which always prefixes "5.1.6 User has moved to".
	"relocated_prefix_enable": "yes",
}

// ErrBadConfig is a configuration Postfix itself could not use (a
// transport master.cf lacks, an unparsable nexthop).
var ErrBadConfig = errors.New("unusable Postfix configuration")

// ErrBadAddress is a recipient that is not local@domain.
var ErrBadAddress = errors.New("bad recipient address")

// Config is the part of a Postfix configuration that decides where a
// verify probe goes and what smtpd answers. Values are postconf -x's.
type Config struct {
	Dir string
	// P holds every parameter of params, expanded.
	P map[string]string
	// Overrides are master.cf "-o" settings per "service/type".
	Overrides map[string]map[string]string
	// HasMaster is false for a directory without master.cf.
	HasMaster bool

	PollCount int
	PollDelay time.Duration
	// Cache lifetimes of the verify service (verify.c).
	PosExpire, PosRefresh, NegExpire, NegRefresh time.Duration
	RejectCode, DeferCode                        int
}

// Load reads the configuration in dir through postconf.
func Load(ctx context.Context, t *Tools) (*Config, error) {
	p, err := t.Params(ctx, params...)
	if err != nil {
		return nil, err
	}
	// A config dir without master.cf still resolves routes; every
	// service is then taken by its stock name. (Asking postconf about a
	// missing master.cf costs its one-second fatal-error pause.)
	ov := map[string]map[string]string{}
	_, statErr := os.Stat(filepath.Join(p["config_directory"], "master.cf"))
	hasMaster := statErr == nil
	if hasMaster {
		if o, err := t.ServiceOverrides(ctx); err == nil {
			ov = o
		}
	}
	c := &Config{Dir: t.Dir, P: p, Overrides: ov, HasMaster: hasMaster}
	var errs []string
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(p[name]))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s = %q: not a number", name, p[name]))
		}
		return n
	}
	dur := func(name string, unit byte) time.Duration {
		d, err := ParseTime(p[name], unit)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
		}
		return d
	}
	c.PollCount = num("address_verify_poll_count")
	c.PollDelay = dur("address_verify_poll_delay", 's')
	c.PosExpire = dur("address_verify_positive_expire_time", 'd')
	c.PosRefresh = dur("address_verify_positive_refresh_time", 'd')
	c.NegExpire = dur("address_verify_negative_expire_time", 'd')
	c.NegRefresh = dur("address_verify_negative_refresh_time", 'h')
	c.RejectCode = num("unverified_recipient_reject_code")
	c.DeferCode = num("unverified_recipient_defer_code")
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrTool, strings.Join(errs, "; "))
	}
	return c, nil
}

// ParseTime parses a Postfix time value: a number with an optional unit
// s, m, h, d or w; unit is the parameter's default unit (postconf(5)).
func ParseTime(s string, unit byte) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time value")
	}
	if c := s[len(s)-1]; c < '0' || c > '9' {
		unit, s = c, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad time value %q", s)
	}
	per := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[unit]
	if per == 0 {
		return 0, fmt.Errorf("bad time unit %q", unit)
	}
	return time.Duration(n) * per, nil
}

// List splits a list-valued parameter the way Postfix does: on commas
// and white space.
func List(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// ParentStyle reports whether parent_domain_matches_subdomains names
// param: then "example.com" in it matches subdomains too; otherwise only
// ".example.com" does (match_list.c match_parent_style).
func (c *Config) ParentStyle(param string) bool {
	for _, n := range List(c.P["parent_domain_matches_subdomains"]) {
		if n == param {
			return true
		}
	}
	return false
}

// VerifySender is the envelope sender of verify probes
// (verify_sender_addr.c): "" for the null sender, else
// address_verify_sender with @$myorigin appended when it has no domain.
// With address_verify_sender_ttl set, Postfix adds a changing time stamp
// to the local part; the probe uses the base address.
func (c *Config) VerifySender() string {
	s := strings.TrimSpace(c.P["address_verify_sender"])
	if s == "" || s == "<>" {
		return ""
	}
	if !strings.Contains(s, "@") {
		s += "@" + c.P["myorigin"]
	}
	return s
}

// QueueDir is queue_directory, where Postfix daemons run (relative
// lmtp unix: paths start there).
func (c *Config) QueueDir() string { return c.P["queue_directory"] }

// VerifyCacheTable is the verify service's table, "" when it keeps its
// cache in memory only (address_verify_map empty).
func (c *Config) VerifyCacheTable() string {
	v := strings.TrimSpace(c.P["address_verify_map"])
	return strings.TrimPrefix(v, "proxy:")
}
