package rules

import "k8s.io/apimachinery/pkg/runtime/schema"

// API groups of the kinds the rules read.
const (
	GroupConfiguration   = "configuration.konghq.com"
	GroupKonnect         = "konnect.konghq.com"
	GroupGatewayOperator = "gateway-operator.konghq.com"
)

// Group kinds the rules validate or look up. Versions do not matter to the
// rules: every field they read has the same path in all served versions.
var (
	GKKongService                    = schema.GroupKind{Group: GroupConfiguration, Kind: "KongService"}
	GKKongRoute                      = schema.GroupKind{Group: GroupConfiguration, Kind: "KongRoute"}
	GKKongUpstream                   = schema.GroupKind{Group: GroupConfiguration, Kind: "KongUpstream"}
	GKKongCACertificate              = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCACertificate"}
	GKKongCertificate                = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCertificate"}
	GKKongKey                        = schema.GroupKind{Group: GroupConfiguration, Kind: "KongKey"}
	GKKongKeySet                     = schema.GroupKind{Group: GroupConfiguration, Kind: "KongKeySet"}
	GKKongConsumer                   = schema.GroupKind{Group: GroupConfiguration, Kind: "KongConsumer"}
	GKKongConsumerGroup              = schema.GroupKind{Group: GroupConfiguration, Kind: "KongConsumerGroup"}
	GKKongPluginBinding              = schema.GroupKind{Group: GroupConfiguration, Kind: "KongPluginBinding"}
	GKKongVault                      = schema.GroupKind{Group: GroupConfiguration, Kind: "KongVault"}
	GKKongDataPlaneClientCertificate = schema.GroupKind{Group: GroupConfiguration, Kind: "KongDataPlaneClientCertificate"}
	GKKongPlugin                     = schema.GroupKind{Group: GroupConfiguration, Kind: "KongPlugin"}
	GKKongClusterPlugin              = schema.GroupKind{Group: GroupConfiguration, Kind: "KongClusterPlugin"}
	// GKKongTarget and GKKongSNI name a KongUpstream and a KongCertificate,
	// across namespaces from kong-operator 2.2.
	GKKongTarget = schema.GroupKind{Group: GroupConfiguration, Kind: "KongTarget"}
	GKKongSNI    = schema.GroupKind{Group: GroupConfiguration, Kind: "KongSNI"}
	// The credentials of a KongConsumer, which name it in spec.consumerRef.
	GKKongCredentialBasicAuth = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCredentialBasicAuth"}
	GKKongCredentialAPIKey    = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCredentialAPIKey"}
	GKKongCredentialACL       = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCredentialACL"}
	GKKongCredentialHMAC      = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCredentialHMAC"}
	GKKongCredentialJWT       = schema.GroupKind{Group: GroupConfiguration, Kind: "KongCredentialJWT"}
	// GKKongReferenceGrant permits cross-namespace references (kong-operator >= 2.1).
	GKKongReferenceGrant = schema.GroupKind{Group: GroupConfiguration, Kind: "KongReferenceGrant"}

	GKKonnectGatewayControlPlane  = schema.GroupKind{Group: GroupKonnect, Kind: "KonnectGatewayControlPlane"}
	GKKonnectAPIAuthConfiguration = schema.GroupKind{Group: GroupKonnect, Kind: "KonnectAPIAuthConfiguration"}
	// GKKonnectExtension is the KonnectExtension that KGO >= 1.5 acts on.
	GKKonnectExtension = schema.GroupKind{Group: GroupKonnect, Kind: "KonnectExtension"}
	// GKKonnectExtensionLegacy is the KonnectExtension of KGO 1.4; KGO >= 1.5 ignores it.
	GKKonnectExtensionLegacy = schema.GroupKind{Group: GroupGatewayOperator, Kind: "KonnectExtension"}
	// GKKonnectEventGateway and GKKonnectAIGateway mark kong-operator 2.2
	// and 2.3 in discovery (see Served).
	GKKonnectEventGateway = schema.GroupKind{Group: GroupKonnect, Kind: "KonnectEventGateway"}
	GKKonnectAIGateway    = schema.GroupKind{Group: GroupKonnect, Kind: "KonnectAIGateway"}

	GKDataPlane            = schema.GroupKind{Group: GroupGatewayOperator, Kind: "DataPlane"}
	GKControlPlane         = schema.GroupKind{Group: GroupGatewayOperator, Kind: "ControlPlane"}
	GKGatewayConfiguration = schema.GroupKind{Group: GroupGatewayOperator, Kind: "GatewayConfiguration"}

	GKSecret = schema.GroupKind{Group: "", Kind: "Secret"}
)

// clusterScoped are the kinds above whose CRDs say scope: Cluster, in every
// release: such an object has no namespace, so a konnectNamespacedRef in it
// must name its target's namespace. A test checks this against the CRDs.
var clusterScoped = map[schema.GroupKind]bool{GKKongVault: true, GKKongClusterPlugin: true, GKGatewayClass: true}

// Namespaced reports whether objects of the kind live in a namespace.
func Namespaced(gk schema.GroupKind) bool { return !clusterScoped[gk] }

// EntityKinds are the Konnect entity kinds with spec.controlPlaneRef that
// KGO reconciles into a Konnect control plane.
var EntityKinds = []schema.GroupKind{
	GKKongService,
	GKKongRoute,
	GKKongUpstream,
	GKKongCACertificate,
	GKKongCertificate,
	GKKongKey,
	GKKongKeySet,
	GKKongConsumer,
	GKKongConsumerGroup,
	GKKongPluginBinding,
	GKKongVault,
	GKKongDataPlaneClientCertificate,
}

// LookupKinds are the kinds the rules look up through a Lookup. A webhook
// caches exactly these (stripped with Strip); RBAC needs get/list/watch on
// them and nothing else.
func LookupKinds() []schema.GroupKind {
	return []schema.GroupKind{
		GKKonnectGatewayControlPlane,
		GKKonnectAPIAuthConfiguration,
		GKKonnectExtension,
		GKKonnectExtensionLegacy,
		GKKongService,
		GKKongRoute,
		GKKongConsumer,
		GKKongConsumerGroup,
		GKKongKeySet,
		GKKongPlugin,
		GKKongReferenceGrant,
		GKSecret,
		GKGatewayConfiguration,
		GKGatewayClass,
	}
}

// ValidatedKinds are the kinds that have at least one rule, in catalogue
// order without duplicates: the kinds a ValidatingWebhookConfiguration
// should send.
func ValidatedKinds() []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, r := range catalogue {
		for _, gk := range r.Kinds {
			if !seen[gk] {
				seen[gk] = true
				out = append(out, gk)
			}
		}
	}
	return out
}

func isEntityKind(gk schema.GroupKind) bool {
	for _, e := range EntityKinds {
		if e == gk {
			return true
		}
	}
	return false
}

// DeleteValidatedKinds are the kinds whose deletion a rule judges
// (Rule.OnDelete): the kinds a ValidatingWebhookConfiguration should also
// send on DELETE.
func DeleteValidatedKinds() []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, r := range catalogue {
		if !r.OnDelete {
			continue
		}
		for _, gk := range r.Kinds {
			if !seen[gk] {
				seen[gk] = true
				out = append(out, gk)
			}
		}
	}
	return out
}
