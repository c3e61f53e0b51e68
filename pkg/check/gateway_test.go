package check

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	discoveryfake "k8s.io/client-go/discovery/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Unit tests of --gateway over fake clients: a hybrid Gateway as
// kong-operator 2.2 leaves it (v2.2.3:controller/gateway), with its
// KonnectGatewayControlPlane, KonnectExtension and DataPlane labelled
// managed-by=gateway and owned by the Gateway's uid, next to decoys with
// the same label and another owner, and HTTPRoutes translated into
// KongRoutes and KongServices (v2.2.3:controller/hybridgateway).

const gatewayUID = types.UID("6f1c1f4e-0000-4000-8000-00000000a001")

func conds(kv ...string) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"type": kv[i], "status": kv[i+1], "reason": kv[i]})
	}
	return out
}

// managed marks obj as made by kong-operator for the Gateway of uid.
func managed(obj *unstructured.Unstructured, uid types.UID) *unstructured.Unstructured {
	obj.SetLabels(map[string]string{managedByLabel: managedByGateway, "gateway.networking.k8s.io/gateway-name": "gw"})
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway", Name: "gw", UID: uid, Controller: ptr.To(true)}})
	return obj
}

// gatewayFixture shapes newGatewayFixture.
type gatewayFixture struct {
	gen rules.Generation
	// authNamespace puts the KonnectAPIAuthConfiguration in another
	// namespace, named by the GatewayConfiguration's and the control
	// plane's authRef.namespace.
	authNamespace string
	// grant adds a KongReferenceGrant from GatewayConfiguration for it.
	grant bool
	// noChildren leaves out what kong-operator makes for the Gateway (the
	// decoys stay).
	noChildren bool
	// mutate changes objects by name before they are stored.
	mutate map[string]func(*unstructured.Unstructured)
}

type gatewayEnv struct {
	env     *Env
	konnect *konnecttest.Server
	cpID    string
	dynamic interface {
		PrependReactor(verb, resource string, fn clienttesting.ReactionFunc)
	}
}

