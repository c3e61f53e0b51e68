package rules

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDocsRulesMDIsUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "rules.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `go generate ./pkg/rules`", err)
	}
	if string(got) != string(Markdown()) {
		t.Fatalf("docs/rules.md is out of date: run `go generate ./pkg/rules` (or `go run ./pkg/rules/cmd/gen-catalogue`)")
	}
}
