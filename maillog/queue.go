package maillog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// queueEntry is one line of `postqueue -j` (postqueue(1), "JSON object
// members": queue_name, queue_id, arrival_time, message_size,
// forced_expire, sender, recipients[{address, delay_reason}]).
type queueEntry struct {
	QueueName    string `json:"queue_name"`
	QueueID      string `json:"queue_id"`
	ArrivalTime  int64  `json:"arrival_time"`
	MessageSize  int64  `json:"message_size"`
	ForcedExpire bool   `json:"forced_expire"`
	Sender       string `json:"sender"`
	Recipients   []struct {
		Address     string `json:"address"`
		DelayReason string `json:"delay_reason"`
	} `json:"recipients"`
}

// queueStatus maps Postfix's queue names to outcome statuses: a message
// in the deferred queue is deferred; hold is held; active, incoming and
// maildrop are being worked on.
func queueStatus(name string) string {
	switch name {
	case "deferred":
		return "deferred"
	case "hold":
		return "held"
	case "active":
		return "active"
	}
	return "incoming"
}

// ReadQueue reads `postqueue -j` output and groups what is stuck now the
// same way Read groups a log. now is the reference for the ages.
func ReadQueue(r io.Reader, name string, now time.Time, opts Options) (*Summary, error) {
	if opts.Classifier == nil {
		opts.Classifier = NewClassifier()
	}
	if len(opts.Filter.Statuses) == 0 {
		opts.Filter.Statuses = []string{"all"}
	}
	sum := &Summary{Files: []string{name}, ByFormat: map[Format]int64{}, ByMTA: map[MTA]int64{},
		Unreadable: map[string]int64{}}
	sk := &sink{opts: &opts, agg: NewAggregator(), cls: opts.Classifier}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var n int64
	for sc.Scan() {
		n++
		line := sc.Bytes()
		sum.Lines++
		sum.Bytes += int64(len(line)) + 1
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var e queueEntry
		if err := json.Unmarshal(line, &e); err != nil || e.QueueID == "" {
			sum.Unreadable["postqueue-json"]++
			if len(sum.Samples) < 5 {
				sum.Samples = append(sum.Samples, BadLine{File: name, Line: n, Format: "postqueue-json", Text: string(line[:min(len(line), 200)])})
			}
			continue
		}
		sum.ByMTA[MTAPostfix]++
		arrival := time.Unix(e.ArrivalTime, 0)
		if sum.First.IsZero() || arrival.Before(sum.First) {
			sum.First = arrival
		}
		if arrival.After(sum.Last) {
			sum.Last = arrival
		}
		sum.Messages++
		outs := make([]*Outcome, 0, len(e.Recipients))
		for _, rc := range e.Recipients {
			o := &Outcome{MTA: MTAPostfix, QueueID: e.QueueID, Recipient: rc.Address, Domain: domainOf(rc.Address),
				Sender: e.Sender, Status: queueStatus(e.QueueName), Reason: rc.DelayReason, FirstSeen: arrival,
				LastSeen: arrival, Size: e.MessageSize, Open: true, AgeSeconds: int64(now.Sub(arrival).Seconds())}
			o.DSN = replyDSN(findReplyOrSelf(rc.DelayReason))
			if e.ForcedExpire {
				o.Note = "forced to expire (postsuper -e)"
			}
			outs = append(outs, o)
		}
		if len(outs) > 0 {
			sk.emit(outs)
		}
		if sk.err != nil {
			return sum, sk.err
		}
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	sum.ByStatus, sum.Groups = sk.agg.ByStatus, sk.agg.Groups()
	explainGroups(sum.Groups, opts.Classifier)
	return sum, nil
}

// findReplyOrSelf finds the reply in a delay_reason ("host H[A] said:
// 450 4.2.0 …") or takes the reason itself when it is a reply.
func findReplyOrSelf(s string) string {
	if i := strings.Index(s, " said: "); i >= 0 {
		return s[i+len(" said: "):]
	}
	if r := findReply(s); r != "" {
		return r
	}
	return s
}
