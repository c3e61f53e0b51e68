package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

const waitTimeout = 30 * time.Second

type obj = map[string]any

// manifest renders objects as the multi-document YAML a user would write.
func manifest(t testing.TB, objs ...obj) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		require.NoError(t, err)
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

func meta(name string, extra ...obj) obj {
	m := obj{"name": name}
	for _, e := range extra {
		for k, v := range e {
			m[k] = v
		}
	}
	return m
}

func cpRef(name string) obj {
	return obj{"type": "konnectNamespacedRef", "konnectNamespacedRef": obj{"name": name}}
}

// controlPlane is a KonnectGatewayControlPlane "name" of the profile's
// generation: v1alpha1 keeps the Konnect request in spec, v1alpha2 (ko-2.0)
// in spec.createControlPlaneRequest.
func controlPlane(p testenv.Profile, name, konnectName, clusterType string) obj {
	req := obj{"name": konnectName}
	if clusterType != "" {
		req["cluster_type"] = clusterType
	}
	auth := obj{"authRef": obj{"name": "konnect-auth"}}
	if p.KongOperator2() {
		return obj{"apiVersion": "konnect.konghq.com/v1alpha2", "kind": "KonnectGatewayControlPlane", "metadata": meta(name),
			"spec": obj{"source": "Origin", "createControlPlaneRequest": req, "konnect": auth}}
	}
	req["konnect"] = auth
	return obj{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectGatewayControlPlane", "metadata": meta(name), "spec": req}
}

// konnectVersion is the konnect.konghq.com version of the profile's
// KonnectGatewayControlPlane and KonnectExtension: kong-operator 2.x's are
// v1alpha2 (their v1alpha1 control plane converts to v1alpha2).
func konnectVersion(p testenv.Profile) string {
	if p.KongOperator2() {
		return kgoapi.V1Alpha2
	}
	return kgoapi.V1Alpha1
}

// mirrorControlPlane is a KonnectGatewayControlPlane "name" of the profile's
// version that mirrors Konnect control plane id (KGO >= 1.5).
func mirrorControlPlane(p testenv.Profile, name, id string) obj {
	return kgoapi.NewMirrorControlPlane(konnectVersion(p), "", name, id, "konnect-auth").Object
}

// seedBaseFor is the first half of the manual workflow (facts doc steps 1-3
// and 7) in the profile's API: token Secret, auth, control plane,
// data-plane certificate and its TLS Secret, and a KongService with a
// KongRoute.
func seedBaseFor(p testenv.Profile, token, konnectName, clusterType, crt, key string) []obj {
	return []obj{
		{"apiVersion": "v1", "kind": "Secret", "metadata": meta("konnect-token", obj{"labels": obj{"konghq.com/credential": "konnect", "konghq.com/secret": "true"}}),
			"stringData": obj{"token": token}},
		{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": meta("konnect-auth"),
			"spec": obj{"type": "secretRef", "secretRef": obj{"name": "konnect-token"}, "serverURL": "us.api.konghq.com"}},
		controlPlane(p, "gateway-cp", konnectName, clusterType),
		{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongDataPlaneClientCertificate", "metadata": meta("dp-cert"),
			"spec": obj{"controlPlaneRef": cpRef("gateway-cp"), "cert": crt}},
		{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": meta("dp-tls", obj{"labels": obj{"konghq.com/secret": "true", "konghq.com/konnect-dp-cert": "true"}}),
			"stringData": obj{"tls.crt": crt, "tls.key": key}},
		{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongService", "metadata": meta("echo"),
			"spec": obj{"name": "echo", "controlPlaneRef": cpRef("gateway-cp"), "host": "echo.default.svc", "port": 80, "protocol": "http"}},
		{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongRoute", "metadata": meta("echo"),
			"spec": obj{"name": "echo", "serviceRef": obj{"type": "namespacedRef", "namespacedRef": obj{"name": "echo"}}, "paths": []any{"/echo"}}},
	}
}

// extension is the KonnectExtension of the profile's generation (facts doc
// step 5). For KGO 1.4 konnectID is the endpoint prefix the user had to dig
// out of the Konnect API.
func extension(p testenv.Profile, endpoint string) obj {
	if p == testenv.KGO14 {
		u, _ := url.Parse(endpoint)
		// b89939e7f0.us.cp0.konghq.com -> prefix, region, server hostname.
		parts := strings.SplitN(u.Hostname(), ".", 4)
		return obj{"apiVersion": "gateway-operator.konghq.com/v1alpha1", "kind": "KonnectExtension", "metadata": meta("konnect-ext"),
			"spec": obj{
				"controlPlaneRef":                         obj{"type": "konnectID", "konnectID": parts[0]},
				"controlPlaneRegion":                      parts[1],
				"serverHostname":                          parts[3],
				"konnectControlPlaneAPIAuthConfiguration": obj{"clusterCertificateSecretRef": obj{"name": "dp-tls"}},
			}}
	}
	return obj{"apiVersion": "konnect.konghq.com/" + konnectVersion(p), "kind": "KonnectExtension", "metadata": meta("konnect-ext"),
		"spec": obj{
			"konnect":    obj{"controlPlane": obj{"ref": cpRef("gateway-cp")}},
			"clientAuth": obj{"certificateSecret": obj{"provisioning": "Manual", "secretRef": obj{"name": "dp-tls"}}},
		}}
}

func extensionGroup(p testenv.Profile) string {
	if p == testenv.KGO14 {
		return "gateway-operator.konghq.com"
	}
	return "konnect.konghq.com"
}

func dataPlane(p testenv.Profile) obj {
	return obj{"apiVersion": "gateway-operator.konghq.com/v1beta1", "kind": "DataPlane", "metadata": meta("dp"),
		"spec": obj{
			"extensions": []any{obj{"kind": "KonnectExtension", "name": "konnect-ext", "group": extensionGroup(p)}},
			"deployment": obj{"podTemplateSpec": obj{"spec": obj{"containers": []any{
				obj{"name": "proxy", "image": "kong/kong-gateway:3.9.1.0"},
			}}}},
		}}
}

// TestSeedWorkflow applies the manual Konnect workflow with kubectl, in the
// order a user does it, and checks that the stand-in programs every object
// and that the data plane ends up connected in the fake Konnect.
func TestSeedWorkflow(t *testing.T) {
	for _, p := range testenv.Profiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server and fake Konnect
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			ctx := context.Background()
			crt, key := selfSignedPair(t, "dp")
			konnectName := "seed-" + ns

			out := env.MustKubectl(t, manifest(t, seedBaseFor(p, env.Token, konnectName, "", crt, key)...), "apply", "-n", ns, "-f", "-")
			require.Contains(t, out, "kongroute.configuration.konghq.com/echo created")

			auth := env.WaitFor(t, testenv.GVKAuth, ns, "konnect-auth", waitTimeout, testenv.HasCondition("APIAuthValid", "True"))
			orgID, _, _ := unstructured.NestedString(auth.Object, "status", "organizationID")
			require.Equal(t, env.Konnect.DefaultOrganization().ID, orgID)

			cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
			konnectCP, ok := env.Konnect.ControlPlaneByName(konnectName)
			require.True(t, ok, "control plane %q not created in Konnect", konnectName)
			require.Equal(t, konnectCP.ID, cpID)

			env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-cert", waitTimeout, testenv.HasCondition("Programmed", "True"))
			certs := env.Konnect.DPCertificates(cpID)
			require.Len(t, certs, 1)
			require.Equal(t, strings.TrimSpace(crt), strings.TrimSpace(certs[0].Cert))

			env.WaitFor(t, testenv.GVKKongService, ns, "echo", waitTimeout, testenv.HasCondition("Programmed", "True"))
			route := env.WaitFor(t, testenv.GVKKongRoute, ns, "echo", waitTimeout, testenv.HasCondition("Programmed", "True"))
			routeCP, _, _ := unstructured.NestedString(route.Object, "status", "konnect", "controlPlaneID")
			require.Equal(t, cpID, routeCP)

			// Step 4 of the manual workflow: the endpoint comes from the
			// Konnect API, here read with the official SDK.
			res, err := env.Konnect.SDK(env.Token).ControlPlanes.GetControlPlane(ctx, cpID)
			require.NoError(t, err)
			endpoint := res.GetControlPlane().Config.ControlPlaneEndpoint

			out = env.MustKubectl(t, manifest(t, extension(p, endpoint), dataPlane(p)), "apply", "-n", ns, "-f", "-")
			require.Contains(t, out, "dataplane.gateway-operator.konghq.com/dp created")
			if p != testenv.KGO14 {
				ext := env.WaitFor(t, testenv.GVKKonnectExtension, ns, "konnect-ext", waitTimeout, testenv.HasCondition("Ready", "True"))
				got, _, _ := unstructured.NestedString(ext.Object, "status", "konnect", "endpoints", "controlPlane")
				require.Equal(t, endpoint, got)
			}
			env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
			require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) == 1 }, waitTimeout, 100*time.Millisecond,
				"the data plane never connected to Konnect")

			// kubectl sees what the stand-in wrote.
			got := env.MustKubectl(t, "", "get", "-n", ns, "konnectgatewaycontrolplanes.konnect.konghq.com", "gateway-cp",
				"-o", "jsonpath={.status.conditions[?(@.type==\"Programmed\")].status}")
			require.Equal(t, "True", got)
		})
	}
}

