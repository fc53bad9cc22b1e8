package maillog

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// BenchmarkRead reads a generated log (scripts/bench-maillog writes one
// with bench/maillog-gen); MAILLOG_BENCH_FILE names it. Without it the
// benchmark reads the fixtures over and over.
func BenchmarkRead(b *testing.B) {
	var data []byte
	if f := os.Getenv("MAILLOG_BENCH_FILE"); f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	} else {
		for i := 0; i < 200; i++ {
			data = append(data, fixture(b, "postfix-seeds.log")...)
			data = append(data, '\n')
		}
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := Read([]Input{{Name: "bench", R: bytes.NewReader(data), ModTime: time.Now()}}, Options{Year: 2026})
		if err != nil {
			b.Fatal(err)
		}
	}
}
