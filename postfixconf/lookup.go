package postfixconf

import (
	"context"
	"os"
	"strings"
	"sync"
)

// tables answers lookups through postmap and caches every answer, so a
// key is asked at most once per table however many recipients need it.
type tables struct {
	t  *Tools
	mu sync.Mutex
	// cache[table][key]: value, or absent from found when not found.
	cache map[string]map[string]lookupResult
}

type lookupResult struct {
	value string
	found bool
}

func newTables(t *Tools) *tables {
	return &tables{t: t, cache: map[string]map[string]lookupResult{}}
}

// isTable reports whether a list item names a lookup table ("type:name")
// rather than a pattern or a file.
func isTable(item string) bool {
	i := strings.IndexByte(item, ':')
	if i <= 0 || strings.HasPrefix(item, "[") || strings.HasPrefix(item, "/") {
		return false
	}
	for _, c := range item[:i] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// postmapName is the table as postmap opens it: "proxy:" dropped (postmap
// reads the same file proxymap would, without a running Postfix).
func postmapName(table string) string {
	return strings.TrimPrefix(table, "proxy:")
}

// isPattern reports whether a table matches by pattern: maps_find's
// partial lookups (a domain, an address without extension) skip those
// (dict flag DICT_FLAG_PATTERN vs DICT_FLAG_FIXED, global/maps.c).
func isPattern(table string) bool {
	typ, _, _ := strings.Cut(postmapName(table), ":")
	switch typ {
	case "regexp", "pcre", "cidr", "randmap", "pipemap", "unionmap":
		return true
	}
	return false
}

// prefetch asks the table for every key not yet cached, in one process.
func (tb *tables) prefetch(ctx context.Context, table string, keys []string) error {
	tb.mu.Lock()
	c := tb.cache[table]
	if c == nil {
		c = map[string]lookupResult{}
		tb.cache[table] = c
	}
	var ask []string
	seen := map[string]bool{}
	for _, k := range keys {
		k = strings.ToLower(k)
		if _, ok := c[k]; !ok && !seen[k] {
			seen[k] = true
			ask = append(ask, k)
		}
	}
	tb.mu.Unlock()
	if len(ask) == 0 {
		return nil
	}
	got, err := tb.t.Lookup(ctx, postmapName(table), ask)
	if err != nil {
		return err
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, k := range ask {
		v, ok := got[k]
		c[k] = lookupResult{value: v, found: ok}
	}
	return nil
}

// find looks one key up in one table.
func (tb *tables) find(ctx context.Context, table, key string) (string, bool, error) {
	key = strings.ToLower(key)
	tb.mu.Lock()
	r, ok := tb.cache[table][key]
	tb.mu.Unlock()
	if !ok {
		if err := tb.prefetch(ctx, table, []string{key}); err != nil {
			return "", false, err
		}
		tb.mu.Lock()
		r = tb.cache[table][key]
		tb.mu.Unlock()
	}
	return r.value, r.found, nil
}

// mapsFind is maps_find over a list of tables: the first table that has
// the key answers. partial lookups skip pattern tables.
func (tb *tables) mapsFind(ctx context.Context, maps []string, key string, partial bool) (string, string, bool, error) {
	for _, m := range maps {
		if partial && isPattern(m) {
			continue
		}
		v, ok, err := tb.find(ctx, m, key)
		if err != nil {
			return "", m, false, err
		}
		if ok {
			return v, m, true, nil
		}
	}
	return "", "", false, nil
}

// domainList is a Postfix domain or string list (mydestination,
// relay_domains, virtual_*_domains): patterns, "!" negations, tables and
// files, matched in order, first match wins (util/match_list.c,
// match_ops.c match_hostname).
type domainList struct {
	param  string
	items  []string
	parent bool // "domain" also matches subdomains
	// strict is a string_list (virtual_*_domains): exact names only.
	strict bool
}

func newDomainList(c *Config, param string, strict bool) domainList {
	var items []string
	for _, it := range List(c.P[param]) {
		// "/file/name" is a file of more patterns (match_list.c).
		neg := strings.HasPrefix(it, "!")
		path := strings.TrimPrefix(it, "!")
		if strings.HasPrefix(path, "/") {
			if b, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if i := strings.IndexByte(line, '#'); i >= 0 {
						line = line[:i]
					}
					for _, f := range List(line) {
						if neg {
							f = "!" + f
						}
						items = append(items, f)
					}
				}
				continue
			}
		}
		items = append(items, it)
	}
	return domainList{param: param, items: items, parent: !strict && c.ParentStyle(param), strict: strict}
}

// match reports whether domain is in the list.
func (l domainList) match(ctx context.Context, tb *tables, domain string) (bool, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, it := range l.items {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg, it = !neg, it[1:]
		}
		hit := false
		if isTable(it) {
			keys := []string{domain}
			if !l.strict {
				keys = append(keys, parentKeys(domain, l.parent)...)
			}
			for _, k := range keys {
				_, ok, err := tb.find(ctx, it, k)
				if err != nil {
					return false, err
				}
				if ok {
					hit = true
					break
				}
			}
		} else {
			p := strings.ToLower(strings.TrimSuffix(it, "."))
			switch {
			case p == domain:
				hit = true
			case l.strict:
			case strings.HasPrefix(p, "."):
				hit = strings.HasSuffix(domain, p)
			case l.parent:
				hit = strings.HasSuffix(domain, "."+p)
			}
		}
		if hit {
			return !neg, nil
		}
	}
	return false, nil
}

// parentKeys lists the parent-domain keys of a lookup after the name
// itself: "example.com", "com" (parent style), or ".example.com",
// ".com" (mail_addr_find.c, MA_FIND_PDMS / MA_FIND_PDDMDS).
func parentKeys(domain string, parent bool) []string {
	var keys []string
	for i := strings.IndexByte(domain, '.'); i >= 0; {
		if parent {
			keys = append(keys, domain[i+1:])
		} else {
			keys = append(keys, domain[i:])
		}
		j := strings.IndexByte(domain[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return keys
}
