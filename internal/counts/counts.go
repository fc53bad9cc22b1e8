// Package counts renders tallies the way every summary in mailprobe
// shows them: "key n", the largest count first, ties by key. Batch
// summaries (report) and maillog summaries share it, so the two read
// alike.
package counts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Ranked renders m as "key n" items, largest count first, then by key.
func Ranked[K ~string, V int | int64](m map[K]V) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b K) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return out
}
