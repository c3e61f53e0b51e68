package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The tests of issue 4 (`kubectl konnect init`). TestInit runs the plugin as users do: built once
// into its temporary folder, on PATH, through the real kubectl, against the test ground of each CRD
// profile with the KGO stand-in and the fake Konnect.

// cpIDOf returns status.id of the KonnectGatewayControlPlane.
func initCPID(t *testing.T, env *testenv.Env, ns, name string) string {
	t.Helper()
	cp, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, name)
	require.NoError(t, err)
	id, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	require.NotEmpty(t, id)
	return id
}

func initWaitConnected(t *testing.T, env *testenv.Env, cpID string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) > 0 }, waitTimeout, 100*time.Millisecond,
		"the data plane never connected to control plane %s in Konnect", cpID)
}

func TestInit(t *testing.T) {
	bin := initPluginDir(t)
	for _, p := range testenv.Profiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}

			t.Run("FullInitConnectsAndReRunWritesNothing", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "init-" + ns
				tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
				res := cli.mustRun(t, ns, tokenEnv, "", "init", "--control-plane", name, "--region", "us")
				t.Logf("first run:\n%s", res)
				require.NotContains(t, res.stdout+res.stderr, env.Token, "the token must never be printed")
				for _, want := range []string{
					"secret/konnect-auth-token created",
					"konnectapiauthconfiguration.konnect.konghq.com/konnect-auth created",
					"konnectgatewaycontrolplane.konnect.konghq.com/" + name + " created",
					"secret/" + name + "-dp-cert created",
					"dataplane.gateway-operator.konghq.com/" + name + " created",
					"kubectl konnect check -n " + ns,
				} {
					require.Contains(t, res.stdout, want)
				}
				cpID := initCPID(t, env, ns, name)
				kcp, ok := env.Konnect.ControlPlaneByName(name)
				require.True(t, ok)
				require.Equal(t, kcp.ID, cpID)
				require.Contains(t, res.stdout, kcp.ControlPlaneEndpoint)
				require.Len(t, env.Konnect.DPCertificates(cpID), 1)
				initWaitConnected(t, env, cpID)

				// A re-run, with the token from the Secret the first run stored: zero writes.
				before := initSnapshot(t, env, ns)
				reqs := len(env.Konnect.Requests())
				res = cli.mustRun(t, ns, nil, "", "init", "--control-plane", name)
				t.Logf("re-run:\n%s", res)
				require.Equal(t, before, initSnapshot(t, env, ns), "a re-run must not write anything")
				require.Empty(t, initKonnectWrites(env, reqs), "a re-run must not write to Konnect")
				require.Contains(t, res.stdout, "nothing was written")
				require.NotContains(t, res.stdout, " created")
			})
		})
	}
}

var _ = strings.Contains
