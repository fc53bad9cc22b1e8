package postfixconf

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CacheEntry is one record of Postfix's verify cache
// ("status:probed:updated:text", verify.c verify_parse_entry), judged at
// a moment.
type CacheEntry struct {
	Status  VerifyStatus
	Probed  time.Time // outstanding probe sent then; zero: none
	Updated time.Time // result received then; zero: none yet
	Text    string

	// Current is whether smtpd answers from this entry now; when false
	// the entry has expired and a new probe decides (the prediction).
	Current bool
	// Answer is what smtpd answers now (from the entry when Current).
	Answer     Prediction
	AnswerText string
	// Disagrees is set when a current entry's status is not today's
	// probe result; Stale describes it ("stale negative": the cache
	// refuses an address the backend now accepts).
	Disagrees bool
	Stale     string
	// RefreshAt is when the verify service sends a refresh probe (on the
	// first query after it); it keeps answering from the entry until
	// the probe returns.
	RefreshAt time.Time
}

// cacheCleanupKey is the verify cache's own bookkeeping record
// (util/dict_cache.c).
const cacheCleanupKey = "_LAST_CACHE_CLEANUP_COMPLETED_"

// probeTTL is how long verify waits for a probe before sending another
// (verify.c PROBE_TTL).
const probeTTL = 1000 * time.Second

// ReadCache lists the verify cache (postmap -s address_verify_map).
func (r *Resolver) ReadCache(ctx context.Context) (map[string]string, error) {
	table := r.c.VerifyCacheTable()
	if table == "" {
		return nil, fmt.Errorf("address_verify_map is empty: the verify service keeps its cache in memory, nothing to read")
	}
	snap, cleanup, err := snapshot(table)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ents, err := r.tb.t.List(ctx, snap)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, e := range ents {
		if e.Key != cacheCleanupKey {
			m[strings.ToLower(e.Key)] = e.Value
		}
	}
	return m, nil
}

// snapshot copies a file-based cache table and names the copy: the
// running verify daemon holds its table locked for as long as it lives
// (dict_cache with DICT_FLAG_OPEN_LOCK), so postmap -s on the live file
// would wait for it to exit. Updates are written synchronously
// (DICT_FLAG_SYNC_UPDATE), so a copy is a consistent snapshot.
func snapshot(table string) (string, func(), error) {
	typ, name, ok := strings.Cut(table, ":")
	suffix := map[string]string{"btree": ".db", "hash": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}[typ]
	if !ok || suffix == "" {
		return table, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "mailprobe-verify-cache-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	src, err := os.Open(name + suffix)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("reading the verify cache: %w", err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "verify_cache"+suffix))
	if err == nil {
		_, err = io.Copy(dst, src)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copying the verify cache: %w", err)
	}
	return typ + ":" + filepath.Join(dir, "verify_cache"), cleanup, nil
}

// ParseCacheEntry parses a raw cache value; ok is false for a malformed
// one, which verify treats as absent.
func ParseCacheEntry(raw string) (CacheEntry, bool) {
	f := strings.SplitN(raw, ":", 4)
	if len(f) != 4 {
		return CacheEntry{}, false
	}
	st, err1 := strconv.Atoi(f[0])
	pr, err2 := strconv.ParseInt(f[1], 10, 64)
	up, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || (pr == 0 && up == 0) || pr < 0 || up < 0 {
		return CacheEntry{}, false
	}
	e := CacheEntry{Text: f[3]}
	switch st {
	case 0:
		e.Status = VerifyOK
	case 1:
		e.Status = VerifyDefer
	case 2:
		e.Status = VerifyBounce
	case 3:
		e.Status = VerifyPending
	default:
		return CacheEntry{}, false
	}
	if pr > 0 {
		e.Probed = time.Unix(pr, 0)
	}
	if up > 0 {
		e.Updated = time.Unix(up, 0)
	}
	return e, true
}

// judge decides, as verify_query_service does, whether smtpd answers
// from the entry at now: not when it has expired and no probe is
// outstanding.
func (c *Config) judgeCache(e *CacheEntry, now time.Time) {
	expire, refresh := c.NegExpire, c.NegRefresh
	if e.Status == VerifyOK {
		expire, refresh = c.PosExpire, c.PosRefresh
	}
	probedAgo := now.Sub(e.Probed)
	if e.Probed.IsZero() {
		probedAgo = now.Sub(time.Unix(0, 0))
	}
	expired := e.Updated.Add(expire).Before(now)
	e.Current = !(probedAgo > probeTTL && expired)
	e.RefreshAt = e.Updated.Add(refresh)
}

// attachCache compares one decided result with its cache entry.
func (r *Resolver) attachCache(res *Result, raw map[string]string, now time.Time) {
	// verify.c: ":" in the address is stored as "_".
	key := strings.ToLower(strings.ReplaceAll(res.Recipient, ":", "_"))
	v, ok := raw[key]
	if !ok {
		return
	}
	e, ok := ParseCacheEntry(v)
	if !ok {
		res.Notes = append(res.Notes, "verify cache entry is malformed; Postfix ignores it")
		return
	}
	r.c.judgeCache(&e, now)
	if e.Current {
		e.Answer, e.AnswerText = r.c.PredictReply(res.Recipient, e.Status, e.Text)
		if e.Answer == PredictAccept && res.unlisted != "" {
			e.Answer, e.AnswerText = res.unlisted, res.unlistedReply
		}
		if res.Status != "" && e.Status != VerifyPending && e.Status != res.Status {
			e.Disagrees = true
			switch {
			case res.Status == VerifyOK:
				e.Stale = "stale negative: the cache refuses an address the backend accepts today"
			case e.Status == VerifyOK:
				e.Stale = "stale positive: the cache accepts an address the backend refuses today"
			default:
				e.Stale = fmt.Sprintf("the cache says %s, the backend today %s", e.Status, res.Status)
			}
		}
	} else {
		e.Answer, e.AnswerText = res.Prediction, res.PredictedReply
	}
	res.Cache = &e
}