func newGatewayFixture(t *testing.T, f gatewayFixture) gatewayEnv {
	t.Helper()
	if f.gen == "" {
		f.gen = rules.GenerationKO22
	}
	k := konnecttest.NewForTest(t)
	cp := k.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "gw-x7k2p"})
	decoyCP := k.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "other-gw-cp"})
	tok := k.IssueToken()
	authNS := "ns"
	if f.authNamespace != "" {
		authNS = f.authNamespace
	}
	authRef := map[string]any{"name": "auth"}
	if authNS != "ns" {
		authRef["namespace"] = authNS
	}

	auth := u("konnect.konghq.com/v1alpha1", "KonnectAPIAuthConfiguration", "auth", map[string]any{
		"spec": map[string]any{"type": "token", "token": tok, "serverURL": "us.api.konghq.com"}})
	auth.SetNamespace(authNS)
	class := u("gateway.networking.k8s.io/v1", "GatewayClass", "kong", map[string]any{
		"spec": map[string]any{"controllerName": "konghq.com/gateway-operator",
			"parametersRef": map[string]any{"group": "gateway-operator.konghq.com", "kind": "GatewayConfiguration", "name": "hybrid", "namespace": "ns"}},
		"status": map[string]any{"conditions": conds("Accepted", "True")}})
	class.SetNamespace("")
	gw := u("gateway.networking.k8s.io/v1", "Gateway", "gw", map[string]any{
		"spec": map[string]any{"gatewayClassName": "kong", "listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": int64(80)}}},
		"status": map[string]any{
			"addresses":  []any{map[string]any{"type": "IPAddress", "value": "203.0.113.7"}},
			"conditions": conds("Accepted", "True", "Programmed", "True", "KonnectGatewayControlPlaneProgrammed", "True", "KonnectExtensionReady", "True", "DataPlaneReady", "True", "GatewayService", "True"),
		}})
	gw.SetUID(gatewayUID)

	kgcp := kgoapi.NewOriginControlPlane(kgoapi.V1Alpha2, "ns", "gw-x7k2p", kgoapi.ControlPlaneRequest{Name: "gw-x7k2p", AuthRef: "auth"})
	kgcp.Object["spec"].(map[string]any)["konnect"] = map[string]any{"authRef": authRef}
	kgcp.Object["status"] = map[string]any{"id": cp.ID, "conditions": conds("APIAuthResolvedRef", "True", "Programmed", "True")}
	// A decoy: same label, another Gateway's (another uid), and the only
	// one in the namespace that is named like the Gateway.
	decoy := kgoapi.NewOriginControlPlane(kgoapi.V1Alpha2, "ns", "gw", kgoapi.ControlPlaneRequest{Name: "other-gw-cp", AuthRef: "nonexistent"})
	decoy.Object["status"] = map[string]any{"id": decoyCP.ID, "conditions": conds("Programmed", "True")}

	kp, err := cert.IssueSelfSigned(cert.Template{CommonName: "gw"})
	require.NoError(t, err)
	_, err = k.SDK(tok).DPCertificates.CreateDataplaneCertificate(context.Background(), cp.ID, &components.DataPlaneClientCertificateRequest{Cert: string(kp.CertPEM)})
	require.NoError(t, err)
	certSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw-ext12-cert"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: kp.CertPEM, corev1.TLSPrivateKeyKey: kp.KeyPEM}}

	ext := u("konnect.konghq.com/v1alpha2", "KonnectExtension", "gw-ext12", map[string]any{
		"spec": map[string]any{
			"konnect":    map[string]any{"controlPlane": map[string]any{"ref": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": "gw-x7k2p", "namespace": "ns"}}}},
			"clientAuth": map[string]any{"certificateSecret": map[string]any{"provisioning": "Automatic"}}},
		"status": map[string]any{
			"dataPlaneClientAuth": map[string]any{"certificateSecretRef": map[string]any{"name": "gw-ext12-cert"}},
			"konnect":             map[string]any{"controlPlaneID": cp.ID, "endpoints": map[string]any{"controlPlane": cp.ControlPlaneEndpoint}},
			"conditions":          conds("Ready", "True")}})
	dataPlane := func(name, extName string) *unstructured.Unstructured {
		return u("gateway-operator.konghq.com/v1beta1", "DataPlane", name, map[string]any{
			"spec": map[string]any{
				"extensions": []any{map[string]any{"kind": "KonnectExtension", "group": "konnect.konghq.com", "name": extName}},
				"deployment": map[string]any{"podTemplateSpec": map[string]any{"spec": map[string]any{
					"containers": []any{map[string]any{"name": "proxy", "image": "kong/kong-gateway:3.9.1.0"}}}}}},
			"status": map[string]any{"replicas": int64(1), "readyReplicas": int64(1), "conditions": conds("Ready", "True")}})
	}

	route := func(ns, name string, parentRef map[string]any, accepted ...string) *unstructured.Unstructured {
		if len(accepted) == 0 {
			accepted = []string{"True", "Accepted", "The route is accepted by the gateway"}
		}
		statusRef := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway"}
		for k, v := range parentRef {
			statusRef[k] = v
		}
		r := u("gateway.networking.k8s.io/v1", "HTTPRoute", name, map[string]any{
			"spec": map[string]any{"parentRefs": []any{parentRef},
				"rules": []any{map[string]any{"backendRefs": []any{map[string]any{"name": "echo", "port": int64(80)}}}}},
			"status": map[string]any{"parents": []any{map[string]any{
				"controllerName": "konghq.com/gateway-operator", "parentRef": statusRef,
				"conditions": []any{
					map[string]any{"type": "Accepted", "status": accepted[0], "reason": accepted[1], "message": accepted[2]},
					map[string]any{"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "All references resolved"},
				}}}}})
		r.SetNamespace(ns)
		return r
	}
	kongObjs := func(routeNS, routeName, svc string) []runtime.Object {
		kr := u("configuration.konghq.com/v1alpha1", "KongRoute", "http."+routeNS+"-"+routeName+".cp1a2b3c4d.5e6f7a8b.m00", map[string]any{
			"spec":   map[string]any{"serviceRef": map[string]any{"type": "namespacedRef", "namespacedRef": map[string]any{"name": svc}}},
			"status": map[string]any{"conditions": conds("Programmed", "True")}})
		kr.SetAnnotations(map[string]string{annHybridRoutes: routeNS + "/" + routeName, annHybridGateways: "ns/gw"})
		ks := u("configuration.konghq.com/v1alpha1", "KongService", svc, map[string]any{
			"status": map[string]any{"conditions": conds("Programmed", "True")}})
		ks.SetAnnotations(map[string]string{annHybridRoutes: routeNS + "/" + routeName, annHybridGateways: "ns/gw"})
		return []runtime.Object{kr, ks}
	}

	objs := []runtime.Object{
		auth, class, gw,
		u("gateway-operator.konghq.com/v2beta1", "GatewayConfiguration", "hybrid", map[string]any{
			"spec": map[string]any{"konnect": map[string]any{"authRef": authRef}}}),
		managed(decoy, "00000000-0000-4000-8000-0000000000ff"),
		managed(dataPlane("gw", "other-ext"), "00000000-0000-4000-8000-0000000000ff"),
		route("ns", "r", map[string]any{"name": "gw"}),
		route("apps", "web", map[string]any{"name": "gw", "namespace": "ns", "sectionName": "http"}),
		// Attached to another Gateway: not ours.
		route("ns", "elsewhere", map[string]any{"name": "other"}),
	}
	objs = append(objs, kongObjs("ns", "r", "http.ns-echo-80.1.cp1a2b3c4d.00000001")...)
	objs = append(objs, kongObjs("apps", "web", "http.apps-echo-80.1.cp1a2b3c4d.00000002")...)
	if !f.noChildren {
		objs = append(objs, managed(kgcp, gatewayUID), managed(ext, gatewayUID), managed(dataPlane("gw-dp123", "gw-ext12"), gatewayUID))
	}
	if f.grant {
		g := u("configuration.konghq.com/v1alpha1", "KongReferenceGrant", "auth-for-gateways", map[string]any{
			"spec": map[string]any{
				"from": []any{map[string]any{"group": "gateway-operator.konghq.com", "kind": "GatewayConfiguration", "namespace": "ns"}},
				"to":   []any{map[string]any{"group": "konnect.konghq.com", "kind": "KonnectAPIAuthConfiguration"}}}})
		g.SetNamespace(authNS)
		objs = append(objs, g)
	}
	for _, o := range objs {
		obj := o.(*unstructured.Unstructured)
		if m := f.mutate[obj.GetKind()+"/"+obj.GetName()]; m != nil {
			m(obj)
		}
	}
	k.RegisterNode(cp.ID, konnecttest.Node{Hostname: "gw-dp123-0", LastPing: time.Now()})

	kube := kubefake.NewClientset(certSecret)
	disc := kube.Discovery().(*discoveryfake.FakeDiscovery)
	disc.Resources = servedBy(f.gen)
	// The fake's tracker guesses "gatewaies" from kind Gateway: these go in
	// under their real resource.
	byResource := map[string]schema.GroupVersionResource{"Gateway": gvrGateway, "GatewayClass": gvrGatewayClass}
	var guessable []runtime.Object
	for _, o := range objs {
		if _, ok := byResource[o.(*unstructured.Unstructured).GetKind()]; !ok {
			guessable = append(guessable, o)
		}
	}
	dyn := fakeDynamic(guessable...)
	for _, o := range objs {
		obj := o.(*unstructured.Unstructured)
		if gvr, ok := byResource[obj.GetKind()]; ok {
			require.NoError(t, dyn.Tracker().Create(gvr, obj, obj.GetNamespace()))
		}
	}
	env := NewEnv(Options{Namespace: "ns", Gateway: "gw"}, Clients{Kube: kube, Dynamic: dyn, Discovery: disc, KonnectHTTPClient: k.HTTPClient()})
	return gatewayEnv{env: env, konnect: k, cpID: cp.ID, dynamic: dyn}
}

func runGateway(t *testing.T, e *Env) *Report {
	t.Helper()
	return Run(context.Background(), e, CatalogueFor(e.Options), RunOptions{})
}

func TestGatewayAllGreen(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{})
	rep := runGateway(t, f.env)
	for _, cat := range rep.Categories {
		if cat.ID == "webhook" {
			continue
		}
		for _, c := range cat.Checks {
			assert.Equal(t, Pass, c.Status, "%s: %s (hint %s)", c.ID, c.Message, c.Hint)
		}
	}
	requireResult(t, rep, IDGatewayFound, Pass, `gw (gatewayClassName "kong", listeners "http HTTP/80")`)
	requireResult(t, rep, IDGatewayClass, Pass, "kong (controllerName konghq.com/gateway-operator, Accepted)")
	requireResult(t, rep, IDGatewayConfiguration, Pass,
		"GatewayConfiguration ns/hybrid (parametersRef of GatewayClass kong) has spec.konnect.authRef: KonnectAPIAuthConfiguration ns/auth")
	requireResult(t, rep, IDGatewayProgrammed, Pass, "Programmed (addresses 203.0.113.7)")
	// The children are the Gateway's, found by owner uid: not the decoys
	// with the same label, one of them named like the Gateway.
	requireResult(t, rep, IDControlPlaneFound, Pass, `gw-x7k2p (konnect.konghq.com/v1alpha2, Konnect name "gw-x7k2p", KonnectAPIAuthConfiguration auth)`)
	requireResult(t, rep, IDDataPlaneFound, Pass, "gw-dp123 (image kong/kong-gateway:3.9.1.0)")
	requireResult(t, rep, IDExtensionFound, Pass, "gw-ext12 (konnect.konghq.com/v1alpha2)")
	requireResult(t, rep, IDCertificateSecret, Pass, "Secret gw-ext12-cert")
	requireResult(t, rep, IDDataPlaneConnected, Pass, "node gw-dp123-0")
	requireResult(t, rep, IDHTTPRoutesAccepted, Pass, "HTTPRoute apps/web, HTTPRoute ns/r: Accepted, references resolved")
	got := requireResult(t, rep, IDHTTPRoutesProgrammed, Pass)
	assert.Equal(t, "HTTPRoute apps/web: 1 KongRoute, 1 KongService programmed in Konnect; HTTPRoute ns/r: 1 KongRoute, 1 KongService programmed in Konnect", got.Message)

	assert.Equal(t, "gw", rep.Gateway)
	assert.Equal(t, "gw-x7k2p", rep.ControlPlane)
	assert.Equal(t, "gw-dp123", rep.DataPlane)
	var ids []string
	for _, c := range rep.Categories {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"kgo", "gateway", "auth", "controlplane", "certificate", "extension", "dataplane", "httproutes", "webhook"}, ids)

	var table, js bytes.Buffer
	require.NoError(t, WriteTable(&table, rep, TableOptions{}))
	assert.True(t, strings.HasPrefix(table.String(), "Namespace ns, Gateway gw, DataPlane gw-dp123, KonnectGatewayControlPlane gw-x7k2p\n\nKong Gateway Operator\n"), table.String())
	assert.Contains(t, table.String(), "\nGateway API (hybrid Gateway)\n----------------------------\n√ hybrid Gateway found: gw (gatewayClassName \"kong\", listeners \"http HTTP/80\")\n")
	assert.Contains(t, table.String(), "\nHTTPRoutes\n----------\n")
	require.NoError(t, WriteJSON(&js, rep))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.Equal(t, "gw", doc["gateway"])
}