// TestSeedDataPlaneReadyButNotConnected is the trap the product exists for: a
// wrong endpoint prefix (KGO 1.4) or no registered certificate leaves the
// DataPlane Ready while it never reaches Konnect.
func TestSeedDataPlaneReadyButNotConnected(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			otherCrt, _ := selfSignedPair(t, "someone-else")
			konnectName := "unconnected-" + ns
			// The registered certificate is not the one the data plane uses.
			objs := seedBaseFor(p, env.Token, konnectName, "", otherCrt, key)
			objs[4]["stringData"] = obj{"tls.crt": crt, "tls.key": key}
			env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
			cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
			konnectCP, _ := env.Konnect.ControlPlaneByName(konnectName)

			env.MustKubectl(t, manifest(t, extension(p, konnectCP.ControlPlaneEndpoint), dataPlane(p)), "apply", "-n", ns, "-f", "-")
			env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
			time.Sleep(time.Second) // give a (wrong) connection time to happen
			require.Empty(t, env.Konnect.Nodes(cpID), "the data plane must not connect with an unregistered certificate")
		})
	}
}

// TestSeedKongServiceOnKICControlPlane: a KongService on a control plane of
// cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is accepted by kubectl and
// fails later in status: what the webhook moves to admission time.
func TestSeedKongServiceOnKICControlPlane(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			objs := seedBaseFor(p, env.Token, "kic-"+ns, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", crt, key)
			objs = append(objs[:3], objs[5])                                              // token, auth, control plane, KongService
			out := env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-") // accepted today
			require.Contains(t, out, "kongservice.configuration.konghq.com/echo created")

			env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			if p == testenv.KGO14 {
				// Wait past the transient "not programmed yet" to KGO's verdict.
				svc := env.WaitFor(t, testenv.GVKKongService, ns, "echo", waitTimeout, func(u *unstructured.Unstructured) bool {
					_, _, msg := testenv.Condition(u, "ControlPlaneRefValid")
					return strings.HasPrefix(msg, "Attaching")
				})
				_, reason, msg := testenv.Condition(svc, "ControlPlaneRefValid")
				require.Equal(t, "Invalid", reason)
				require.Equal(t, fmt.Sprintf("Attaching to ControlPlane %s/gateway-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported", ns), msg)
				status, _, _ := testenv.Condition(svc, "Programmed")
				require.Equal(t, "False", status)
				return
			}
			// KGO >= 1.5 does not check: it calls Konnect's core-entities API,
			// Konnect answers 403, and KGO sets Programmed=False, reason
			// FailedToCreate, with the SDK's error, and gives up.
			svc := env.WaitFor(t, testenv.GVKKongService, ns, "echo", waitTimeout, func(u *unstructured.Unstructured) bool {
				_, reason, _ := testenv.Condition(u, "Programmed")
				return reason == "FailedToCreate"
			})
			_, reason, msg := testenv.Condition(svc, "Programmed")
			require.Equal(t, "FailedToCreate", reason)
			require.Contains(t, msg, "Status 403")
			require.Contains(t, msg, `"message":"usage constraint error"`)
			require.Contains(t, msg, "operation not permitted on KIC cluster")
			kcp, ok := env.Konnect.ControlPlaneByName("kic-" + ns)
			require.True(t, ok)
			require.Empty(t, env.Konnect.Entities(kcp.ID, "services"), "Konnect refused the service")
			require.True(t, slices.ContainsFunc(env.Konnect.Requests(), func(r konnecttest.RequestRecord) bool {
				return r.Method == "POST" && r.Path == "/v2/control-planes/"+kcp.ID+"/core-entities/services" && r.Status == 403
			}), "the stand-in asked Konnect, as KGO does")
		})
	}
}

