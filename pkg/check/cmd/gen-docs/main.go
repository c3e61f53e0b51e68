// Command gen-docs writes docs/check.md, the page the hints of
// `kubectl konnect check` link to, from pkg/check's catalogue.
//
//	go run ./pkg/check/cmd/gen-docs [-o docs/check.md]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/check"
)

func main() {
	out := flag.String("o", "docs/check.md", "file to write; - for stdout")
	flag.Parse()
	doc := check.Markdown()
	if *out == "-" {
		_, _ = os.Stdout.Write(doc)
		return
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen-docs:", err)
		os.Exit(1)
	}
}
