package testenv

import "k8s.io/apimachinery/pkg/runtime/schema"

// Kinds of the KGO/Konnect workflow, as served by the profiles.
var (
	GVKAuth                = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectAPIAuthConfiguration"}
	GVKControlPlane        = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectGatewayControlPlane"}
	GVKKonnectExtension    = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectExtension"}
	GVKOldKonnectExtension = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v1alpha1", Kind: "KonnectExtension"}
	GVKDataPlaneClientCert = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongDataPlaneClientCertificate"}
	GVKKongService         = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongService"}
	GVKKongRoute           = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongRoute"}
	GVKDataPlane           = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v1beta1", Kind: "DataPlane"}
)
