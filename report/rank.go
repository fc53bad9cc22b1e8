package report

import (
	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
)

// Rank orders outcomes by how bad they are for the mail: the worst one
// of a run decides its exit status. cmd turns a Rank into an exit code,
// in one place (cmd/mailprobe/exit.go); everything here only ranks.
type Rank int

const (
	// RankOK: deliverable, delivered, clean, success.
	RankOK Rank = iota
	// RankDeferred: temporary, unknown or not decided — retrying may
	// change the answer.
	RankDeferred
	// RankUndeliverable: permanent — retrying will not help (a listed
	// address for blacklist).
	RankUndeliverable
)

// Worse returns the worse of two ranks.
func (r Rank) Worse(o Rank) Rank { return max(r, o) }

// RankStatus ranks one recipient's status.
func RankStatus(s Status) Rank {
	switch s {
	case StatusDeliverable:
		return RankOK
	case StatusUndeliverable, BatchStatusInvalid:
		// An invalid batch line counts as undeliverable: a server would
		// refuse it.
		return RankUndeliverable
	case BatchStatusSkipped:
		return RankOK
	}
	return RankDeferred
}

// RankPermanence ranks a reply's permanence; unknown ranks as deferred.
func RankPermanence(p Permanence) Rank {
	switch p {
	case PermanenceSuccess:
		return RankOK
	case PermanencePermanent:
		return RankUndeliverable
	}
	return RankDeferred
}

// RankVerdicts is the worst status of a probe's verdicts (RankOK for
// none).
func RankVerdicts(vs []Verdict) Rank {
	r := RankOK
	for _, v := range vs {
		r = r.Worse(RankStatus(v.Status))
	}
	return r
}

// RankBatch is the worst status a batch saw.
func RankBatch(s *BatchSummary) Rank {
	r := RankOK
	for st, n := range s.ByStatus {
		if n > 0 {
			r = r.Worse(RankStatus(st))
		}
	}
	return r
}

// Rank ranks an explained text: a log line's status word (what the MTA
// did) first, else the permanence.
func (e Explained) Rank() Rank {
	switch e.Status {
	case "sent", "deliverable", "delivered":
		return RankOK
	case "bounced", "expired":
		return RankUndeliverable
	case "undeliverable":
		// verify(8) logs undeliverable for temporary failures too; the
		// dsn tells them apart.
		if e.DSN != "" && e.DSN[0] == '5' {
			return RankUndeliverable
		}
		return RankDeferred
	case "deferred":
		return RankDeferred
	}
	return RankPermanence(e.Permanence)
}

// RankRoute ranks an MX resolution like a recipient verdict.
func RankRoute(rt *mx.Route) Rank {
	switch {
	case rt == nil || rt.Err == nil:
		return RankOK
	case rt.Err.Temporary:
		return RankDeferred
	}
	return RankUndeliverable
}

// RankBlacklist: a listing anywhere is the bad outcome, an unknown
// answer the undecided one.
func RankBlacklist(rs []blacklist.Result) Rank {
	switch BlacklistSummarize(rs).Verdict {
	case blacklist.Listed:
		return RankUndeliverable
	case blacklist.Unknown:
		return RankDeferred
	}
	return RankOK
}

// RankHealth: a list that cannot be used from this resolver leaves the
// answer undecided.
func RankHealth(hs []blacklist.Health) Rank {
	for _, h := range hs {
		if h.Status != blacklist.HealthOK {
			return RankDeferred
		}
	}
	return RankOK
}
