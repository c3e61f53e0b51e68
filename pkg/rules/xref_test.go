package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestCrossNamespaceFieldPaths: every path a field declares is the path its
// reader reports, so that tests driven by CrossNamespaceFields write the
// field the rules read.
func TestCrossNamespaceFieldPaths(t *testing.T) {
	for _, f := range CrossNamespaceFields() {
		if len(f.Paths) == 0 {
			t.Errorf("%s to %s: no Paths", f.What, f.To.Kind)
		}
		for _, from := range f.From {
			for _, p := range f.Paths {
				obj := &unstructured.Unstructured{Object: map[string]any{}}
				obj.SetAPIVersion(from.Group + "/v1")
				obj.SetKind(from.Kind)
				obj.SetName("referrer")
				obj.SetNamespace("a")
				setRefAt(obj.Object, strings.Split(p, "."), "b")
				// The discriminators the readers require.
				obj.Object["spec"].(map[string]any)["type"] = "secretRef"
				if m, ok := nested(obj.Object, "spec", "controlPlaneRef").(map[string]any); ok {
					m["type"] = refTypeNamespaced
				}
				if m, ok := nested(obj.Object, "spec", "serviceRef").(map[string]any); ok {
					m["type"] = "namespacedRef"
				}
				refs := crossNamespaceRefs(obj)
				want := strings.ReplaceAll(p, "[*]", "[0]")
				if len(refs) != 1 || refs[0].NSPath.String() != want || refs[0].Field.To != f.To {
					t.Errorf("%s %s: want one reference to %s at %s, got %+v", from.Kind, p, f.To.Kind, want, refs)
				}
			}
		}
	}
}

// setRefAt writes {name: target, namespace: ns} where path ends in
// "namespace"; "x[*]" makes x a list of one element.
func setRefAt(m map[string]any, path []string, ns string) {
	if len(path) == 1 {
		m["name"] = "target"
		m[path[0]] = ns
		return
	}
	key, list := strings.CutSuffix(path[0], "[*]")
	child := map[string]any{}
	if list {
		m[key] = []any{child}
	} else {
		if c, ok := m[key].(map[string]any); ok {
			child = c
		}
		m[key] = child
	}
	setRefAt(child, path[1:], ns)
}

// TestCrossNamespaceWarningIsOneLineWithAGrantThatPermitsIt: the API server
// drops an admission warning holding a newline (NewWarningHeader in
// k8s.io/apimachinery pkg/util/net refuses control characters), so KON1901's
// warning is one line; the KongReferenceGrant in its hint, cut out as
// printed, permits the reference.
func TestCrossNamespaceWarningIsOneLineWithAGrantThatPermitsIt(t *testing.T) {
	route := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongRoute
metadata: {name: r, namespace: apps}
spec:
  serviceRef: {type: namespacedRef, namespacedRef: {name: svc, namespace: shared}}
`
	vault := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongVault
metadata: {name: env}
spec:
  backend: env
  prefix: env
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp, namespace: default}}
`
	for _, doc := range []string{route, vault} {
		obj := parseOne(t, doc)
		store := NewStore(GenerationKO22, parse(t, clusterKO20(inNS("shared", service("svc", "demo-cp")))...)...)
		fs := checkCrossNamespaceNotGranted(obj, store)
		if len(fs) != 1 {
			t.Fatalf("%s: want one KON1901 finding, got %v", obj.GetKind(), fs)
		}
		fs[0].Code = "KON1901"
		w := fs[0].Warning()
		if strings.ContainsFunc(w, unicode.IsControl) {
			t.Fatalf("%s: the warning holds a control character: %q", obj.GetKind(), w)
		}
		start := strings.Index(w, `{"apiVersion":`)
		if start < 0 {
			t.Fatalf("%s: no KongReferenceGrant in %q", obj.GetKind(), w)
		}
		depth, end := 0, -1
		for i, r := range w[start:] {
			if r == '{' {
				depth++
			} else if r == '}' {
				if depth--; depth == 0 {
					end = start + i + 1
					break
				}
			}
		}
		if !json.Valid([]byte(w[start:end])) {
			t.Fatalf("%s: the hint's grant is not JSON, which kubectl apply -f - expects of a line starting with {: %s", obj.GetKind(), w[start:end])
		}
		grant := parseOne(t, w[start:end])
		if grant.GetKind() != "KongReferenceGrant" {
			t.Fatalf("%s: the hint's object is a %s", obj.GetKind(), grant.GetKind())
		}
		store.Add(grant)
		if fs := checkCrossNamespaceNotGranted(obj, store); len(fs) != 0 {
			t.Fatalf("%s: with the hint's grant %s applied, want no finding, got %v", obj.GetKind(), w[start:end], fs)
		}
	}
}

// TestWarningsAreOneLine: no finding's warning holds a control character.
func TestWarningsAreOneLine(t *testing.T) {
	f := Finding{Code: "KON0000", Message: "first\nsecond", Hint: "a\tb"}
	if w := f.Warning(); strings.ContainsFunc(w, unicode.IsControl) {
		t.Fatalf("want one line, got %q", w)
	}
}
