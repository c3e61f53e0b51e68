package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// applyOneByOne applies objects with kubectl in order, each after the
// webhook's cache has seen the previous ones (a user applying files one by
// one), and returns kubectl's stderr of every apply.
func applyOneByOne(t *testing.T, env *testenv.Env, ns string, objs ...obj) string {
	t.Helper()
	var stderr strings.Builder
	for _, o := range objs {
		_, errOut, err := env.Kubectl(context.Background(), manifest(t, o), "apply", "-n", ns, "-f", "-")
		require.NoError(t, err, errOut)
		stderr.WriteString(errOut)
		u := &unstructured.Unstructured{Object: o}
		env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), ns, u.GetName())
	}
	return stderr.String()
}

// TestWebhookAdmitsTheSeedWorkflowWithoutWarnings: valid objects of every
// generation pass the webhook with no warning.
func TestWebhookAdmitsTheSeedWorkflowWithoutWarnings(t *testing.T) {
	for _, p := range webhookProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server
			env := testenv.SharedWithWebhook(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			konnectName := "wh-" + ns
			stderr := applyOneByOne(t, env, ns, seedBaseFor(p, env.Token, konnectName, "", crt, key)...)
			env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			konnectCP, ok := env.Konnect.ControlPlaneByName(konnectName)
			require.True(t, ok)
			stderr += applyOneByOne(t, env, ns, extension(p, konnectCP.ControlPlaneEndpoint), dataPlane(p))
			require.NotContains(t, stderr, "Warning", "valid objects must pass with no warning")
			env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
		})
	}
}

// TestWebhookDeniesKongServiceOnKICControlPlane is the seed's KIC case moved
// to admission time: kubectl apply fails with exit code 1, KGO's message and
// the fix.
func TestWebhookDeniesKongServiceOnKICControlPlane(t *testing.T) {
	for _, p := range webhookProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.SharedWithWebhook(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			objs := seedBaseFor(p, env.Token, "kic-"+ns, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", crt, key)
			applyOneByOne(t, env, ns, objs[:3]...) // token, auth, KIC control plane

			out, errOut, err := env.Kubectl(context.Background(), manifest(t, objs[5]), "apply", "-n", ns, "-f", "-")
			require.Error(t, err, "kubectl apply must fail; stdout: %s", out)
			require.Equal(t, 1, exitCode(err))
			require.Contains(t, errOut, `The KongService "echo" is invalid`)
			require.Contains(t, errOut, fmt.Sprintf("[KON1001] Attaching to ControlPlane %s/gateway-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported", ns))
			require.Contains(t, errOut, "spec.controlPlaneRef.konnectNamespacedRef.name")
			require.Contains(t, errOut, "Fix: ")
			_, getErr := env.Get(context.Background(), testenv.GVKKongService, ns, "echo")
			require.Error(t, getErr, "the denied KongService must not exist")
		})
	}
}

// TestWebhookAdmitsDataPlaneCertificateOnGroupOnKO22: kong-operator 2.2 and
// later register data-plane certificates on control plane groups
// (handleControlPlaneRef exempts the kind from v2.2.0, Kong/kong-operator#3711),
// so KON1006 (KGO 1.x to kong-operator 2.1) stays silent there, and the
// stand-in programs the certificate in Konnect.
func TestWebhookAdmitsDataPlaneCertificateOnGroupOnKO22(t *testing.T) {
	env := testenv.SharedWithWebhook(t, testenv.KO22)
	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	objs := seedBaseFor(testenv.KO22, env.Token, "group-"+ns, "CLUSTER_TYPE_CONTROL_PLANE_GROUP", crt, key)
	stderr := applyOneByOne(t, env, ns, objs[:4]...) // token, auth, group control plane, certificate on it
	require.NotContains(t, stderr, "Warning")
	cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
	env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-cert", waitTimeout, testenv.HasCondition("Programmed", "True"))
	cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	require.Len(t, env.Konnect.DPCertificates(cpID), 1, "registered on the group in Konnect")
}

func exitCode(err error) int {
	if e, ok := err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	return -1
}
