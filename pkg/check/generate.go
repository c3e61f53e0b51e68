package check

//go:generate go run ./cmd/gen-docs -o ../../docs/check.md
