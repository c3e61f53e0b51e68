package rules

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Cluster types of a KonnectGatewayControlPlane (spec.cluster_type).
const (
	ClusterTypeControlPlane      = "CLUSTER_TYPE_CONTROL_PLANE"
	ClusterTypeControlPlaneGroup = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
	ClusterTypeKIC               = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"
)

// controlPlaneRef types.
const (
	refTypeNamespaced = "konnectNamespacedRef"
	refTypeKonnectID  = "konnectID"
	refTypeKIC        = "kic"
)

// nested returns the value at path or nil, without copying and without
// failing on type mismatches (an unexpected shape reads as absent).
func nested(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, ok = m[p]
		if !ok {
			return nil
		}
	}
	return cur
}

func nestedMap(obj map[string]any, path ...string) map[string]any {
	m, _ := nested(obj, path...).(map[string]any)
	return m
}

func nestedString(obj map[string]any, path ...string) string {
	s, _ := nested(obj, path...).(string)
	return s
}

func nestedSlice(obj map[string]any, path ...string) []any {
	s, _ := nested(obj, path...).([]any)
	return s
}

// konnectName is the name of the control plane in Konnect.
func konnectName(cp *unstructured.Unstructured) string {
	if n := nestedString(cp.Object, "spec", "name"); n != "" {
		return n
	}
	return nestedString(cp.Object, "spec", "createControlPlaneRequest", "name")
}

// konnectID is the Konnect ID of a control plane, when known.
func konnectID(cp *unstructured.Unstructured) string {
	if id := nestedString(cp.Object, "status", "id"); id != "" {
		return strings.ToLower(id)
	}
	return strings.ToLower(nestedString(cp.Object, "spec", "mirror", "konnect", "id"))
}

// clusterType of a KonnectGatewayControlPlane: spec.cluster_type
// (v1alpha1), spec.createControlPlaneRequest.cluster_type (v1alpha2 Origin)
// or, for a Mirror, whose cluster type Konnect decides, status.clusterType
// (v1alpha2 only, set by kong-operator once it found the control plane).
// "" when unset (Konnect then creates CLUSTER_TYPE_CONTROL_PLANE) or unknown
// (a Mirror before kong-operator 2.x programmed it, or on KGO 1.x, whose
// CRDs have no status.clusterType).
func clusterType(cp *unstructured.Unstructured) string {
	if ct := nestedString(cp.Object, "spec", "cluster_type"); ct != "" {
		return ct
	}
	if ct := nestedString(cp.Object, "spec", "createControlPlaneRequest", "cluster_type"); ct != "" {
		return ct
	}
	return nestedString(cp.Object, "status", "clusterType")
}

// konnectNameField is where a KonnectGatewayControlPlane keeps its Konnect
// name: spec.name (v1alpha1) or spec.createControlPlaneRequest.name
// (v1alpha2).
func konnectNameField(cp *unstructured.Unstructured) string {
	if nestedString(cp.Object, "spec", "name") == "" && nestedString(cp.Object, "spec", "createControlPlaneRequest", "name") != "" {
		return "spec.createControlPlaneRequest.name"
	}
	if cp.GroupVersionKind().Version == "v1alpha2" {
		return "spec.createControlPlaneRequest.name"
	}
	return "spec.name"
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func objName(o *unstructured.Unstructured) string {
	return nsName(o.GetNamespace(), o.GetName())
}
