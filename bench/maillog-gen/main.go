// Command maillog-gen writes a large Postfix log for scripts/bench-maillog.
//
// Every line has the shape of a real Postfix line from the project's
// fixtures (maillog/testdata/logs: the seeds, the integration set's own
// runs, the public issue threads quoted there); what varies is what varies
// in a real log — queue ids, process ids, clients, recipients, domains,
// relays, delays — and which of the real reasons a deferral or bounce
// carries. Roughly: 88% of recipients are delivered at once, 7% deferred
// first and delivered on a later attempt, 1% deferred until Postfix's
// maximal_queue_lifetime (5 days) expires them — retried with Postfix's
// backoff (5 minutes doubling to 4000 s) — 2% bounced; each message has
// one to three recipients.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// reasons are real deferral and bounce texts (with their dsn) from the
// fixtures; %s is the recipient, %h the MX host name, %i its address, %d
// the domain.
var deferrals = []struct{ dsn, text string }{
	{"4.2.0", "host %h[%i] said: 450 4.2.0 <%s>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/%d.html (in reply to RCPT TO command)"},
	{"4.4.1", "connect to %h[%i]:25: Connection refused"},
	{"4.4.1", "connect to %h[%i]:25: Connection timed out"},
	{"4.2.2", "host %h[%i] said: 452 4.2.2 <%s>: Recipient address rejected: Mailbox full (in reply to RCPT TO command)"},
	{"4.0.0", "host %h[%i] refused to talk to me: 554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=80.150.6.137&c=bl"},
}

var bounces = []struct{ dsn, text string }{
	{"5.1.1", "host %h[%i] said: 550 5.1.1 <%s> User doesn't exist: %s (in reply to RCPT TO command)"},
	{"5.2.2", "host %h[%i] said: 552 5.2.2 <%s> Quota exceeded (mailbox for user is full) (in reply to end of DATA command)"},
	{"5.4.4", "Host or domain name not found. Name service error for name=%d type=AAAA: Host not found"},
}

func main() {
	size := flag.Int64("size", 1<<30, "bytes to write (at least)")
	out := flag.String("o", "mail.log", "output file")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	g := &gen{w: w, r: rand.New(rand.NewPCG(*seed, 2)), t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	for g.n < *size {
		g.message()
	}
	g.flushPending(true)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}

type retry struct {
	at, arrival   time.Time
	backoff       time.Duration
	id, rcpt, dom string
	final         bool
}

type gen struct {
	w       *bufio.Writer
	r       *rand.Rand
	t       time.Time
	n       int64
	seq     uint64
	pending []retry
}

func (g *gen) line(t time.Time, prog string, pid int, format string, a ...any) {
	s := fmt.Sprintf("%s mail01 postfix/%s[%d]: ", t.Format(time.Stamp), prog, pid) + fmt.Sprintf(format, a...) + "\n"
	g.n += int64(len(s))
	g.w.WriteString(s)
}

func (g *gen) qid() string {
	g.seq++
	return fmt.Sprintf("%05X%06X", g.seq&0xfffff, g.r.Uint32()&0xffffff)
}

var users = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "info", "sales", "support", "noreply", "billing"}
var domains = []string{"t-online.de", "gmx.de", "web.de", "gmail.com", "outlook.com", "yahoo.com", "posteo.de", "mailbox.org", "freenet.de", "arcor.de", "icloud.com", "example.org"}

func (g *gen) domain() string {
	if g.r.IntN(4) == 0 {
		return fmt.Sprintf("kunde%d.de", g.r.IntN(5000))
	}
	return domains[g.r.IntN(len(domains))]
}

func (g *gen) expand(text, rcpt, dom string) string {
	host := "mx" + fmt.Sprint(g.r.IntN(3)+1) + "." + dom
	ip := fmt.Sprintf("198.51.%d.%d", g.r.IntN(256), g.r.IntN(254)+1)
	out := make([]byte, 0, len(text)+64)
	for i := 0; i < len(text); i++ {
		if text[i] == '%' && i+1 < len(text) {
			switch text[i+1] {
			case 's':
				out = append(out, rcpt...)
			case 'h':
				out = append(out, host...)
			case 'i':
				out = append(out, ip...)
			case 'd':
				out = append(out, dom...)
			}
			i++
			continue
		}
		out = append(out, text[i])
	}
	return string(out)
}

