package cert

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	discoveryfake "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

const testNS = "kong"

// The KonnectGatewayControlPlane resources of KGO 1.x and kong-operator 2.x. The fake keeps objects per
// version, as kong-operator 2.x does in effect: its v1alpha1 has no conversion, so a v1alpha2 object
// read as v1alpha1 lacks its Konnect fields.
var (
	gvrControlPlane   = kgoapi.ControlPlaneGVR(kgoapi.V1Alpha1)
	gvrControlPlaneV2 = kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2)
)

// env is a fake cluster (dynamic fake client with server-side apply and dry-run emulated) plus the fake
// Konnect, and a "KGO" that programs KongDataPlaneClientCertificates when asked to.
type env struct {
	t       *testing.T
	dyn     *dynamicfake.FakeDynamicClient
	konnect *konnecttest.Server
	token   string
	cpID    string

	mu sync.Mutex
	// program makes the fake KGO set Programmed=True on applied registrations.
	program bool
	// writes are the persisted writes, in order: "apply secrets/x", "delete kongdataplaneclientcertificates/y".
	writes []string
	// dryRuns are the dry-run writes.
	dryRuns []string
	// touched is set when a client or the namespace was asked for.
	touched bool
	// served is what discovery answers: konnect.konghq.com/v1alpha1 always, v1alpha2 with serveV1Alpha2.
	served []*metav1.APIResourceList
	// discoveryErr, when set, is the answer of every discovery request.
	discoveryErr error
	// discoveries counts the discovery requests.
	discoveries int
}

func newEnv(t *testing.T, objs ...*unstructured.Unstructured) *env {
	t.Helper()
	e := &env{t: t, konnect: konnecttest.NewForTest(t), program: true}
	e.served = []*metav1.APIResourceList{{GroupVersion: "konnect.konghq.com/v1alpha1", APIResources: []metav1.APIResource{
		{Name: kgoapi.ResourceControlPlanes, Kind: kindControlPlane, Namespaced: true},
		{Name: "konnectapiauthconfigurations", Kind: kindAuthConfig, Namespaced: true},
	}}}
	scheme := runtime.NewScheme()
	listKinds := map[schema.GroupVersionResource]string{
		gvrSecret:         "SecretList",
		gvrDPCert:         "KongDataPlaneClientCertificateList",
		gvrControlPlane:   "KonnectGatewayControlPlaneList",
		gvrControlPlaneV2: "KonnectGatewayControlPlaneList",
		gvrAuthConfig:     "KonnectAPIAuthConfigurationList",
	}
	var ro []runtime.Object
	for _, o := range objs {
		ro = append(ro, o)
	}
	e.dyn = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, listKinds, ro...)
	tracker := e.dyn.Tracker()
	e.dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchActionImpl)
		if pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		gvr, ns, name := pa.GetResource(), pa.GetNamespace(), pa.GetName()
		patch := &unstructured.Unstructured{}
		if err := json.Unmarshal(pa.GetPatch(), &patch.Object); err != nil {
			return true, nil, err
		}
		existing, err := tracker.Get(gvr, ns, name)
		var merged *unstructured.Unstructured
		switch {
		case apierrors.IsNotFound(err):
			merged = patch.DeepCopy()
			merged.SetResourceVersion("1")
		case err != nil:
			return true, nil, err
		default:
			merged = existing.(*unstructured.Unstructured).DeepCopy()
			for k, v := range patch.Object {
				if k == "metadata" {
					continue
				}
				merged.Object[k] = v
			}
			merged.SetLabels(mergeMaps(merged.GetLabels(), patch.GetLabels()))
			merged.SetAnnotations(mergeMaps(merged.GetAnnotations(), patch.GetAnnotations()))
			merged.SetResourceVersion(bumpRV(merged.GetResourceVersion()))
		}
		if len(pa.PatchOptions.DryRun) > 0 {
			e.record(true, "apply "+gvr.Resource+"/"+name)
			return true, merged, nil
		}
		if gvr == gvrDPCert && e.programming() {
			_ = unstructured.SetNestedSlice(merged.Object, []any{map[string]any{
				"type": programmedType, "status": "True", "reason": "Programmed", "message": "",
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}}, "status", "conditions")
		}
		if apierrors.IsNotFound(err) {
			err = tracker.Create(gvr, merged, ns)
		} else {
			err = tracker.Update(gvr, merged, ns)
		}
		e.record(false, "apply "+gvr.Resource+"/"+name)
		return true, merged, err
	})
	e.dyn.PrependReactor("delete", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		da := a.(k8stesting.DeleteActionImpl)
		if len(da.DeleteOptions.DryRun) > 0 {
			e.record(true, "delete "+da.GetResource().Resource+"/"+da.GetName())
			return true, nil, nil
		}
		e.record(false, "delete "+da.GetResource().Resource+"/"+da.GetName())
		return false, nil, nil
	})
	e.dyn.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		e.record(false, "create "+a.GetResource().Resource)
		return false, nil, nil
	})
	e.dyn.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		e.record(false, "update "+a.GetResource().Resource)
		return false, nil, nil
	})
	return e
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func bumpRV(rv string) string {
	var n int
	_, _ = fmt.Sscanf(rv, "%d", &n)
	return fmt.Sprint(n + 1)
}