// A decoy with the Gateway's label but another owner is never taken for
// the Gateway's child: without the Gateway's own, the checks say that
// kong-operator has not created it yet, and settle with --wait.
func TestGatewayChildrenAreFoundByOwnerUIDOnly(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{noChildren: true})
	rep := runGateway(t, f.env)
	requireResult(t, rep, IDControlPlaneFound, Fail,
		"kong-operator has not created the KonnectGatewayControlPlane of Gateway gw yet (none in namespace ns with label gateway-operator.konghq.com/managed-by=gateway and an ownerReference to the Gateway)",
		"kubectl describe gateway gw -n ns", "--wait")
	requireResult(t, rep, IDDataPlaneFound, Fail, "kong-operator has not created the DataPlane of Gateway gw yet",
		"once the Gateway's KonnectGatewayControlPlane is Programmed")
	assert.Empty(t, rep.ControlPlane, "the decoy is not selected")
	assert.Empty(t, rep.DataPlane, "the decoy is not selected")
	for _, c := range CatalogueFor(f.env.Options) {
		for _, ch := range c.Checks {
			if ch.ID == IDControlPlaneFound || ch.ID == IDDataPlaneFound {
				assert.True(t, ch.Retry, "%s settles with --gateway", ch.ID)
				assert.Contains(t, ch.Needs, IDGatewayFound)
			}
		}
	}

	// Two KonnectGatewayControlPlanes owned by the Gateway: named, and
	// neither picked.
	g := newGatewayFixture(t, gatewayFixture{})
	ctx := context.Background()
	gvr := kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2)
	second := kgoapi.NewOriginControlPlane(kgoapi.V1Alpha2, "ns", "gw-zz9yy", kgoapi.ControlPlaneRequest{Name: "gw-zz9yy", AuthRef: "auth"})
	_, err := g.env.Dynamic.Resource(gvr).Namespace("ns").Create(ctx, managed(second, gatewayUID), metav1.CreateOptions{})
	require.NoError(t, err)
	rep = runGateway(t, g.env)
	requireResult(t, rep, IDControlPlaneFound, Fail, "2 KonnectGatewayControlPlanes are owned by Gateway gw (gw-x7k2p, gw-zz9yy): kong-operator expects one")
}

