package migrate

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

const (
	cpID      = "5f9fd312-a987-4628-b4c5-bb4f4fddd5f7"
	otherID   = "0b7a5f2e-0d38-4a54-9c0e-3c3f7f0b1a11"
	prefix    = "b89939e7f0"
	otherPfx  = "c0ffee0001"
	endpoint  = "https://" + prefix + ".us.cp0.konghq.com"
	otherEndp = "https://" + otherPfx + ".us.cp0.konghq.com"
)

func parse(t testing.TB, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		for _, part := range strings.Split(d, "\n---\n") {
			m := map[string]any{}
			require.NoError(t, yaml.Unmarshal([]byte(part), &m), part)
			if len(m) > 0 {
				out = append(out, &unstructured.Unstructured{Object: m})
			}
		}
	}
	return out
}

func one(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	objs := parse(t, doc)
	require.Len(t, objs, 1)
	return objs[0]
}

func toYAML(t testing.TB, u *unstructured.Unstructured) string {
	t.Helper()
	s, err := YAML(u)
	require.NoError(t, err)
	return s
}

// --- objects of the KGO 1.x workflow ---

const auth = `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: konnect-auth, namespace: team-a}
spec: {type: token, token: kpat_test, serverURL: us.api.konghq.com}`

func kgcpV1(name, konnectName, id string) string {
	st := ""
	if id != "" {
		st = "\nstatus: {id: " + id + "}"
	}
	return fmt.Sprintf(`apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata: {name: %s, namespace: team-a}
spec:
  name: %s
  konnect: {authRef: {name: konnect-auth}}%s`, name, konnectName, st)
}

func legacyExt(name, konnectID, region string) string {
	return fmt.Sprintf(`apiVersion: gateway-operator.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: %s, namespace: team-a}
spec:
  controlPlaneRef: {type: konnectID, konnectID: %s}
  controlPlaneRegion: %s
  serverHostname: konghq.com
  konnectControlPlaneAPIAuthConfiguration:
    clusterCertificateSecretRef: {name: dp-tls}`, name, konnectID, region)
}

func konnectExtByID(name, id, authRef string) string {
	return fmt.Sprintf(`apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: %s, namespace: team-a}
spec:
  konnect:
    controlPlane: {ref: {type: konnectID, konnectID: %s}}
    configuration: {authRef: {name: %s}}
  clientAuth: {certificateSecret: {provisioning: Automatic}}`, name, id, authRef)
}

func dataPlane(name, group, ext string) string {
	g := ""
	if group != "" {
		g = ", group: " + group
	}
	return fmt.Sprintf(`apiVersion: gateway-operator.konghq.com/v1beta1
kind: DataPlane
metadata: {name: %s, namespace: team-a}
spec:
  extensions: [{kind: KonnectExtension, name: %s%s}]
  deployment: {podTemplateSpec: {spec: {containers: [{name: proxy, image: "kong/kong-gateway:3.9.1.0"}]}}}`, name, ext, g)
}

// fakeKonnect lists fixed control planes per auth configuration name.
type fakeKonnect struct {
	cps   map[string][]ControlPlane
	err   map[string]error
	calls []string
}

func (f *fakeKonnect) ControlPlanes(_ context.Context, auth *unstructured.Unstructured) ([]ControlPlane, error) {
	f.calls = append(f.calls, auth.GetName())
	return f.cps[auth.GetName()], f.err[auth.GetName()]
}

func konnectWith(cps ...ControlPlane) *fakeKonnect {
	return &fakeKonnect{cps: map[string][]ControlPlane{"konnect-auth": cps}}
}

// --- conversions ---

