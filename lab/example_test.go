package lab_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/mailprobe/mailprobe/lab"
)

// Start a lab, look up a scenario and read what its MX says on
// connecting. Everything stays on 127.0.0.0/8.
func ExampleStart() {
	l, err := lab.Start(context.Background(), lab.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	sc, _ := l.Scenario("connection-slots")
	fmt.Println(sc.Target, sc.Want.Status, sc.Want.DSN, sc.Want.Category)
	fmt.Println(sc.Want.Reason)

	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.15", strconv.Itoa(l.Port())))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	greeting, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Println(strings.TrimRight(greeting, "\r\n"))
	fmt.Println("DATA seen:", l.SawVerb("DATA"))
	// Output:
	// alice@busy.lab.test deferred 4.0.0 connection-limit
	// host mx1.busy.lab.test[127.0.0.15] refused to talk to me: 421 mx1.busy.lab.test out of connection slots
	// 421 mx1.busy.lab.test out of connection slots
	// DATA seen: false
}
