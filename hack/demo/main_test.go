package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestDemoSmoke starts the demo stack as `make demo` does and checks what it
// tells the user, that `kubectl konnect init` ran against it and the data
// plane connected, then that the token file is private. The default profile
// is what `make demo` runs; the others are what -profile offers.
func TestDemoSmoke(t *testing.T) {
	for _, p := range testenv.Profiles {
		t.Run(string(p), func(t *testing.T) { demoSmoke(t, p) })
	}
}

func demoSmoke(t *testing.T, p testenv.Profile) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-smoke", "-dir", dir, "-profile", string(p)}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := stdout.String()
	require.Contains(t, out, "source "+filepath.Join(dir, "env"))
	envFile, err := os.ReadFile(filepath.Join(dir, "env"))
	require.NoError(t, err)
	require.Contains(t, string(envFile), "export KUBECONFIG="+filepath.Join(dir, "kubeconfig"))
	require.Contains(t, out, "kube-apiserver v1.37.2")
	require.Regexp(t, `kubectl sees \d+ konghq.com CRDs`, out)
	// init ran: the command, its summary, and the data plane in Konnect.
	require.Contains(t, out, "$ kubectl konnect init --kubeconfig "+filepath.Join(dir, "kubeconfig")+" -n demo --control-plane demo-gateway")
	require.Contains(t, out, "dataplane.gateway-operator.konghq.com/demo-gateway created")
	require.Regexp(t, `endpoint:  https://[0-9a-f]{10}\.us\.cp0\.konghq\.com`, out)
	require.Contains(t, out, "kubectl konnect check -n demo")
	require.Regexp(t, `Data plane connected: Konnect control plane "demo-gateway" \([0-9a-f-]{36}\) sees node demo-gateway-0`, out)
	require.Contains(t, stderr.String(), "Konnect token (from --token-file")
	// make demo shows the webhook's denial, in KGO's words with the fix.
	require.Contains(t, out, `The KongService "echo" is invalid`)
	require.Contains(t, out, "[KON1001] Attaching to ControlPlane demo/kic-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported")
	require.Contains(t, out, "Fix: ")
	// Both roads to Konnect: the Gateway API one from kong-operator 2.1 on.
	if p.Generation().AtLeast(rules.GenerationKO21) {
		require.Contains(t, out, "$ kubectl konnect init --kubeconfig "+filepath.Join(dir, "kubeconfig")+" -n demo-gateway --gateway demo-edge")
		require.Contains(t, out, "gateway.gateway.networking.k8s.io/demo-edge created")
		require.Contains(t, out, "Gateway demo-gateway/demo-edge is Programmed")
		require.Contains(t, out, "httproute.gateway.networking.k8s.io/echo created")
		require.Regexp(t, `√ .*HTTPRoute demo-gateway/echo`, out, "check --gateway follows the HTTPRoute to Konnect")
	} else {
		require.Contains(t, out, "The Gateway API road (init --gateway) needs kong-operator 2.1 or later")
	}
	token, err := os.ReadFile(filepath.Join(dir, "konnect-token"))
	require.NoError(t, err)
	require.NotContains(t, out+stderr.String(), string(bytes.TrimSpace(token)), "the token must never be printed")
	fi, err := os.Stat(filepath.Join(dir, "konnect-token"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