// A GatewayConfiguration whose authRef names another namespace needs a
// KongReferenceGrant there (kong-operator 2.2+); without it the check
// names the grant, quotes the control plane's APIAuthResolvedRef and gives
// the manifest. The auth checks read the KonnectAPIAuthConfiguration of
// that namespace.
func TestGatewayCrossNamespaceAuthNeedsAGrant(t *testing.T) {
	const refused = "cross-namespace reference to KonnectAPIAuthConfiguration auth in namespace konnect from KonnectGatewayControlPlane.konnect.konghq.com in namespace ns is not granted by any KongReferenceGrant"
	notGranted := map[string]func(*unstructured.Unstructured){
		"KonnectGatewayControlPlane/gw-x7k2p": func(o *unstructured.Unstructured) {
			o.Object["status"] = map[string]any{"conditions": []any{
				map[string]any{"type": "APIAuthResolvedRef", "status": "False", "reason": "RefNotPermitted", "message": refused},
				map[string]any{"type": "Programmed", "status": "False", "reason": "ConditionWithStatusFalseExists"}}}
		},
	}
	f := newGatewayFixture(t, gatewayFixture{authNamespace: "konnect", mutate: notGranted})
	rep := runGateway(t, f.env)
	got := requireResult(t, rep, IDGatewayConfiguration, Fail,
		"KonnectAPIAuthConfiguration konnect/auth, and no KongReferenceGrant in namespace konnect permits it: the grant missing is from GatewayConfiguration (gateway-operator.konghq.com) of namespace ns to KonnectAPIAuthConfiguration (konnect.konghq.com) auth",
		"kong-operator reports on KonnectGatewayControlPlane gw-x7k2p: APIAuthResolvedRef=False (RefNotPermitted): "+refused)
	manifest := got.Hint[strings.Index(got.Hint, "'")+1 : strings.LastIndex(got.Hint, "'")]
	var grant map[string]any
	require.NoError(t, json.Unmarshal([]byte(manifest), &grant), got.Hint)
	assert.Equal(t, "KongReferenceGrant", grant["kind"])
	assert.Equal(t, "konnect", grant["metadata"].(map[string]any)["namespace"])
	assert.Equal(t, []any{map[string]any{"group": "gateway-operator.konghq.com", "kind": "GatewayConfiguration", "namespace": "ns"}}, grant["spec"].(map[string]any)["from"])
	assert.Equal(t, []any{map[string]any{"group": "konnect.konghq.com", "kind": "KonnectAPIAuthConfiguration", "name": "auth"}}, grant["spec"].(map[string]any)["to"])
	// The auth checks follow authRef.namespace.
	requireResult(t, rep, IDAuthFound, Pass, "konnect/auth (serverURL us.api.konghq.com)")
	requireResult(t, rep, IDAuthTokenValid, Pass, "konnect/auth: organization")
	requireResult(t, rep, IDControlPlaneFound, Pass, "KonnectAPIAuthConfiguration konnect/auth)")

	// With the grant, kong-operator resolves the reference.
	f = newGatewayFixture(t, gatewayFixture{authNamespace: "konnect", grant: true})
	rep = runGateway(t, f.env)
	requireResult(t, rep, IDGatewayConfiguration, Pass, "KonnectAPIAuthConfiguration konnect/auth, permitted by KongReferenceGrant konnect/auth-for-gateways")
	requireResult(t, rep, IDAuthRegion, Pass, "konnect/auth: region us, as the endpoint")
	requireResult(t, rep, IDControlPlaneEndpoint, Pass)

	// kong-operator 2.1 does not follow the GatewayConfiguration's
	// cross-namespace authRef, grant or not.
	f = newGatewayFixture(t, gatewayFixture{gen: rules.GenerationKO21, authNamespace: "konnect", grant: true})
	rep = runGateway(t, f.env)
	requireResult(t, rep, IDGatewayConfiguration, Fail, "kong-operator 2.1 does not follow a GatewayConfiguration's cross-namespace authRef")
}

