//go:build tools

// Package tools pins GoReleaser, which `make dist` builds (once, into
// bin/tools) to run a snapshot release. A module of its own: GoReleaser's
// large dependency tree never touches the project's go.mod.
package tools

import _ "github.com/goreleaser/goreleaser/v2"
