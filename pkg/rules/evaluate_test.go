package rules

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// evaluateAll evaluates every object against a store holding all of them
// and returns the findings by object.
func evaluateAll(t *testing.T, gen Generation, opts Options, objs []*unstructured.Unstructured) map[string][]string {
	t.Helper()
	store := NewStore(gen, objs...)
	out := map[string][]string{}
	for _, o := range objs {
		for _, f := range Findings(o, store, opts) {
			key := o.GetKind() + " " + objName(o)
			out[key] = append(out[key], f.Code+" "+f.Field.String()+": "+f.Message)
		}
	}
	return out
}

func TestSeedWorkflowHasNoFindings(t *testing.T) {
	for _, c := range []struct {
		gen  Generation
		docs []string
	}{
		{GenerationKGO14, seedKGO14()},
		{GenerationKGO15Plus, seedKGO15()},
		{GenerationKO20, seedKO20()},
		{GenerationKO22, seedKO22()},
		{GenerationKO23, seedKO22()},
	} {
		t.Run(string(c.gen), func(t *testing.T) {
			// Strict: not even a missing target.
			if got := evaluateAll(t, c.gen, Options{Strict: true}, parse(t, c.docs...)); len(got) != 0 {
				t.Fatalf("want no findings for the valid workflow, got %v", got)
			}
		})
	}
}

func kgoSamples(t *testing.T, files ...string) []*unstructured.Unstructured {
	t.Helper()
	var docs []string
	for _, f := range files {
		docs = append(docs, readFile(t, filepath.Join("testdata", "kgo-samples", f)))
	}
	return parse(t, docs...)
}

func TestKGOSampleManifestsHaveNoFindings(t *testing.T) {
	for _, f := range []string{
		"konnect_kongservice.yaml",
		"konnect_kongconsumer.yaml",
		"konnect_apiauth_configuration.yaml",
		"konnect_gateway_controlplane.yaml",
		"konnect_gateway_controlplane_mirror.yaml",
	} {
		t.Run(f, func(t *testing.T) {
			if got := evaluateAll(t, GenerationKGO15Plus, Options{Strict: true}, kgoSamples(t, f)); len(got) != 0 {
				t.Fatalf("want no findings for KGO's sample, got %v", got)
			}
		})
	}
}

// KGO's own sample DataPlane names "my-konnect-config" of group
// gateway-operator.konghq.com while the file defines the konnect.konghq.com
// KonnectExtension "my-konnect-extension": the rules report both mistakes.
func TestKGOSampleDataPlaneNamesAnExtensionThatDoesNotExist(t *testing.T) {
	got := evaluateAll(t, GenerationKGO15Plus, Options{}, kgoSamples(t, "konnect_dataplane_with_konnectextension.yaml"))
	want := map[string][]string{
		"DataPlane default/dataplane-konnect-extension-example": {
			"KON1801 spec.extensions[0].name: KonnectExtension default/my-konnect-config (group gateway-operator.konghq.com) not found; Kong Gateway Operator stops reconciling with KonnectExtensionApplied=False until it exists",
			"KON1802 spec.extensions[0].group: Kong Gateway Operator >= 1.5 runs in this cluster and does not apply a KonnectExtension of group gateway-operator.konghq.com",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("want %v,\ngot %v", want, got)
	}
}

// KGO's sample bindings reference a plugin and targets the file does not
// define: warnings only, and no denial.
func TestKGOSamplePluginBindingsOnlyWarnAboutMissingTargets(t *testing.T) {
	objs := kgoSamples(t, "kongpluginbinding.yaml", "konnect_kongservice.yaml")
	store := NewStore(GenerationKGO15Plus, objs...)
	for _, o := range objs {
		denies, warnings := Evaluate(o, store, Options{})
		if len(denies) != 0 {
			t.Errorf("%s: want no denial, got %v", o.GetName(), denies)
		}
		for _, w := range warnings {
			if !strings.Contains(w, "[KON1004]") && !strings.Contains(w, "[KON1204]") {
				t.Errorf("%s: want only missing-reference warnings, got %q", o.GetName(), w)
			}
		}
	}
}

func TestDenialOfEntityOnKICControlPlaneReadsLikeKubectlOutput(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	obj := parseOne(t, service("echo", "kic-cp"))
	denies, warnings := Evaluate(obj, store, Options{})
	if len(warnings) != 0 {
		t.Errorf("want no warnings, got %v", warnings)
	}
	err := Invalid(obj, denies)
	want := `KongService.configuration.konghq.com "echo" is invalid: spec.controlPlaneRef.konnectNamespacedRef.name: Invalid value: "kic-cp": ` +
		`[KON1001] Attaching to ControlPlane default/kic-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported. ` +
		`Fix: Point spec.controlPlaneRef at a KonnectGatewayControlPlane of cluster type CLUSTER_TYPE_CONTROL_PLANE (the default when spec.cluster_type is unset); ` +
		`Kong Ingress Controller owns the configuration of a KIC control plane and Konnect refuses entities created through its API.`
	if err == nil || err.Error() != want {
		t.Fatalf("want error\n%s\ngot\n%v", want, err)
	}
}

func TestInvalidIsNilWithoutDenials(t *testing.T) {
	if err := Invalid(parseOne(t, service("echo", "demo-cp")), nil); err != nil {
		t.Fatalf("want nil, got %v", err)
	}
}

func TestWarningNamesFieldCodeAndFix(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	_, warnings := Evaluate(parseOne(t, service("echo", "nope")), store, Options{})
	want := "spec.controlPlaneRef.konnectNamespacedRef.name: [KON1004] KonnectGatewayControlPlane default/nope not found. Fix: Create the KonnectGatewayControlPlane"
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
		t.Fatalf("want one warning starting %q, got %q", want, warnings)
	}
}

