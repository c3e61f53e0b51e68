package kgoapi

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// CRDVersionAnnotation is the annotation every kong-operator 2.x CRD carries
// with the release of the CRDs: v2.0.x (kubernetes-configuration) on
// kong-operator 2.0, the kong-operator release itself from 2.1 on (v2.2.3,
// v2.3.0-rc.3). kubernetes-configuration v1.5.x carries its own version, which
// is no KGO release; v1.0.x carries none.
const CRDVersionAnnotation = "kubernetes-configuration.konghq.com/version"

// ControlPlaneCRDName is the CustomResourceDefinition of KonnectGatewayControlPlane,
// the CRD whose annotation names the release.
const ControlPlaneCRDName = "konnectgatewaycontrolplanes." + GroupKonnect

// GVRCustomResourceDefinition is the apiextensions resource of CRDs.
var GVRCustomResourceDefinition = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDVersion is what the KonnectGatewayControlPlane CRD says of its release.
type CRDVersion struct {
	// Version is the CRDVersionAnnotation ("" when the CRD has none or
	// could not be read).
	Version string
	// Unread says why the CRD could not be read ("forbidden", "not found");
	// "" when it was. The release then comes from discovery alone.
	Unread string
}

// ReadCRDVersion reads the KonnectGatewayControlPlane CRD's release
// annotation with one GET of the CRD's metadata (its schema stays on the API
// server). Users without read access to CRDs, a common RBAC setup, and a CRD
// removed since discovery are not errors: Unread says so and the caller
// falls back to discovery. Other errors are returned.
func ReadCRDVersion(ctx context.Context, md metadata.Interface) (CRDVersion, error) {
	if md == nil {
		return CRDVersion{Unread: "no client to read it"}, nil
	}
	crd, err := md.Resource(GVRCustomResourceDefinition).Get(ctx, ControlPlaneCRDName, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return CRDVersion{Unread: "reading CustomResourceDefinitions is forbidden"}, nil
	case apierrors.IsNotFound(err):
		return CRDVersion{Unread: "not found"}, nil
	case err != nil:
		return CRDVersion{}, fmt.Errorf("reading CustomResourceDefinition %s: %w", ControlPlaneCRDName, err)
	}
	return CRDVersion{Version: crd.GetAnnotations()[CRDVersionAnnotation]}, nil
}
