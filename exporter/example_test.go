package exporter_test

import (
	"fmt"
	"time"

	"github.com/mailprobe/mailprobe/exporter"
)

// Prometheus sends its scrape timeout with every scrape; the probe gets
// it minus the offset, capped by the module's timeout.
func ExampleBudget() {
	for _, h := range []string{"10", "30", ""} {
		d, fromScrape, err := exporter.Budget(h, 20*time.Second, exporter.DefaultTimeoutOffset)
		fmt.Println(d, fromScrape, err)
	}
	// Output:
	// 9.5s true <nil>
	// 20s false <nil>
	// 20s false <nil>
}

func ExampleParse() {
	cfg, err := exporter.Parse([]byte(`
modules:
  lmtp:
    protocol: lmtp
    recipients: [postmaster@example.org]
    allowed_targets: ["127.0.0.1:24"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := cfg.Modules["lmtp"]
	fmt.Println(cfg.ModuleNames(), m.Target, m.STARTTLS, m.Timeout)

	_, err = exporter.Parse([]byte("modules:\n  smtp:\n    starttls: sometimes\n"))
	fmt.Println(err)
	// Output:
	// [lmtp] server may 10s
	// bad exporter configuration: module "smtp": starttls "sometimes": want none, may or encrypt
}
