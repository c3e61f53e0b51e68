package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/check"
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
			env := testenv.SharedWithWebhook(t, p) // all green includes the webhook
			cli := initCLI{env: env, binDir: bin}

			t.Run("AllGoodThenRouteNotAcceptedThenTokenRevoked", func(t *testing.T) {
				ns := env.Namespace(t)
				gw, token := gatewayWithRoute(t, env, cli, ns)
				rep := gatewayCheck(t, env, ns, nil, "gateway-all-good."+string(p), 0, "--gateway", gw)
				require.Zero(t, rep.Summary.Fail+rep.Summary.Warn, "all good: no failure, no warning")
				requireStatus(t, rep, map[string]check.Status{
					check.IDGatewayProgrammed: check.Pass, check.IDHTTPRoutesAccepted: check.Pass, check.IDHTTPRoutesProgrammed: check.Pass,
					check.IDDataPlaneConnected: check.Pass,
				})
				// The same through kubectl and the built plugin.
				out, stderr, code := kubectlKonnectCheck(t, env, bin, ns, "--gateway", gw)
				require.Equal(t, 0, code, "%s\n%s", out, stderr)
				require.Contains(t, out, "HTTPRoute "+ns+"/echo")

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
				rep = gatewayCheck(t, env, ns, nil, "gateway-route-not-accepted."+string(p), 1, "--gateway", gw)
				requireStatus(t, rep, map[string]check.Status{check.IDHTTPRoutesAccepted: check.Fail, check.IDGatewayProgrammed: check.Pass})
				got, _ := rep.Find(check.IDHTTPRoutesAccepted)
				require.Contains(t, got.Message, ns+"/typo")
				require.Contains(t, got.Message, "NoMatchingParent")
				env.MustKubectl(t, "", "delete", "httproute", "typo", "-n", ns)

				// The token revoked in Konnect: the Gateway stays Programmed, the check says where it breaks.
				env.Konnect.RevokeToken(token)
				rep = gatewayCheck(t, env, ns, nil, "gateway-token-revoked."+string(p), 1, "--gateway", gw)
				requireStatus(t, rep, map[string]check.Status{check.IDGatewayProgrammed: check.Pass, check.IDAuthTokenValid: check.Fail})
			})

			t.Run("GrantMissingThenGiven", func(t *testing.T) {
				authNS, gwNS := env.Namespace(t), env.Namespace(t)
				gw := "gw-" + gwNS
				gatewayAcrossNamespaces(t, env, authNS, gwNS, gw)
				g := env.WaitFor(t, gvkGateway, gwNS, gw, waitTimeout, testenv.HasCondition("KonnectGatewayControlPlaneProgrammed", "False"))
				cp := gatewayControlPlaneOf(t, env, gwNS, g)
				env.WaitFor(t, gvkControlPlaneV1alpha2, gwNS, cp.GetName(), waitTimeout, testenv.HasCondition("APIAuthResolvedRef", "False"))
				rep := gatewayCheck(t, env, gwNS, []string{authNS}, "gateway-grant-missing."+string(p), 1, "--gateway", gw)
				requireStatus(t, rep, map[string]check.Status{check.IDGatewayConfiguration: check.Fail})
				got, _ := rep.Find(check.IDGatewayConfiguration)
				require.Contains(t, got.Message, "KongReferenceGrant")

				// The grant: kong-operator grants its control plane the reference too, and goes on.
				env.MustKubectl(t, manifest(t, authGrant(authNS, gwNS)), "apply", "-f", "-")
				env.WaitFor(t, gvkGateway, gwNS, gw, waitTimeout, testenv.HasCondition("Programmed", "True"))
				out, stderr, code := runCheck(t, env, gwNS, "--gateway", gw, "--wait", "1m")
				require.Equal(t, 0, code, "with the grant, the chain is whole:\n%s\n%s", out, stderr)
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
		obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta("konnect-token", obj{"labels": obj{"konghq.com/credential": "konnect", "konghq.com/secret": "true"}}),
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

var reGenerated = regexp.MustCompile(`(gw-NAMESPACE)-[a-z0-9]{5}\b`)

// gatewayCheck is checkBoth for a Gateway, whose golden files must hide
// more than one namespace (the auth's, in the cross-namespace case).
func gatewayCheck(t *testing.T, env *testenv.Env, ns string, otherNS []string, name string, wantExit int, args ...string) *check.Report {
	t.Helper()
	norm := func(s string) string {
		for i, o := range otherNS {
			s = strings.ReplaceAll(s, o, "NAMESPACE"+string(rune('B'+i)))
		}
		// kong-operator names the KonnectExtension (and so its certificate)
		// with generateName: five random characters.
		return reGenerated.ReplaceAllString(normalizeCheck(s, ns), "${1}-RAND5")
	}
	table, stderr, code := runCheck(t, env, ns, args...)
	require.Equal(t, wantExit, code, "exit code of -o table\nstdout: %s\nstderr: %s", table, stderr)
	js, stderr, code := runCheck(t, env, ns, append(args, "-o", "json")...)
	require.Equal(t, wantExit, code, "exit code of -o json\nstdout: %s\nstderr: %s", js, stderr)
	require.NotContains(t, table+js, env.Token, "the token must never be printed")
	golden(t, name+".txt", norm(table))
	golden(t, name+".json", norm(js))
	var rep check.Report
	require.NoError(t, json.Unmarshal([]byte(js), &rep))
	require.Equal(t, wantExit == 1, rep.Failed())
	return &rep
}
