package lab

import (
	"context"
	"testing"
)

// BenchmarkStartClose measures what every test using a lab pays.
func BenchmarkStartClose(b *testing.B) {
	for b.Loop() {
		l, err := Start(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStart measures Start alone (Close outside the timer).
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		l, err := Start(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = l.Close()
		b.StartTimer()
	}
}
