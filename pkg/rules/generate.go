package rules

//go:generate go run ./cmd/gen-catalogue -o ../../docs/rules.md