func (e *env) record(dry bool, w string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if dry {
		e.dryRuns = append(e.dryRuns, w)
	} else {
		e.writes = append(e.writes, w)
	}
}

func (e *env) programming() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.program
}

func (e *env) setProgram(v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.program = v
}

// takeWrites returns and forgets the persisted and dry-run writes.
func (e *env) takeWrites() (writes, dryRuns []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	writes, dryRuns = e.writes, e.dryRuns
	e.writes, e.dryRuns = nil, nil
	return writes, dryRuns
}

// Factory implementation.
func (e *env) Dynamic() (dynamic.Interface, error) { e.touched = true; return e.dyn, nil }
func (e *env) Namespace() (string, bool, error)    { e.touched = true; return testNS, true, nil }
func (e *env) KonnectHTTPClient() *http.Client     { return e.konnect.HTTPClient() }

func (e *env) FreshDiscovery() (discovery.DiscoveryInterface, error) {
	e.touched = true
	dc := &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{Resources: e.served}}
	dc.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.discoveries++
		return e.discoveryErr != nil, nil, e.discoveryErr
	})
	return dc, nil
}

// serveV1Alpha2 makes the cluster kong-operator 2.x: discovery lists KonnectGatewayControlPlane v1alpha2.
func (e *env) serveV1Alpha2() {
	e.served = append(e.served, &metav1.APIResourceList{GroupVersion: "konnect.konghq.com/v1alpha2", APIResources: []metav1.APIResource{
		{Name: kgoapi.ResourceControlPlanes, Kind: kindControlPlane, Namespaced: true},
		{Name: kgoapi.ResourceExtensions, Kind: "KonnectExtension", Namespaced: true},
	}})
}

// serveKO22 makes the cluster kong-operator 2.2 or later: v1alpha2, and KonnectEventGateway in
// konnect.konghq.com/v1alpha1 (new in 2.2.0).
func (e *env) serveKO22() {
	e.serveV1Alpha2()
	e.served[0].APIResources = append(e.served[0].APIResources, metav1.APIResource{Name: resourceEventGateways, Kind: "KonnectEventGateway", Namespaced: true})
}

