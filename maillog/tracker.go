package maillog

import (
	"strings"
	"time"
)

// Outcome is the result for one (message, recipient): the final status in
// the MTA's own word — sent, deferred (still deferred at the end of the
// log), bounced, expired; rejected, held, discarded for messages that
// never reached a delivery agent; open for a message whose log ends
// before any delivery line — with the last attempt's dsn, relay and
// reason, and the classifier's category and explanation.
type Outcome struct {
	MTA        MTA       `json:"mta"`
	Host       string    `json:"host,omitempty"`
	QueueID    string    `json:"queue_id"`
	Recipient  string    `json:"recipient"`
	OrigTo     string    `json:"orig_to,omitempty"`
	Domain     string    `json:"domain"`
	Sender     string    `json:"sender"`
	Status     string    `json:"status"`
	DSN        string    `json:"dsn"`
	Relay      string    `json:"relay"`
	Attempts   int       `json:"attempts"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Reason     string    `json:"reason"`
	Category   string    `json:"category"`
	Permanence string    `json:"permanence"`
	// Party is who has to act (sender, recipient, local) and Provider
	// the provider whose wording matched, both from report's rules.
	Party       string   `json:"party,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	Explanation *Explain `json:"explanation"`
	Codes       []string `json:"codes,omitempty"`
	MessageID   string   `json:"message_id,omitempty"`
	Client      string   `json:"client,omitempty"`
	Size        int64    `json:"size,omitempty"`
	// Open is true when the log has no final line for the message
	// (Postfix "removed", Exim "Completed", qmail "end msg"): it was still
	// queued when the log ends, or was evicted (Note says which).
	Open bool   `json:"open"`
	Note string `json:"note,omitempty"`
	// NextQueueID is the queue id the next hop reported ("250 2.0.0 Ok:
	// queued as …") when that hop is on this host — a content filter such
	// as amavis, or a relay on loopback — so the message can be followed;
	// PrevQueueID is the id a re-queued message had before.
	NextQueueID string `json:"next_queue_id,omitempty"`
	PrevQueueID string `json:"prev_queue_id,omitempty"`
	// AgeSeconds is a queued message's age (--queue only).
	AgeSeconds int64 `json:"age_seconds,omitempty"`
}

// Explain is report's explanation of an outcome.
type Explain struct {
	What  string `json:"what"`
	Cause string `json:"cause"`
	Next  string `json:"next"`
}

// Final statuses: once a recipient has one, a later deferral cannot undo
// it (a status=sent line read before an older deferral of the same
// recipient, in a log whose lines are out of order, still wins).
func finalStatus(s string) bool {
	switch s {
	case "sent", "bounced", "expired", "deliverable", "undeliverable", "rejected", "discarded":
		return true
	}
	return false
}

type msgKey struct{ host, inst, id string }

type rcptState struct {
	addr, origTo               string
	status, dsn, relay, reason string
	statusAt, first, last      time.Time
	attempts                   int
	next                       string
}

type message struct {
	key               msgKey
	mta               MTA
	first, last       time.Time
	sender            string
	hasSender         bool
	size              int64
	client, messageID string
	rcpts             []*rcptState
	// the first recipients live in the message itself: most messages
	// have one, and a log has millions of messages
	rbuf       [2]*rcptState
	r0         rcptState
	removed    bool
	removedAt  time.Time
	expired    bool
	expiredAt  time.Time
	held       bool
	heldReason string
	// note is the latest smtp/lmtp note about a host passed over, kept
	// for a message whose log has no to= line after it
	note     string
	noteAt   time.Time
	notes    int
	frozen   bool
	rejected bool
	prev     string
	nrcpt    int
	noRcpt   bool // sendmail from= with nrcpts=0: no message was queued
	done     bool // finalized
	orderIdx int  // its slot in Tracker.order
}

type delivKey struct{ host, inst, delivery string }
type delivRef struct {
	key  msgKey
	addr string
	// relay is the channel of "starting delivery": local or remote
	relay string
}

// TrackerOptions bound the tracker.
type TrackerOptions struct {
	// MaxOpen is the number of messages kept in memory; beyond it the
	// oldest is evicted and reported as open. Default 100000.
	MaxOpen int
	// Window is how long (in log time) a finished message is kept for
	// lines that arrive late because the log is out of order. Default
	// 5 minutes.
	Window time.Duration
	// Lean keeps only what the grouped summary needs: no client or
	// Message-ID, and no reply or relay of a delivery that succeeded
	// (Read sets it when sent outcomes are neither printed nor streamed).
	Lean bool
}

