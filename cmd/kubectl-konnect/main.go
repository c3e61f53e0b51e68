// Command kubectl-konnect is the kubectl plugin: with the binary on PATH, run it as `kubectl konnect`.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/root"
)

func main() {
	cmd := root.NewCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
