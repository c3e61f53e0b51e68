package rules

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// attachedCP is the control plane an entity ends up on.
type attachedCP struct {
	cp    *unstructured.Unstructured
	path  *field.Path
	value string
	// via names the object the entity inherits the control plane from.
	via string
}

// entityAttachedCP resolves the KonnectGatewayControlPlane of an entity:
// its spec.controlPlaneRef or, for a KongRoute with only a serviceRef, its
// KongService's.
func entityAttachedCP(obj *unstructured.Unstructured, l Lookup) (attachedCP, bool) {
	r := entityCPRef(obj)
	if r.isKonnect() {
		cp, ok := resolveCP(l, r)
		return attachedCP{cp: cp, path: r.valuePath(), value: r.value()}, ok
	}
	if r.Type == "" && obj.GroupVersionKind().GroupKind() == GKKongRoute {
		svc, ok := routeService(l, obj)
		if !ok {
			return attachedCP{}, false
		}
		sr := entityCPRef(svc)
		if !sr.isKonnect() {
			return attachedCP{}, false
		}
		cp, ok := resolveCP(l, sr)
		return attachedCP{
			cp:    cp,
			path:  field.NewPath("spec", "serviceRef", "namespacedRef", "name"),
			value: svc.GetName(),
			via:   "KongService " + objName(svc),
		}, ok
	}
	return attachedCP{}, false
}

// checkClusterType denies entities on a control plane of the cluster type.
func checkClusterType(ct string) CheckFunc {
	return func(obj *unstructured.Unstructured, l Lookup) []Finding {
		a, ok := entityAttachedCP(obj, l)
		if !ok || clusterType(a.cp) != ct {
			return nil
		}
		// KGO's own words (ControlPlaneRefValid=False), so that search
		// engines and KGO's issues match.
		msg := fmt.Sprintf("Attaching to ControlPlane %s with cluster type %s is not supported", objName(a.cp), ct)
		if a.via != "" {
			msg += fmt.Sprintf(" (the KongRoute inherits it from %s)", a.via)
		}
		return []Finding{{Field: a.path, Value: a.value, Message: msg}}
	}
}

// kgcpNameRef is a reference to a KonnectGatewayControlPlane by name.
type kgcpNameRef struct {
	ns, name string
	path     *field.Path
}

// kgcpNameRefs lists the references by name to KonnectGatewayControlPlanes
// in obj. A reference from a cluster-scoped object (KongVault) without
// konnectNamespacedRef.namespace has ns "": it names no control plane.
func kgcpNameRefs(obj *unstructured.Unstructured) []kgcpNameRef {
	gk := obj.GroupVersionKind().GroupKind()
	var r cpRef
	switch {
	case isEntityKind(gk):
		r = entityCPRef(obj)
	case gk == GKKonnectExtension:
		r = readCPRef(obj.Object, obj.GetNamespace(), "spec", "konnect", "controlPlane", "ref")
	case gk == GKKonnectGatewayControlPlane:
		var out []kgcpNameRef
		for i, m := range nestedSlice(obj.Object, "spec", "members") {
			mm, _ := m.(map[string]any)
			if name := nestedString(mm, "name"); name != "" {
				out = append(out, kgcpNameRef{obj.GetNamespace(), name, field.NewPath("spec", "members").Index(i).Child("name")})
			}
		}
		return out
	}
	if r.Type != refTypeNamespaced || r.Name == "" {
		return nil
	}
	return []kgcpNameRef{{r.Namespace, r.Name, r.valuePath()}}
}

// missingCPRefs returns the references to control planes that do not
// exist, with the control planes whose Konnect name they match.
func missingCPRefs(obj *unstructured.Unstructured, l Lookup) map[int][]*unstructured.Unstructured {
	if !l.Tracks(GKKonnectGatewayControlPlane) {
		return nil
	}
	out := map[int][]*unstructured.Unstructured{}
	for i, r := range kgcpNameRefs(obj) {
		if r.ns == "" {
			out[i] = nil // looked up in no namespace: never found
			continue
		}
		if _, ok := l.Get(GKKonnectGatewayControlPlane, r.ns, r.name); ok {
			continue
		}
		out[i] = l.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectName, r.ns+"/"+r.name)
	}
	return out
}

// checkCPKonnectName: the reference names a control plane's Konnect name.
func checkCPKonnectName(obj *unstructured.Unstructured, l Lookup) []Finding {
	refs := kgcpNameRefs(obj)
	var out []Finding
	for i, matches := range missingCPRefs(obj, l) {
		if len(matches) == 0 {
			continue
		}
		r := refs[i]
		names := make([]string, len(matches))
		for j, m := range matches {
			names[j] = m.GetName()
		}
		out = append(out, Finding{
			Field: r.path,
			Value: r.name,
			Message: fmt.Sprintf("KonnectGatewayControlPlane %s not found, but %s named %q in Konnect: did you mean %s?",
				nsName(r.ns, r.name), describeMatches(matches), r.name, strings.Join(names, " or ")),
			Hint: fmt.Sprintf("A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (%s): set it to %s. "+
				"If a KonnectGatewayControlPlane named %s is on its way (later in the same apply, or in another file of a GitOps folder), apply it first, or apply again once it exists: "+
				"GitOps tools retry, and the reference is admitted then", konnectNameField(matches[0]), names[0], r.name),
		})
	}
	return out
}

func describeMatches(matches []*unstructured.Unstructured) string {
	if len(matches) == 1 {
		return "KonnectGatewayControlPlane " + objName(matches[0]) + " is"
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = objName(m)
	}
	return "KonnectGatewayControlPlanes " + strings.Join(names, ", ") + " are"
}

// checkCPMissing: the referenced control plane does not exist (yet).
func checkCPMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	refs := kgcpNameRefs(obj)
	var out []Finding
	for i, matches := range missingCPRefs(obj, l) {
		if len(matches) > 0 {
			continue
		}
		r := refs[i]
		if r.ns == "" {
			// KGO looks the control plane up in the referrer's namespace,
			// or for a cluster-scoped referrer in konnectNamespacedRef's
			// (getCPForNamespacedRef in controller/pkg/controlplane/ref.go,
			// gateway-operator v1.6.2 and kong-operator v2.0.0 to
			// v2.3.0-rc.3): without it, in none, and never finds it.
			out = append(out, Finding{
				Field: r.path,
				Value: r.name,
				Message: fmt.Sprintf("the %s is cluster-scoped and its reference names no namespace, so Kong Gateway Operator looks KonnectGatewayControlPlane %s up in no namespace and never finds it",
					obj.GetKind(), r.name),
				Hint: "Set " + strings.TrimSuffix(r.path.String(), ".name") + ".namespace to the namespace of the KonnectGatewayControlPlane",
			})
			continue
		}
		out = append(out, Finding{
			Field:   r.path,
			Value:   r.name,
			Message: fmt.Sprintf("KonnectGatewayControlPlane %s not found", nsName(r.ns, r.name)),
		})
	}
	return out
}

// checkKICRefIgnored: type kic on kinds where the CRD allows it but KGO
// skips the object.
func checkKICRefIgnored(obj *unstructured.Unstructured, _ Lookup) []Finding {
	r := entityCPRef(obj)
	if r.Type != refTypeKIC {
		return nil
	}
	return []Finding{{
		Field:   r.Path.Child("type"),
		Value:   r.Type,
		Message: fmt.Sprintf("controlPlaneRef type kic: Kong Gateway Operator ignores this %s and creates nothing in Konnect", obj.GetKind()),
	}}
}