// Tracker follows messages by id and emits one Outcome per (message,
// recipient) when a message is finished, evicted or the log ends.
type Tracker struct {
	opts     TrackerOptions
	emit     func(outs []*Outcome)
	msgs     map[msgKey]*message
	order    []*message // creation order, for eviction
	orderHd  int
	closed   []*message // finish order, for the reorder window
	closedHd int
	maxTime  time.Time
	hops     map[msgKey]string
	deliv    map[delivKey]delivRef
	pending  map[delivKey]*Event
	strs     map[string]string // interned hosts and instances
	// buf and ptrs are reused for each message's outcomes: emit must copy
	// what it keeps beyond the call
	buf  []Outcome
	ptrs []*Outcome

	// Evicted counts messages reported as open because MaxOpen was hit.
	Evicted int64
	// Unfinished counts messages without a final line at the end.
	Unfinished int64
	// Messages counts finished messages.
	Messages int64
	// Sessions counts queue ids that never became messages.
	Sessions int64
	// HandedOn counts messages that re-appeared under a new queue id
	// after a content filter (amavis) took them.
	HandedOn int64
}

// NewTracker returns a tracker that passes the outcomes of each finished
// message to emit (all recipients of one message at once). The outcomes
// are valid during the call only: emit copies what it keeps.
func NewTracker(opts TrackerOptions, emit func([]*Outcome)) *Tracker {
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 100000
	}
	if opts.Window <= 0 {
		opts.Window = 5 * time.Minute
	}
	return &Tracker{opts: opts, emit: emit, msgs: map[msgKey]*message{},
		hops: map[msgKey]string{}, deliv: map[delivKey]delivRef{}, pending: map[delivKey]*Event{}, strs: map[string]string{}}
}

// Open is the number of messages in memory.
func (t *Tracker) Open() int { return len(t.msgs) }

func (t *Tracker) intern(s string) string {
	if v, ok := t.strs[s]; ok {
		return v
	}
	if len(t.strs) > 4096 {
		return strings.Clone(s)
	}
	v := strings.Clone(s)
	t.strs[v] = v
	return v
}

// get returns the message for ev's id, creating it (or a new one when a
// finished message's id is reused, as Postfix's short ids and qmail's
// inode numbers are).
func (t *Tracker) get(ev *Event) *message {
	k := msgKey{ev.Host, ev.Instance, ev.ID}
	m := t.msgs[k]
	if m != nil && m.removed && (ev.Kind == EventReceived || ev.Time.After(m.removedAt.Add(time.Second))) {
		t.finalize(m, "")
		m = nil
	}
	if m == nil {
		k = msgKey{t.intern(ev.Host), t.intern(ev.Instance), strings.Clone(ev.ID)}
		m = &message{key: k, mta: ev.MTA, first: ev.Time, last: ev.Time}
		m.rcpts = m.rbuf[:0]
		if ev.MTA == MTACm4all {
			m.mta = MTAPostfix
		}
		if p, ok := t.hops[k]; ok {
			m.prev = p
			delete(t.hops, k)
			t.HandedOn++
		}
		t.msgs[k] = m
		m.orderIdx = len(t.order)
		t.order = append(t.order, m)
		t.evict()
	}
	if ev.Time.Before(m.first) {
		m.first = ev.Time
	}
	if ev.Time.After(m.last) {
		m.last = ev.Time
	}
	return m
}

func (m *message) rcpt(addr string) *rcptState {
	for _, r := range m.rcpts {
		if r.addr == addr {
			return r
		}
	}
	var r *rcptState
	if len(m.rcpts) == 0 {
		r = &m.r0
	} else {
		r = &rcptState{}
	}
	r.addr = strings.Clone(addr)
	m.rcpts = append(m.rcpts, r)
	return r
}

