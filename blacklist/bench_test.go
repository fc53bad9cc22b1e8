package blacklist

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFortyLists checks one address against 40 lists on a lab server
// that delays every answer by 100 ms, and reports how the 40-list check
// compares with a single one-list query ("x-single" ≈ 1 means the 40
// lookups overlap completely; 40 would mean they ran one after another).
// It runs at the default concurrency (32: two waves, so about 2) and at
// 40 and more (one wave, about 1).
func BenchmarkFortyLists(b *testing.B) {
	const delay = 100 * time.Millisecond
	zones := map[string]*labZone{}
	var lists []List
	for i := range 40 {
		z := fmt.Sprintf("bl%02d.lab.test", i)
		zones[z] = &labZone{entries: map[string]labEntry{}}
		lists = append(lists, List{Zone: z, Kind: KindIP})
	}
	lab := startLabDNS(b, zones, delay)
	target := []Target{TargetIP(ip("192.0.2.1"))}
	ctx := context.Background()

	one := &Checker{Resolver: lab.Resolver(2 * time.Second), Lists: lists[:1], Timeout: 2 * time.Second}
	const singles = 5
	start := time.Now()
	for range singles {
		if r := one.Check(ctx, target); r[0].Status != Clean {
			b.Fatalf("single query: %s %s", r[0].Status, r[0].Error)
		}
	}
	single := time.Since(start) / singles

	for _, conc := range []int{0, 40, 64} {
		name := fmt.Sprintf("concurrency=%d", conc)
		if conc == 0 {
			name = fmt.Sprintf("concurrency=default(%d)", DefaultConcurrency)
		}
		b.Run(name, func(b *testing.B) {
			forty := &Checker{Resolver: lab.Resolver(2 * time.Second), Lists: lists, Timeout: 2 * time.Second, Concurrency: conc}
			for b.Loop() {
				for _, r := range forty.Check(ctx, target) {
					if r.Status != Clean {
						b.Fatalf("%s: %s %s", r.List, r.Status, r.Error)
					}
				}
			}
			per := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(single)/float64(time.Millisecond), "ms/single-query")
			b.ReportMetric(float64(per)/float64(single), "x-single")
			b.Logf("40 lists: %v per check; one query: %v; ratio %.2f (sequential would be 40)", per, single, float64(per)/float64(single))
		})
	}
}
