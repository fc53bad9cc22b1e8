package postfixconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailprobe/mailprobe/probe"
)

// recipientMaps are the tables whose keys are recipients, in the order
// their addresses are listed without MAP arguments.
var recipientMaps = []string{"relay_recipient_maps", "virtual_mailbox_maps", "virtual_alias_maps"}

// Collect gathers the recipients to verify. Each argument is a table
// ("type:name", listed with postmap -s) or a file (one address per line,
// or postmap input). Without arguments the configured recipient maps are
// listed. Table keys that name no single mailbox ("@domain" catch-alls,
// domains, local parts alone) are left out. Tables postmap cannot list
// come back as warnings naming them.
func (r *Resolver) Collect(ctx context.Context, args []string) ([]Recipient, []Warning, error) {
	var out []Recipient
	var ws []Warning
	seen := map[string]bool{}
	add := func(addr, src string) {
		k := strings.ToLower(addr)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, Recipient{Address: addr, Source: src})
	}
	listTable := func(param, table string) error {
		ents, err := r.tb.t.List(ctx, postmapName(table))
		if errors.Is(err, ErrNotListable) {
			name := table
			if param != "" {
				name = param + " " + table
			}
			ws = append(ws, Warning{Kind: "unlistable-table",
				Text: fmt.Sprintf("%s cannot be listed by postmap -s (SQL, LDAP and similar tables): export its addresses to a file and pass the FILE", name)})
			return nil
		}
		if err != nil {
			return err
		}
		src := table
		if param != "" {
			src = param + " " + table
		}
		for _, e := range ents {
			if isMailbox(e.Key) {
				add(e.Key, src)
			}
		}
		return nil
	}
	if len(args) == 0 {
		for _, p := range recipientMaps {
			for _, m := range r.maps(p) {
				if isPattern(m) {
					ws = append(ws, Warning{Kind: "unlistable-table", Text: fmt.Sprintf("%s %s matches by pattern; its keys are not addresses to probe", p, m)})
					continue
				}
				if err := listTable(p, m); err != nil {
					return nil, nil, err
				}
			}
		}
		if len(r.maps("local_recipient_maps")) > 0 && strings.TrimSpace(r.c.P["mydestination"]) != "" {
			ws = append(ws, Warning{Kind: "unlistable-table",
				Text: "local_recipient_maps lists local parts of $mydestination users, not addresses: pass a FILE of local addresses to verify them"})
		}
		return out, ws, nil
	}
	for _, a := range args {
		if isTable(a) {
			if err := listTable("", a); err != nil {
				return nil, nil, err
			}
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBadAddress, err)
		}
		rd := probe.NewRcptReader(f)
		for {
			l, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("%w: %s: %v", ErrBadAddress, a, err)
			}
			switch {
			case l.Err != nil:
				f.Close()
				return nil, nil, fmt.Errorf("%w: %s:%d: %v", ErrBadAddress, a, l.Line, l.Err)
			case l.Skip != "":
			default:
				add(l.Address.String(), fmt.Sprintf("%s:%d", a, l.Line))
			}
		}
		f.Close()
	}
	return out, ws, nil
}

// isMailbox reports whether a table key is one address (local@domain).
func isMailbox(k string) bool {
	i := strings.LastIndexByte(k, '@')
	return i > 0 && i < len(k)-1
}