// Add applies one event.
func (t *Tracker) Add(ev *Event) {
	if ev.Time.After(t.maxTime) {
		t.maxTime = ev.Time
	}
	defer t.expire()
	n := ev.Repeat
	if n < 1 {
		n = 1
	}
	switch ev.Kind {
	case EventNone, EventVerdict:
		if ev.Kind == EventVerdict && ev.ID != "" {
			t.get(ev)
		}
		return
	case EventReject:
		if ev.ID != "" {
			if m := t.msgs[msgKey{ev.Host, ev.Instance, ev.ID}]; m != nil {
				m.rejected = true
				t.finalize(m, "")
			}
		}
		t.emitStandalone(ev, n)
		return
	case EventAttempt:
		if ev.MTA == MTAQmail && ev.Delivery != "" {
			dk := delivKey{ev.Host, ev.Instance, ev.Delivery}
			ref, ok := t.deliv[dk]
			if !ok {
				// the result came before its "starting delivery" (a log
				// out of order) or the log starts after it: keep it until
				// the start line arrives
				if len(t.pending) > t.opts.MaxOpen {
					clear(t.pending)
				}
				t.pending[delivKey{t.intern(ev.Host), t.intern(ev.Instance), strings.Clone(ev.Delivery)}] = cloneEvent(ev)
				return
			}
			delete(t.deliv, dk)
			ev.ID, ev.Recipient = ref.key.id, ref.addr
			if ev.Relay == "" {
				ev.Relay = ref.relay
			}
		}
		if ev.MTA == MTADovecot && ev.ID == "" {
			t.emitStandalone(ev, n)
			return
		}
	case EventStart:
		m := t.get(ev)
		m.rcpt(ev.Recipient)
		if len(t.deliv) > t.opts.MaxOpen {
			clear(t.deliv)
		}
		dk := delivKey{t.intern(ev.Host), t.intern(ev.Instance), strings.Clone(ev.Delivery)}
		relay := "remote"
		if ev.Relay == "local" {
			relay = "local"
		}
		t.deliv[dk] = delivRef{m.key, strings.Clone(ev.Recipient), relay}
		if p, ok := t.pending[dk]; ok {
			delete(t.pending, dk)
			t.Add(p)
		}
		return
	}
	if ev.ID == "" {
		return
	}
	m := t.get(ev)
	switch ev.Kind {
	case EventReceived, EventSender:
		if ev.HasSender && !m.hasSender {
			m.sender, m.hasSender = strings.Clone(ev.Sender), true
		}
		if ev.Client != "" && m.client == "" && !t.opts.Lean {
			m.client = strings.Clone(ev.Client)
		}
		if ev.Size > 0 {
			m.size = ev.Size
		}
		if ev.MessageID != "" && m.messageID == "" && !t.opts.Lean {
			m.messageID = strings.Clone(ev.MessageID)
		}
		if ev.NRcpt > 0 {
			m.nrcpt = ev.NRcpt
		}
		if ev.NoRcpt {
			// sendmail logs from= with nrcpts=0 when the client's
			// transaction ended with every RCPT refused (its ruleset=
			// lines are the outcomes) or before any RCPT: nothing was
			// queued, so the id is a session, not an open message
			m.noRcpt = true
			t.finish(m, ev.Time)
		}
	case EventMessageID:
		if m.messageID == "" && !t.opts.Lean {
			m.messageID = strings.Clone(ev.MessageID)
		}
	case EventAttempt:
		r := m.rcpt(ev.Recipient)
		r.attempts += n
		if r.first.IsZero() || ev.Time.Before(r.first) {
			r.first = ev.Time
		}
		if ev.Time.After(r.last) {
			r.last = ev.Time
		}
		// the latest attempt decides; a final status beats a deferral of
		// the same second or an older one read later
		// (equal stamps: the line read later wins)
		newer := r.status == "" || !ev.Time.Before(r.statusAt)
		if finalStatus(r.status) && !finalStatus(ev.Status) && !ev.Time.After(r.statusAt) {
			newer = false
		}
		if newer {
			r.status, r.statusAt = canonStatus(ev.Status), ev.Time
			r.dsn = t.intern(ev.DSN)
			if t.opts.Lean && (r.status == "sent" || r.status == "deliverable") {
				r.relay, r.reason = "", ""
			} else {
				r.relay, r.reason = strings.Clone(ev.Relay), strings.Clone(ev.Reason)
			}
			if ev.OrigTo != "" {
				r.origTo = strings.Clone(ev.OrigTo)
			}
		}
		if ev.NextID != "" {
			r.next = strings.Clone(ev.NextID)
			if len(t.hops) > t.opts.MaxOpen {
				clear(t.hops)
			}
			ck := msgKey{m.key.host, m.key.inst, r.next}
			if c := t.msgs[ck]; c != nil && c != m && c.prev == "" {
				// the re-queued copy was logged before the filter's
				// "queued as" reply reached this line
				c.prev = m.key.id
				t.HandedOn++
			} else {
				t.hops[ck] = m.key.id
			}
		}
		if ev.MTA == MTADovecot {
			t.finish(m, ev.Time)
		} else if ev.MTA == MTASendmail && m.nrcpt > 0 && m.finals() >= m.nrcpt {
			t.finish(m, ev.Time)
		}
	case EventRemoved:
		t.finish(m, ev.Time)
	case EventExpired:
		m.expired, m.expiredAt = true, ev.Time
		if ev.HasSender && !m.hasSender {
			m.sender, m.hasSender = strings.Clone(ev.Sender), true
		}
	case EventHeld:
		m.held = true
		m.heldReason = strings.Clone(ev.Reason)
		if ev.Recipient != "" {
			r := m.rcpt(ev.Recipient)
			r.status, r.statusAt, r.reason, r.dsn = "held", ev.Time, m.heldReason, strings.Clone(ev.DSN)
			r.first, r.last = ev.Time, ev.Time
		}
	case EventNote:
		m.notes += n
		if m.note == "" || !ev.Time.Before(m.noteAt) {
			m.note, m.noteAt = strings.Clone(ev.Reason), ev.Time
		}
	case EventFrozen:
		m.frozen = true
	case EventHop:
		// a bounce or DSN was created, or qmail's "bounce msg": nothing
		// changes for the recipients
	}
}

