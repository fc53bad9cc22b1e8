// Package bench holds mailprobe's end-to-end benchmarks; it has no
// library code. They measure what issue 5 promises: batch verification
// throughput against a real Dovecot LMTP on loopback compared with a
// minimal pipelined writer (the server's own ceiling) and with one
// process per address; the round trips one probe costs through a proxy
// that delays each direction by 25 ms; and the peak memory of a batch of
// 1,000,000 addresses. Every figure is printed; `bench/run` runs them all.
// Traffic goes only to loopback.
package bench
