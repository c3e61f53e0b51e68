package check

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/metadata"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Unit tests of checks over fake clients and the fake Konnect, for the
// cases the end-to-end tests do not reach (several replicas, pods, other
// versions, a webhook behind a Service).

func u(apiVersion, kind, name string, fields map[string]any) *unstructured.Unstructured {
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name, "namespace": "ns"}}
	for k, v := range fields {
		obj[k] = v
	}
	return &unstructured.Unstructured{Object: obj}
}

func fakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	lists := map[schema.GroupVersionResource]string{
		gvrAuth: "KonnectAPIAuthConfigurationList", gvrExtensionOld: "KonnectExtensionList",
		gvrDataPlane: "DataPlaneList", gvrDPCertificates: "KongDataPlaneClientCertificateList",
		gvrGateway: "GatewayList", gvrGatewayClass: "GatewayClassList", gvrHTTPRoute: "HTTPRouteList",
		gvrGatewayConfiguration: "GatewayConfigurationList", gvrKongReferenceGrant: "KongReferenceGrantList",
		gvrKongRoute: "KongRouteList", gvrKongService: "KongServiceList",
	}
	for _, v := range []string{kgoapi.V1Alpha1, kgoapi.V1Alpha2} {
		lists[kgoapi.ControlPlaneGVR(v)] = "KonnectGatewayControlPlaneList"
		lists[kgoapi.ExtensionGVR(v)] = "KonnectExtensionList"
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

// servedBy is what API discovery finds with the CRDs of a generation.
func servedBy(gen rules.Generation) []*metav1.APIResourceList {
	res := func(gv string, names ...string) *metav1.APIResourceList {
		l := &metav1.APIResourceList{GroupVersion: gv}
		for _, n := range names {
			l.APIResources = append(l.APIResources, metav1.APIResource{Name: n, Namespaced: true})
		}
		return l
	}
	const (
		auth, cps, exts = "konnectapiauthconfigurations", "konnectgatewaycontrolplanes", "konnectextensions"
	)
	common := []*metav1.APIResourceList{
		res("configuration.konghq.com/v1alpha1", "kongdataplaneclientcertificates"),
		res("gateway-operator.konghq.com/v1beta1", "dataplanes"),
	}
	switch gen {
	case rules.GenerationKGO14:
		return append(common, res("konnect.konghq.com/v1alpha1", auth, cps), res("gateway-operator.konghq.com/v1alpha1", exts))
	case rules.GenerationKGO15Plus:
		return append(common, res("konnect.konghq.com/v1alpha1", auth, cps, exts), res("gateway-operator.konghq.com/v1alpha1", exts))
	case rules.GenerationKO20:
		return append(common, res("konnect.konghq.com/v1alpha1", auth, cps), res("konnect.konghq.com/v1alpha2", cps, exts))
	case rules.GenerationKO21, rules.GenerationKO22:
		// KongReferenceGrant is new in 2.1, KonnectEventGateway in 2.2; both
		// serve the Gateway API path (hybrid Gateways).
		konnect := res("konnect.konghq.com/v1alpha1", auth, cps)
		if gen == rules.GenerationKO22 {
			konnect.APIResources = append(konnect.APIResources, metav1.APIResource{Name: "konnecteventgateways", Namespaced: true})
		}
		return []*metav1.APIResourceList{
			res("configuration.konghq.com/v1alpha1", "kongdataplaneclientcertificates", "kongreferencegrants", "kongroutes", "kongservices"),
			res("gateway-operator.konghq.com/v1beta1", "dataplanes"),
			res("gateway-operator.konghq.com/v2beta1", "gatewayconfigurations"),
			res("gateway.networking.k8s.io/v1", "gateways", "gatewayclasses", "httproutes"),
			konnect, res("konnect.konghq.com/v1alpha2", cps, exts),
		}
	}
	return common
}

type connectedFixture struct {
	konnect *konnecttest.Server
	cpID    string
	env     *Env
}

// fixture shapes newFixture.
type fixture struct {
	gen      rules.Generation
	replicas int64
	pods     []corev1.Pod
	// extensionGroup is the group of the KonnectExtension the DataPlane
	// names; konnect.konghq.com when empty.
	extensionGroup string
	// extensionName is the name the DataPlane names; konnect-ext, the
	// fixture's KonnectExtension, when empty.
	extensionName string
	// mirror makes the control plane a Mirror of the Konnect control plane
	// (kong-operator 2.x and KGO >= 1.5), without status.id.
	mirror bool
	// extensionConditions replace the KonnectExtension's (Ready=True).
	extensionConditions []any
}

// newConnectedFixture: on KGO 1.5/1.6, a programmed control plane with an
// inline-token auth and a DataPlane of replicas replicas running
// kong-gateway:3.9.1.0.
func newConnectedFixture(t *testing.T, replicas int64, pods ...corev1.Pod) connectedFixture {
	return newFixture(t, fixture{gen: rules.GenerationKGO15Plus, replicas: replicas, pods: pods})
}

// newFixture: the objects of f.gen's CRDs, in the versions its discovery
// serves: a control plane (programmed, or a Mirror), its auth, a
// KonnectExtension of the control plane with a Manual certificate, and a
// DataPlane that names it.
func newFixture(t *testing.T, f fixture) connectedFixture {
	t.Helper()
	k := konnecttest.NewForTest(t)
	cp := k.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "cp"})
	tok := k.IssueToken()
	cpVersion, extVersion := kgoapi.V1Alpha1, kgoapi.V1Alpha1
	if f.gen == rules.GenerationKO20 {
		cpVersion, extVersion = kgoapi.V1Alpha2, kgoapi.V1Alpha2
	}
	kgcp := kgoapi.NewOriginControlPlane(cpVersion, "ns", "gateway-cp", kgoapi.ControlPlaneRequest{Name: "cp", AuthRef: "auth"})
	if f.mirror {
		kgcp = kgoapi.NewMirrorControlPlane(cpVersion, "ns", "gateway-cp", cp.ID, "auth")
	} else {
		kgcp.Object["status"] = map[string]any{"id": cp.ID, "conditions": []any{map[string]any{"type": "Programmed", "status": "True"}}}
	}
	group, extName := f.extensionGroup, f.extensionName
	if group == "" {
		group = groupKonnect
	}
	if extName == "" {
		extName = "konnect-ext"
	}
	extConditions := f.extensionConditions
	if extConditions == nil {
		extConditions = []any{map[string]any{"type": "Ready", "status": "True"}}
	}
	objs := []runtime.Object{
		u("konnect.konghq.com/v1alpha1", "KonnectAPIAuthConfiguration", "auth", map[string]any{
			"spec": map[string]any{"type": "token", "token": tok, "serverURL": "us.api.konghq.com"}}),
		kgcp,
		u("konnect.konghq.com/"+extVersion, "KonnectExtension", "konnect-ext", map[string]any{
			"spec": map[string]any{
				"konnect":    map[string]any{"controlPlane": map[string]any{"ref": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": "gateway-cp"}}}},
				"clientAuth": map[string]any{"certificateSecret": map[string]any{"provisioning": "Manual", "secretRef": map[string]any{"name": "dp-tls"}}}},
			"status": map[string]any{"konnect": map[string]any{"controlPlaneID": cp.ID, "endpoints": map[string]any{"controlPlane": cp.ControlPlaneEndpoint}},
				"conditions": extConditions}}),
		u("gateway-operator.konghq.com/v1beta1", "DataPlane", "dp", map[string]any{
			"spec": map[string]any{
				"extensions": []any{map[string]any{"kind": "KonnectExtension", "group": group, "name": extName}},
				"deployment": map[string]any{"podTemplateSpec": map[string]any{"spec": map[string]any{
					"containers": []any{map[string]any{"name": "proxy", "image": "kong/kong-gateway:3.9.1.0"}}}}}},
			"status": map[string]any{"replicas": f.replicas, "readyReplicas": f.replicas, "selector": "abc123456",
				"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}),
	}
	var kubeObjs []runtime.Object
	for i := range f.pods {
		kubeObjs = append(kubeObjs, &f.pods[i])
	}
	kube := kubefake.NewClientset(kubeObjs...)
	disc := kube.Discovery().(*discoveryfake.FakeDiscovery)
	disc.Resources = servedBy(f.gen)
	env := NewEnv(Options{Namespace: "ns"}, Clients{
		Kube: kube, Dynamic: fakeDynamic(objs...), Discovery: disc, KonnectHTTPClient: k.HTTPClient(),
	})
	return connectedFixture{konnect: k, cpID: cp.ID, env: env}
}

func pod(name string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{selectorLabel: "abc123456"}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
}

func TestDataPlaneConnected(t *testing.T) {
	now := time.Now()
	for name, tc := range map[string]struct {
		replicas int64
		pods     []corev1.Pod
		nodes    []konnecttest.Node
		want     Status
		message  string
	}{
		"two replicas, both pinging": {
			replicas: 2,
			nodes:    []konnecttest.Node{{Hostname: "dp-0", LastPing: now}, {Hostname: "dp-1", LastPing: now.Add(-30 * time.Second)}},
			want:     Pass, message: "node dp-0 (Kong 3.9.1.0, last ping 0s ago), node dp-1 (Kong 3.9.1.0, last ping 30s ago)",
		},
		"one of two replicas stale": {
			replicas: 2,
			nodes:    []konnecttest.Node{{Hostname: "dp-0", LastPing: now}, {Hostname: "dp-1", LastPing: now.Add(-time.Hour)}},
			want:     Warn, message: "1 of 2 ready replicas connected: node dp-0 (Kong 3.9.1.0, last ping 0s ago); stale: node dp-1 last pinged 1h ago",
		},
		"another Kong version than the image": {
			replicas: 1,
			nodes:    []konnecttest.Node{{Hostname: "dp-0", LastPing: now, Version: "3.8.0.0"}},
			want:     Warn, message: "node dp-0 (Kong 3.8.0.0, last ping 0s ago); node dp-0 runs Kong 3.8.0.0, the DataPlane's image is kong/kong-gateway:3.9.1.0 (a rollout in progress?)",
		},
		"nodes of pods: a gone pod's node does not count": {
			replicas: 1,
			pods:     []corev1.Pod{pod("dataplane-dp-x7k2p-5d8c9f-abcde")},
			nodes: []konnecttest.Node{{Hostname: "dataplane-dp-x7k2p-5d8c9f-zzzzz", LastPing: now.Add(-time.Hour)},
				{Hostname: "dataplane-dp-x7k2p-5d8c9f-abcde", LastPing: now}},
			want: Pass, message: "node dataplane-dp-x7k2p-5d8c9f-abcde (Kong 3.9.1.0, last ping 0s ago)",
		},
		"only other data planes' nodes": {
			replicas: 1,
			nodes:    []konnecttest.Node{{Hostname: "edge-0", LastPing: now}},
			want:     Fail, message: "none of the 1 node of control plane gateway-cp in Konnect belongs to DataPlane dp (edge-0): DataPlane dp never connected (DataPlane Ready does not mean connected)",
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newConnectedFixture(t, tc.replicas, tc.pods...)
			for _, n := range tc.nodes {
				f.konnect.RegisterNode(f.cpID, n)
			}
			f.env.Now = func() time.Time { return now }
			got := dataPlaneConnected(context.Background(), f.env)
			assert.Equal(t, tc.want, got.Status, got.Message)
			assert.Equal(t, tc.message, got.Message)
		})
	}
}

func TestDataPlaneReadyListsPodsThatAreNotReady(t *testing.T) {
	notReady := pod("dataplane-dp-x7k2p-5d8c9f-abcde")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	notReady.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	f := newConnectedFixture(t, 2, pod("dataplane-dp-x7k2p-5d8c9f-aaaaa"), notReady)
	got := dataPlaneReady(context.Background(), f.env)
	assert.Equal(t, Fail, got.Status)
	assert.Equal(t, "1/2 pods ready: dataplane-dp-x7k2p-5d8c9f-abcde: container proxy CrashLoopBackOff", got.Message)
	assert.Contains(t, got.Hint, "-l gateway-operator.konghq.com/selector=abc123456")
}

// testCA issues a CA and a serving certificate for dnsName.
func testCA(t *testing.T, dnsName string, servingValidity time.Duration) (caPEM, servingPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(servingValidity), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serviceWebhookEnv(t *testing.T, servingValidity time.Duration, readyEndpoints bool) *Env {
	t.Helper()
	caPEM, servingPEM := testCA(t, "kubectl-konnect-webhook.kubectl-konnect-system.svc", servingValidity)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: WebhookName, ClientConfig: admissionregistrationv1.WebhookClientConfig{
			Service:  &admissionregistrationv1.ServiceReference{Namespace: "kubectl-konnect-system", Name: "kubectl-konnect-webhook", Path: ptr.To("/validate"), Port: ptr.To[int32](443)},
			CABundle: caPEM,
		}}},
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kubectl-konnect-system", Name: "kubectl-konnect-webhook"}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kubectl-konnect-system", Name: "kubectl-konnect-webhook-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubectl-konnect-webhook"}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(readyEndpoints)}},
			{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(readyEndpoints)}},
		},
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kubectl-konnect-system", Name: webhookCertSecret},
		Data: map[string][]byte{corev1.TLSCertKey: servingPEM}}
	return NewEnv(Options{Namespace: "ns"}, Clients{Kube: kubefake.NewClientset(vwc, svc, slice, sec)})
}

