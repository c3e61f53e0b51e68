//go:build tools

// Package tools pins the modules that build the envtest binaries (kube-apiserver, etcd).
// It is a separate module so that k8s.io/kubernetes' replace lines never pin the project's own k8s.io versions.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