func TestControlPlaneV1Alpha2MovesTheKonnectRequest(t *testing.T) {
	cp := one(t, `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata:
  name: gateway-cp
  namespace: team-a
  uid: 4a1
  resourceVersion: "7"
  finalizers: [konnect.konghq.com/delete]
  labels: {team: a}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", note: kept}
spec:
  name: demo
  description: the demo
  cluster_type: CLUSTER_TYPE_CONTROL_PLANE_GROUP
  auth_type: pki_client_certs
  cloud_gateway: false
  labels: {env: prod}
  proxy_urls: [{host: example.com, port: 443, protocol: https}]
  members: [{name: member-cp}]
  konnect: {authRef: {name: konnect-auth}}
status: {id: `+cpID+`}`)
	out, dropped, ok := ControlPlaneV1Alpha2(cp)
	require.True(t, ok)
	assert.Empty(t, dropped)
	assert.Equal(t, `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata:
  annotations:
    note: kept
  labels:
    team: a
  name: gateway-cp
  namespace: team-a
spec:
  createControlPlaneRequest:
    auth_type: pki_client_certs
    cloud_gateway: false
    cluster_type: CLUSTER_TYPE_CONTROL_PLANE_GROUP
    description: the demo
    labels:
      env: prod
    name: demo
    proxy_urls:
    - host: example.com
      port: 443
      protocol: https
  konnect:
    authRef:
      name: konnect-auth
  members:
  - name: member-cp
  source: Origin
`, toYAML(t, out))
	assert.Equal(t, "demo", cp.Object["spec"].(map[string]any)["name"], "the input is not modified")
}

func TestControlPlaneV1Alpha2KeepsAMirror(t *testing.T) {
	cp := one(t, `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata: {name: mirror-cp}
spec:
  source: Mirror
  mirror: {konnect: {id: `+cpID+`}}
  konnect: {authRef: {name: konnect-auth}}
  frobnicate: true`)
	out, dropped, ok := ControlPlaneV1Alpha2(cp)
	require.True(t, ok)
	assert.Equal(t, []string{"spec.frobnicate"}, dropped)
	assert.Equal(t, map[string]any{
		"source":  "Mirror",
		"mirror":  map[string]any{"konnect": map[string]any{"id": cpID}},
		"konnect": map[string]any{"authRef": map[string]any{"name": "konnect-auth"}},
	}, out.Object["spec"])

	_, _, ok = ControlPlaneV1Alpha2(out)
	assert.False(t, ok, "v1alpha2 is migrated already")
}

func TestExtensionV1Alpha2FromKGO14(t *testing.T) {
	ext := one(t, legacyExt("konnect-ext", prefix, "us")+"\n  clusterDataPlaneLabels: {env: prod}")
	assert.Equal(t, `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectExtension
metadata:
  name: konnect-ext
  namespace: team-a
spec:
  clientAuth:
    certificateSecret:
      provisioning: Manual
      secretRef:
        name: dp-tls
  konnect:
    controlPlane:
      ref:
        konnectNamespacedRef:
          name: gateway-cp
        type: konnectNamespacedRef
    dataPlane:
      labels:
        env: prod
`, toYAML(t, ExtensionV1Alpha2(ext, "gateway-cp")))
}

func TestExtensionV1Alpha2FromKGO16DropsTheAuthRef(t *testing.T) {
	ext := one(t, strings.Replace(konnectExtByID("konnect-ext", cpID, "konnect-auth"), "    configuration:", "    dataPlane: {labels: {team: a}}\n    configuration:", 1))
	out := ExtensionV1Alpha2(ext, "gateway-cp")
	assert.Equal(t, map[string]any{
		"konnect": map[string]any{
			"controlPlane": map[string]any{"ref": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": "gateway-cp"}}},
			"dataPlane":    map[string]any{"labels": map[string]any{"team": "a"}},
		},
		"clientAuth": map[string]any{"certificateSecret": map[string]any{"provisioning": "Automatic"}},
	}, out.Object["spec"])
}

func TestDataPlaneExtensionsV2(t *testing.T) {
	for name, tc := range map[string]struct {
		group string
		moves bool
	}{
		"gateway-operator.konghq.com":           {"gateway-operator.konghq.com", true},
		"no group (the CRD's default is KGO's)": {"", true},
		"konnect.konghq.com stays":              {"konnect.konghq.com", false},
	} {
		t.Run(name, func(t *testing.T) {
			dp := one(t, dataPlane("dp", tc.group, "konnect-ext"))
			out, names, ok := DataPlaneExtensionsV2(dp)
			require.Equal(t, tc.moves, ok)
			assert.Equal(t, !tc.moves, IsMigrated(dp))
			if !ok {
				return
			}
			assert.Equal(t, []string{"konnect-ext"}, names)
			exts, _, _ := unstructured.NestedSlice(out.Object, "spec", "extensions")
			assert.Equal(t, []any{map[string]any{"kind": "KonnectExtension", "name": "konnect-ext", "group": "konnect.konghq.com"}}, exts)
			assert.True(t, IsMigrated(out))
			// The containers and the rest of the spec stay.
			img, _, _ := unstructured.NestedSlice(out.Object, "spec", "deployment", "podTemplateSpec", "spec", "containers")
			assert.Len(t, img, 1)
		})
	}
}

// --- Plan ---

func names(res *Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, c.New.GetAPIVersion()+" "+c.New.GetKind()+" "+c.New.GetName())
	}
	return out
}

