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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
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
		gvrAuth: "KonnectAPIAuthConfigurationList", gvrControlPlane: "KonnectGatewayControlPlaneList",
		gvrExtension: "KonnectExtensionList", gvrExtensionOld: "KonnectExtensionList",
		gvrDataPlane: "DataPlaneList", gvrDPCertificates: "KongDataPlaneClientCertificateList",
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

type connectedFixture struct {
	konnect *konnecttest.Server
	cpID    string
	env     *Env
}

// newConnectedFixture: a programmed control plane with an inline-token auth
// and a DataPlane of replicas replicas running kong-gateway:3.9.1.0.
func newConnectedFixture(t *testing.T, replicas int64, pods ...corev1.Pod) connectedFixture {
	t.Helper()
	k := konnecttest.NewForTest(t)
	cp := k.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "cp"})
	tok := k.IssueToken()
	objs := []runtime.Object{
		u("konnect.konghq.com/v1alpha1", "KonnectAPIAuthConfiguration", "auth", map[string]any{
			"spec": map[string]any{"type": "token", "token": tok, "serverURL": "us.api.konghq.com"}}),
		u("konnect.konghq.com/v1alpha1", "KonnectGatewayControlPlane", "gateway-cp", map[string]any{
			"spec":   map[string]any{"name": "cp", "konnect": map[string]any{"authRef": map[string]any{"name": "auth"}}},
			"status": map[string]any{"id": cp.ID, "conditions": []any{map[string]any{"type": "Programmed", "status": "True"}}}}),
		u("gateway-operator.konghq.com/v1beta1", "DataPlane", "dp", map[string]any{
			"spec": map[string]any{"deployment": map[string]any{"podTemplateSpec": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "proxy", "image": "kong/kong-gateway:3.9.1.0"}}}}}},
			"status": map[string]any{"replicas": replicas, "readyReplicas": replicas, "selector": "abc123456",
				"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}),
	}
	var kubeObjs []runtime.Object
	for i := range pods {
		kubeObjs = append(kubeObjs, &pods[i])
	}
	env := NewEnv(Options{Namespace: "ns"}, Clients{
		Kube: kubefake.NewClientset(kubeObjs...), Dynamic: fakeDynamic(objs...), KonnectHTTPClient: k.HTTPClient(),
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
