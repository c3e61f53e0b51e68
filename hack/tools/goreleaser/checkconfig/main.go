// Command checkconfig loads a GoReleaser configuration with GoReleaser's
// own loader (github.com/goreleaser/goreleaser/v2/pkg/config, strict: an
// unknown or misplaced key fails), the first thing `goreleaser check` and
// every goreleaser run do. It builds in seconds where GoReleaser itself (1800
// packages) takes many minutes, so `make lint-ci` runs it on every change.
package main

import (
	"fmt"
	"os"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

func main() {
	file := ".goreleaser.yaml"
	if len(os.Args) > 1 {
		file = os.Args[1]
	}
	p, err := config.Load(file)
	if err == nil && p.Version != 2 {
		err = fmt.Errorf("version: %d, want 2", p.Version)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
		os.Exit(1)
	}
	fmt.Printf("%s: valid GoReleaser v2 configuration (%d builds, %d archives, %d krews)\n", file, len(p.Builds), len(p.Archives), len(p.Krews))
}
