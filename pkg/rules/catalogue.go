package rules

import "k8s.io/apimachinery/pkg/runtime/schema"

// kinds of KON1005: the CRDs allow controlPlaneRef type kic here, and KGO
// then skips the object.
var kicAllowedKinds = []schema.GroupKind{GKKongConsumer, GKKongConsumerGroup, GKKongPluginBinding, GKKongVault}

// kinds that reference a KonnectGatewayControlPlane by name.
var cpRefKinds = append(append([]schema.GroupKind{}, EntityKinds...), GKKonnectExtension, GKKonnectGatewayControlPlane)

func entityKindsExcept(gk schema.GroupKind) []schema.GroupKind {
	var out []schema.GroupKind
	for _, e := range EntityKinds {
		if e != gk {
			out = append(out, e)
		}
	}
	return out
}

// catalogue is every rule, in code order. Codes are stable: never renumber,
// never reuse a retired code.
var catalogue = []Rule{
	// KON10xx: control-plane references of entities.
	{
		Code: "KON1001", Severity: SeverityDeny, Kinds: EntityKinds,
		Title: "Entity attached to a Kong Ingress Controller (KIC) control plane",
		Hint: "Point spec.controlPlaneRef at a KonnectGatewayControlPlane of cluster type CLUSTER_TYPE_CONTROL_PLANE (the default when spec.cluster_type is unset); " +
			"Kong Ingress Controller owns the configuration of a KIC control plane and Konnect refuses entities created through its API",
		Check: checkClusterType(ClusterTypeKIC),
	},
	{
		Code: "KON1002", Severity: SeverityDeny, Kinds: entityKindsExcept(GKKongDataPlaneClientCertificate),
		Title: "Entity attached to a control plane group",
		Hint: "Attach the entity to a member of the group (a KonnectGatewayControlPlane listed in the group's spec.members); " +
			"the configuration of a control plane group is read-only (a KongDataPlaneClientCertificate may reference a group on kong-operator 2.x: see KON1006)",
		Check: checkClusterType(ClusterTypeControlPlaneGroup),
	},
	{
		Code: "KON1003", Severity: SeverityDeny, Kinds: cpRefKinds,
		Title: "Control-plane reference names the Konnect name (spec.name) instead of the resource name",
		Hint: "A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (spec.name, or spec.createControlPlaneRequest.name in v1alpha2). " +
			"If a KonnectGatewayControlPlane of the referenced name is on its way, apply it first, or apply again once it exists (GitOps tools retry)",
		Check: checkCPKonnectName,
	},
	{
		Code: "KON1004", Severity: SeverityWarn, Strict: true, Kinds: cpRefKinds,
		Title: "Referenced KonnectGatewayControlPlane not found",
		Hint: "Create the KonnectGatewayControlPlane or correct the reference (its metadata.name, in the same namespace; a cluster-scoped KongVault names the namespace in konnectNamespacedRef.namespace); " +
			"until it exists KGO sets ControlPlaneRefValid=False and creates nothing in Konnect",
		Check: checkCPMissing,
	},
	{
		Code: "KON1005", Severity: SeverityWarn, Kinds: kicAllowedKinds,
		Title: "controlPlaneRef type kic: KGO ignores the object",
		Hint: "To manage the object in Konnect use type konnectNamespacedRef with the KonnectGatewayControlPlane's name; " +
			"if Kong Ingress Controller in this cluster is meant to own it, this warning needs no action",
		Check: checkKICRefIgnored,
	},

	{
		Code: "KON1006", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongDataPlaneClientCertificate},
		Releases: Until(GenerationKGO15Plus),
		Title:    "KongDataPlaneClientCertificate attached to a control plane group on KGO 1.x",
		Hint: "Register the certificate on the group's members (each KonnectGatewayControlPlane in the group's spec.members); " +
			"KGO 1.x refuses a control plane group here, kong-operator 2.x registers data-plane certificates on groups",
		Check: checkClusterType(ClusterTypeControlPlaneGroup),
	},

	// KON11xx: KongRoute.
	{
		Code: "KON1101", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongRoute},
		Title: "KongRoute controlPlaneRef differs from its KongService's control plane",
		Hint:  "Remove spec.controlPlaneRef (a KongRoute with serviceRef inherits the service's control plane) or make both reference the same KonnectGatewayControlPlane",
		Check: checkRouteCPMismatch,
	},
	{
		Code: "KON1102", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongRoute},
		Title: "KongRoute serviceRef names a KongService that does not exist",
		Hint:  "Create the KongService in the namespace the reference names (the KongRoute's own unless spec.serviceRef.namespacedRef.namespace says otherwise) or correct spec.serviceRef.namespacedRef.name",
		Check: checkRouteServiceMissing,
	},

	// KON12xx: KongPluginBinding.
	{
		Code: "KON1201", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding target on another control plane",
		Hint:  "Bind only entities of one control plane: make spec.controlPlaneRef and every target reference the same KonnectGatewayControlPlane, or split the binding",
		Check: checkBindingTargetCP,
	},
	{
		Code: "KON1202", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding targets Ingress, HTTPRoute, GRPCRoute or core Service in Konnect mode",
		Hint: "Target a KongRoute (routeRef) or KongService (serviceRef) of group configuration.konghq.com; " +
			"plugins on Ingress, HTTPRoute, GRPCRoute and Service go through the konghq.com/plugins annotation of Kong Ingress Controller",
		Check: checkBindingTargetKind,
	},
	{
		Code: "KON1203", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding references a KongClusterPlugin in Konnect mode",
		Hint:  "Reference a KongPlugin in the binding's namespace (spec.pluginRef.kind: KongPlugin)",
		Check: checkBindingClusterPlugin,
	},
	{
		Code: "KON1204", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding plugin or target not found",
		Hint:  "Create the referenced KongPlugin or entity in the binding's namespace, or correct the name",
		Check: checkBindingRefsMissing,
	},

	// KON13xx: KongConsumer.
	{
		Code: "KON1301", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongConsumer},
		Title: "KongConsumer in a consumer group of another control plane",
		Hint:  "List only KongConsumerGroups attached to the consumer's control plane in consumerGroups, or move the consumer or the group",
		Check: checkConsumerGroupCP,
	},
	{
		Code: "KON1302", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongConsumer},
		Title: "KongConsumer consumerGroups names a KongConsumerGroup that does not exist",
		Hint:  "Create the KongConsumerGroup in the consumer's namespace or correct the name in consumerGroups",
		Check: checkConsumerGroupMissing,
	},

	// KON14xx: KongKey.
	{
		Code: "KON1401", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey in a KongKeySet of another control plane",
		Hint:  "Reference a KongKeySet attached to the key's control plane, or make spec.controlPlaneRef match the key set's",
		Check: checkKeySetCP,
	},
	{
		Code: "KON1402", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey keySetRef names a KongKeySet that does not exist",
		Hint:  "Create the KongKeySet in the key's namespace or correct spec.keySetRef.namespacedRef.name",
		Check: checkKeySetMissing,
	},
	{
		Code: "KON1403", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey with keySetRef but without controlPlaneRef",
		Hint:  "Add spec.controlPlaneRef naming the control plane of the key set",
		Check: checkKeyWithoutCP,
	},
	{
		Code: "KON1404", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey without controlPlaneRef is reconciled by nothing",
		Hint:  "Add spec.controlPlaneRef {type: konnectNamespacedRef, konnectNamespacedRef: {name: <KonnectGatewayControlPlane>}}",
		Check: checkKeyUnmanaged,
	},

	// KON15xx: KonnectAPIAuthConfiguration.
	{
		Code: "KON1501", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "serverURL without a Konnect region",
		Hint:  "Use the regional API host of your organization, <region>.api.konghq.com (us, eu, au, me, in, global), e.g. us.api.konghq.com",
		Check: checkServerURLRegion,
	},
	{
		Code: "KON1502", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "secretRef Secret lacks the label konghq.com/credential=konnect",
		Hint:  "Label the Secret: kubectl label secret <name> konghq.com/credential=konnect",
		Check: checkAuthSecretLabel,
	},
	{
		Code: "KON1503", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration}, NeedsSecretKeys: true,
		Title: "secretRef Secret has no key token",
		Hint:  "Store the Konnect token (kpat_... or spat_...) under the key token: kubectl create secret generic <name> --from-literal=token=<token>",
		Check: checkAuthSecretKey,
	},
	{
		Code: "KON1504", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "secretRef Secret not found",
		Hint:  "Create the Secret with the key token and the label konghq.com/credential=konnect, or correct spec.secretRef",
		Check: checkAuthSecretMissing,
	},
	{
		Code: "KON1505", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		// From kong-operator 2.3 the reference needs a KongReferenceGrant
		// (Kong/kong-operator#2908): KON1901 reports it there.
		Releases: Until(GenerationKO22),
		Title:    "secretRef in another namespace",
		Hint: "Keep the token Secret in the KonnectAPIAuthConfiguration's namespace and omit spec.secretRef.namespace; " +
			"kong-operator 2.3 refuses the reference unless a KongReferenceGrant in the Secret's namespace permits it",
		Check: checkAuthSecretNamespace,
	},

	// KON16xx: KonnectExtension.
	{
		Code: "KON1601", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtensionLegacy},
		Releases: Since(GenerationKGO15Plus),
		Title:    "KonnectExtension of group gateway-operator.konghq.com on KGO >= 1.5",
		Hint: "Use the konnect.konghq.com KonnectExtension (v1alpha1 on KGO 1.5/1.6, v1alpha2 on kong-operator 2.x: spec.konnect.controlPlane.ref, spec.clientAuth.certificateSecret) " +
			"and reference it from the DataPlane with group konnect.konghq.com; kubectl konnect migrate writes both",
		Check: checkLegacyExtensionIgnored,
	},
	{
		Code: "KON1602", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectExtension},
		Title: "KonnectExtension on a KIC control plane serves only a ControlPlane",
		Hint:  "For DataPlanes, reference a KonnectGatewayControlPlane of cluster type CLUSTER_TYPE_CONTROL_PLANE; keep this extension for a gateway-operator ControlPlane only",
		Check: checkExtensionKIC,
	},
	{
		Code: "KON1603", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtension},
		Releases: Until(GenerationKO21),
		Title:    "KonnectExtension on a control plane group before kong-operator 2.2",
		Hint: "KGO 1.5/1.6, kong-operator 2.0 and 2.1 cannot connect data planes to a control plane group through a KonnectExtension (Kong/kong-operator#3710); " +
			"reference a member control plane of the group, or upgrade to kong-operator 2.2, which supports groups (Kong/kong-operator#3711)",
		Check: checkExtensionGroup,
	},
	{
		Code: "KON1604", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectExtension, GKKonnectExtensionLegacy},
		Title: "KonnectExtension client certificate Secret not found",
		Hint:  "Create the kubernetes.io/tls Secret with the data plane certificate (kubectl create secret tls <name> --cert=... --key=...) in the extension's namespace, or use provisioning: Automatic",
		Check: checkExtensionSecretMissing,
	},
	{
		Code: "KON1605", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtension, GKKonnectExtensionLegacy}, NeedsSecretKeys: true,
		Title: "KonnectExtension client certificate Secret without tls.crt or tls.key",
		Hint:  "Store the certificate and key under tls.crt and tls.key (kubectl create secret tls <name> --cert=... --key=...)",
		Check: checkExtensionSecretKeys,
	},
	{
		Code: "KON1606", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtensionLegacy},
		Releases: Only(GenerationKGO14),
		Title:    "KGO 1.4 KonnectExtension konnectID holds a control-plane ID instead of the endpoint prefix",
		Hint: "Set spec.controlPlaneRef.konnectID to the first DNS label of the control plane's endpoint (config.control_plane_endpoint of GET /v2/control-planes/{id}): " +
			"b89939e7f0 for https://b89939e7f0.us.cp0.konghq.com",
		Check: checkLegacyKonnectIDIsUUID,
	},

	// KON17xx: KonnectGatewayControlPlane and auth references.
	{
		Code: "KON1701", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectGatewayControlPlane, GKKonnectExtension},
		Title: "Referenced KonnectAPIAuthConfiguration not found",
		Hint:  "Create the KonnectAPIAuthConfiguration in the same namespace or correct authRef.name",
		Check: checkAuthRefMissing,
	},
	{
		Code: "KON1702", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectGatewayControlPlane},
		Title: "Two KonnectGatewayControlPlanes create the same Konnect control plane name",
		Hint:  "Give each control plane a unique spec.name in the organization, or reference the existing one (source: Mirror) instead of creating it twice",
		Check: checkDuplicateKonnectName,
	},

	// KON18xx: DataPlane and other users of KonnectExtension.
	{
		Code: "KON1801", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKDataPlane, GKControlPlane, GKGatewayConfiguration},
		Title: "spec.extensions names a KonnectExtension that does not exist",
		Hint:  "Create the KonnectExtension (kind, group and namespace as in spec.extensions) or correct the reference",
		Check: checkExtensionRefMissing,
	},
	{
		Code: "KON1802", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKDataPlane},
		Releases: Since(GenerationKGO15Plus),
		Title:    "DataPlane uses a gateway-operator.konghq.com KonnectExtension on KGO >= 1.5",
		Hint:     "Reference a KonnectExtension of group konnect.konghq.com (set group: konnect.konghq.com and migrate the extension: kubectl konnect migrate)",
		Check:    checkDataPlaneLegacyExtension,
	},
	{
		Code: "KON1803", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKDataPlane},
		Title: "DataPlane uses a KonnectExtension of a KIC control plane",
		Hint:  "Reference a KonnectExtension whose control plane has cluster type CLUSTER_TYPE_CONTROL_PLANE",
		Check: checkDataPlaneKICExtension,
	},

	// KON19xx: cross-namespace references and KongReferenceGrant
	// (kong-operator >= 2.1, see xref.go).
	{
		Code: "KON1901", Severity: SeverityWarn, Strict: true, Kinds: crossRefKinds(),
		Releases: Since(GenerationKO21),
		Title:    "Cross-namespace reference that no KongReferenceGrant permits",
		Hint:     "Apply a KongReferenceGrant in the target's namespace whose from names the referrer's group, kind and namespace and whose to names the target's group and kind (and optionally name)",
		Check:    checkCrossNamespaceNotGranted,
	},
	{
		Code: "KON1902", Severity: SeverityDeny, Kinds: crossRefKinds(),
		Releases: Until(GenerationKO21),
		Title:    "Cross-namespace reference that this operator release does not follow",
		Hint:     "Keep the referenced object in the referrer's namespace and omit the namespace field, or upgrade to the kong-operator release that supports the reference with a KongReferenceGrant",
		Check:    checkCrossNamespaceUnsupported,
	},
	{
		Code: "KON1903", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongReferenceGrant},
		Releases: Since(GenerationKO21),
		Title:    "KongReferenceGrant permits nothing",
		Hint: "A grant lives in the target's namespace; from names the referrer's group, kind and namespace, to the target's group (core for a Secret) and kind: " +
			"correct the kind, group or namespace, or delete the grant",
		Check: checkGrantPermitsNothing,
	},
	{
		Code: "KON1904", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongReferenceGrant}, OnDelete: true,
		Releases: Since(GenerationKO21),
		Title:    "Deleting a KongReferenceGrant that objects still depend on",
		Hint:     "Recreate the grant, or move the objects named into the target's namespace",
		Check:    checkGrantDeleteBreaksReferences,
	},

	// KON20xx: the Gateway API path to Konnect (hybrid Gateway, kong-operator >= 2.1); see rules_gateway.go.
	{
		Code: "KON2001", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKGatewayClass},
		Title: "GatewayClass parametersRef names a GatewayConfiguration that does not exist",
		Hint:  "Create the GatewayConfiguration (gateway-operator.konghq.com) in the namespace of spec.parametersRef, or correct spec.parametersRef.name and namespace",
		Check: checkGatewayClassParametersMissing,
	},
	{
		Code: "KON2002", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKGatewayClass},
		Title: "GatewayClass parametersRef to a GatewayConfiguration without namespace",
		Hint:  "Set spec.parametersRef.namespace to the GatewayConfiguration's namespace",
		Check: checkGatewayClassParametersNamespace,
	},
	{
		Code: "KON2003", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKGatewayConfiguration},
		Releases: Since(GenerationKO21),
		Title:    "GatewayConfiguration spec.konnect.authRef names a KonnectAPIAuthConfiguration that does not exist",
		Hint:     "Create the KonnectAPIAuthConfiguration (kubectl konnect init writes one) or correct spec.konnect.authRef.name and namespace",
		Check:    checkGatewayConfigurationAuthMissing,
	},
	{
		Code: "KON2004", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKGatewayClass},
		Releases: Since(GenerationKO21),
		Title:    "GatewayConfiguration with Konnect settings used by a class of another controller",
		Hint: "Set spec.controllerName to konghq.com/gateway-operator (or the name your kong-operator runs with, --controller-name), " +
			"or reference a GatewayConfiguration without spec.konnect",
		Check: checkGatewayConfigurationForeignController,
	},
	{
		Code: "KON2005", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKGatewayConfiguration},
		Releases: Range{From: GenerationKO21, To: GenerationKO22},
		Title:    "Konnect settings of a GatewayConfiguration in use changed",
		Hint: "Restore spec.konnect; to move Gateways to other Konnect settings create a new GatewayConfiguration and GatewayClass and move the Gateways to it " +
			"(kong-operator 2.3 makes spec.konnect.authRef, source and mirror immutable)",
		CheckUpdate: checkGatewayConfigurationKonnectChanged,
	},
}

// Catalogue returns every rule, in code order.
func Catalogue() []Rule {
	out := make([]Rule, len(catalogue))
	copy(out, catalogue)
	return out
}

// RuleByCode returns the rule with the code.
func RuleByCode(code string) (Rule, bool) {
	for _, r := range catalogue {
		if r.Code == code {
			return r, true
		}
	}
	return Rule{}, false
}
