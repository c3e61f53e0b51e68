package kgoapi

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestOriginControlPlaneReadsBackInBothVersions(t *testing.T) {
	req := ControlPlaneRequest{Name: "My CP", ClusterType: "CLUSTER_TYPE_CONTROL_PLANE", AuthType: "pki_client_certs", AuthRef: "auth"}
	for _, v := range []string{V1Alpha1, V1Alpha2} {
		t.Run(v, func(t *testing.T) {
			cp := NewOriginControlPlane(v, "ns", "my-cp", req)
			require.Equal(t, "konnect.konghq.com/"+v, cp.GetAPIVersion())
			require.Equal(t, "My CP", KonnectName(cp))
			require.Equal(t, "CLUSTER_TYPE_CONTROL_PLANE", ClusterType(cp))
			require.Equal(t, "pki_client_certs", AuthType(cp))
			require.Equal(t, "auth", AuthRef(cp))
			require.False(t, IsMirror(cp))
			require.Equal(t, "", KonnectID(cp))
		})
	}
	v2 := NewOriginControlPlane(V1Alpha2, "ns", "my-cp", req)
	require.Equal(t, "Origin", v2.Object["spec"].(map[string]any)["source"])
	require.Equal(t, "spec.createControlPlaneRequest.name", KonnectNameField(v2))
	require.Equal(t, "spec.name", KonnectNameField(NewOriginControlPlane(V1Alpha1, "ns", "my-cp", req)))
	_, hasName := v2.Object["spec"].(map[string]any)["name"]
	require.False(t, hasName, "v1alpha2 has no spec.name")
}

func TestMirrorControlPlane(t *testing.T) {
	cp := NewMirrorControlPlane(V1Alpha2, "ns", "cp", "ABC-123", "auth")
	require.True(t, IsMirror(cp))
	require.Equal(t, "abc-123", KonnectID(cp))
	require.Equal(t, "", KonnectName(cp))
	require.Equal(t, "", ClusterType(cp), "unknown until kong-operator sets status.clusterType")
	require.NoError(t, unstructured.SetNestedField(cp.Object, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "status", "clusterType"))
	require.Equal(t, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", ClusterType(cp))
	require.NoError(t, unstructured.SetNestedField(cp.Object, "def", "status", "id"))
	require.Equal(t, "def", KonnectID(cp), "status.id wins once programmed")
}

func TestControlPlaneVersion(t *testing.T) {
	ko20 := map[schema.GroupVersionResource]bool{ControlPlaneGVR(V1Alpha1): true, ControlPlaneGVR(V1Alpha2): true}
	kgo16 := map[schema.GroupVersionResource]bool{ControlPlaneGVR(V1Alpha1): true}
	require.Equal(t, V1Alpha2, ControlPlaneVersion(func(g schema.GroupVersionResource) bool { return ko20[g] }))
	require.Equal(t, V1Alpha1, ControlPlaneVersion(func(g schema.GroupVersionResource) bool { return kgo16[g] }))
}

func TestRequestFieldPathOf(t *testing.T) {
	req := ControlPlaneRequest{Name: "n", AuthRef: "auth"}
	require.Equal(t, "spec.createControlPlaneRequest.cluster_type", RequestFieldPathOf(NewOriginControlPlane(V1Alpha2, "ns", "cp", req), "cluster_type"))
	require.Equal(t, "spec.cluster_type", RequestFieldPathOf(NewOriginControlPlane(V1Alpha1, "ns", "cp", req), "cluster_type"))
	require.Equal(t, "spec.createControlPlaneRequest.auth_type", RequestFieldPathOf(NewMirrorControlPlane(V1Alpha2, "ns", "cp", "id", "auth"), "auth_type"),
		"a v1alpha2 object asks in createControlPlaneRequest, whatever it holds")
}

func TestExtensionVersion(t *testing.T) {
	ko20 := map[schema.GroupVersionResource]bool{ExtensionGVR(V1Alpha2): true}
	kgo16 := map[schema.GroupVersionResource]bool{ExtensionGVR(V1Alpha1): true}
	require.Equal(t, V1Alpha2, ExtensionVersion(func(g schema.GroupVersionResource) bool { return ko20[g] }))
	require.Equal(t, V1Alpha1, ExtensionVersion(func(g schema.GroupVersionResource) bool { return kgo16[g] }))
}
