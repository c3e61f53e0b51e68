// Package kgoapi reads and writes the KGO objects whose shape changed between
// API generations, so that every command has one code path per concept:
// a KonnectGatewayControlPlane keeps its Konnect fields in spec
// (konnect.konghq.com/v1alpha1, KGO 1.x) or in spec.createControlPlaneRequest
// (v1alpha2, kong-operator 2.x).
package kgoapi

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group/versions and resources.
const (
	GroupKonnect = "konnect.konghq.com"
	// V1Alpha1 is KGO 1.x's konnect.konghq.com version; kong-operator 2.x
	// still serves it for KonnectGatewayControlPlane (deprecated, without
	// conversion), so 2.x objects must be read and written as V1Alpha2.
	V1Alpha1 = "v1alpha1"
	// V1Alpha2 is kong-operator 2.x's KonnectGatewayControlPlane and
	// KonnectExtension.
	V1Alpha2 = "v1alpha2"

	ResourceControlPlanes = "konnectgatewaycontrolplanes"
	ResourceExtensions    = "konnectextensions"

	SourceOrigin = "Origin"
	SourceMirror = "Mirror"
)

// ControlPlaneGVR is the KonnectGatewayControlPlane resource of a version.
func ControlPlaneGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: GroupKonnect, Version: version, Resource: ResourceControlPlanes}
}

// ExtensionGVR is the konnect.konghq.com KonnectExtension resource of a version.
func ExtensionGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: GroupKonnect, Version: version, Resource: ResourceExtensions}
}

func str(obj map[string]any, path ...string) string {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// konnectField reads a field of the Konnect create request: spec.<f>
// (v1alpha1) or spec.createControlPlaneRequest.<f> (v1alpha2).
func konnectField(cp *unstructured.Unstructured, f string) string {
	if v := str(cp.Object, "spec", f); v != "" {
		return v
	}
	return str(cp.Object, "spec", "createControlPlaneRequest", f)
}

// KonnectName is the control plane's name in Konnect, as the object asks
// for it; "" for a Mirror.
func KonnectName(cp *unstructured.Unstructured) string { return konnectField(cp, "name") }

// KonnectNameField is the path of the Konnect name in the object's version.
func KonnectNameField(cp *unstructured.Unstructured) string { return RequestFieldPathOf(cp, "name") }

// RequestFieldPathOf is RequestFieldPath for the version the object is
// written in, for messages and hints. A v1alpha1 read of a v1alpha2 object
// (kong-operator 2.x serves both and converts between them) counts as v1alpha2.
func RequestFieldPathOf(cp *unstructured.Unstructured, f string) string {
	v := V1Alpha1
	if str(cp.Object, "spec", "name") == "" && (str(cp.Object, "spec", "createControlPlaneRequest", "name") != "" || cp.GroupVersionKind().Version == V1Alpha2) {
		v = V1Alpha2
	}
	return RequestFieldPath(v, f)
}

// ClusterType is the requested cluster type or, for a Mirror, whose
// cluster type Konnect decides, status.clusterType (v1alpha2 only, set once
// kong-operator found the control plane). "" when unset (Konnect then
// creates CLUSTER_TYPE_CONTROL_PLANE) or not known yet.
func ClusterType(cp *unstructured.Unstructured) string {
	if ct := konnectField(cp, "cluster_type"); ct != "" {
		return ct
	}
	return str(cp.Object, "status", "clusterType")
}

// AuthType is the requested auth_type; "" when unset (Konnect's default is
// pinned_client_certs) or for a Mirror.
func AuthType(cp *unstructured.Unstructured) string { return konnectField(cp, "auth_type") }

// IsMirror says whether the object mirrors a control plane made elsewhere.
func IsMirror(cp *unstructured.Unstructured) bool {
	return str(cp.Object, "spec", "source") == SourceMirror
}

// KonnectID is the control plane's Konnect ID, when known: status.id, or
// spec.mirror.konnect.id of a Mirror. Lower case, as Konnect compares it.
func KonnectID(cp *unstructured.Unstructured) string {
	if id := str(cp.Object, "status", "id"); id != "" {
		return strings.ToLower(id)
	}
	return strings.ToLower(str(cp.Object, "spec", "mirror", "konnect", "id"))
}

// AuthRef is the KonnectAPIAuthConfiguration the control plane uses.
func AuthRef(cp *unstructured.Unstructured) string {
	return str(cp.Object, "spec", "konnect", "authRef", "name")
}

// ControlPlaneRequest is what a new control plane is created with.
type ControlPlaneRequest struct {
	Name        string
	ClusterType string
	AuthType    string
	AuthRef     string
}

// NewOriginControlPlane makes a KonnectGatewayControlPlane that has KGO
// create the control plane in Konnect, in the shape of the version.
func NewOriginControlPlane(version, ns, name string, req ControlPlaneRequest) *unstructured.Unstructured {
	fields := map[string]any{"name": req.Name}
	if req.ClusterType != "" {
		fields["cluster_type"] = req.ClusterType
	}
	if req.AuthType != "" {
		fields["auth_type"] = req.AuthType
	}
	konnect := map[string]any{"authRef": map[string]any{"name": req.AuthRef}}
	spec := fields
	if version == V1Alpha2 {
		spec = map[string]any{"source": SourceOrigin, "createControlPlaneRequest": fields}
	}
	spec["konnect"] = konnect
	return newObject(version, ns, name, spec)
}

// NewMirrorControlPlane makes a KonnectGatewayControlPlane that mirrors
// control plane id (KGO >= 1.5): KGO reads it, never changes or deletes it.
// The shape is the same in v1alpha1 and v1alpha2.
func NewMirrorControlPlane(version, ns, name, id, authRef string) *unstructured.Unstructured {
	return newObject(version, ns, name, map[string]any{
		"source":  SourceMirror,
		"mirror":  map[string]any{"konnect": map[string]any{"id": id}},
		"konnect": map[string]any{"authRef": map[string]any{"name": authRef}},
	})
}

func newObject(version, ns, name string, spec map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GroupKonnect + "/" + version,
		"kind":       "KonnectGatewayControlPlane",
		"metadata":   meta,
		"spec":       spec,
	}}
}

// ControlPlaneVersion is the KonnectGatewayControlPlane version to read and
// write: v1alpha2 where it is served (kong-operator 2.x), else v1alpha1.
func ControlPlaneVersion(served func(schema.GroupVersionResource) bool) string {
	if served(ControlPlaneGVR(V1Alpha2)) {
		return V1Alpha2
	}
	return V1Alpha1
}

// ExtensionVersion is the konnect.konghq.com KonnectExtension version to
// read and write: v1alpha2 where it is served (kong-operator 2.x serves
// only v1alpha2), else v1alpha1 (KGO 1.5/1.6).
func ExtensionVersion(served func(schema.GroupVersionResource) bool) string {
	if served(ExtensionGVR(V1Alpha2)) {
		return V1Alpha2
	}
	return V1Alpha1
}
