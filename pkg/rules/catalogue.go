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

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef @v1.4.2 (any cluster type but CLUSTER_TYPE_CONTROL_PLANE); from v1.5.1 on, and in Kong/kong-operator @v2.0.1..v2.3.0-rc.3, controller/konnect/ops/ops.go Create: Konnect answers 403 \"operation not permitted on KIC cluster\" (ops_errors.go)",
		Condition: "kgo-1.4: ControlPlaneRefValid=False/Invalid; kgo-1.5+ and ko-2.x: Programmed=False/FailedToCreate",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1002", Severity: SeverityDeny, Kinds: entityKindsExcept(GKKongDataPlaneClientCertificate),
		Title: "Entity attached to a control plane group",
		Hint: "Attach the entity to a member of the group (a KonnectGatewayControlPlane listed in the group's spec.members); " +
			"the configuration of a control plane group is read-only (a KongDataPlaneClientCertificate may reference a group from kong-operator 2.2 on: see KON1006)",
		Check: checkClusterType(ClusterTypeControlPlaneGroup),

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "ControlPlaneRefValid=False/Invalid (\"Attaching to ControlPlane ... with cluster type CLUSTER_TYPE_CONTROL_PLANE_GROUP is not supported\")",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1003", Severity: SeverityDeny, Kinds: cpRefKinds,
		Title: "Control-plane reference names the Konnect name (spec.name) instead of the resource name",
		Hint: "A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (spec.name, or spec.createControlPlaneRequest.name in v1alpha2). " +
			"If a KonnectGatewayControlPlane of the referenced name is on its way, apply it first, or apply again once it exists (GitOps tools retry)",
		Check: checkCPKonnectName,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef -> controlplane.GetCPForRef (Get by metadata.name) @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "ControlPlaneRefValid=False/Invalid (control plane not found)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1004", Severity: SeverityWarn, Strict: true, Kinds: cpRefKinds,
		Title: "Referenced KonnectGatewayControlPlane not found",
		Hint: "Create the KonnectGatewayControlPlane or correct the reference (its metadata.name, in the same namespace; a cluster-scoped KongVault names the namespace in konnectNamespacedRef.namespace); " +
			"until it exists KGO sets ControlPlaneRefValid=False and creates nothing in Konnect",
		Check: checkCPMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef -> controlplane.GetCPForRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "ControlPlaneRefValid=False/Invalid until the control plane exists",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1005", Severity: SeverityWarn, Kinds: kicAllowedKinds,
		Title: "controlPlaneRef type kic: KGO ignores the object",
		Hint: "To manage the object in Konnect use type konnectNamespacedRef with the KonnectGatewayControlPlane's name; " +
			"if Kong Ingress Controller in this cluster is meant to own it, this warning needs no action",
		Check: checkKICRefIgnored,

		Upstream:  "Kong/gateway-operator controller/pkg/controlplane GetControlPlaneRef and the Konnect entity reconcilers reconcile only konnectNamespacedRef/konnectID refs; type kic is left to Kong Ingress Controller (Kong/kong-operator api/common/v1alpha1 ControlPlaneRefKIC) @v1.5.1..v2.3.0-rc.3",
		Condition: "none: the object is not reconciled by the operator",
		Effect:    EffectIgnored,
	},

	{
		Code: "KON1006", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongDataPlaneClientCertificate},
		// Kong/kong-operator controller/konnect/reconciler_controlplaneref.go
		// handleControlPlaneRef refuses every entity on a group through
		// v2.1.9 and exempts KongDataPlaneClientCertificate from v2.2.0 (#3711).
		Releases: Until(GenerationKO21),
		Title:    "KongDataPlaneClientCertificate attached to a control plane group before kong-operator 2.2",
		Hint: "Register the certificate on the group's members (each KonnectGatewayControlPlane in the group's spec.members); " +
			"KGO 1.x, kong-operator 2.0 and 2.1 refuse a control plane group here, kong-operator 2.2 and later register data-plane certificates on groups",
		Check: checkClusterType(ClusterTypeControlPlaneGroup),

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.1.9 (KongDataPlaneClientCertificate exempted from v2.2.0, #3711: @v2.2.0, v2.2.3, v2.3.0-rc.3 check the kind)",
		Condition: "ControlPlaneRefValid=False/Invalid (\"Attaching to ControlPlane ... with cluster type CLUSTER_TYPE_CONTROL_PLANE_GROUP is not supported\")",
		Effect:    EffectRefused,
	},

	// KON11xx: KongRoute.
	{
		Code: "KON1101", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongRoute},
		Title: "KongRoute controlPlaneRef differs from its KongService's control plane",
		Hint:  "Remove spec.controlPlaneRef (a KongRoute with serviceRef inherits the service's control plane) or make both reference the same KonnectGatewayControlPlane",
		Check: checkRouteCPMismatch,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_serviceref.go handleKongServiceRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3: a KongRoute with serviceRef is created under the KongService, in the service's control plane",
		Condition: "none: spec.controlPlaneRef is not used, the service's control plane wins silently",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON1102", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongRoute},
		Title: "KongRoute serviceRef names a KongService that does not exist",
		Hint:  "Create the KongService in the namespace the reference names (the KongRoute's own unless spec.serviceRef.namespacedRef.namespace says otherwise) or correct spec.serviceRef.namespacedRef.name",
		Check: checkRouteServiceMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_serviceref.go handleKongServiceRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "KongServiceRefValid=False/Invalid",
		Effect:    EffectRefused,
	},

	// KON12xx: KongPluginBinding.
	{
		Code: "KON1201", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding target on another control plane",
		Hint:  "Bind only entities of one control plane: make spec.controlPlaneRef and every target reference the same KonnectGatewayControlPlane, or split the binding",
		Check: checkBindingTargetCP,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongpluginbinding.go createPlugin (plugin created in the binding's control plane with the target's Konnect ID) @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate (Konnect rejects the foreign target ID)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1202", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding targets Ingress, HTTPRoute, GRPCRoute or core Service in Konnect mode",
		Hint: "Target a KongRoute (routeRef) or KongService (serviceRef) of group configuration.konghq.com; " +
			"plugins on Ingress, HTTPRoute, GRPCRoute and Service go through the konghq.com/plugins annotation of Kong Ingress Controller",
		Check: checkBindingTargetKind,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongpluginbinding.go getPluginBindingTargets (\"unsupported service/route target kind\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1203", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding references a KongClusterPlugin in Konnect mode",
		Hint:  "Reference a KongPlugin in the binding's namespace (spec.pluginRef.kind: KongPlugin)",
		Check: checkBindingClusterPlugin,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongpluginbinding.go (KongPlugin only; \"TODO: add support for KongClusterPlugin\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate (the KongPlugin lookup fails)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1204", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongPluginBinding},
		Title: "KongPluginBinding plugin or target not found",
		Hint:  "Create the referenced KongPlugin or entity in the binding's namespace, or correct the name",
		Check: checkBindingRefsMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongpluginbinding.go kongPluginBindingToSDKPluginInput / getPluginBindingTargets @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate until plugin and targets exist",
		Effect:    EffectRefused,
	},

	// KON13xx: KongConsumer.
	{
		Code: "KON1301", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongConsumer},
		Title: "KongConsumer in a consumer group of another control plane",
		Hint:  "List only KongConsumerGroups attached to the consumer's control plane in consumerGroups, or move the consumer or the group",
		Check: checkConsumerGroupCP,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongconsumer.go reconcileConsumerGroupsWithKonnect (AddConsumerToGroup with a group ID of another control plane) @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToReconcileConsumerGroupsWithKonnect",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1302", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongConsumer},
		Title: "KongConsumer consumerGroups names a KongConsumerGroup that does not exist",
		Hint:  "Create the KongConsumerGroup in the consumer's namespace or correct the name in consumerGroups",
		Check: checkConsumerGroupMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongconsumer.go populateConsumerGroupRefsValidCondition (Reason \"NotFound\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "KongConsumerGroupRefsValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1303", Severity: SeverityWarn, Strict: true,
		Kinds: []schema.GroupKind{GKKongCredentialBasicAuth, GKKongCredentialAPIKey, GKKongCredentialACL, GKKongCredentialHMAC, GKKongCredentialJWT},
		Title: "Credential whose consumerRef names a KongConsumer that does not exist",
		Hint:  "Create the KongConsumer in the credential's namespace or correct spec.consumerRef.name",
		Check: checkCredentialConsumerMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_consumerref.go handleKongConsumerRef (KongConsumerRefValid, reason Invalid, when the KongConsumer is not found) @v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.9, v2.2.3, v2.3.0-rc.3; @v1.4.2 reconciler_generic.go",
		Condition: "KongConsumerRefValid=False/Invalid; nothing is written to Konnect",
		Effect:    EffectRefused,
	},

	// KON14xx: KongKey.
	{
		Code: "KON1401", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey in a KongKeySet of another control plane",
		Hint:  "Reference a KongKeySet attached to the key's control plane, or make spec.controlPlaneRef match the key set's",
		Check: checkKeySetCP,

		Upstream:  "Kong/gateway-operator controller/konnect/ops/ops_kongkey.go createKey (key created in its control plane with the key set's Konnect ID) @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate (Konnect rejects the foreign set ID)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1402", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey keySetRef names a KongKeySet that does not exist",
		Hint:  "Create the KongKeySet in the key's namespace or correct spec.keySetRef.namespacedRef.name",
		Check: checkKeySetMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_keysetref.go handleKongKeySetRef @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "KeySetRefValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1403", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey with keySetRef but without controlPlaneRef",
		Hint:  "Add spec.controlPlaneRef naming the control plane of the key set",
		Check: checkKeyWithoutCP,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_keysetref.go handleKongKeySetRef and the KongKey watch (keys are reconciled through their controlPlaneRef) @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "none: the key is not reconciled",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON1404", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongKey},
		Title: "KongKey without controlPlaneRef is reconciled by nothing",
		Hint:  "Add spec.controlPlaneRef {type: konnectNamespacedRef, konnectNamespacedRef: {name: <KonnectGatewayControlPlane>}}",
		Check: checkKeyUnmanaged,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_keysetref.go handleKongKeySetRef (\"key doesn't have neither a KeySet ref not a ControlPlane ref\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "none: the key is not reconciled",
		Effect:    EffectIgnored,
	},

	// KON15xx: KonnectAPIAuthConfiguration.
	{
		Code: "KON1501", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "serverURL without a Konnect region",
		Hint:  "Use the regional API host of your organization, <region>.api.konghq.com, with a two-letter region (us, eu, au, me, in, sg), e.g. us.api.konghq.com",
		Check: checkServerURLRegion,

		Upstream:  "Kong/gateway-operator controller/konnect/server/region.go NewRegion (^[a-z]{2}$ or global) via server.NewServer in reconciler_konnectapiauth.go @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3; @v1.4.2 ops.NewServerURL takes the host as is and GetOrganizationsMe against it fails",
		Condition: "kgo-1.5+ and ko-2.x: reconcile error \"failed to parse region from hostname\" (no status); kgo-1.4: APIAuthValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1502", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "secretRef Secret lacks the label konghq.com/credential=konnect",
		Hint:  "Label the Secret: kubectl label secret <name> konghq.com/credential=konnect",
		Check: checkAuthSecretLabel,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go getTokenFromKonnectAPIAuthConfiguration (\"does not have label konghq.com/credential\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "APIAuthValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1503", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration}, NeedsSecretKeys: true,
		Title: "secretRef Secret has no key token",
		Hint:  "Store the Konnect token (kpat_... or spat_...) under the key token: kubectl create secret generic <name> --from-literal=token=<token>",
		Check: checkAuthSecretKey,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go getTokenFromKonnectAPIAuthConfiguration (\"does not have key token\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "APIAuthValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1504", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "secretRef Secret not found",
		Hint:  "Create the Secret with the key token and the label konghq.com/credential=konnect, or correct spec.secretRef",
		Check: checkAuthSecretMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go getTokenFromKonnectAPIAuthConfiguration (\"failed to get Secret\") @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "APIAuthValid=False/Invalid until the Secret exists",
		Effect:    EffectRefused,
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

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go getTokenFromKonnectAPIAuthConfiguration reads spec.secretRef.namespace without a grant @v1.4.2..v1.6.2, Kong/kong-operator @v2.0.1..v2.2.3; Kong/kong-operator v2.3.0-rc.1 #2908 requires a KongReferenceGrant (issue 14 owns that)",
		Condition: "none before ko-2.3 (the token is used); ko-2.3: ResolvedRefs=False/RefNotPermitted without a grant",
		Effect:    EffectAdvice,
	},

	{
		Code: "KON1506", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "serverURL is not a Konnect API host",
		Hint:  "Use the regional API host <region>.api.konghq.com, e.g. us.api.konghq.com for us.konghq.com",
		Check: checkServerURLNotAPIHost,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go Reconcile: GetOrganizationsMe(WithServerURL(<serverURL>)) fails on a host that serves no Konnect API @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "APIAuthValid=False/Invalid",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1507", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "serverURL region is not a known Konnect geo",
		Hint:  "Check the region of your organization (Konnect's geos: us, eu, au, me, in, sg); if Konnect has added this geo, no action is needed",
		Check: checkServerURLUnknownGeo,

		Upstream:  "Kong/gateway-operator controller/konnect/server/region.go NewRegion accepts any two-letter label @v1.5.1, v1.6.2; Kong/kong-operator @v2.0.1..v2.3.0-rc.3; Konnect documents the geos us, eu, au, me, in, sg (sdk-konnect-go v0.50.0 ControlPlaneGeo)",
		Condition: "none from the operator; Konnect fails the token check if it has no such geo",
		Effect:    EffectAdvice,
	},
	{
		Code: "KON1508", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Title: "Inline token that cannot be valid (whitespace or control characters)",
		Hint:  "Paste the token without spaces or line breaks (kpat_... or spat_...), or store it in a Secret (type: secretRef) created with kubectl create secret generic <name> --from-literal=token=<token>",
		Check: checkInlineTokenShape,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_konnectapiauth.go getTokenFromKonnectAPIAuthConfiguration returns spec.token untrimmed; GetOrganizationsMe sends it as the bearer token @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3; the CRD's CEL checks only the kpat_/spat_ prefix",
		Condition: "APIAuthValid=False/Invalid (Go refuses a header value with a newline; Konnect answers 401 to a token with a space)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1509", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Releases: Since(GenerationKO20),
		Title:    "secretRef Secret lacks the label konghq.com/secret=true that kong-operator 2.x reads Secrets by",
		Hint:     "Label the Secret: kubectl label secret <name> konghq.com/secret=true (a warning, not a denial: an operator started with another --secret-label-selector reads other Secrets)",
		Check:    checkAuthSecretOperatorLabel,

		Upstream:  "Kong/kong-operator modules/manager/config/consts.go DefaultSecretLabelSelector and modules/manager/cache_options.go (the manager's cache holds only Secrets whose label is \"true\") @v2.0.1, v2.1.9, v2.2.3, v2.3.0-rc.3; seen on the real kong-operator 2.1.9 (../shared/operators/README.md)",
		Condition: "APIAuthValid=False/Invalid: failed to get Secret <ns>/<name>: Secret \"<name>\" not found",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1510", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectAPIAuthConfiguration},
		Releases: Since(GenerationKGO15Plus),
		Title:    "serverURL region as the operator reads it: case kept, only a literal https:// cut",
		Hint:     "Write the host in lower case with https:// or no scheme, e.g. eu.api.konghq.com",
		Check:    checkServerURLOperatorRegion,

		Upstream:  "Kong/gateway-operator controller/konnect/server/server.go NewServer (strings.TrimPrefix(serverURL, \"https://\"), first label) and region.go NewRegion (^[a-z]{2}$) @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1, v2.1.9, v2.2.3, v2.3.0-rc.3",
		Condition: "reconcile error \"failed to parse region from hostname\" (no status)",
		Effect:    EffectRefused,
	},

	// KON16xx: KonnectExtension.
	{
		Code: "KON1601", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectExtensionLegacy},
		Releases: Since(GenerationKGO15Plus),
		Title:    "KonnectExtension of group gateway-operator.konghq.com on KGO >= 1.5",
		Hint: "Use the konnect.konghq.com KonnectExtension (v1alpha1 on KGO 1.5/1.6, v1alpha2 on kong-operator 2.x: spec.konnect.controlPlane.ref, spec.clientAuth.certificateSecret) " +
			"and reference it from the DataPlane with group konnect.konghq.com; kubectl konnect migrate writes both",
		Check: checkLegacyExtensionIgnored,

		Upstream:  "Kong/gateway-operator controller/konnect/konnectextension_controller.go watches konnect.konghq.com KonnectExtension only @v1.5.1, v1.6.2 (gateway-operator.konghq.com one not reconciled); Kong/kong-operator @v2.0.1..v2.3.0-rc.3 likewise",
		Condition: "none: the object is ignored (a DataPlane using it gets KON1802)",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON1602", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectExtension},
		Title: "KonnectExtension on a KIC control plane serves only a ControlPlane",
		Hint:  "For DataPlanes, reference a KonnectGatewayControlPlane of cluster type CLUSTER_TYPE_CONTROL_PLANE; keep this extension for a gateway-operator ControlPlane only",
		Check: checkExtensionKIC,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/konnect/dataplane.go ApplyDataPlaneKonnectExtension (KONG_ROLE set for a ControlPlane-type cluster only) @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3",
		Condition: "none on the extension; a DataPlane using it is KON1803",
		Effect:    EffectAdvice,
	},
	{
		Code: "KON1603", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtension},
		Releases: Until(GenerationKO21),
		Title:    "KonnectExtension on a control plane group before kong-operator 2.2",
		Hint: "KGO 1.5/1.6, kong-operator 2.0 and 2.1 cannot connect data planes to a control plane group through a KonnectExtension (Kong/kong-operator#3710); " +
			"reference a member control plane of the group, or upgrade to kong-operator 2.2, which supports groups (Kong/kong-operator#3711)",
		Check: checkExtensionGroup,

		Upstream:  "Kong/gateway-operator controller/konnect/konnectextension_controller.go (status.konnect.clusterType enum ControlPlane|K8SIngressController) @v1.5.1, v1.6.2; Kong/kong-operator @v2.0.1, v2.1.0 (#3710; group support from v2.2.0, #3711; issue 14 owns the range)",
		Condition: "status update refused by the CRD enum: Ready never becomes True",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1604", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectExtension, GKKonnectExtensionLegacy},
		Title: "KonnectExtension client certificate Secret not found",
		Hint:  "Create the kubernetes.io/tls Secret with the data plane certificate (kubectl create secret tls <name> --cert=... --key=...) in the extension's namespace, or use provisioning: Automatic",
		Check: checkExtensionSecretMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/konnectextension_controller.go (Manual certificate Secret) and controller/pkg/extensions/apply.go ErrClusterCertificateNotFound @v1.5.1, v1.6.2; Kong/kong-operator @v2.0.1..v2.3.0-rc.3; @v1.4.2 controller/dataplane/konnectextension.go applyKonnectExtension",
		Condition: "DataPlane KonnectExtensionApplied=False/InvalidSecretRef until the Secret exists",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1605", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKKonnectExtension, GKKonnectExtensionLegacy}, NeedsSecretKeys: true,
		Title: "KonnectExtension client certificate Secret without tls.crt or tls.key",
		Hint:  "Store the certificate and key under tls.crt and tls.key (kubectl create secret tls <name> --cert=... --key=...)",
		Check: checkExtensionSecretKeys,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/konnect/dataplane.go kongInKonnectClusterCertVolume mounts tls.crt and tls.key of the Secret @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3; @v1.4.2 controller/dataplane/konnectextension.go",
		Condition: "DataPlane pod cannot start (the kubelet cannot mount the missing key): Ready=False",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1606", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectExtensionLegacy},
		Releases: Only(GenerationKGO14),
		Title:    "KGO 1.4 KonnectExtension konnectID holds a control-plane ID instead of the endpoint prefix",
		Hint: "Set spec.controlPlaneRef.konnectID to the first DNS label of the control plane's endpoint (config.control_plane_endpoint of GET /v2/control-planes/{id}): " +
			"b89939e7f0 for https://b89939e7f0.us.cp0.konghq.com",
		Check: checkLegacyKonnectIDIsUUID,

		Upstream:  "Kong/gateway-operator controller/dataplane/konnectextension.go applyKonnectExtension builds KONG_CLUSTER_CONTROL_PLANE=<konnectID>.<region>.cp0.<serverHostname> @v1.4.2",
		Condition: "none: the DataPlane is Ready but dials a host that does not exist",
		Effect:    EffectAdvice,
	},

	{
		Code: "KON1607", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectExtension},
		Releases: Since(GenerationKO20),
		Title:    "KonnectExtension client certificate Secret lacks the label konghq.com/secret=true that kong-operator 2.x reads Secrets by",
		Hint:     "Label the Secret: kubectl label secret <name> konghq.com/secret=true konghq.com/konnect-dp-cert=true (kubectl konnect cert issue writes both)",
		Check:    checkExtensionSecretOperatorLabel,

		Upstream:  "Kong/kong-operator modules/manager/cache_options.go (Secret label selector, default konghq.com/secret) and controller/konnect/konnectextension_controller_utils.go getCertificateSecret @v2.0.1, v2.1.9, v2.2.3, v2.3.0-rc.3; seen on the real kong-operator 2.1.9",
		Condition: "DataPlaneCertificateProvisioned=False/RefNotFound: Secret \"<name>\" not found; Ready=False",
		Effect:    EffectRefused,
	},

	// KON17xx: KonnectGatewayControlPlane and auth references.
	{
		Code: "KON1701", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKKonnectGatewayControlPlane, GKKonnectExtension},
		Title: "Referenced KonnectAPIAuthConfiguration not found",
		Hint:  "Create the KonnectAPIAuthConfiguration in the same namespace or correct authRef.name",
		Check: checkAuthRefMissing,

		Upstream:  "Kong/gateway-operator controller/konnect/reconciler_apiauthref.go / reconciler_generic.go getAPIAuthRefNN @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "APIAuthResolvedRef=False/RefNotFound",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1702", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKonnectGatewayControlPlane},
		Title: "Two KonnectGatewayControlPlanes create the same Konnect control plane name",
		Hint:  "Give each control plane a unique spec.name in the organization, or reference the existing one (source: Mirror) instead of creating it twice",
		Check: checkDuplicateKonnectName,

		Upstream:  "Konnect: POST /v2/control-planes answers 409 Conflict to a second control plane of the same name; Kong/gateway-operator controller/konnect/ops/ops.go Create @v1.4.2, v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "Programmed=False/FailedToCreate on the second",
		Effect:    EffectRefused,
	},

	// KON18xx: DataPlane and other users of KonnectExtension.
	{
		Code: "KON1801", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKDataPlane, GKControlPlane, GKGatewayConfiguration},
		Title: "spec.extensions names a KonnectExtension that does not exist",
		Hint:  "Create the KonnectExtension (kind, group and namespace as in spec.extensions) or correct the reference",
		Check: checkExtensionRefMissing,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/konnect/common.go getExtension ErrKonnectExtensionNotFound, apply.go @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3; @v1.4.2 controller/dataplane/konnectextension.go",
		Condition: "KonnectExtensionApplied=False/InvalidExtensionRef",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1802", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKDataPlane},
		Releases: Since(GenerationKGO15Plus),
		Title:    "DataPlane uses a gateway-operator.konghq.com KonnectExtension on KGO >= 1.5",
		Hint:     "Reference a KonnectExtension of group konnect.konghq.com (set group: konnect.konghq.com and migrate the extension: kubectl konnect migrate)",
		Check:    checkDataPlaneLegacyExtension,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/validate.go validateExtensions (isKonnectExtension: group konnect.konghq.com only) @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3",
		Condition: "AcceptedExtensions=False/NotSupportedExtensions (\"Extension gateway-operator.konghq.com/KonnectExtension is not supported\")",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1803", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKDataPlane},
		Title: "DataPlane uses a KonnectExtension of a KIC control plane",
		Hint:  "Reference a KonnectExtension whose control plane has cluster type CLUSTER_TYPE_CONTROL_PLANE",
		Check: checkDataPlaneKICExtension,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/konnect/dataplane.go ApplyDataPlaneKonnectExtension @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1..v2.3.0-rc.3",
		Condition: "none: the DataPlane runs with KONG_ROLE=traditional and never joins Konnect",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON1804", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKDataPlane},
		Title: "DataPlane spec.extensions names a KonnectExtension in another namespace",
		Hint:  "Create the KonnectExtension in the DataPlane's namespace and omit namespace in spec.extensions; no operator release resolves an extension across namespaces",
		Check: checkDataPlaneExtensionNamespace,

		Upstream:  "Kong/gateway-operator controller/pkg/extensions/konnect/common.go getExtension ErrCrossNamespaceReference, apply.go @v1.5.1, v1.6.2; Kong/kong-operator same @v2.0.1, v2.1.0, v2.2.3, v2.3.0-rc.3 (no KongReferenceGrant for extensions); @v1.4.2 controller/dataplane/konnectextension.go applyKonnectExtension",
		Condition: "kgo-1.5+ and ko-2.x: KonnectExtensionApplied=False/RefNotPermitted; kgo-1.4: reconcile error ErrCrossNamespaceReference",
		Effect:    EffectRefused,
	},

	// KON19xx: cross-namespace references and KongReferenceGrant
	// (kong-operator >= 2.1, see xref.go).
	{
		Code: "KON1901", Severity: SeverityWarn, Strict: true, Kinds: crossRefKinds(),
		Releases: Since(GenerationKO21),
		Title:    "Cross-namespace reference that no KongReferenceGrant permits",
		Hint:     "Apply a KongReferenceGrant in the target's namespace whose from names the referrer's group, kind and namespace and whose to names the target's group and kind (and optionally name)",
		Check:    checkCrossNamespaceNotGranted,

		Upstream:  "Kong/kong-operator internal/utils/crossnamespace/kongreferencegrant.go CheckKongReferenceGrantForResource -> ReferenceGrantsAllow, called by each reference handler (e.g. controller/konnect/reconciler_controlplaneref.go, reconciler_pluginref.go handlePluginRef) @v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "ResolvedRefs=False/RefNotPermitted (the object is not reconciled until a grant permits the reference)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1902", Severity: SeverityDeny, Kinds: crossRefKinds(),
		Releases: Until(GenerationKO21),
		Title:    "Cross-namespace reference that this operator release does not follow",
		Hint:     "Keep the referenced object in the referrer's namespace and omit the namespace field, or upgrade to the kong-operator release that supports the reference with a KongReferenceGrant",
		Check:    checkCrossNamespaceUnsupported,

		Upstream:  "Kong/gateway-operator controller/pkg/controlplane/ref.go getCPForNamespacedRef (\"ControlPlaneRef from different namespace\") @v1.5.1, v1.6.2 and Kong/kong-operator same @v2.0.1; other reference handlers read the target in the referrer's namespace (\"TODO: handle cross namespace refs\", controller/konnect/reconciler_serviceref.go @v2.0.1; @v1.4.2 reconciler_controlplaneref.go handleControlPlaneRef)",
		Condition: "ControlPlaneRefValid=False/Invalid (or the ref's own *RefValid=False/Invalid: target not found in the referrer's namespace)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON1903", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongReferenceGrant},
		Releases: Since(GenerationKO21),
		Title:    "KongReferenceGrant permits nothing",
		Hint: "A grant lives in the target's namespace; from names the referrer's group, kind and namespace, to the target's group (core for a Secret) and kind: " +
			"correct the kind, group or namespace, or delete the grant",
		Check: checkGrantPermitsNothing,

		Upstream:  "Kong/kong-operator internal/utils/crossnamespace/kongreferencegrant.go ReferenceGrantsAllow (exact from namespace/group/kind, to group/kind/name match) @v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "none on the grant: the references it was meant for stay ResolvedRefs=False/RefNotPermitted",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON1904", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKKongReferenceGrant}, OnDelete: true,
		Releases: Since(GenerationKO21),
		Title:    "Deleting a KongReferenceGrant that objects still depend on",
		Hint:     "Recreate the grant, or move the objects named into the target's namespace",
		Check:    checkGrantDeleteBreaksReferences,

		Upstream:  "Kong/kong-operator internal/utils/crossnamespace/kongreferencegrant.go ReferenceGrantsAllow, re-checked on every reconcile (KongReferenceGrant watches in controller/konnect) @v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "the dependents go ResolvedRefs=False/RefNotPermitted on their next reconcile",
		Effect:    EffectAdvice,
	},

	// KON20xx: the Gateway API path to Konnect (hybrid Gateway, kong-operator >= 2.1); see rules_gateway.go.
	{
		Code: "KON2001", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKGatewayClass},
		Title: "GatewayClass parametersRef names a GatewayConfiguration that does not exist",
		Hint:  "Create the GatewayConfiguration (gateway-operator.konghq.com) in the namespace of spec.parametersRef, or correct spec.parametersRef.name and namespace",
		Check: checkGatewayClassParametersMissing,

		Upstream:  "Kong/kong-operator controller/gatewayclass/controller_reconciler_utils.go getAcceptedCondition (\"The referenced GatewayConfiguration does not exist\") @v2.0.0, v2.1.0, v2.2.3, v2.3.0-rc.3; Kong/gateway-operator the same @v1.6.2, and controller/gateway getGatewayConfigForGatewayClass (a reconcile error) @v1.4.0, v1.5.0",
		Condition: "GatewayClass Accepted=False/InvalidParameters (KGO 1.4/1.5: the Gateway's reconcile fails with NotFound)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON2002", Severity: SeverityDeny, Kinds: []schema.GroupKind{GKGatewayClass},
		Title: "GatewayClass parametersRef to a GatewayConfiguration without namespace",
		Hint:  "Set spec.parametersRef.namespace to the GatewayConfiguration's namespace",
		Check: checkGatewayClassParametersNamespace,

		Upstream:  "Kong/kong-operator controller/gatewayclass/controller_reconciler_utils.go getAcceptedCondition (\"ParametersRef must reference a namespaced resource\") @v2.0.0, v2.1.0, v2.2.3, v2.3.0-rc.3; Kong/gateway-operator the same @v1.6.2, and controller/gateway getGatewayConfigForGatewayClass (\"both namespace and name must be provided\") @v1.4.0, v1.5.0",
		Condition: "GatewayClass Accepted=False/InvalidParameters (KGO 1.4/1.5: the Gateway's reconcile fails)",
		Effect:    EffectRefused,
	},
	{
		Code: "KON2003", Severity: SeverityWarn, Strict: true, Kinds: []schema.GroupKind{GKGatewayConfiguration},
		Releases: Since(GenerationKO21),
		Title:    "GatewayConfiguration spec.konnect.authRef names a KonnectAPIAuthConfiguration that does not exist",
		Hint:     "Create the KonnectAPIAuthConfiguration (kubectl konnect init writes one) or correct spec.konnect.authRef.name and namespace",
		Check:    checkGatewayConfigurationAuthMissing,

		Upstream:  "Kong/kong-operator controller/gateway/controller_reconciler_utils.go createKonnectGatewayControlPlane copies spec.konnect.authRef to the KonnectGatewayControlPlane; controller/konnect/handle_status_conditions.go handleAPIAuthStatusCondition @v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "the Gateway's KonnectGatewayControlPlane APIAuthResolvedRef=False/RefNotFound; the Gateway never gets a Programmed control plane",
		Effect:    EffectRefused,
	},
	{
		Code: "KON2004", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKGatewayClass},
		Releases: Since(GenerationKO21),
		Title:    "GatewayConfiguration with Konnect settings used by a class of another controller",
		Hint: "Set spec.controllerName to konghq.com/gateway-operator (or the name your kong-operator runs with, --controller-name), " +
			"or reference a GatewayConfiguration without spec.konnect",
		Check: checkGatewayConfigurationForeignController,

		Upstream:  "Kong/kong-operator controller/gateway/controller_watch.go gatewayClassMatchesController (Gateways of a class whose controllerName is not vars.ControllerName() are not reconciled) @v2.1.0, v2.2.3, v2.3.0-rc.3",
		Condition: "none: kong-operator never reconciles the Gateway, so spec.konnect is never used",
		Effect:    EffectIgnored,
	},
	{
		Code: "KON2005", Severity: SeverityWarn, Kinds: []schema.GroupKind{GKGatewayConfiguration},
		Releases: Range{From: GenerationKO21, To: GenerationKO22},
		Title:    "Konnect settings of a GatewayConfiguration in use changed",
		Hint: "Restore spec.konnect; to move Gateways to other Konnect settings create a new GatewayConfiguration and GatewayClass and move the Gateways to it " +
			"(kong-operator 2.3 makes spec.konnect.authRef, source and mirror immutable)",
		CheckUpdate: checkGatewayConfigurationKonnectChanged,

		Upstream:  "Kong/kong-operator controller/gateway/controller.go provisionKonnectGatewayControlPlane creates the KonnectGatewayControlPlane once and keeps an existing one as it is (TODO kong-operator#2639) @v2.1.0, v2.2.3; api/gateway-operator/v2beta1/gatewayconfiguration_types.go makes authRef, source and mirror immutable (CEL) @v2.3.0-rc.3",
		Condition: "none: existing Gateways keep their control plane and the old settings; only new Gateways get the new ones",
		Effect:    EffectIgnored,
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