// run executes `cert <args>` and returns stdout, stderr and the error.
func (e *env) run(args ...string) (string, string, error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(e, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (e *env) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	e.t.Helper()
	u, err := e.dyn.Resource(gvr).Namespace(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(e.t, err)
	return u
}

func (e *env) list(gvr schema.GroupVersionResource) []unstructured.Unstructured {
	e.t.Helper()
	l, err := e.dyn.Resource(gvr).Namespace(testNS).List(context.Background(), metav1.ListOptions{})
	require.NoError(e.t, err)
	return l.Items
}

func (e *env) secretData(name string) map[string][]byte {
	e.t.Helper()
	u := e.get(gvrSecret, name)
	require.NotNil(e.t, u, "Secret %s", name)
	d, err := dpcert.SecretData(u)
	require.NoError(e.t, err)
	return d
}

// --- objects ---

func obj(apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns},
	}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

func authToken(ns, name, token string) *unstructured.Unstructured {
	return obj("konnect.konghq.com/v1alpha1", kindAuthConfig, ns, name, map[string]any{
		"spec": map[string]any{"type": "token", "token": token, "serverURL": "us.api.konghq.com"},
	})
}

func authSecretRef(ns, name, secret string) *unstructured.Unstructured {
	return obj("konnect.konghq.com/v1alpha1", kindAuthConfig, ns, name, map[string]any{
		"spec": map[string]any{"type": "secretRef", "secretRef": map[string]any{"name": secret}, "serverURL": "us.api.konghq.com"},
	})
}

func controlPlaneObj(ns, name, konnectName, id, authRef string, spec map[string]any) *unstructured.Unstructured {
	s := map[string]any{"name": konnectName, "konnect": map[string]any{"authRef": map[string]any{"name": authRef}}}
	for k, v := range spec {
		s[k] = v
	}
	u := obj("konnect.konghq.com/v1alpha1", kindControlPlane, ns, name, map[string]any{"spec": s})
	if id != "" {
		u.Object["status"] = map[string]any{"id": id}
	}
	return u
}

func rawSecret(ns, name, typ string, labels map[string]string, data map[string][]byte) *unstructured.Unstructured {
	enc := map[string]any{}
	for k, v := range data {
		enc[k] = base64.StdEncoding.EncodeToString(v)
	}
	u := obj("v1", "Secret", ns, name, map[string]any{"type": typ, "data": enc})
	if labels != nil {
		u.SetLabels(labels)
	}
	return u
}

// rawDPCert is a KongDataPlaneClientCertificate made by hand (no labels), registering certPEM with
// the control plane resource controlPlane.
func rawDPCert(ns, name, controlPlane, certPEM string) *unstructured.Unstructured {
	return obj("configuration.konghq.com/v1alpha1", dpcert.KindDPCert, ns, name, map[string]any{
		"spec": map[string]any{
			"controlPlaneRef": map[string]any{
				"type":                 "konnectNamespacedRef",
				"konnectNamespacedRef": map[string]any{"name": controlPlane},
			},
			"cert": certPEM,
		},
	})
}

// controlPlaneV2 is a kong-operator 2.x (v1alpha2) Origin control plane: the Konnect name, cluster
// type and auth type in spec.createControlPlaneRequest.
func controlPlaneV2(ns, name, id string, req kgoapi.ControlPlaneRequest) *unstructured.Unstructured {
	u := kgoapi.NewOriginControlPlane(kgoapi.V1Alpha2, ns, name, req)
	if id != "" {
		u.Object["status"] = map[string]any{"id": id}
	}
	return u
}

// gvrOf is the resource of a fixture object, by kind and version.
func gvrOf(o *unstructured.Unstructured) schema.GroupVersionResource {
	if o.GetKind() == kindControlPlane {
		return kgoapi.ControlPlaneGVR(o.GroupVersionKind().Version)
	}
	return map[string]schema.GroupVersionResource{"Secret": gvrSecret, dpcert.KindDPCert: gvrDPCert, kindAuthConfig: gvrAuthConfig}[o.GetKind()]
}

// create adds fixture objects to the fake cluster.
func (e *env) create(objs ...*unstructured.Unstructured) {
	e.t.Helper()
	for _, o := range objs {
		require.NoError(e.t, e.dyn.Tracker().Create(gvrOf(o), o, o.GetNamespace()))
	}
}

// standardEnv is namespace "kong" with control plane "gw-cp" (Konnect name "Gateway CP", programmed,
// token readable) registered in the fake Konnect with the given auth type: a KGO 1.x cluster.
func standardEnv(t *testing.T, authType string, extra ...*unstructured.Unstructured) *env {
	t.Helper()
	return standardEnvFor(t, kgoapi.V1Alpha1, authType, extra...)
}

// standardEnvFor is standardEnv on KGO 1.x (v1alpha1) or kong-operator 2.x (v1alpha2: served, and
// "gw-cp" made in that version).
func standardEnvFor(t *testing.T, version, authType string, extra ...*unstructured.Unstructured) *env {
	t.Helper()
	e := newEnv(t)
	seed := konnecttest.ControlPlaneSeed{Name: "Gateway CP", AuthType: authType}
	cp := e.konnect.AddControlPlane(seed)
	e.cpID = cp.ID
	e.token = e.konnect.IssueToken()
	gwCP := controlPlaneObj(testNS, "gw-cp", "Gateway CP", cp.ID, "konnect-auth", nil)
	if version == kgoapi.V1Alpha2 {
		e.serveV1Alpha2()
		gwCP = controlPlaneV2(testNS, "gw-cp", cp.ID, kgoapi.ControlPlaneRequest{Name: "Gateway CP", AuthRef: "konnect-auth"})
	}
	e.create(append([]*unstructured.Unstructured{authToken(testNS, "konnect-auth", e.token), gwCP}, extra...)...)
	return e
}

// assertNothingWritten: no write, and not even a server-side dry run of one.
func (e *env) assertNothingWritten(t *testing.T) {
	t.Helper()
	writes, dry := e.takeWrites()
	assert.Empty(t, writes, "nothing written")
	assert.Empty(t, dry, "nothing even tried")
}
