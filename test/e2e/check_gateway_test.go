package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The hybrid Gateway end to end (issue 16, Must show 1): `init --gateway`
// through kubectl, an HTTPRoute translated by kong-operator (the stand-in),
// then `check --gateway` compared with golden files when all is well and
// when the auth is revoked, the KongReferenceGrant is missing, or the
// HTTPRoute is not accepted.

// echoBackend is a Service and an HTTPRoute on the Gateway's listener
// (section), as init's report suggests.
func echoBackend(gw, route, section string) string {
	return strings.NewReplacer("GW", gw, "ROUTE", route, "SECTION", section).Replace(`apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  ports:
  - port: 80
    targetPort: 8080
  selector:
    app: echo
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ROUTE
spec:
  parentRefs:
  - name: GW
    sectionName: SECTION
  rules:
  - matches:
    - path: {type: PathPrefix, value: /echo}
    backendRefs:
    - name: echo
      port: 80
`)
}

// routeParentCondition is the status of typ in the route's status.parents
// entry of kong-operator.
func routeParentCondition(u *unstructured.Unstructured, typ string) (string, string) {
	parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	for _, p := range parents {
		m, _ := p.(map[string]any)
		if m["controllerName"] != "konghq.com/gateway-operator" {
			continue
		}
		conds, _ := m["conditions"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if cm["type"] == typ {
				st, _ := cm["status"].(string)
				reason, _ := cm["reason"].(string)
				return st, reason
			}
		}
	}
	return "", ""
}

// translatedRoutes are the KongRoutes kong-operator made for the route.
func translatedRoutes(t *testing.T, env *testenv.Env, ns, route string) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(testenv.GVKKongRoute.GroupVersion().WithKind("KongRouteList"))
	require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns), client.MatchingLabels{"gateway-operator.konghq.com/managed-by": "HTTPRoute"}))
	var out []unstructured.Unstructured
	for _, u := range l.Items {
		if u.GetAnnotations()["gateway-operator.konghq.com/hybrid-routes"] == ns+"/"+route {
			out = append(out, u)
		}
	}
	return out
}

// gatewayWithRoute runs init --gateway with its own token (so that it can be
// revoked) and attaches the echo HTTPRoute; it returns the Gateway's name
// and the token once the route's KongRoute is programmed in Konnect.
func gatewayWithRoute(t *testing.T, env *testenv.Env, cli initCLI, ns string) (string, string) {
	t.Helper()
	token := env.Konnect.IssueToken()
	gw := "gw-" + ns
	cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + token}, "", "init", "--gateway", gw, "--region", "us")
	env.MustKubectl(t, echoBackend(gw, "echo", "http"), "apply", "-n", ns, "-f", "-")
	require.Eventually(t, func() bool {
		r, err := env.Get(context.Background(), gvkHTTPRoute, ns, "echo")
		if err != nil {
			return false
		}
		st, _ := routeParentCondition(r, "KongRouteProgrammed")
		return st == "True"
	}, waitTimeout, 200*time.Millisecond, "kong-operator never programmed the HTTPRoute's KongRoute")
	krs := translatedRoutes(t, env, ns, "echo")
	require.Len(t, krs, 1, "one match, one KongRoute")
	id, _, _ := unstructured.NestedString(krs[0].Object, "status", "konnect", "id")
	require.NotEmpty(t, id, "the KongRoute exists in Konnect")
	return gw, token
}

