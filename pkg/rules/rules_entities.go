package rules

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// --- KongRoute ---

var routeServicePath = field.NewPath("spec", "serviceRef", "namespacedRef", "name")

// checkRouteCPMismatch: controlPlaneRef and the service's control plane
// differ; KGO silently uses the service's.
func checkRouteCPMismatch(obj *unstructured.Unstructured, l Lookup) []Finding {
	own := entityCPRef(obj)
	if !own.isKonnect() {
		return nil
	}
	svc, ok := routeService(l, obj)
	if !ok {
		return nil
	}
	svcRef := entityCPRef(svc)
	if same, known := sameCP(l, own, svcRef); !known || same {
		return nil
	}
	return []Finding{{
		Field: own.valuePath(),
		Value: own.value(),
		Message: fmt.Sprintf("the KongRoute names ControlPlane %s, but its KongService %s is attached to ControlPlane %s, which Kong Gateway Operator silently uses instead",
			describeCP(l, own), objName(svc), describeCP(l, svcRef)),
	}}
}

// checkRouteServiceMissing: a KongRoute whose KongService does not exist
// is never reconciled and has no status.
func checkRouteServiceMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	ns, name := routeServiceNN(obj)
	if name == "" || !l.Tracks(GKKongService) {
		return nil
	}
	if _, ok := l.Get(GKKongService, ns, name); ok {
		return nil
	}
	return []Finding{{
		Field:   routeServicePath,
		Value:   name,
		Message: fmt.Sprintf("KongService %s not found; until it exists Kong Gateway Operator does not reconcile the KongRoute, which stays without status", nsName(ns, name)),
	}}
}

// --- KongPluginBinding ---

// bindingKonnectMode: the binding is for Konnect, where only Kong entities
// can be targets: it references a Konnect control plane, or it references
// none and KGO takes the control plane from a Kong entity target. (Type kic
// is reported by KON1005.)
func bindingKonnectMode(obj *unstructured.Unstructured) bool {
	switch entityCPRef(obj).Type {
	case refTypeNamespaced, refTypeKonnectID:
		return true
	case "":
		return len(bindingTargets(obj)) > 0
	default:
		return false
	}
}

// bindingTarget is one target of a KongPluginBinding.
type bindingTarget struct {
	gk   schema.GroupKind
	ns   string // "" means the binding's namespace
	name string
	path *field.Path // path of the target's name
}

// bindingTargets lists the Kong entity targets of a KongPluginBinding.
func bindingTargets(obj *unstructured.Unstructured) []bindingTarget {
	var out []bindingTarget
	t := field.NewPath("spec", "targets")
	if m := nestedMap(obj.Object, "spec", "targets", "routeRef"); m != nil && nestedString(m, "kind") == "KongRoute" {
		out = append(out, bindingTarget{GKKongRoute, "", nestedString(m, "name"), t.Child("routeRef", "name")})
	}
	if m := nestedMap(obj.Object, "spec", "targets", "serviceRef"); m != nil && nestedString(m, "kind") == "KongService" {
		out = append(out, bindingTarget{GKKongService, "", nestedString(m, "name"), t.Child("serviceRef", "name")})
	}
	if m := nestedMap(obj.Object, "spec", "targets", "consumerRef"); m != nil {
		out = append(out, bindingTarget{GKKongConsumer, "", nestedString(m, "name"), t.Child("consumerRef", "name")})
	}
	if m := nestedMap(obj.Object, "spec", "targets", "consumerGroupRef"); m != nil {
		out = append(out, bindingTarget{GKKongConsumerGroup, "", nestedString(m, "name"), t.Child("consumerGroupRef", "name")})
	}
	return out
}

// targetCPRef is the control plane a looked-up target is attached to.
func targetCPRef(l Lookup, gk schema.GroupKind, target *unstructured.Unstructured) cpRef {
	if gk == GKKongRoute {
		return routeCPRef(l, target)
	}
	return entityCPRef(target)
}

// checkBindingTargetCP: a target is on another control plane than the
// binding (or than the other targets, when the binding names none).
func checkBindingTargetCP(obj *unstructured.Unstructured, l Lookup) []Finding {
	own := entityCPRef(obj)
	if !bindingKonnectMode(obj) {
		return nil
	}
	ref, refDesc := own, "the KongPluginBinding is attached to"
	var out []Finding
	for _, t := range bindingTargets(obj) {
		target, ok := l.Get(t.gk, obj.GetNamespace(), t.name)
		if !ok {
			continue
		}
		tr := targetCPRef(l, t.gk, target)
		if !tr.isKonnect() {
			continue
		}
		if ref.Type == "" {
			// No controlPlaneRef: the first target sets the reference.
			ref, refDesc = tr, fmt.Sprintf("%s %s is attached to", t.gk.Kind, objName(target))
			continue
		}
		if same, known := sameCP(l, ref, tr); !known || same {
			continue
		}
		out = append(out, Finding{
			Field: t.path,
			Value: t.name,
			Message: fmt.Sprintf("target %s %s is attached to ControlPlane %s, but %s ControlPlane %s",
				t.gk.Kind, objName(target), describeCP(l, tr), refDesc, describeCP(l, ref)),
		})
	}
	return out
}