func (m *message) finals() int {
	n := 0
	for _, r := range m.rcpts {
		if finalStatus(r.status) {
			n++
		}
	}
	return n
}

// finish marks a message finished; it is finalized after the reorder
// window so that late lines of an out-of-order log still join it.
func (t *Tracker) finish(m *message, at time.Time) {
	if m.removed {
		if at.After(m.removedAt) {
			m.removedAt = at
		}
		return
	}
	m.removed, m.removedAt = true, at
	t.closed = append(t.closed, m)
}

// expire finalizes finished messages whose window has passed.
func (t *Tracker) expire() {
	for t.closedHd < len(t.closed) {
		m := t.closed[t.closedHd]
		if !m.done && !m.removedAt.Add(t.opts.Window).Before(t.maxTime) {
			break
		}
		t.closed[t.closedHd] = nil
		t.closedHd++
		if !m.done {
			t.finalize(m, "")
		}
	}
	if t.closedHd > 1024 && t.closedHd*2 > len(t.closed) {
		t.closed = append(t.closed[:0], t.closed[t.closedHd:]...)
		t.closedHd = 0
	}
}

// evict reports the oldest messages as open while too many are in memory.
func (t *Tracker) evict() {
	for len(t.msgs) > t.opts.MaxOpen && t.orderHd < len(t.order) {
		m := t.order[t.orderHd]
		t.order[t.orderHd] = nil
		t.orderHd++
		if m == nil || m.done {
			continue
		}
		if !m.removed {
			if t.finalize(m, "evicted: still open after "+itoa(t.opts.MaxOpen)+" newer messages") {
				t.Evicted++
			}
		} else {
			t.finalize(m, "")
		}
	}
	// finalize clears a message's slot, so order holds live messages and
	// nils; compact when the nils dominate
	if live := len(t.order) - t.orderHd; live > 2*len(t.msgs)+1024 {
		n := 0
		for _, m := range t.order[t.orderHd:] {
			if m != nil && !m.done {
				m.orderIdx = n
				t.order[n] = m
				n++
			}
		}
		clear(t.order[n:])
		t.order = t.order[:n]
		t.orderHd = 0
	}
}

// Close finalizes everything still in memory: the end of the log.
func (t *Tracker) Close() {
	for _, m := range t.order[t.orderHd:] {
		if m != nil && !m.done {
			if removed := m.removed; t.finalize(m, "") && !removed {
				t.Unfinished++
			}
		}
	}
	t.order, t.orderHd, t.closed, t.closedHd = nil, 0, nil, 0
}

