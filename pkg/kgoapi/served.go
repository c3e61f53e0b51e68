package kgoapi

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// DiscoverControlPlaneVersion asks the API server which
// KonnectGatewayControlPlane version to read and write (see
// ControlPlaneVersion): one discovery request, for konnect.konghq.com/v1alpha2.
// Pass an uncached discovery client: a cache from before kong-operator's
// CRDs were installed (or removed) would pick the wrong version.
func DiscoverControlPlaneVersion(dc discovery.DiscoveryInterface) (string, error) {
	gv := schema.GroupVersion{Group: GroupKonnect, Version: V1Alpha2}
	list, err := dc.ServerResourcesForGroupVersion(gv.String())
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("discovering which KonnectGatewayControlPlane version the cluster serves (%s): %w", gv, err)
	}
	served := map[schema.GroupVersionResource]bool{}
	if list != nil {
		for _, r := range list.APIResources {
			served[gv.WithResource(r.Name)] = true
		}
	}
	return ControlPlaneVersion(func(gvr schema.GroupVersionResource) bool { return served[gvr] }), nil
}

// RequestFieldPath is the path of a field of the Konnect create request
// (name, cluster_type, auth_type) in a KonnectGatewayControlPlane version:
// spec.<f> in v1alpha1, spec.createControlPlaneRequest.<f> in v1alpha2.
func RequestFieldPath(version, f string) string {
	if version == V1Alpha2 {
		return "spec.createControlPlaneRequest." + f
	}
	return "spec." + f
}