func TestWebhookBehindAService(t *testing.T) {
	e := serviceWebhookEnv(t, 90*24*time.Hour, true)
	ctx := context.Background()
	checks := map[string]Check{}
	for _, c := range webhookChecks() {
		checks[c.ID] = c
	}
	got := checks[IDWebhookInstalled].Run(ctx, e)
	assert.Equal(t, Pass, got.Status)
	assert.Equal(t, "kubectl-konnect-webhook: service kubectl-konnect-system/kubectl-konnect-webhook:443/validate, failurePolicy Fail", got.Message)
	got = checks[IDWebhookServing].Run(ctx, e)
	assert.Equal(t, Passed("Service kubectl-konnect-system/kubectl-konnect-webhook has 2 ready endpoints"), got)
	got = checks[IDWebhookCertificate].Run(ctx, e)
	assert.Equal(t, Pass, got.Status, got.Message)
	assert.Contains(t, got.Message, "serving certificate for kubectl-konnect-webhook.kubectl-konnect-system.svc valid until")

	e = serviceWebhookEnv(t, 10*24*time.Hour, false)
	got = checks[IDWebhookServing].Run(ctx, e)
	assert.Equal(t, Fail, got.Status)
	assert.Equal(t, "Service kubectl-konnect-system/kubectl-konnect-webhook has no ready endpoint: no webhook pod is ready", got.Message)
	got = checks[IDWebhookCertificate].Run(ctx, e)
	assert.Equal(t, Warn, got.Status)
	assert.Contains(t, got.Message, "the serving certificate (from Secret kubectl-konnect-system/kubectl-konnect-webhook-tls) expires on")
}

