package fakemta_test

import (
	"bufio"
	"fmt"
	"net"

	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// Serve one of the shipped hostile scripts and read its greeting.
func ExampleStartScript() {
	s, err := fakemta.StartScript("drop-after-greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	greeting, _ := r.ReadString('\n')
	_, err = r.ReadString('\n')
	fmt.Printf("%q then %v\n", greeting, err)
	// Output:
	// "220 drop.lab.test ESMTP\r\n" then EOF
}
