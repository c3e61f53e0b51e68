// Package e2e runs end-to-end tests on the local test ground: a real
// kube-apiserver with each CRD profile, the real kubectl, the fake Konnect
// and the KGO stand-in.
package e2e

import (
	"os"
	"testing"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunMain(m)) }