// runAll runs the whole catalogue once and returns the report.
func runAll(t *testing.T, e *Env) *Report {
	t.Helper()
	return Run(context.Background(), e, Catalogue(), RunOptions{})
}

func requireResult(t *testing.T, rep *Report, id string, want Status, contains ...string) CheckResult {
	t.Helper()
	got, ok := rep.Find(id)
	require.True(t, ok, "no check %s", id)
	require.Equal(t, want, got.Status, "%s: %s", id, got.Message)
	for _, c := range contains {
		require.Contains(t, got.Message+"\n"+got.Hint, c, id)
	}
	return got
}

// On kong-operator 2.x the checks read v1alpha2 objects: the fixture's
// control plane and extension exist only as v1alpha2, so a check reading
// v1alpha1 would find neither.
func TestKongOperator2ReadsV1Alpha2(t *testing.T) {
	f := newFixture(t, fixture{gen: rules.GenerationKO20, replicas: 1})
	f.konnect.RegisterNode(f.cpID, konnecttest.Node{Hostname: "dp-0", LastPing: time.Now()})
	rep := runAll(t, f.env)
	require.Equal(t, "ko-2.0", rep.Generation)
	requireResult(t, rep, IDKGOCRDs, Pass)
	gen := requireResult(t, rep, IDKGOGeneration, Pass, "kong-operator 2.0", "konnect.konghq.com/v1alpha2")
	require.NotContains(t, gen.Message, "not supported")
	requireResult(t, rep, IDControlPlaneFound, Pass, `gateway-cp (konnect.konghq.com/v1alpha2, Konnect name "cp", KonnectAPIAuthConfiguration auth)`)
	requireResult(t, rep, IDControlPlaneProgrammed, Pass, f.cpID)
	requireResult(t, rep, IDControlPlaneEndpoint, Pass)
	requireResult(t, rep, IDControlPlaneType, Pass, "CLUSTER_TYPE_CONTROL_PLANE")
	requireResult(t, rep, IDExtensionFound, Pass, "konnect-ext (konnect.konghq.com/v1alpha2), as ko-2.0 expects")
	requireResult(t, rep, IDExtensionTarget, Pass, "control plane gateway-cp (Konnect ID "+f.cpID)
	requireResult(t, rep, IDExtensionReady, Pass)
	requireResult(t, rep, IDDataPlaneConnected, Pass, "node dp-0")
	// The fixture has no certificate Secret: the check says so, and exits 1.
	requireResult(t, rep, IDCertificateSecret, Fail, "Secret dp-tls does not exist")
	require.True(t, rep.Failed())
}