// checkBindingTargetKind: Ingress, HTTPRoute, GRPCRoute and core Service
// targets pass the CRD but KGO does not support them for Konnect.
func checkBindingTargetKind(obj *unstructured.Unstructured, _ Lookup) []Finding {
	if !bindingKonnectMode(obj) {
		return nil
	}
	var out []Finding
	for _, ref := range []string{"routeRef", "serviceRef"} {
		m := nestedMap(obj.Object, "spec", "targets", ref)
		if m == nil {
			continue
		}
		kind, group := nestedString(m, "kind"), nestedString(m, "group")
		switch kind {
		case "Ingress", "HTTPRoute", "GRPCRoute", "Service":
		default:
			continue
		}
		if group == "" {
			group = "core"
		}
		out = append(out, Finding{
			Field:   field.NewPath("spec", "targets", ref, "kind"),
			Value:   kind,
			Message: fmt.Sprintf("target kind %s (group %s) is not supported by Kong Gateway Operator for a KongPluginBinding on a Konnect control plane", kind, group),
		})
	}
	return out
}

// checkBindingClusterPlugin: KongClusterPlugin passes the CRD but is not
// supported in Konnect mode.
func checkBindingClusterPlugin(obj *unstructured.Unstructured, _ Lookup) []Finding {
	if !bindingKonnectMode(obj) || nestedString(obj.Object, "spec", "pluginRef", "kind") != "KongClusterPlugin" {
		return nil
	}
	return []Finding{{
		Field:   field.NewPath("spec", "pluginRef", "kind"),
		Value:   "KongClusterPlugin",
		Message: "pluginRef kind KongClusterPlugin is not supported by Kong Gateway Operator for a KongPluginBinding on a Konnect control plane",
	}}
}

// checkBindingRefsMissing: the plugin or a target does not exist (yet).
func checkBindingRefsMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	if !bindingKonnectMode(obj) {
		return nil
	}
	targets := bindingTargets(obj)
	if kind := nestedString(obj.Object, "spec", "pluginRef", "kind"); kind == "" || kind == "KongPlugin" {
		if name := nestedString(obj.Object, "spec", "pluginRef", "name"); name != "" {
			// pluginRef.namespace: kong-operator >= 2.1 (#3108).
			ns := nestedString(obj.Object, "spec", "pluginRef", "namespace")
			targets = append([]bindingTarget{{GKKongPlugin, ns, name, field.NewPath("spec", "pluginRef", "name")}}, targets...)
		}
	}
	var out []Finding
	for _, t := range targets {
		if t.name == "" || !l.Tracks(t.gk) {
			continue
		}
		ns := t.ns
		if ns == "" {
			ns = obj.GetNamespace()
		}
		if _, ok := l.Get(t.gk, ns, t.name); ok {
			continue
		}
		out = append(out, Finding{
			Field:   t.path,
			Value:   t.name,
			Message: fmt.Sprintf("%s %s not found", t.gk.Kind, nsName(ns, t.name)),
		})
	}
	return out
}

// --- KongConsumer ---

// consumerGroups checks each entry of a Konnect KongConsumer's
// consumerGroups; fn returns a finding for a group (nil when found is
// false and the group does not exist).
func consumerGroups(obj *unstructured.Unstructured, l Lookup, fn func(i int, name string, group *unstructured.Unstructured, found bool) *Finding) []Finding {
	if !entityCPRef(obj).isKonnect() || !l.Tracks(GKKongConsumerGroup) {
		return nil
	}
	var out []Finding
	for i, g := range nestedSlice(obj.Object, "consumerGroups") {
		name, _ := g.(string)
		if name == "" {
			continue
		}
		group, ok := l.Get(GKKongConsumerGroup, obj.GetNamespace(), name)
		if f := fn(i, name, group, ok); f != nil {
			f.Field = field.NewPath("consumerGroups").Index(i)
			f.Value = name
			out = append(out, *f)
		}
	}
	return out
}

