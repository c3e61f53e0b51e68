//go:build tools

// Package tools pins actionlint, which `make lint-ci` builds (once, into
// bin/tools) to check .github/workflows. A module of its own, so its
// dependencies never touch the project's go.mod.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
