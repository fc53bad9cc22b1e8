package maillog

import (
	"context"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// Live is today's answer for a domain the log shows deferring: a probe of
// one of its deferred recipients (RCPT only, never DATA) with the same
// engine and settings as `mailprobe probe`.
type Live struct {
	Domain    string `json:"domain"`
	Recipient string `json:"recipient"`
	// LogReason is the log's last reason for the probed recipient.
	LogReason string `json:"log_reason"`
	Status    string `json:"status"` // deliverable, undeliverable, deferred, not-checked
	DSN       string `json:"dsn"`
	Line      string `json:"line"` // the line Postfix would log
	Reason    string `json:"reason"`
	Category  string `json:"category"`
	// Verdict says in one line how today compares with the log.
	Verdict string `json:"verdict"`
	Error   string `json:"error,omitempty"`
}

// StillDeferring picks, per domain with recipients still deferred at the
// end of the log (or in the queue), the recipient of its largest group.
func StillDeferring(groups []*Group) []*Live {
	seen := map[string]bool{}
	var out []*Live
	for _, g := range groups { // most frequent first
		if !g.Still || g.Domain == "" || seen[g.Domain] || g.ExampleRcpt == "" {
			continue
		}
		seen[g.Domain] = true
		out = append(out, &Live{Domain: g.Domain, Recipient: g.ExampleRcpt, LogReason: g.Example})
	}
	return out
}

// ProbeLive probes each Live's recipient with cfg and fills in today's
// verdict beside the log's.
func ProbeLive(ctx context.Context, cfg probe.Config, lives []*Live) error {
	if len(lives) == 0 {
		return nil
	}
	targets := make([]probe.Target, 0, len(lives))
	var asked []*Live
	for _, lv := range lives {
		addr, err := probe.ParseTarget(lv.Recipient)
		if err != nil {
			lv.Status, lv.Error = "not-checked", err.Error()
			lv.Verdict = "not probed: " + err.Error()
			continue
		}
		targets = append(targets, probe.Target{Address: addr})
		asked = append(asked, lv)
	}
	if len(targets) == 0 {
		return nil
	}
	res, err := probe.Run(ctx, cfg, targets)
	if err != nil {
		return err
	}
	verdicts := report.JudgeAll(res)
	for i, v := range verdicts {
		if i >= len(asked) {
			break
		}
		lv := asked[i]
		lv.Status, lv.DSN, lv.Line, lv.Reason, lv.Category = string(v.Status), v.DSN, v.Line(), v.Reason, string(v.Category)
		lv.Verdict = liveVerdict(v)
	}
	return nil
}

func liveVerdict(v report.Verdict) string {
	what := v.Reason
	if v.Reply != nil {
		what = v.Reply.Text()
	}
	switch v.Status {
	case report.StatusDeliverable:
		return "now accepted: the problem is gone, flush the queue (postqueue -f)"
	case report.StatusDeferred:
		return "still deferred: " + what
	case report.StatusUndeliverable:
		return "now refused permanently: " + what
	}
	return "not checked: " + what
}
