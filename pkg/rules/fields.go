package rules

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
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

// The KonnectGatewayControlPlane fields that moved between versions are
// read by kgoapi, the one place that knows both shapes.
func konnectName(cp *unstructured.Unstructured) string      { return kgoapi.KonnectName(cp) }
func konnectID(cp *unstructured.Unstructured) string        { return kgoapi.KonnectID(cp) }
func clusterType(cp *unstructured.Unstructured) string      { return kgoapi.ClusterType(cp) }
func konnectNameField(cp *unstructured.Unstructured) string { return kgoapi.KonnectNameField(cp) }

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func objName(o *unstructured.Unstructured) string {
	return nsName(o.GetNamespace(), o.GetName())
}
