package report_test

import (
	"fmt"
	"time"

	"github.com/mailprobe/mailprobe/report"
)

func ExampleClassify() {
	cat, perm := report.Classify(450, "4.2.0", "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted")
	fmt.Println(cat, perm)
	// Output: greylisted temporary
}

func ExampleFormatDelay() {
	for _, d := range []time.Duration{6140 * time.Millisecond, 450 * time.Millisecond, 3 * time.Millisecond} {
		fmt.Println(report.FormatDelay(d))
	}
	// Output:
	// 6.1
	// 0.45
	// 0
}

func ExampleExplainText() {
	e, err := report.ExplainText("to=<a@example.org>, relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.1.0, status=bounced (Domain example.org does not accept mail (nullMX))")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Status, e.DSN, e.Category, e.Permanence)
	// Output: bounced 5.1.0 null-mx permanent
}

func ExampleParsePostfixLine() {
	pl, err := report.ParsePostfixLine("Nov  4 20:53:55 vml000087 postfix/lmtp[4942]: 8EC29C00088: to=<django@nausch.org>, relay=10.0.0.77[10.0.0.77]:24, delay=0.07, delays=0.02/0.02/0/0.03, dsn=2.1.5, status=deliverable (250 2.1.5 OK)")
	if err != nil {
		panic(err)
	}
	fmt.Println(pl.QueueID, pl.To, pl.Relay, pl.Status, pl.Reply)
	// Output: 8EC29C00088 django@nausch.org 10.0.0.77[10.0.0.77]:24 deliverable 250 2.1.5 OK
}