func refOf(t *testing.T, res *Result, ext string) string {
	t.Helper()
	for _, c := range res.Changes {
		if c.New.GetKind() == "KonnectExtension" && c.New.GetName() == ext {
			n, _, _ := unstructured.NestedString(c.New.Object, "spec", "konnect", "controlPlane", "ref", "konnectNamespacedRef", "name")
			return n
		}
	}
	t.Fatalf("no change of KonnectExtension %s in %v", ext, names(res))
	return ""
}

func TestPlanKGO14WorkflowFindsTheControlPlaneThroughKonnect(t *testing.T) {
	k := konnectWith(ControlPlane{ID: otherID, Name: "other", ControlPlaneEndpoint: otherEndp}, ControlPlane{ID: cpID, Name: "demo", ControlPlaneEndpoint: endpoint})
	res := Plan(context.Background(), Input{Objects: parse(t, auth, kgcpV1("gateway-cp", "demo", cpID), legacyExt("konnect-ext", prefix, "us"), dataPlane("dp", "gateway-operator.konghq.com", "konnect-ext")), Konnect: k})
	assert.Empty(t, res.Unresolved)
	assert.Equal(t, []string{
		"konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane gateway-cp",
		"konnect.konghq.com/v1alpha2 KonnectExtension konnect-ext",
		"gateway-operator.konghq.com/v1beta1 DataPlane dp",
	}, names(res), "apply order")
	assert.Equal(t, "gateway-cp", refOf(t, res, "konnect-ext"))
	assert.Contains(t, res.Changes[1].Why, `konnectID b89939e7f0 is the endpoint prefix of Konnect control plane "demo" (`+cpID+`), found with KonnectAPIAuthConfiguration konnect-auth; KonnectGatewayControlPlane gateway-cp has its ID`)
	assert.Contains(t, strings.Join(res.Notes, "\n"), "delete team-a/konnect-ext (kubectl delete konnectextensions.gateway-operator.konghq.com konnect-ext -n team-a)")
	assert.Equal(t, []string{"konnect-auth"}, k.calls)
	assert.Equal(t, "gateway-operator.konghq.com/v1alpha1", res.Changes[1].Old.GetAPIVersion())

	// Applying the result and planning again changes nothing.
	var migrated []*unstructured.Unstructured
	for _, c := range res.Changes {
		migrated = append(migrated, c.New)
	}
	again := Plan(context.Background(), Input{Objects: append(parse(t, auth), migrated...), Konnect: k})
	assert.Empty(t, again.Changes)
	assert.Empty(t, again.Unresolved)
}

func TestPlanKGO14EndpointFromStatusNeedsNoKonnect(t *testing.T) {
	cp := kgcpV1("gateway-cp", "demo", "") + "\n  konnectEndpoints: {controlPlane: " + endpoint + ", telemetry: x}"
	cp = strings.Replace(cp, "  konnect: {authRef: {name: konnect-auth}}\n  konnectEndpoints", "  konnect: {authRef: {name: konnect-auth}}\nstatus:\n  konnectEndpoints", 1)
	res := Plan(context.Background(), Input{Objects: parse(t, auth, cp, legacyExt("konnect-ext", prefix, "us"))})
	require.Empty(t, res.Unresolved)
	assert.Equal(t, "gateway-cp", refOf(t, res, "konnect-ext"))
}