func TestUpdateOfAnObjectThatWasAlreadyDeniedOnlyWarns(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	old := parseOne(t, service("echo", "kic-cp"))
	updated := old.DeepCopy()
	updated.SetLabels(map[string]string{"team": "a"})
	denies, warnings := EvaluateUpdate(old, updated, store, Options{})
	if len(denies) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "[KON1001]") {
		t.Fatalf("want the pre-existing KON1001 as a warning, got denies %v warnings %v", denies, warnings)
	}
	// A new problem introduced by the update is still denied.
	moved := parseOne(t, service("echo", "group-cp"))
	if denies, _ := EvaluateUpdate(old, moved, store, Options{}); len(denies) != 1 || !strings.Contains(denies[0].Error(), "[KON1002]") {
		t.Fatalf("want KON1002 denied, got %v", denies)
	}
}

func TestObjectBeingDeletedHasNoFindings(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	obj := parseOne(t, service("echo", "kic-cp"))
	now := metav1.Now()
	obj.SetDeletionTimestamp(&now)
	if got := Findings(obj, store, Options{Strict: true}); len(got) != 0 {
		t.Fatalf("want no findings, got %v", codes(got))
	}
}

func TestKindsWithoutRulesHaveNoFindings(t *testing.T) {
	store := NewStore(GenerationKGO15Plus)
	obj := parseOne(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n")
	if got := Findings(obj, store, Options{Strict: true}); len(got) != 0 {
		t.Fatalf("want none, got %v", codes(got))
	}
}

func TestUntrackedKindsAreNeverReportedMissing(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	store.Track(GKKonnectGatewayControlPlane) // no Secrets, no KongServices
	for _, doc := range []string{authSecretRef("a", "tok", ""), route("r", "", "nope"), extension("e", "demo-cp", "dp-tls")} {
		if got := Findings(parseOne(t, doc), store, Options{Strict: true}); len(got) != 0 {
			t.Errorf("want no findings about untracked kinds, got %v", codes(got))
		}
	}
}

// noListLookup fails the test when a rule lists objects: rules must use
// Get and ByIndex so that their cost does not grow with the cache.
type noListLookup struct {
	*Store
	t *testing.T
}

func (l noListLookup) List(gk schema.GroupKind, ns string) []*unstructured.Unstructured {
	l.t.Errorf("a rule listed %s in %q; rules must use Get or ByIndex", gk, ns)
	return nil
}

func TestRulesNeverListObjects(t *testing.T) {
	docs := append(cluster(), seedKGO15()[1:]...)
	docs = append(docs, service("bad", "demo"), route("bad", "other-cp", "echo"), consumer("c", "demo-cp", "nope"),
		binding("b", "demo-cp", "KongClusterPlugin", "{consumerGroupRef: {name: x}}"), kgcp("dup", "demo", "", ""))
	objs := parse(t, docs...)
	l := noListLookup{NewStore(GenerationKGO15Plus, objs...), t}
	for _, o := range objs {
		Findings(o, l, Options{})
	}
}

func TestDisabledCodesAreNotEvaluated(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	obj := parseOne(t, service("echo", "kic-cp"))
	if got := Findings(obj, store, Options{Disabled: []string{"KON1001"}}); len(got) != 0 {
		t.Fatalf("want no findings with KON1001 disabled, got %v", codes(got))
	}
}

// FuzzFindings feeds arbitrary JSON objects of every validated kind to the
// rules: admission requests are untrusted input, and no shape may panic.
func FuzzFindings(f *testing.F) {
	docs := append(cluster(), seedKGO15()...)
	docs = append(docs, seedKGO14()...)
	for _, o := range parse(f, docs...) {
		b, err := o.MarshalJSON()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	f.Add([]byte(`{"spec":{"controlPlaneRef":"x","targets":[1],"extensions":{"a":1},"members":"m"},"consumerGroups":{"a":1},"metadata":{"name":5}}`), uint8(3))
	store := NewStore(GenerationKGO15Plus, parse(f, docs...)...)
	kinds := ValidatedKinds()
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		m := map[string]any{}
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		obj := &unstructured.Unstructured{Object: m}
		gk := kinds[int(kind)%len(kinds)]
		obj.SetAPIVersion(gk.Group + "/v1alpha1")
		obj.SetKind(gk.Kind)
		for _, strict := range []bool{false, true} {
			denies, _ := Evaluate(obj, store, Options{Strict: strict})
			_ = Invalid(obj, denies)
		}
		// The rules read no more of the object than ReviewedFields (what
		// the webhook's matchConditions compare).
		if got, proj := Findings(obj, store, Options{}), Findings(ReviewedProjection(obj), store, Options{}); !reflect.DeepEqual(got, proj) {
			t.Fatalf("findings differ on the ReviewedProjection of the object:\n%+v\n%+v", got, proj)
		}
		store.Add(obj) // Strip and the indexes must cope too.
	})
}
