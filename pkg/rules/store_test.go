package rules

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestStripKeepsOnlyWhatRulesRead(t *testing.T) {
	full := parseOne(t, `
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata:
  name: demo-cp
  namespace: default
  uid: 4a1
  resourceVersion: "7"
  labels: {team: a}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  managedFields: [{manager: kubectl}]
spec:
  name: demo
  cluster_type: CLUSTER_TYPE_CONTROL_PLANE
  description: a long description
  labels: {env: prod}
  konnect: {authRef: {name: konnect-auth}}
status:
  id: `+cpUUID+`
  conditions: [{type: Programmed, status: "True"}]
`)
	want := map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1",
		"kind":       "KonnectGatewayControlPlane",
		"metadata":   map[string]any{"name": "demo-cp", "namespace": "default", "uid": "4a1", "resourceVersion": "7"},
		"spec": map[string]any{
			"name": "demo", "cluster_type": "CLUSTER_TYPE_CONTROL_PLANE",
			"konnect": map[string]any{"authRef": map[string]any{"name": "konnect-auth"}},
		},
		"status": map[string]any{"id": cpUUID},
	}
	got := Strip(full)
	if !reflect.DeepEqual(got.Object, want) {
		t.Fatalf("want %v,\ngot %v", want, got.Object)
	}
	if !reflect.DeepEqual(Strip(got).Object, want) {
		t.Fatalf("Strip is not idempotent: %v", Strip(got).Object)
	}
}

// A Mirror's cluster type is only in status.clusterType (kong-operator 2.x).
func TestStripKeepsTheClusterTypeOfAMirror(t *testing.T) {
	got := Strip(parseOne(t, mirror("m", mirrorKICUUID, ClusterTypeKIC)+"  conditions: [{type: Programmed, status: \"True\"}]\n"))
	want := map[string]any{"id": mirrorKICUUID, "clusterType": ClusterTypeKIC}
	if !reflect.DeepEqual(got.Object["status"], want) {
		t.Fatalf("want status %v, got %v", want, got.Object["status"])
	}
	if clusterType(got) != ClusterTypeKIC {
		t.Fatalf("want the stripped Mirror's cluster type %s, got %q", ClusterTypeKIC, clusterType(got))
	}
}

func TestStripNeverKeepsSecretValues(t *testing.T) {
	s := parseOne(t, secret("tok", map[string]string{CredentialLabel: CredentialLabelValue, "team": "a"}, "token", "other"))
	got := Strip(s)
	want := map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": "tok", "namespace": "default", "labels": map[string]any{CredentialLabel: CredentialLabelValue, OperatorSecretLabel: OperatorSecretLabelValue}},
		"type":       "Opaque",
		"data":       map[string]any{"token": "", "other": ""},
	}
	if !reflect.DeepEqual(got.Object, want) {
		t.Fatalf("want %v,\ngot %v", want, got.Object)
	}
	// A metadata-only Secret stays without data: its keys are unknown.
	meta := parseOne(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: tok, namespace: default}\n")
	if _, ok := Strip(meta).Object["data"]; ok {
		t.Fatalf("a metadata-only Secret must not get a data map: %v", Strip(meta).Object)
	}
	// An empty Secret read from the API server has type: its keys are known.
	if keys, known := secretKeys(Strip(parseOne(t, secret("empty", nil)))); !known || len(keys) != 0 {
		t.Fatalf("want known and no keys, got %v %v", keys, known)
	}
}

func TestStoreKeepsIndexesInStepWithUpdatesAndDeletes(t *testing.T) {
	s := NewStore(GenerationKGO15Plus, parse(t, kgcp("demo-cp", "demo", "", cpUUID))...)
	names := func(v string) []string {
		var out []string
		for _, o := range s.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectName, v) {
			out = append(out, o.GetName())
		}
		return out
	}
	if got := names("default/demo"); !reflect.DeepEqual(got, []string{"demo-cp"}) {
		t.Fatalf("want [demo-cp], got %v", got)
	}
	s.Add(parseOne(t, kgcp("demo-cp", "renamed", "", cpUUID)))
	if got := names("default/demo"); len(got) != 0 {
		t.Fatalf("old index value kept after update: %v", got)
	}
	if got := names("default/renamed"); !reflect.DeepEqual(got, []string{"demo-cp"}) {
		t.Fatalf("want [demo-cp] under the new name, got %v", got)
	}
	if got := s.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectID, cpUUID); len(got) != 1 {
		t.Fatalf("want one control plane by ID, got %d", len(got))
	}
	s.Delete(GKKonnectGatewayControlPlane, "default", "demo-cp")
	if got := names("default/renamed"); len(got) != 0 || s.Len() != 0 {
		t.Fatalf("index or object kept after delete: %v, len %d", got, s.Len())
	}
	if _, ok := s.Get(GKKonnectGatewayControlPlane, "default", "demo-cp"); ok {
		t.Fatal("Get found a deleted object")
	}
}

