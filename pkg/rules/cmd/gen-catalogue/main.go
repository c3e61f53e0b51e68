// Command gen-catalogue writes the rule catalogue document (docs/rules.md)
// from pkg/rules, so that the document cannot drift from the code.
//
//	go run ./pkg/rules/cmd/gen-catalogue [-o docs/rules.md]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

func main() {
	out := flag.String("o", "docs/rules.md", "file to write; - for stdout")
	flag.Parse()
	doc := rules.Markdown()
	if *out == "-" {
		_, _ = os.Stdout.Write(doc)
		return
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen-catalogue:", err)
		os.Exit(1)
	}
}
