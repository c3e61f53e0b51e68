// Command webhook is kubectl-konnect's validating admission webhook.
//
// The server itself lands with the webhook issue (#5); until then this
// binary refuses to start rather than pretend to validate anything.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "webhook: not implemented yet (see issue #5); refusing to start")
	os.Exit(1)
}
