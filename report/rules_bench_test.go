package report

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// BenchmarkCompileRules is the one-time cost of the first classification
// in a process: parsing the embedded YAML, compiling the regexps and
// building the automaton.
func BenchmarkCompileRules(b *testing.B) {
	for b.Loop() {
		_ = compileRules(BuiltinRules())
	}
}

func BenchmarkParseRulesOnly(b *testing.B) {
	for b.Loop() {
		for _, name := range builtinFiles() {
			data, _ := builtinFS.ReadFile("rules/" + name)
			if _, err := ParseRules(name, data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// providerReplies are the corpus's real replies (kind reply), parsed
// once: what the maillog reader and batches classify millions of times.
func providerReplies(b *testing.B) []*probe.Reply {
	b.Helper()
	f, err := os.Open("../testdata/explain/corpus.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []*probe.Reply
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var it struct{ Text, Kind string }
		if json.Unmarshal(sc.Bytes(), &it) != nil || it.Kind != "reply" {
			continue
		}
		if r := bareReply(strings.TrimSpace(it.Text)); r != nil && r.Code >= 400 {
			out = append(out, r)
		}
	}
	if len(out) < 100 {
		b.Fatalf("only %d replies in the corpus", len(out))
	}
	return out
}

// BenchmarkClassifyProviderReplies: µs per classification of a real
// provider reply, uncached (every text new, as in a maillog with
// addresses and queue ids in the replies) and cached (the same texts
// again). Reports the median over the replies of the per-reply mean.
//
//	go test ./report -run '^$' -bench ClassifyProviderReplies
func BenchmarkClassifyProviderReplies(b *testing.B) {
	replies := providerReplies(b)
	rs := active()
	b.Run("uncached", func(b *testing.B) {
		// Per reply, the best of the rounds' means: on a shared machine
		// preemption only ever adds time, so the minimum is the reply's
		// cost; the median over the replies is the figure.
		best := make([]time.Duration, len(replies))
		const reps = 20
		var total time.Duration
		n := 0
		for b.Loop() {
			for i, r := range replies {
				t := r.Text()
				start := time.Now()
				for k := 0; k < reps; k++ {
					_ = classify(rs, r.Code, r.Enhanced, t)
				}
				d := time.Since(start)
				total += d
				n += reps
				if per := d / reps; best[i] == 0 || per < best[i] {
					best[i] = per
				}
			}
		}
		b.StopTimer()
		slices.Sort(best)
		b.ReportMetric(float64(best[len(best)/2].Nanoseconds())/1000, "µs-median/classify")
		b.ReportMetric(float64(total.Nanoseconds())/float64(n)/1000, "µs-mean/classify")
		b.ReportMetric(float64(len(replies)), "replies")
	})
	b.Run("cached", func(b *testing.B) {
		texts := make([]string, len(replies))
		for i, r := range replies {
			texts[i] = r.Text()
			ClassifyText(r.Code, r.Enhanced, texts[i])
		}
		b.ResetTimer()
		n := 0
		for b.Loop() {
			for i, r := range replies {
				_ = ClassifyText(r.Code, r.Enhanced, texts[i])
				n++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1000, "µs/classify")
	})
}