func TestGatewayHTTPRouteNotAccepted(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{mutate: map[string]func(*unstructured.Unstructured){
		"HTTPRoute/r": func(o *unstructured.Unstructured) {
			parents, _, _ := unstructured.NestedSlice(o.Object, "status", "parents")
			p := parents[0].(map[string]any)
			p["conditions"] = []any{
				map[string]any{"type": "Accepted", "status": "False", "reason": "NoMatchingParent", "message": "NoMatchingParent"},
				map[string]any{"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}}
			require.NoError(t, unstructured.SetNestedSlice(o.Object, parents, "status", "parents"))
		},
		// No status for the parent yet.
		"HTTPRoute/web": func(o *unstructured.Unstructured) { delete(o.Object, "status") },
	}})
	rep := runGateway(t, f.env)
	got := requireResult(t, rep, IDHTTPRoutesAccepted, Fail,
		"HTTPRoute apps/web: kong-operator has not written its status for this parent yet; HTTPRoute ns/r: Accepted=False (NoMatchingParent): NoMatchingParent")
	assert.Contains(t, got.Hint, "kubectl describe httproute web -n apps")
	requireResult(t, rep, IDHTTPRoutesProgrammed, Skip, "skipped: httproutes-accepted did not pass")
}

func TestGatewayHTTPRoutesNotProgrammed(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{mutate: map[string]func(*unstructured.Unstructured){
		"KongService/http.ns-echo-80.1.cp1a2b3c4d.00000001": func(o *unstructured.Unstructured) {
			o.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Programmed", "status": "False", "reason": "KonnectAPIOpFailed", "message": "failed to create KongService: 400"}}}
		},
		// Translated for another Gateway only: not this route's.
		"KongRoute/http.apps-web.cp1a2b3c4d.5e6f7a8b.m00": func(o *unstructured.Unstructured) {
			o.SetAnnotations(map[string]string{annHybridRoutes: "apps/web", annHybridGateways: "ns/other"})
		},
	}})
	rep := runGateway(t, f.env)
	got := requireResult(t, rep, IDHTTPRoutesProgrammed, Fail,
		"HTTPRoute apps/web: kong-operator has not translated it into a KongRoute yet (none in namespace ns annotated gateway-operator.konghq.com/hybrid-routes=apps/web for Gateway ns/gw)",
		"HTTPRoute ns/r: KongService http.ns-echo-80.1.cp1a2b3c4d.00000001 is not programmed: Programmed=False (KonnectAPIOpFailed): failed to create KongService: 400")
	assert.Contains(t, got.Hint, "kubectl get kongroutes -n ns")
}

