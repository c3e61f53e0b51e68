package rules

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// cpRef is a reference to a control plane as written in an object.
type cpRef struct {
	Type      string // refTypeNamespaced, refTypeKonnectID, refTypeKIC or "" (none)
	Namespace string
	Name      string
	ID        string
	// Path of the reference object (e.g. spec.controlPlaneRef).
	Path *field.Path
}

// readCPRef reads a controlPlaneRef-shaped object at fields. defaultNS is
// the namespace a konnectNamespacedRef without namespace refers to.
func readCPRef(obj map[string]any, defaultNS string, fields ...string) cpRef {
	m := nestedMap(obj, fields...)
	if m == nil {
		return cpRef{}
	}
	r := cpRef{Type: nestedString(m, "type"), Path: field.NewPath(fields[0], fields[1:]...)}
	switch r.Type {
	case refTypeNamespaced:
		r.Name = nestedString(m, "konnectNamespacedRef", "name")
		r.Namespace = nestedString(m, "konnectNamespacedRef", "namespace")
		if r.Namespace == "" {
			r.Namespace = defaultNS
		}
	case refTypeKonnectID:
		r.ID = strings.ToLower(nestedString(m, "konnectID"))
	}
	return r
}

// entityCPRef is the object's own spec.controlPlaneRef.
func entityCPRef(obj *unstructured.Unstructured) cpRef {
	return readCPRef(obj.Object, obj.GetNamespace(), "spec", "controlPlaneRef")
}

// isKonnect reports whether the reference points at a Konnect control plane.
func (r cpRef) isKonnect() bool {
	return r.Type == refTypeNamespaced || r.Type == refTypeKonnectID
}

// valuePath is the path of the field that identifies the control plane.
func (r cpRef) valuePath() *field.Path {
	switch r.Type {
	case refTypeNamespaced:
		return r.Path.Child("konnectNamespacedRef", "name")
	case refTypeKonnectID:
		return r.Path.Child("konnectID")
	default:
		return r.Path.Child("type")
	}
}

func (r cpRef) value() string {
	switch r.Type {
	case refTypeNamespaced:
		return r.Name
	case refTypeKonnectID:
		return r.ID
	default:
		return r.Type
	}
}

func (r cpRef) String() string {
	switch r.Type {
	case refTypeNamespaced:
		return nsName(r.Namespace, r.Name)
	case refTypeKonnectID:
		return "konnectID " + r.ID
	case refTypeKIC:
		return "kic (in-cluster Kong Ingress Controller)"
	default:
		return "none"
	}
}

// resolveCP finds the KonnectGatewayControlPlane a reference points at:
// by name, or for a konnectID by the Konnect ID of a control plane in the
// cluster.
func resolveCP(l Lookup, r cpRef) (*unstructured.Unstructured, bool) {
	switch r.Type {
	case refTypeNamespaced:
		if r.Name == "" || r.Namespace == "" {
			return nil, false
		}
		return l.Get(GKKonnectGatewayControlPlane, r.Namespace, r.Name)
	case refTypeKonnectID:
		if r.ID == "" {
			return nil, false
		}
		if cps := l.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectID, r.ID); len(cps) > 0 {
			return cps[0], true
		}
	}
	return nil, false
}

// routeCPRef is the control plane a KongRoute (full or stripped) is
// attached to: its own controlPlaneRef or that of its KongService.
func routeCPRef(l Lookup, route *unstructured.Unstructured) cpRef {
	if r := entityCPRef(route); r.Type != "" {
		return r
	}
	if svc, ok := routeService(l, route); ok {
		return entityCPRef(svc)
	}
	return cpRef{}
}

func routeService(l Lookup, route *unstructured.Unstructured) (*unstructured.Unstructured, bool) {
	if nestedString(route.Object, "spec", "serviceRef", "type") != "namespacedRef" {
		return nil, false
	}
	ns, name := routeServiceNN(route)
	if name == "" {
		return nil, false
	}
	// The service's own controlPlaneRef is read in the service's namespace
	// (entityCPRef), as kong-operator does since 2.2.0 (#4212).
	return l.Get(GKKongService, ns, name)
}

// routeServiceNN is the namespace and name of a KongRoute's KongService:
// serviceRef.namespacedRef.namespace when set (kong-operator >= 2.1, #3125),
// else the route's namespace.
func routeServiceNN(route *unstructured.Unstructured) (ns, name string) {
	if nestedString(route.Object, "spec", "serviceRef", "type") != "namespacedRef" {
		return "", ""
	}
	ns = nestedString(route.Object, "spec", "serviceRef", "namespacedRef", "namespace")
	if ns == "" {
		ns = route.GetNamespace()
	}
	return ns, nestedString(route.Object, "spec", "serviceRef", "namespacedRef", "name")
}

// sameCP compares two references; known is false when they cannot be
// compared (a side is missing, or not resolvable to a control plane in the
// cluster).
func sameCP(l Lookup, a, b cpRef) (same, known bool) {
	if a.Type == "" || b.Type == "" {
		return false, false
	}
	if a.Type == refTypeKIC || b.Type == refTypeKIC {
		return a.Type == b.Type, true
	}
	if a.Type == refTypeKonnectID && b.Type == refTypeKonnectID {
		return a.ID == b.ID, a.ID != "" && b.ID != ""
	}
	if a.Type == refTypeNamespaced && b.Type == refTypeNamespaced &&
		a.Namespace == b.Namespace && a.Name == b.Name {
		return true, true
	}
	cpA, okA := resolveCP(l, a)
	cpB, okB := resolveCP(l, b)
	if !okA || !okB {
		return false, false
	}
	if objName(cpA) == objName(cpB) {
		return true, true
	}
	// Two objects may stand for one Konnect control plane (a Mirror).
	if idA, idB := konnectID(cpA), konnectID(cpB); idA != "" && idB != "" {
		return idA == idB, true
	}
	// An origin learns its ID only when the operator has created it in
	// Konnect: until then it may still be the one a Mirror mirrors, and a
	// denial would depend on when the objects were applied.
	if kgoapi.IsMirror(cpA) || kgoapi.IsMirror(cpB) {
		return false, false
	}
	return false, true
}

// describeCP names the control plane of a reference for messages,
// preferring the resource it resolves to.
func describeCP(l Lookup, r cpRef) string {
	if cp, ok := resolveCP(l, r); ok {
		return objName(cp)
	}
	return r.String()
}

// secretRef reads a secret reference; ns defaults to the object's.
func secretName(obj *unstructured.Unstructured, fields ...string) (ns, name string, path *field.Path) {
	m := nestedMap(obj.Object, fields...)
	if m == nil {
		return "", "", nil
	}
	ns = nestedString(m, "namespace")
	if ns == "" {
		ns = obj.GetNamespace()
	}
	return ns, nestedString(m, "name"), field.NewPath(fields[0], fields[1:]...).Child("name")
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
