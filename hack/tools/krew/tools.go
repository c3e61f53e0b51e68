//go:build tools

// Package tools pins krew, which the krew end-to-end test builds (once, into
// bin/tools) to install our release archive the way users do. A module of its
// own: krew v0.4.3's dependencies never touch the project's go.mod.
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