// TestSeedKongServiceWrittenThroughCoreEntities: on a hybrid control plane
// the KongService and its KongRoute are created in Konnect through
// /v2/control-planes/{id}/core-entities, as KGO does, and their status
// carries Konnect's IDs.
func TestSeedKongServiceWrittenThroughCoreEntities(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			objs := seedBaseFor(p, env.Token, "hybrid-"+ns, "", crt, key)
			objs = append(objs[:3], objs[5:]...) // token, auth, control plane, KongService, KongRoute
			env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
			svc := env.WaitFor(t, testenv.GVKKongService, ns, "echo", waitTimeout, testenv.HasCondition("Programmed", "True"))
			route := env.WaitFor(t, testenv.GVKKongRoute, ns, "echo", waitTimeout, testenv.HasCondition("Programmed", "True"))

			kcp, ok := env.Konnect.ControlPlaneByName("hybrid-" + ns)
			require.True(t, ok)
			services := env.Konnect.Entities(kcp.ID, "services")
			require.Len(t, services, 1)
			svcID, _, _ := unstructured.NestedString(svc.Object, "status", "konnect", "id")
			require.Equal(t, svcID, services[0]["id"])
			require.Equal(t, "echo.default.svc", services[0]["host"])
			require.Contains(t, services[0]["tags"], "k8s-uid:"+string(svc.GetUID()))

			routes := env.Konnect.Entities(kcp.ID, "routes")
			require.Len(t, routes, 1)
			routeID, _, _ := unstructured.NestedString(route.Object, "status", "konnect", "id")
			require.Equal(t, routeID, routes[0]["id"])
			require.Equal(t, map[string]any{"id": svcID}, routes[0]["service"])
		})
	}
}