// A DataPlane that names the gateway-operator.konghq.com KonnectExtension
// does not connect: KGO >= 1.5 ignores it, kong-operator 2.x does not even
// serve it. The fix names the KonnectExtension version of the generation:
// set the group when that KonnectExtension exists (the usual slip: group
// left out, which defaults to gateway-operator.konghq.com), else create one.
func TestExtensionOfTheIgnoredGroupNamesTheGenerationsVersion(t *testing.T) {
	for gen, tc := range map[rules.Generation]struct{ ignores, version string }{
		rules.GenerationKGO15Plus: {"which KGO >= 1.5 ignores", "konnect.konghq.com/v1alpha1"},
		rules.GenerationKO20:      {"which kong-operator 2.x neither serves nor acts on", "konnect.konghq.com/v1alpha2"},
	} {
		t.Run(string(gen), func(t *testing.T) {
			f := newFixture(t, fixture{gen: gen, replicas: 1, extensionGroup: groupGatewayOperator})
			rep := runAll(t, f.env)
			got := requireResult(t, rep, IDExtensionFound, Fail, tc.ignores,
				"Set group: konnect.konghq.com in spec.extensions of DataPlane dp, where "+tc.version+" KonnectExtension konnect-ext exists",
				`kubectl patch dataplane dp -n ns --type json -p '[{"op":"replace","path":"/spec/extensions/0/group","value":"konnect.konghq.com"}]'`)
			require.Contains(t, got.Message, "DataPlane dp uses KonnectExtension konnect-ext of group gateway-operator.konghq.com")
			requireResult(t, rep, IDExtensionTarget, Skip)
			requireResult(t, rep, IDCertificateSecret, Skip,
				"skipped: the data plane's KonnectExtension konnect-ext is of group gateway-operator.konghq.com, which "+map[rules.Generation]string{
					rules.GenerationKGO15Plus: "KGO >= 1.5", rules.GenerationKO20: "kong-operator 2.x"}[gen]+" does not act on (see extension-found)")

			f = newFixture(t, fixture{gen: gen, replicas: 1, extensionGroup: groupGatewayOperator, extensionName: "elsewhere"})
			rep = runAll(t, f.env)
			requireResult(t, rep, IDExtensionFound, Fail, tc.ignores,
				"Create a "+tc.version+" KonnectExtension with spec.konnect.controlPlane.ref {type: konnectNamespacedRef, konnectNamespacedRef: {name: gateway-cp}}")
		})
	}
}

