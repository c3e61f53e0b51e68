// Package config embeds the webhook's kustomize manifests, so that
// `kubectl konnect webhook install` renders exactly what
// `kubectl apply -k config/default` (or config/cert-manager) applies.
package config

import "embed"

// FS holds base/, default/ and cert-manager/ as they are in the repository.
//
//go:embed base/*.yaml default/*.yaml cert-manager/*.yaml
var FS embed.FS