func TestGatewayWithoutHTTPRoutesAndForbiddenToListAll(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{mutate: map[string]func(*unstructured.Unstructured){
		"HTTPRoute/r": func(o *unstructured.Unstructured) { o.SetName("r-unrelated"); o.Object["spec"] = map[string]any{} },
	}})
	f.dynamic.PrependReactor("list", "httproutes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: groupGatewayAPI, Resource: "httproutes"}, "", nil)
		}
		return false, nil, nil
	})
	rep := runGateway(t, f.env)
	// apps/web is out of sight; ns/r-unrelated names no parent.
	got := requireResult(t, rep, IDHTTPRoutesAccepted, Pass)
	assert.Equal(t, "no HTTPRoute attached to Gateway gw (namespace ns only: listing HTTPRoutes in all namespaces is forbidden)", got.Message)
	requireResult(t, rep, IDHTTPRoutesProgrammed, Pass, "no HTTPRoute attached to Gateway gw")
}

func TestGatewayClassNotAccepted(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*unstructured.Unstructured)
		want   string
	}{
		"InvalidParameters": {func(o *unstructured.Unstructured) {
			o.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Accepted", "status": "False", "reason": "InvalidParameters", "message": "The referenced GatewayConfiguration does not exist"}}}
		}, "kong-operator reports on GatewayClass kong: Accepted=False (InvalidParameters): The referenced GatewayConfiguration does not exist"},
		"not reconciled": {func(o *unstructured.Unstructured) {
			o.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Accepted", "status": "Unknown", "reason": "Pending", "message": "Waiting for controller"}}}
		}, "kong-operator has not reconciled GatewayClass kong yet: Accepted=Unknown (Pending): Waiting for controller"},
		"another controller": {func(o *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedField(o.Object, "example.com/other", "spec", "controllerName"))
		}, `GatewayClass kong has controllerName "example.com/other", not konghq.com/gateway-operator: kong-operator ignores Gateway gw`},
	} {
		t.Run(name, func(t *testing.T) {
			f := newGatewayFixture(t, gatewayFixture{mutate: map[string]func(*unstructured.Unstructured){"GatewayClass/kong": tc.mutate}})
			rep := runGateway(t, f.env)
			requireResult(t, rep, IDGatewayClass, Fail, tc.want)
		})
	}
}