// A Mirror control plane names its Konnect ID in spec.mirror.konnect.id:
// the checks that ask Konnect use it even before KGO wrote status.id.
func TestMirrorControlPlaneOnKongOperator2(t *testing.T) {
	f := newFixture(t, fixture{gen: rules.GenerationKO20, replicas: 1, mirror: true})
	ctx := context.Background()
	checks := map[string]Check{}
	for _, cat := range Catalogue() {
		for _, c := range cat.Checks {
			checks[c.ID] = c
		}
	}
	got := checks[IDControlPlaneFound].Run(ctx, f.env)
	require.Equal(t, Passed("gateway-cp (konnect.konghq.com/v1alpha2, mirror of Konnect control plane %s, KonnectAPIAuthConfiguration auth)", f.cpID), got)
	got = checks[IDControlPlaneProgrammed].Run(ctx, f.env)
	require.Equal(t, Fail, got.Status, "KGO has not reconciled the mirror: %s", got.Message)
	got = checks[IDControlPlaneEndpoint].Run(ctx, f.env)
	require.Equal(t, Pass, got.Status, got.Message)
	got = checks[IDExtensionTarget].Run(ctx, f.env)
	require.Equal(t, Pass, got.Status, got.Message)
	require.Contains(t, got.Message, "Konnect ID "+f.cpID)

	// A mirror of a control plane that is not in Konnect: the fix is the
	// mirrored ID, not deleting the object.
	g := newFixture(t, fixture{gen: rules.GenerationKO20, replicas: 1, mirror: true})
	gone := "00000000-0000-4000-8000-000000000000"
	cps, err := g.env.list(ctx, kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2))
	require.NoError(t, err)
	require.NoError(t, unstructured.SetNestedField(cps[0].Object, gone, "spec", "mirror", "konnect", "id"))
	_, err = g.env.Dynamic.Resource(kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2)).Namespace("ns").Update(ctx, cps[0], metav1.UpdateOptions{})
	require.NoError(t, err)
	g.env.Forget()
	got = checks[IDControlPlaneEndpoint].Run(ctx, g.env)
	require.Equal(t, Fail, got.Status, got.Message)
	require.Contains(t, got.Message, "404")
	require.Contains(t, got.Message, "the control plane KonnectGatewayControlPlane gateway-cp mirrors does not exist in Konnect")
	require.Contains(t, got.Hint, "spec.mirror.konnect.id")
	require.NotContains(t, got.Hint, "kubectl delete")
}