// finalize emits a message's outcomes and forgets it; it reports whether
// anything was emitted.
func (t *Tracker) finalize(m *message, note string) bool {
	if m.done {
		return false
	}
	m.done = true
	if t.msgs[m.key] == m {
		delete(t.msgs, m.key)
	}
	// drop the order slot's reference so the message can be collected now
	if i := m.orderIdx; i >= t.orderHd && i < len(t.order) && t.order[i] == m {
		t.order[i] = nil
	}
	t.Messages++
	if m.rejected && len(m.rcpts) == 0 {
		return false
	}
	open := !m.removed
	if open && note == "" {
		note = "no final line (" + finalWord(m.mta) + ") before the end of the log"
		if m.frozen {
			note = "frozen (Exim: Message is frozen)"
		}
	}
	base := Outcome{MTA: m.mta, Host: m.key.host, QueueID: m.key.id, Sender: m.sender,
		MessageID: m.messageID, Client: m.client, Size: m.size, Open: open, Note: note, PrevQueueID: m.prev}
	if len(m.rcpts) == 0 {
		if m.removed && !m.held {
			return false // only the end of a message is in this log
		}
		if m.note != "" && !m.held {
			// the client's note about the host is the only delivery
			// evidence: the message is deferred for that reason (Postfix
			// keeps it queued and retries), recipients unknown
			o := base
			o.FirstSeen, o.LastSeen = m.first, m.last
			o.Status, o.Reason, o.Attempts = "deferred", m.note, m.notes
			t.emit([]*Outcome{&o})
			return true
		}
		if !m.held && (m.noRcpt || !m.hasSender && m.messageID == "") {
			// smtpd's client= without a message: the client ended the
			// transaction before DATA (as a probe does), and the queue
			// file was removed without a log line
			t.Sessions++
			return false
		}
		o := base
		o.FirstSeen, o.LastSeen = m.first, m.last
		if m.held {
			o.Status, o.Reason = "held", m.heldReason
		} else {
			o.Status = "open"
			o.Reason = "no delivery attempt in the log"
		}
		t.emit([]*Outcome{&o})
		return true
	}
	t.buf = t.buf[:0]
	for _, r := range m.rcpts {
		o := base
		o.Recipient, o.OrigTo = r.addr, r.origTo
		o.Domain = domainOf(r.addr)
		o.Status, o.DSN, o.Relay, o.Reason, o.Attempts = r.status, r.dsn, r.relay, r.reason, r.attempts
		o.FirstSeen, o.LastSeen = r.first, r.last
		if o.FirstSeen.IsZero() {
			o.FirstSeen, o.LastSeen = m.first, m.last
		}
		o.NextQueueID = r.next
		switch {
		case m.expired && !finalStatus(r.status) && !r.statusAt.After(m.expiredAt):
			o.Status = "expired"
			if m.expiredAt.After(o.LastSeen) {
				o.LastSeen = m.expiredAt
			}
		case r.status == "":
			if m.held {
				o.Status, o.Reason = "held", m.heldReason
			} else if m.note != "" {
				o.Status, o.Reason, o.Attempts = "deferred", m.note, m.notes
			} else {
				o.Status, o.Reason = "open", "delivery started, no result in the log"
			}
		}
		t.buf = append(t.buf, o)
	}
	t.ptrs = t.ptrs[:0]
	for i := range t.buf {
		t.ptrs = append(t.ptrs, &t.buf[i])
	}
	t.emit(t.ptrs)
	return true
}

// emitStandalone reports an event that is an outcome by itself: an
// smtpd/postscreen rejection, a Dovecot delivery without a session id.
func (t *Tracker) emitStandalone(ev *Event, n int) {
	o := &Outcome{MTA: ev.MTA, Host: strings.Clone(ev.Host), QueueID: strings.Clone(ev.ID),
		Recipient: strings.Clone(ev.Recipient), Sender: strings.Clone(ev.Sender), Status: canonStatus(ev.Status),
		DSN: strings.Clone(ev.DSN), Relay: strings.Clone(ev.Relay), Reason: strings.Clone(ev.Reason),
		Attempts: n, FirstSeen: ev.Time, LastSeen: ev.Time, Client: strings.Clone(ev.Client),
		MessageID: strings.Clone(ev.MessageID)}
	if o.QueueID == "" && ev.MTA == MTAPostfix {
		o.QueueID = "NOQUEUE"
	}
	o.Domain = domainOf(o.Recipient)
	t.emit([]*Outcome{o})
}

func finalWord(m MTA) string {
	switch m {
	case MTAExim:
		return "Completed"
	case MTAQmail:
		return "end msg"
	case MTASendmail:
		return "a final stat= for every recipient"
	}
	return "removed"
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	d := addr[i+1:]
	for j := 0; j < len(d); j++ {
		if c := d[j]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// canonStatus returns the status word as a constant: the event's copy
// points into the reader's buffer.
func canonStatus(s string) string {
	switch s {
	case "sent":
		return "sent"
	case "deferred":
		return "deferred"
	case "bounced":
		return "bounced"
	case "expired":
		return "expired"
	case "deliverable":
		return "deliverable"
	case "undeliverable":
		return "undeliverable"
	case "rejected":
		return "rejected"
	case "held":
		return "held"
	case "discarded":
		return "discarded"
	case "open":
		return "open"
	}
	return strings.Clone(s)
}

// cloneEvent copies an event out of the reader's buffer.
func cloneEvent(ev *Event) *Event {
	c := *ev
	for _, p := range []*string{&c.Host, &c.Instance, &c.ID, &c.Delivery, &c.Recipient, &c.OrigTo, &c.Sender,
		&c.Status, &c.DSN, &c.Relay, &c.Reason, &c.Client, &c.MessageID, &c.NextID} {
		*p = strings.Clone(*p)
	}
	return &c
}
