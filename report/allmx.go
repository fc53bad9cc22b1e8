package report

import "github.com/mailprobe/mailprobe/probe"

// JudgeEachHost is --all-mx's view: one verdict per recipient for every
// host and address that was tried (skipped ones are left out), in the
// order of the attempts. The exit code of an --all-mx run is the worst of
// these — a dead best MX is not exit 0 because a backup accepted — and
// `-o postfix` prints one line per host and address.
func JudgeEachHost(res *probe.Result) []Verdict {
	if res == nil {
		return nil
	}
	var out []Verdict
	for _, o := range res.Recipients {
		if o.Domain == nil || o.Attempt == nil {
			out = append(out, Judge(o, res))
			continue
		}
		for _, a := range o.Domain.Attempts {
			if a.Skipped != "" {
				continue
			}
			h := *o
			h.Attempt, h.Setup, h.Transaction, h.Reply, h.Err, h.Phase = a, a.Setup, a.Transaction, nil, nil, ""
			found := false
			for _, r := range a.Rcpts {
				if r.Recipient != o.Recipient {
					continue
				}
				found = true
				h.Phase, h.Reply = r.Phase, r.Reply
				if r.Err != nil && r.Err.Kind != probe.ErrRejected {
					h.Err = r.Err
				}
			}
			if !found && a.Err != nil {
				h.Phase, h.Reply, h.Err = a.Err.Phase, a.Err.Reply, a.Err
			}
			h.Total = 0
			out = append(out, Judge(&h, res))
		}
	}
	return out
}

// accepted tells whether attempt a accepted recipient rcpt at RCPT.
func accepted(a *probe.Attempt, rcpt string) bool {
	for _, r := range a.Rcpts {
		if r.Recipient == rcpt && r.Phase == probe.PhaseRCPT && r.Reply != nil && r.Reply.Class() == 2 {
			return true
		}
	}
	return false
}