// The fix for a KIC control plane names the cluster_type field of the
// object's version.
func TestClusterTypeHintNamesTheFieldOfTheVersion(t *testing.T) {
	for gen, field := range map[rules.Generation]string{
		rules.GenerationKGO15Plus: "remove spec.cluster_type)",
		rules.GenerationKO20:      "remove spec.createControlPlaneRequest.cluster_type)",
	} {
		t.Run(string(gen), func(t *testing.T) {
			f := newFixture(t, fixture{gen: gen, replicas: 1})
			kic := f.konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "kic", ClusterType: "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"})
			ctx := context.Background()
			gvr, err := f.env.controlPlaneGVR(ctx)
			require.NoError(t, err)
			cp, err := f.env.get(ctx, gvr, "gateway-cp")
			require.NoError(t, err)
			require.NoError(t, unstructured.SetNestedField(cp.Object, kic.ID, "status", "id"))
			_, err = f.env.Dynamic.Resource(gvr).Namespace("ns").Update(ctx, cp, metav1.UpdateOptions{})
			require.NoError(t, err)
			f.env.Forget()
			rep := runAll(t, f.env)
			requireResult(t, rep, IDControlPlaneType, Fail, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", field)
		})
	}
}

// KGO's own conditions come first: an extension whose reference check can
// find nothing wrong with from outside still fails when KGO set
// ControlPlaneRefValid=False, quoting KGO; Ready names the condition that
// says why; a Ready=True extension with a False condition is not passed.
func TestChecksQuoteKGOConditionsFirst(t *testing.T) {
	refInvalid := map[string]any{"type": "ControlPlaneRefValid", "status": "False", "reason": "Invalid",
		"message": "failed listing controlPlanes by id: entity with ID x not found on Konnect"}
	for name, tc := range map[string]struct {
		ready     map[string]any
		wantReady string
	}{
		"provisioning": {map[string]any{"type": "Ready", "status": "False", "reason": "Provisioning", "message": "provisioning in progress"},
			"Ready=False (Provisioning): provisioning in progress; KGO also reports ControlPlaneRefValid=False (Invalid): failed listing controlPlanes by id"},
		"ready but contradicted": {map[string]any{"type": "Ready", "status": "True", "reason": "Ready"},
			"KGO reports on KonnectExtension konnect-ext: ControlPlaneRefValid=False (Invalid)"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixture{gen: rules.GenerationKGO15Plus, replicas: 1, extensionConditions: []any{tc.ready, refInvalid}})
			rep := runAll(t, f.env)
			requireResult(t, rep, IDExtensionTarget, Fail,
				"KGO reports on KonnectExtension konnect-ext: ControlPlaneRefValid=False (Invalid): failed listing controlPlanes by id: entity with ID x not found on Konnect",
				"kubectl describe konnectextension.konnect.konghq.com konnect-ext -n ns")
			requireResult(t, rep, IDExtensionReady, Fail, tc.wantReady)
		})
	}
}

