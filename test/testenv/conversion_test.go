package testenv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestConvertControlPlane(t *testing.T) {
	v1 := map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1",
		"kind":       "KonnectGatewayControlPlane",
		"metadata":   map[string]any{"name": "cp", "namespace": "ns"},
		"spec": map[string]any{
			"name":         "my-cp",
			"cluster_type": "CLUSTER_TYPE_CONTROL_PLANE",
			"labels":       map[string]any{"team": "a"},
			"konnect":      map[string]any{"authRef": map[string]any{"name": "auth"}},
		},
		"status": map[string]any{"id": "123", "serverURL": "https://eu.api.konghq.com", "unknown": "dropped"},
	}
	v2, err := convertControlPlane(v1, "konnect.konghq.com/v1alpha2")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"createControlPlaneRequest": map[string]any{
			"name":         "my-cp",
			"cluster_type": "CLUSTER_TYPE_CONTROL_PLANE",
			"labels":       map[string]any{"team": "a"},
		},
		"konnect": map[string]any{"authRef": map[string]any{"name": "auth"}},
	}, v2["spec"])
	assert.Equal(t, map[string]any{"id": "123", "serverURL": "https://eu.api.konghq.com"}, v2["status"])
	assert.Equal(t, v1["metadata"], v2["metadata"])

	back, err := convertControlPlane(v2, "konnect.konghq.com/v1alpha1")
	require.NoError(t, err)
	assert.Equal(t, v1["spec"], back["spec"], "v1alpha1 -> v1alpha2 -> v1alpha1 keeps the spec")

	mirror := map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1",
		"kind":       "KonnectGatewayControlPlane",
		"spec": map[string]any{
			"source":  "Mirror",
			"mirror":  map[string]any{"konnect": map[string]any{"id": "3d2b7a1e-0000-4000-8000-000000000000"}},
			"konnect": map[string]any{"authRef": map[string]any{"name": "auth"}},
		},
	}
	m2, err := convertControlPlane(mirror, "konnect.konghq.com/v1alpha2")
	require.NoError(t, err)
	assert.Equal(t, mirror["spec"], m2["spec"], "a mirror has no create request on either side")

	_, err = convertControlPlane(v1, "konnect.konghq.com/v1beta1")
	assert.ErrorContains(t, err, "cannot convert")
}

// TestControlPlaneConversionServed proves that a kong-operator 2.x test
// ground converts as a real install does: v1alpha1 with spec.name is read as
// v1alpha2 with spec.createControlPlaneRequest.name, and back.
func TestControlPlaneConversionServed(t *testing.T) {
	for _, p := range Profiles {
		if !p.KongOperator2() {
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			e, err := New(ctx, p, Options{NoStandIn: true})
			require.NoError(t, err)
			t.Cleanup(func() { _ = e.Stop() })
			require.NoError(t, e.CreateNamespace(ctx, "conv"))

			cp := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "konnect.konghq.com/v1alpha1",
				"kind":       "KonnectGatewayControlPlane",
				"metadata":   map[string]any{"name": "cp", "namespace": "conv"},
				"spec": map[string]any{
					"name":    "from-v1alpha1",
					"labels":  map[string]any{"team": "a"},
					"konnect": map[string]any{"authRef": map[string]any{"name": "auth"}},
				},
			}}
			require.NoError(t, e.Client.Create(ctx, cp))

			v2 := &unstructured.Unstructured{}
			v2.SetGroupVersionKind(schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha2", Kind: "KonnectGatewayControlPlane"})
			require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Namespace: "conv", Name: "cp"}, v2))
			name, _, _ := unstructured.NestedString(v2.Object, "spec", "createControlPlaneRequest", "name")
			assert.Equal(t, "from-v1alpha1", name)
			_, hasOld, _ := unstructured.NestedString(v2.Object, "spec", "name")
			assert.False(t, hasOld, "v1alpha2 has no spec.name")

			// kong-operator 2.0's CRD (kubernetes-configuration v2.0.1) has
			// update rules that read self.status unguarded: an update
			// before the operator wrote any status fails to evaluate
			// ("no such key: status"), in a real cluster too. Give it the
			// status the operator writes first.
			require.NoError(t, unstructured.SetNestedSlice(v2.Object, []any{map[string]any{
				"type": "Programmed", "status": "False", "reason": "Pending", "message": "",
				"lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": int64(1),
			}}, "status", "conditions"))
			require.NoError(t, e.Client.Status().Update(ctx, v2))
			require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Namespace: "conv", Name: "cp"}, v2))
			require.NoError(t, unstructured.SetNestedField(v2.Object, "renamed", "spec", "createControlPlaneRequest", "name"))
			require.NoError(t, e.Client.Update(ctx, v2))
			v1 := &unstructured.Unstructured{}
			v1.SetGroupVersionKind(schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectGatewayControlPlane"})
			require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Namespace: "conv", Name: "cp"}, v1))
			name, _, _ = unstructured.NestedString(v1.Object, "spec", "name")
			assert.Equal(t, "renamed", name)
			team, _, _ := unstructured.NestedString(v1.Object, "spec", "labels", "team")
			assert.Equal(t, "a", team)
		})
	}
}
