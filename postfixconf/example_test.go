package postfixconf_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailprobe/mailprobe/postfixconf"
)

// ExampleResolver_Resolve computes a verify route from a configuration
// directory, as `mailprobe postfix route` does; nothing is sent.
func ExampleResolver_Resolve() {
	dir, _ := os.MkdirTemp("", "postfixconf-example-")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "main.cf"), []byte(`compatibility_level = 3.6
myhostname = mx.example.test
relay_domains = example.org
transport_maps = texthash:`+dir+`/transport
`), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "transport"), []byte("example.org lmtp:unix:private/dovecot-lmtp\n"), 0o644)

	tools := &postfixconf.Tools{Dir: dir}
	cfg, err := postfixconf.Load(context.Background(), tools)
	if err != nil {
		fmt.Println(err) // postconf is not installed
		return
	}
	rt, err := postfixconf.NewResolver(cfg, tools).Resolve(context.Background(), "user@example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rt.Class, rt.Transport, rt.Nexthop)
	fmt.Println(rt.Endpoint.Network, rt.Endpoint.Host)
	// Output:
	// relay lmtp unix:private/dovecot-lmtp
	// unix /var/spool/postfix/private/dovecot-lmtp
}