// The release is the KonnectGatewayControlPlane CRD's annotation where the
// CRD can be read (it wins over the kinds served); where reading CRDs is
// forbidden, the kinds served decide and the check says so.
func TestKongOperator2ReleaseFromTheCRD(t *testing.T) {
	crd := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: kgoapi.ControlPlaneCRDName,
			Annotations: map[string]string{kgoapi.CRDVersionAnnotation: "v2.2.3"}},
	}
	scheme := metadatafake.NewTestScheme()
	require.NoError(t, metav1.AddMetaToScheme(scheme))
	forbidden := metadatafake.NewSimpleMetadataClient(scheme)
	forbidden.PrependReactor("get", "customresourcedefinitions", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, crd.Name, nil)
	})
	for name, tc := range map[string]struct {
		md      metadata.Interface
		gen     string
		message string
	}{
		"annotated v2.2.3": {metadatafake.NewSimpleMetadataClient(scheme, crd), "ko-2.2",
			"ko-2.2: kong-operator 2.2 (the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is v2.2.3): "},
		"forbidden": {forbidden, "ko-2.0",
			"ko-2.0: kong-operator 2.0 (from the kinds served: the KonnectGatewayControlPlane CRD could not be read (reading CustomResourceDefinitions is forbidden)): "},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixture{gen: rules.GenerationKO20, replicas: 1})
			f.env.Metadata = tc.md
			f.env.Forget()
			rep := runAll(t, f.env)
			require.Equal(t, tc.gen, rep.Generation)
			requireResult(t, rep, IDKGOGeneration, Pass, tc.message)
		})
	}
}
