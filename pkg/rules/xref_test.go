package rules

import (
	"strings"
	"testing"

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