func TestStoreListIsSortedAndFiltersByNamespace(t *testing.T) {
	s := NewStore(GenerationKGO15Plus, parse(t, service("b", ""), service("a", ""),
		`{apiVersion: configuration.konghq.com/v1alpha1, kind: KongService, metadata: {name: c, namespace: other}}`)...)
	var got []string
	for _, o := range s.List(GKKongService, "default") {
		got = append(got, o.GetName())
	}
	if !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("want [a b], got %v", got)
	}
	if n := len(s.List(GKKongService, "")); n != 3 {
		t.Fatalf("want 3 in all namespaces, got %d", n)
	}
}

func TestGenerationFromDiscovery(t *testing.T) {
	for _, c := range []struct {
		served        Served
		want          Generation
		active, known bool
	}{
		// kong-operator 2.0 (kubernetes-configuration v2.0.1): KonnectExtension
		// v1alpha2 only, no gateway-operator.konghq.com KonnectExtension.
		{Served{KonnectExtension: true, ControlPlaneV1Alpha2: true}, GenerationKO20, false, true},
		{Served{ControlPlaneV1Alpha2: true}, GenerationKO20, false, true},
		// KGO 1.5/1.6 CRDs serve both KonnectExtension groups.
		{Served{KonnectExtension: true, LegacyKonnectExtension: true}, GenerationKGO15Plus, false, true},
		{Served{KonnectExtension: true}, GenerationKGO15Plus, false, true},
		{Served{LegacyKonnectExtension: true}, GenerationKGO14, true, true},
		{Served{}, GenerationUnknown, false, false},
	} {
		g := GenerationFor(c.served)
		active, known := g.LegacyKonnectExtensionActive()
		if g != c.want || active != c.active || known != c.known {
			t.Errorf("GenerationFor(%+v): want %q active=%v known=%v, got %q %v %v", c.served, c.want, c.active, c.known, g, active, known)
		}
	}
}

func TestServedInReadsTheRESTMapper(t *testing.T) {
	gv := func(g, v string) schema.GroupVersion { return schema.GroupVersion{Group: g, Version: v} }
	mapper := func(gvks ...schema.GroupVersionKind) meta.RESTMapper {
		var gvs []schema.GroupVersion
		for _, gvk := range gvks {
			gvs = append(gvs, gvk.GroupVersion())
		}
		m := meta.NewDefaultRESTMapper(gvs)
		for _, gvk := range gvks {
			m.Add(gvk, meta.RESTScopeNamespace)
		}
		return m
	}
	cpV1 := gv(GroupKonnect, "v1alpha1").WithKind("KonnectGatewayControlPlane")
	cpV2 := gv(GroupKonnect, "v1alpha2").WithKind("KonnectGatewayControlPlane")
	extV1 := gv(GroupKonnect, "v1alpha1").WithKind("KonnectExtension")
	extV2 := gv(GroupKonnect, "v1alpha2").WithKind("KonnectExtension")
	legacy := gv(GroupGatewayOperator, "v1alpha1").WithKind("KonnectExtension")
	for name, c := range map[string]struct {
		m    meta.RESTMapper
		want Generation
	}{
		"kgo-1.4 CRDs": {mapper(cpV1, legacy), GenerationKGO14},
		"kgo-1.6 CRDs": {mapper(cpV1, extV1, legacy), GenerationKGO15Plus},
		"ko-2.0 CRDs":  {mapper(cpV1, cpV2, extV2), GenerationKO20},
		"no KGO":       {mapper(), GenerationUnknown},
	} {
		s, err := ServedIn(c.m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := GenerationFor(s); got != c.want {
			t.Errorf("%s: want %s, got %s (%+v)", name, c.want, got, s)
		}
	}
}

func TestTransformAndIndexerAdaptToInformers(t *testing.T) {
	cp := parseOne(t, kgcp("demo-cp", "demo", "", cpUUID))
	out, err := Transform(cp)
	if err != nil || !reflect.DeepEqual(out, Strip(cp)) {
		t.Fatalf("want the stripped object, got %v, %v", out, err)
	}
	tombstone := struct{ Key string }{"default/demo-cp"}
	if out, _ := Transform(tombstone); out != tombstone {
		t.Fatalf("want non-unstructured objects unchanged, got %v", out)
	}
	got := map[string][]string{}
	for _, ix := range Indexes() {
		if ix.Kind != GKKonnectGatewayControlPlane {
			continue
		}
		vals, err := ix.Indexer()(cp)
		if err != nil {
			t.Fatal(err)
		}
		got[ix.Name] = vals
	}
	// A control plane names no other namespace.
	want := map[string][]string{IndexKonnectName: {"default/demo"}, IndexKonnectID: {cpUUID}, IndexCrossNamespaceTarget: nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("want %v, got %v", want, got)
	}
}