func TestPlanKGO14OriginByKonnectName(t *testing.T) {
	// Manifests carry no status: the Konnect name says which object creates
	// the control plane.
	k := konnectWith(ControlPlane{ID: cpID, Name: "demo", ControlPlaneEndpoint: endpoint})
	res := Plan(context.Background(), Input{Objects: parse(t, auth, kgcpV1("gateway-cp", "demo", ""), legacyExt("konnect-ext", prefix, "us")), Konnect: k})
	require.Empty(t, res.Unresolved)
	assert.Equal(t, "gateway-cp", refOf(t, res, "konnect-ext"))
	assert.Contains(t, res.Changes[1].Why, `KonnectGatewayControlPlane gateway-cp creates it (spec.name "demo")`)
}

func TestPlanKGO14ControlPlaneOutsideTheNamespaceGetsAMirror(t *testing.T) {
	k := konnectWith(ControlPlane{ID: cpID, Name: "Shared Gateway", ControlPlaneEndpoint: endpoint})
	objs := parse(t, auth, kgcpV1("shared-gateway", "another", ""), legacyExt("konnect-ext", prefix, "us"), legacyExt("konnect-ext-2", prefix, "us"))
	res := Plan(context.Background(), Input{Objects: objs, Konnect: k})
	require.Empty(t, res.Unresolved)
	assert.Equal(t, []string{
		"konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane shared-gateway",
		"konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane shared-gateway-mirror",
		"konnect.konghq.com/v1alpha2 KonnectExtension konnect-ext",
		"konnect.konghq.com/v1alpha2 KonnectExtension konnect-ext-2",
	}, names(res), "one Mirror for both extensions, named after the Konnect name, which was taken")
	assert.Equal(t, "shared-gateway-mirror", refOf(t, res, "konnect-ext"))
	assert.Equal(t, "shared-gateway-mirror", refOf(t, res, "konnect-ext-2"))
	m := res.Changes[1]
	assert.Nil(t, m.Old)
	assert.Equal(t, `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata:
  name: shared-gateway-mirror
  namespace: team-a
spec:
  konnect:
    authRef:
      name: konnect-auth
  mirror:
    konnect:
      id: `+cpID+`
  source: Mirror
`, toYAML(t, m.New))
}

func TestPlanKGO16KonnectIDs(t *testing.T) {
	objs := parse(t, auth, kgcpV1("gateway-cp", "demo", cpID), konnectExtByID("by-id", cpID, "konnect-auth"), konnectExtByID("elsewhere", otherID, "konnect-auth"))
	// Offline: the Mirror is named after the extension.
	res := Plan(context.Background(), Input{Objects: objs})
	require.Empty(t, res.Unresolved)
	assert.Equal(t, "gateway-cp", refOf(t, res, "by-id"))
	assert.Equal(t, "elsewhere-control-plane", refOf(t, res, "elsewhere"))
	// With Konnect, after the control plane's Konnect name.
	res = Plan(context.Background(), Input{Objects: objs, Konnect: konnectWith(ControlPlane{ID: otherID, Name: "edge", ControlPlaneEndpoint: otherEndp})})
	assert.Equal(t, "edge", refOf(t, res, "elsewhere"))
	// Without an authRef there is no Mirror to make.
	res = Plan(context.Background(), Input{Objects: parse(t, strings.Replace(konnectExtByID("lost", otherID, "x"), "\n    configuration: {authRef: {name: x}}", "", 1))})
	require.Len(t, res.Unresolved, 1)
	assert.Contains(t, res.Unresolved[0], "KonnectExtension team-a/lost (konnect.konghq.com/v1alpha1): konnectID "+otherID+" matches no KonnectGatewayControlPlane of namespace team-a")
}