func checkConsumerGroupCP(obj *unstructured.Unstructured, l Lookup) []Finding {
	own := entityCPRef(obj)
	return consumerGroups(obj, l, func(_ int, name string, group *unstructured.Unstructured, found bool) *Finding {
		if !found {
			return nil
		}
		gr := entityCPRef(group)
		if same, known := sameCP(l, own, gr); !known || same {
			return nil
		}
		return &Finding{Message: fmt.Sprintf("KongConsumerGroup %s is attached to ControlPlane %s, but the KongConsumer is attached to ControlPlane %s",
			objName(group), describeCP(l, gr), describeCP(l, own))}
	})
}

func checkConsumerGroupMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	return consumerGroups(obj, l, func(_ int, name string, _ *unstructured.Unstructured, found bool) *Finding {
		if found {
			return nil
		}
		return &Finding{Message: fmt.Sprintf("KongConsumerGroup %s not found", nsName(obj.GetNamespace(), name))}
	})
}

// --- KongCredential* ---

var consumerRefPath = field.NewPath("spec", "consumerRef", "name")

func checkCredentialConsumerMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	name := nestedString(obj.Object, "spec", "consumerRef", "name")
	if name == "" || !l.Tracks(GKKongConsumer) {
		return nil
	}
	if _, ok := l.Get(GKKongConsumer, obj.GetNamespace(), name); ok {
		return nil
	}
	return []Finding{{Field: consumerRefPath, Value: name, Message: fmt.Sprintf("KongConsumer %s not found", nsName(obj.GetNamespace(), name))}}
}

// --- KongKey ---

var keySetPath = field.NewPath("spec", "keySetRef", "namespacedRef", "name")

func keySetName(obj *unstructured.Unstructured) string {
	if nestedString(obj.Object, "spec", "keySetRef", "type") != "namespacedRef" {
		return ""
	}
	return nestedString(obj.Object, "spec", "keySetRef", "namespacedRef", "name")
}

func checkKeySetCP(obj *unstructured.Unstructured, l Lookup) []Finding {
	own := entityCPRef(obj)
	name := keySetName(obj)
	if !own.isKonnect() || name == "" {
		return nil
	}
	set, ok := l.Get(GKKongKeySet, obj.GetNamespace(), name)
	if !ok {
		return nil
	}
	sr := entityCPRef(set)
	if same, known := sameCP(l, own, sr); !known || same {
		return nil
	}
	return []Finding{{
		Field: keySetPath,
		Value: name,
		Message: fmt.Sprintf("KongKeySet %s is attached to ControlPlane %s, but the KongKey is attached to ControlPlane %s",
			objName(set), describeCP(l, sr), describeCP(l, own)),
	}}
}

func checkKeySetMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	name := keySetName(obj)
	if !entityCPRef(obj).isKonnect() || name == "" || !l.Tracks(GKKongKeySet) {
		return nil
	}
	if _, ok := l.Get(GKKongKeySet, obj.GetNamespace(), name); ok {
		return nil
	}
	return []Finding{{
		Field:   keySetPath,
		Value:   name,
		Message: fmt.Sprintf("KongKeySet %s not found", nsName(obj.GetNamespace(), name)),
	}}
}

// checkKeyWithoutCP: KGO needs controlPlaneRef on a KongKey; it does not
// take the control plane from the key set.
func checkKeyWithoutCP(obj *unstructured.Unstructured, l Lookup) []Finding {
	if nestedMap(obj.Object, "spec", "controlPlaneRef") != nil || nestedMap(obj.Object, "spec", "keySetRef") == nil {
		return nil
	}
	f := Finding{
		Field:   field.NewPath("spec", "controlPlaneRef"),
		Type:    field.ErrorTypeRequired,
		Message: "the KongKey has spec.keySetRef but no spec.controlPlaneRef; Kong Gateway Operator does not take the control plane from the key set and never creates the key in Konnect",
	}
	if name := keySetName(obj); name != "" {
		if set, ok := l.Get(GKKongKeySet, obj.GetNamespace(), name); ok {
			if sr := entityCPRef(set); sr.Type == refTypeNamespaced {
				f.Hint = fmt.Sprintf("Add spec.controlPlaneRef {type: konnectNamespacedRef, konnectNamespacedRef: {name: %s}}, the control plane of KongKeySet %s", sr.Name, objName(set))
			}
		}
	}
	return []Finding{f}
}

// checkKeyUnmanaged: a KongKey without controlPlaneRef and keySetRef is
// reconciled by nothing.
func checkKeyUnmanaged(obj *unstructured.Unstructured, _ Lookup) []Finding {
	if nestedMap(obj.Object, "spec", "controlPlaneRef") != nil || nestedMap(obj.Object, "spec", "keySetRef") != nil {
		return nil
	}
	return []Finding{{
		Field:   field.NewPath("spec", "controlPlaneRef"),
		Message: "the KongKey has no spec.controlPlaneRef; Kong Gateway Operator only reconciles keys that reference a Konnect control plane, so nothing creates it",
	}}
}
