// Command kubectl-konnect is the kubectl plugin: with the binary on PATH, run it as `kubectl konnect`.
package main

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/root"
)

func main() {
	cmd := root.NewCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		// Commands may choose their exit code (e.g. 124 on a timeout, like
		// timeout(1)); everything else is 1.
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}