func TestPlanKGO16NamespacedRefNeedsNoKonnect(t *testing.T) {
	ext := strings.Replace(konnectExtByID("konnect-ext", cpID, "konnect-auth"), "{type: konnectID, konnectID: "+cpID+"}", "{type: konnectNamespacedRef, konnectNamespacedRef: {name: gateway-cp}}", 1)
	k := konnectWith()
	res := Plan(context.Background(), Input{Objects: parse(t, auth, kgcpV1("gateway-cp", "demo", ""), ext, dataPlane("dp", "konnect.konghq.com", "konnect-ext")), Konnect: k})
	require.Empty(t, res.Unresolved)
	assert.Equal(t, []string{
		"konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane gateway-cp",
		"konnect.konghq.com/v1alpha2 KonnectExtension konnect-ext",
	}, names(res), "the DataPlane already names the konnect.konghq.com extension")
	assert.Equal(t, "gateway-cp", refOf(t, res, "konnect-ext"))
	assert.Empty(t, k.calls)
	assert.Empty(t, res.Notes)
	_, hasConfig, _ := unstructured.NestedMap(res.Changes[1].New.Object, "spec", "konnect", "configuration")
	assert.False(t, hasConfig, "v1alpha2 has no spec.konnect.configuration")
}

func TestPlanUnresolvedPrefixes(t *testing.T) {
	objs := parse(t, auth, legacyExt("konnect-ext", prefix, "us"), dataPlane("dp", "", "konnect-ext"))
	res := Plan(context.Background(), Input{Objects: objs})
	require.Len(t, res.Unresolved, 1)
	assert.Contains(t, res.Unresolved[0], "konnectID b89939e7f0 is a control-plane endpoint prefix (KGO 1.4); no KonnectGatewayControlPlane's status names it, and Konnect was not asked")
	assert.Equal(t, []string{"gateway-operator.konghq.com/v1beta1 DataPlane dp"}, names(res), "the rest is still migrated")

	k := konnectWith(ControlPlane{ID: otherID, Name: "other", ControlPlaneEndpoint: otherEndp})
	k.err = map[string]error{"eu-auth": fmt.Errorf("401 Unauthorized")}
	euAuth := strings.NewReplacer("konnect-auth", "eu-auth", "us.api", "eu.api").Replace(auth)
	res = Plan(context.Background(), Input{Objects: append(objs, parse(t, euAuth)...), Konnect: k})
	require.Len(t, res.Unresolved, 1)
	assert.Contains(t, res.Unresolved[0], "konnectID b89939e7f0 matches the endpoint of no control plane Konnect listed (konnect-auth: 1 control planes)")
	assert.Equal(t, []string{"konnect-auth"}, k.calls, "the eu auth configuration is not asked about a us extension")
}

func TestPlanLeavesAnExistingKonnectExtension(t *testing.T) {
	existing := strings.Replace(konnectExtByID("konnect-ext", cpID, "konnect-auth"), "v1alpha1", "v1alpha2", 1)
	res := Plan(context.Background(), Input{Objects: parse(t, auth, legacyExt("konnect-ext", prefix, "us"), existing)})
	assert.Empty(t, res.Changes)
	assert.Empty(t, res.Unresolved)
	assert.Contains(t, strings.Join(res.Notes, "\n"), "a konnect.konghq.com KonnectExtension team-a/konnect-ext exists already")
}

func TestDNSName(t *testing.T) {
	for in, want := range map[string]string{"Shared Gateway": "shared-gateway", "--x--": "x", "prod_eu.1": "prod-eu-1", "": "", strings.Repeat("a", 80): strings.Repeat("a", 63)} {
		assert.Equal(t, want, dnsName(in), in)
	}
}

// --- output ---