func TestGatewayNotProgrammedQuotesTheFirstConditionNotTrue(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{mutate: map[string]func(*unstructured.Unstructured){
		"Gateway/gw": func(o *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedSlice(o.Object, []any{
				map[string]any{"type": "Accepted", "status": "True", "reason": "Accepted"},
				map[string]any{"type": "Programmed", "status": "False", "reason": "DependenciesNotReady", "message": "There are other conditions that are not yet ready"},
				map[string]any{"type": "KonnectGatewayControlPlaneProgrammed", "status": "True", "reason": "Programmed"},
				map[string]any{"type": "KonnectExtensionReady", "status": "True", "reason": "Ready"},
				map[string]any{"type": "DataPlaneReady", "status": "False", "reason": "WaitingToBecomeReady", "message": "Waiting for the resource to become ready"},
			}, "status", "conditions"))
		},
	}})
	rep := runGateway(t, f.env)
	got := requireResult(t, rep, IDGatewayProgrammed, Fail,
		"kong-operator reports on Gateway gw: DataPlaneReady=False (WaitingToBecomeReady): Waiting for the resource to become ready")
	assert.Contains(t, got.Hint, "kubectl get dataplanes.gateway-operator.konghq.com -n ns -l gateway-operator.konghq.com/managed-by=gateway")
}

func TestGatewayNeedsKongOperator21(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{gen: rules.GenerationKO20})
	rep := runGateway(t, f.env)
	requireResult(t, rep, IDGatewayFound, Fail, "hybrid Gateways need kong-operator 2.1+; this cluster runs kong-operator 2.0")
	for _, id := range []string{IDGatewayClass, IDAuthFound, IDControlPlaneFound, IDDataPlaneFound, IDHTTPRoutesAccepted} {
		requireResult(t, rep, id, Skip, "skipped: gateway-found did not pass")
	}
}

func TestGatewayNotFound(t *testing.T) {
	f := newGatewayFixture(t, gatewayFixture{})
	f.env.Gateway = "nope"
	rep := runGateway(t, f.env)
	got := requireResult(t, rep, IDGatewayFound, Fail, "Gateway nope not found in namespace ns")
	assert.Contains(t, got.Hint, "kubectl get gateways.gateway.networking.k8s.io -n ns")
}

// Without --gateway the catalogue and the report are as before.
func TestCatalogueForWithoutGatewayIsTheCatalogue(t *testing.T) {
	ids := func(cats []Category) []string {
		var out []string
		for _, c := range cats {
			for _, ch := range c.Checks {
				out = append(out, c.ID+"/"+ch.ID+"/"+strings.Join(ch.Needs, ",")+map[bool]string{true: "/retry"}[ch.Retry])
			}
		}
		return out
	}
	assert.Equal(t, ids(Catalogue()), ids(CatalogueFor(Options{Namespace: "ns"})))
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, sampleReport()))
	assert.NotContains(t, b.String(), `"gateway"`)
}

// Every category any run may have, for docs/check.md: unique IDs, Needs
// before their dependants, and the order of a --gateway run.
func TestAllCategories(t *testing.T) {
	var order []string
	seen := map[string]bool{}
	for _, cat := range AllCategories() {
		order = append(order, cat.ID)
		prefix := cat.ID + "-"
		for _, c := range cat.Checks {
			assert.False(t, seen[c.ID], "duplicate ID %s", c.ID)
			assert.True(t, strings.HasPrefix(c.ID, prefix), "%s is not prefixed by %s", c.ID, prefix)
			assert.NotEmpty(t, c.Details, c.ID)
			for _, n := range c.Needs {
				assert.True(t, seen[n], "%s needs %s, which must run before it", c.ID, n)
			}
			seen[c.ID] = true
		}
	}
	assert.Len(t, seen, 29)
	var gw []string
	for _, c := range CatalogueFor(Options{Gateway: "gw"}) {
		gw = append(gw, c.ID)
	}
	assert.Equal(t, order, gw)
}