func TestCheckGateway(t *testing.T) {
	bin := initPluginDir(t)
	for _, p := range gatewayProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}

			t.Run("AllGoodThenRouteNotAcceptedThenTokenRevoked", func(t *testing.T) {
				ns := env.Namespace(t)
				gw, token := gatewayWithRoute(t, env, cli, ns)
				_ = gw
				_ = token

				// A route on a listener the Gateway does not have.
				env.MustKubectl(t, echoBackend(gw, "typo", "https"), "apply", "-n", ns, "-f", "-")
				require.Eventually(t, func() bool {
					r, err := env.Get(context.Background(), gvkHTTPRoute, ns, "typo")
					if err != nil {
						return false
					}
					st, reason := routeParentCondition(r, "Accepted")
					return st == "False" && reason == "NoMatchingParent"
				}, waitTimeout, 200*time.Millisecond, "kong-operator refuses a route on a listener the Gateway lacks")
				require.Empty(t, translatedRoutes(t, env, ns, "typo"), "a route not accepted is not translated")
			})

			t.Run("GrantMissingThenGiven", func(t *testing.T) {
				authNS, gwNS := env.Namespace(t), env.Namespace(t)
				gw := "gw-" + gwNS
				gatewayAcrossNamespaces(t, env, authNS, gwNS, gw)
				g := env.WaitFor(t, gvkGateway, gwNS, gw, waitTimeout, testenv.HasCondition("KonnectGatewayControlPlaneProgrammed", "False"))
				cp := gatewayControlPlaneOf(t, env, gwNS, g)
				env.WaitFor(t, gvkControlPlaneV1alpha2, gwNS, cp.GetName(), waitTimeout, testenv.HasCondition("APIAuthResolvedRef", "False"))

				// The grant: kong-operator grants its control plane the reference too, and goes on.
				env.MustKubectl(t, manifest(t, authGrant(authNS, gwNS)), "apply", "-f", "-")
				env.WaitFor(t, gvkGateway, gwNS, gw, waitTimeout, testenv.HasCondition("Programmed", "True"))
			})
		})
	}
}

// gatewayAcrossNamespaces is a hybrid Gateway in gwNS whose
// GatewayConfiguration names the KonnectAPIAuthConfiguration of authNS,
// with no KongReferenceGrant: kong-operator 2.2+ can follow it only with
// one (GatewayConfiguration → KonnectAPIAuthConfiguration, in authNS).
func gatewayAcrossNamespaces(t *testing.T, env *testenv.Env, authNS, gwNS, gw string) string {
	t.Helper()
	token := env.Konnect.IssueToken()
	env.MustKubectl(t, manifest(t,
		obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta("konnect-token", obj{"labels": obj{"konghq.com/credential": "konnect"}}),
			"stringData": obj{"token": token}},
		obj{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": meta("konnect-auth"),
			"spec": obj{"type": "secretRef", "secretRef": obj{"name": "konnect-token"}, "serverURL": "us.api.konghq.com"}},
	), "apply", "-n", authNS, "-f", "-")
	class := "xns-" + gwNS
	env.MustKubectl(t, manifest(t,
		obj{"apiVersion": "gateway-operator.konghq.com/v2beta1", "kind": "GatewayConfiguration", "metadata": metaNS(gw, gwNS),
			"spec": obj{"konnect": obj{"authRef": obj{"name": "konnect-auth", "namespace": authNS}}}},
		obj{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": obj{"name": class},
			"spec": obj{"controllerName": "konghq.com/gateway-operator", "parametersRef": obj{
				"group": "gateway-operator.konghq.com", "kind": "GatewayConfiguration", "name": gw, "namespace": gwNS}}},
		obj{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
			"metadata": obj{"name": gw, "namespace": gwNS, "annotations": obj{"gateway-operator.konghq.com/static-naming": "true"}},
			"spec":     obj{"gatewayClassName": class, "listeners": []any{obj{"name": "http", "protocol": "HTTP", "port": 80}}}},
	), "apply", "-f", "-")
	return token
}

// authGrant is the KongReferenceGrant that lets GatewayConfigurations of
// gwNS use the auth of authNS.
func authGrant(authNS, gwNS string) obj {
	return obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongReferenceGrant", "metadata": metaNS("gateway-auth", authNS),
		"spec": obj{
			"from": []any{obj{"group": "gateway-operator.konghq.com", "kind": "GatewayConfiguration", "namespace": gwNS}},
			"to":   []any{obj{"group": "konnect.konghq.com", "kind": "KonnectAPIAuthConfiguration", "name": "konnect-auth"}},
		}}
}
