package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestKGO1ControlPlaneOnKongOperator2: a KGO 1.x manifest (v1alpha1
// KonnectGatewayControlPlane with spec.name) applied with kubectl on
// kong-operator 2.2 is converted as a real install converts it: read as
// v1alpha2 it has spec.createControlPlaneRequest.name, and init, check and
// cert issue accept it.
func TestKGO1ControlPlaneOnKongOperator2(t *testing.T) {
	installPlugin(t)
	env := testenv.Shared(t, testenv.KO22)
	ns := env.Namespace(t)
	name := "v1-" + ns
	objs := seedBaseFor(testenv.KGO16, env.Token, name, "", "unused", "unused")[:3] // token Secret, auth, v1alpha1 control plane
	require.Equal(t, "konnect.konghq.com/v1alpha1", objs[2]["apiVersion"])
	env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")

	v2 := env.MustKubectl(t, "", "get", "-n", ns, "konnectgatewaycontrolplanes.v1alpha2.konnect.konghq.com", "gateway-cp", "-o", "jsonpath={.spec.createControlPlaneRequest.name}")
	require.Equal(t, name, strings.TrimSpace(v2))
	v1 := env.MustKubectl(t, "", "get", "-n", ns, "konnectgatewaycontrolplanes.v1alpha1.konnect.konghq.com", "gateway-cp", "-o", "jsonpath={.spec.name}")
	require.Equal(t, name, strings.TrimSpace(v1))
	env.WaitFor(t, controlPlaneGVK(env.Profile), ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))

	cli := initCLI{env: env, binDir: initPluginDir(t)}
	res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us")
	// The release is read from the CRD kong-operator 2.2.3 installs (its version annotation).
	const release = "kong-operator 2.2 (the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is v2.2.3)"
	require.Contains(t, res.stderr, strings.Replace(release, " (", " API (", 1))
	image := env.MustKubectl(t, "", "get", "-n", ns, "dataplanes.gateway-operator.konghq.com", "-o", "jsonpath={.items[*].spec.deployment.podTemplateSpec.spec.containers[0].image}")
	require.Equal(t, "kong/kong-gateway:3.14", strings.TrimSpace(image), "the Kong Gateway of kong-operator 2.2's samples")
	// init returns once it has written; the data plane connects after (the
	// stand-in, like KGO, marks it Ready when the extension is), as in TestInit.
	initWaitConnected(t, env, initCPID(t, env, ns, "gateway-cp"))
	env.WaitFor(t, testenv.GVKDataPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Ready", "True"))
	out, errOut, code := konnectCLI(t, env, "", ns, "check", "--control-plane", "gateway-cp")
	require.NotEqual(t, 1, code, "check:\n%s\n%s", out, errOut)
	require.Contains(t, out, "ko-2.2: "+release)
	mustKonnect(t, env, ns, "cert", "issue", "dp-extra", "--control-plane", "gateway-cp")
}