func TestWriteDiffAndYAML(t *testing.T) {
	res := Plan(context.Background(), Input{Objects: parse(t, kgcpV1("gateway-cp", "demo", cpID))})
	var b bytes.Buffer
	require.NoError(t, WriteDiff(&b, res.Changes))
	assert.Equal(t, `diff -u -N a/konnect.konghq.com.v1alpha1.KonnectGatewayControlPlane.team-a.gateway-cp b/konnect.konghq.com.v1alpha2.KonnectGatewayControlPlane.team-a.gateway-cp
--- a/konnect.konghq.com.v1alpha1.KonnectGatewayControlPlane.team-a.gateway-cp
+++ b/konnect.konghq.com.v1alpha2.KonnectGatewayControlPlane.team-a.gateway-cp
@@ -1,10 +1,12 @@
-apiVersion: konnect.konghq.com/v1alpha1
+apiVersion: konnect.konghq.com/v1alpha2
 kind: KonnectGatewayControlPlane
 metadata:
   name: gateway-cp
   namespace: team-a
 spec:
+  createControlPlaneRequest:
+    name: demo
   konnect:
     authRef:
       name: konnect-auth
-  name: demo
+  source: Origin
`, b.String())

	b.Reset()
	m := NewMirror("", "m", cpID, "konnect-auth")
	require.NoError(t, WriteDiff(&b, []Change{{New: m}}))
	assert.True(t, strings.HasPrefix(b.String(), "diff -u -N /dev/null b/konnect.konghq.com.v1alpha2.KonnectGatewayControlPlane.m\n--- /dev/null\n+++ b/konnect.konghq.com.v1alpha2.KonnectGatewayControlPlane.m\n@@ -0,0 +1,12 @@\n+apiVersion:"), b.String())

	b.Reset()
	require.NoError(t, WriteYAML(&b, append(res.Changes, Change{New: m})))
	docs := parse(t, b.String())
	require.Len(t, docs, 2)
	assert.Equal(t, "gateway-cp", docs[0].GetName())
	assert.Equal(t, "m", docs[1].GetName())
}

func TestUnifiedHunksSplitFarChanges(t *testing.T) {
	var a, b []string
	for i := 1; i <= 20; i++ {
		a = append(a, fmt.Sprintf("%d\n", i))
		b = append(b, fmt.Sprintf("%d\n", i))
	}
	b[1], b[18] = "two\n", "nineteen\n"
	h := unifiedHunks(a, b, 3)
	require.Len(t, h, 2)
	assert.Equal(t, "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n", h[0])
	assert.Equal(t, "@@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n", h[1])
	assert.Empty(t, unifiedHunks(a, a, 3))
}

// --- Konnect through the SDK, against the fake Konnect ---

func TestKonnectAPIListsEveryPage(t *testing.T) {
	srv := konnecttest.NewForTest(t)
	for i := range 130 {
		srv.AddControlPlane(konnecttest.ControlPlaneSeed{Name: fmt.Sprintf("cp-%03d", i)})
	}
	want := srv.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "last", EndpointPrefix: prefix})
	token := srv.IssueToken()
	secret := one(t, `apiVersion: v1
kind: Secret
metadata: {name: konnect-token, namespace: team-a}
data: {token: `+base64.StdEncoding.EncodeToString([]byte(token+"\n"))+`}`)
	k := &KonnectAPI{HTTPClient: srv.HTTPClient(), Secret: func(_ context.Context, ns, name string) (*unstructured.Unstructured, error) {
		if ns == "team-a" && name == "konnect-token" {
			return secret, nil
		}
		return nil, nil
	}}
	a := one(t, `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: konnect-auth, namespace: team-a}
spec: {type: secretRef, secretRef: {name: konnect-token}, serverURL: `+strings.TrimPrefix(srv.URL(), "https://")+`}`)
	cps, err := k.ControlPlanes(context.Background(), a)
	require.NoError(t, err)
	require.Len(t, cps, 131)
	last := cps[len(cps)-1]
	assert.Equal(t, ControlPlane{ID: want.ID, Name: "last", ControlPlaneEndpoint: want.ControlPlaneEndpoint}, last)
	assert.Equal(t, prefix, last.EndpointPrefix())
	assert.Empty(t, srv.Violations())

	// The token never appears in errors.
	missing := one(t, strings.Replace(toYAML(t, a), "konnect-token", "nope", 1))
	_, err = k.ControlPlanes(context.Background(), missing)
	assert.EqualError(t, err, "KonnectAPIAuthConfiguration team-a/konnect-auth: the token Secret team-a/nope does not exist")
	revoked := strings.Replace(auth, "kpat_test", "kpat_revoked", 1)
	_, err = (&KonnectAPI{HTTPClient: srv.HTTPClient()}).ControlPlanes(context.Background(), one(t, strings.Replace(revoked, "us.api.konghq.com", strings.TrimPrefix(srv.URL(), "https://"), 1)))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "kpat_revoked")
}
