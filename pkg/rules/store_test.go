package rules

import (
	"reflect"
	"testing"
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

func TestStripNeverKeepsSecretValues(t *testing.T) {
	s := parseOne(t, secret("tok", map[string]string{CredentialLabel: CredentialLabelValue, "team": "a"}, "token", "other"))
	got := Strip(s)
	want := map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": "tok", "namespace": "default", "labels": map[string]any{CredentialLabel: CredentialLabelValue}},
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
		served, legacy bool
		want           Generation
		active, known  bool
	}{
		{true, true, GenerationKGO15Plus, false, true},
		{true, false, GenerationKGO15Plus, false, true},
		{false, true, GenerationKGO14, true, true},
		{false, false, GenerationUnknown, false, false},
	} {
		g := GenerationFor(c.served, c.legacy)
		active, known := g.LegacyKonnectExtensionActive()
		if g != c.want || active != c.active || known != c.known {
			t.Errorf("GenerationFor(%v, %v): want %q active=%v known=%v, got %q %v %v", c.served, c.legacy, c.want, c.active, c.known, g, active, known)
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
		vals, err := ix.Indexer()(cp)
		if err != nil {
			t.Fatal(err)
		}
		got[ix.Name] = vals
	}
	want := map[string][]string{IndexKonnectName: {"default/demo"}, IndexKonnectID: {cpUUID}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("want %v, got %v", want, got)
	}
}