func (g *gen) message() {
	g.t = g.t.Add(time.Duration(g.r.IntN(1500)) * time.Millisecond)
	g.flushPending(false)
	id := g.qid()
	spid := 1000 + g.r.IntN(30000)
	client := fmt.Sprintf("web%d.example.net[203.0.113.%d]", g.r.IntN(90), g.r.IntN(254)+1)
	g.line(g.t, "smtpd", spid, "connect from %s", client)
	g.line(g.t, "smtpd", spid, "%s: client=%s", id, client)
	g.line(g.t, "cleanup", 500+g.r.IntN(50), "%s: message-id=<%s.%s@mail01.example.net>", id, g.t.Format("20060102150405"), id)
	nrcpt := 1 + g.r.IntN(3)/2 + g.r.IntN(4)/3
	g.line(g.t, "qmgr", 411, "%s: from=<%s@shop.example.net>, size=%d, nrcpt=%d (queue active)", id, users[g.r.IntN(len(users))], 600+g.r.IntN(90000), nrcpt)
	g.line(g.t, "smtpd", spid, "disconnect from %s ehlo=1 mail=1 rcpt=%d data=1 quit=1 commands=%d", client, nrcpt, 4+nrcpt)
	open := false
	for i := 0; i < nrcpt; i++ {
		dom := g.domain()
		rcpt := users[g.r.IntN(len(users))] + fmt.Sprint(g.r.IntN(10000)) + "@" + dom
		at := g.t.Add(time.Duration(50+g.r.IntN(3000)) * time.Millisecond)
		p := g.r.IntN(100)
		switch {
		case p < 88:
			g.sent(at, id, rcpt, dom)
		case p < 90:
			b := bounces[g.r.IntN(len(bounces))]
			g.line(at, "smtp", 2000+g.r.IntN(30000), "%s: to=<%s>, relay=mx1.%s[198.51.100.%d]:25, delay=%.2g, delays=0.1/0/0.2/0.3, dsn=%s, status=bounced (%s)",
				id, rcpt, dom, g.r.IntN(254)+1, 0.4+g.r.Float64(), b.dsn, g.expand(b.text, rcpt, dom))
			g.line(at, "bounce", 900+g.r.IntN(50), "%s: sender non-delivery notification: %s", id, g.qid())
		default:
			g.deferred(at, id, rcpt, dom)
			// 7 in 8 deferred recipients get through on a later attempt
			g.pending = append(g.pending, retry{at: at.Add(time.Duration(5+g.r.IntN(60)) * time.Minute), arrival: g.t,
				backoff: 5 * time.Minute, id: id, rcpt: rcpt, dom: dom, final: g.r.IntN(8) < 7})
			open = true
		}
	}
	if !open {
		g.line(g.t.Add(3*time.Second), "qmgr", 411, "%s: removed", id)
	}
}

func (g *gen) sent(at time.Time, id, rcpt, dom string) {
	g.line(at, "smtp", 2000+g.r.IntN(30000), "%s: to=<%s>, relay=mx%d.%s[198.51.100.%d]:25, delay=%.2g, delays=0.1/0/0.2/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)",
		id, rcpt, 1+g.r.IntN(3), dom, g.r.IntN(254)+1, 0.3+g.r.Float64()*3, g.qid())
}

func (g *gen) deferred(at time.Time, id, rcpt, dom string) {
	d := deferrals[g.r.IntN(len(deferrals))]
	relay := fmt.Sprintf("mx1.%s[198.51.100.%d]:25", dom, g.r.IntN(254)+1)
	if d.dsn == "4.4.1" {
		relay = "none"
	}
	g.line(at, "smtp", 2000+g.r.IntN(30000), "%s: to=<%s>, relay=%s, delay=%d, delays=0.1/0/30/0, dsn=%s, status=deferred (%s)",
		id, rcpt, relay, 1+g.r.IntN(9000), d.dsn, g.expand(d.text, rcpt, dom))
}

// flushPending writes the retries that are due (all of them at the end).
func (g *gen) flushPending(all bool) {
	keep := g.pending[:0]
	for _, p := range g.pending {
		if !all && p.at.After(g.t) {
			keep = append(keep, p)
			continue
		}
		if all {
			continue // still deferred when the log ends
		}
		switch {
		case p.final:
			g.sent(p.at, p.id, p.rcpt, p.dom)
			g.line(p.at.Add(time.Second), "qmgr", 411, "%s: removed", p.id)
		case p.at.Sub(p.arrival) > 5*24*time.Hour:
			// qmgr_active.c: the message is too old; bounce(8) reports it
			g.line(p.at, "qmgr", 411, "%s: from=<noreply@shop.example.net>, status=expired, returned to sender", p.id)
			g.line(p.at, "bounce", 900+g.r.IntN(50), "%s: sender non-delivery notification: %s", p.id, g.qid())
			g.line(p.at.Add(time.Second), "qmgr", 411, "%s: removed", p.id)
		default:
			g.deferred(p.at, p.id, p.rcpt, p.dom)
			p.backoff = min(2*p.backoff, 4000*time.Second)
			p.at = p.at.Add(p.backoff)
			keep = append(keep, p)
		}
	}
	g.pending = keep
}
