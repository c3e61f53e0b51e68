package kgoapi

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	discoveryfake "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"
)

func fakeDiscovery(resources ...*metav1.APIResourceList) *discoveryfake.FakeDiscovery {
	return &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{Resources: resources}}
}

func TestDiscoverControlPlaneVersion(t *testing.T) {
	cp := metav1.APIResource{Name: ResourceControlPlanes, Kind: "KonnectGatewayControlPlane", Namespaced: true}
	ext := metav1.APIResource{Name: ResourceExtensions, Kind: "KonnectExtension", Namespaced: true}
	for _, tt := range []struct {
		name string
		dc   *discoveryfake.FakeDiscovery
		want string
	}{
		{"KGO 1.x: no v1alpha2", fakeDiscovery(&metav1.APIResourceList{GroupVersion: "konnect.konghq.com/v1alpha1", APIResources: []metav1.APIResource{cp}}), V1Alpha1},
		{"kong-operator 2.x", fakeDiscovery(
			&metav1.APIResourceList{GroupVersion: "konnect.konghq.com/v1alpha1", APIResources: []metav1.APIResource{cp}},
			&metav1.APIResourceList{GroupVersion: "konnect.konghq.com/v1alpha2", APIResources: []metav1.APIResource{cp, ext}}), V1Alpha2},
		{"v1alpha2 without control planes", fakeDiscovery(&metav1.APIResourceList{GroupVersion: "konnect.konghq.com/v1alpha2", APIResources: []metav1.APIResource{ext}}), V1Alpha1},
		{"no KGO at all", fakeDiscovery(), V1Alpha1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DiscoverControlPlaneVersion(tt.dc)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	dc := fakeDiscovery()
	dc.PrependReactor("get", "resource", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	_, err := DiscoverControlPlaneVersion(dc)
	require.ErrorContains(t, err, "discovering which KonnectGatewayControlPlane version the cluster serves (konnect.konghq.com/v1alpha2): connection refused")
}

func TestRequestFieldPath(t *testing.T) {
	require.Equal(t, "spec.name", RequestFieldPath(V1Alpha1, "name"))
	require.Equal(t, "spec.createControlPlaneRequest.auth_type", RequestFieldPath(V1Alpha2, "auth_type"))
	// The same path KonnectNameField reads off an object of the version.
	for _, v := range []string{V1Alpha1, V1Alpha2} {
		cp := NewOriginControlPlane(v, "ns", "cp", ControlPlaneRequest{Name: "n", AuthRef: "a"})
		require.Equal(t, KonnectNameField(cp), RequestFieldPath(v, "name"), v)
	}
}
