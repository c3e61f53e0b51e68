package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Kong/sdk-konnect-go/models/components"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

const installKGOHint = "Install Kong Gateway Operator with its CRDs and the Konnect controllers, e.g. helm upgrade --install kgo kong/gateway-operator -n kong-system --create-namespace --set env.ENABLE_CONTROLLER_KONNECT=true (https://developer.konghq.com/operator/)."

func kgoChecks() []Check {
	return []Check{{
		ID:          IDKGOCRDs,
		Description: "KGO and Konnect CRDs are installed",
		Details:     "Uncached discovery of konnect.konghq.com/v1alpha1 and v1alpha2, configuration.konghq.com/v1alpha1 and gateway-operator.konghq.com/v1beta1 and v1alpha1. KonnectGatewayControlPlane is read as v1alpha2 where that is served (kong-operator 2.x), else as v1alpha1.",
		Hint:        installKGOHint,
		Run: func(ctx context.Context, e *Env) Result {
			served, err := e.served(ctx)
			if err != nil {
				return Failed("Check that the API server is reachable with this kubeconfig and context: kubectl get --raw /version", "%v", err)
			}
			gvrControlPlane, _ := e.controlPlaneGVR(ctx)
			var missing []string
			for _, r := range []struct {
				gvr  schema.GroupVersionResource
				kind string
			}{
				{gvrAuth, "KonnectAPIAuthConfiguration"}, {gvrControlPlane, "KonnectGatewayControlPlane"},
				{gvrDPCertificates, "KongDataPlaneClientCertificate"}, {gvrDataPlane, "DataPlane"},
			} {
				if !served[r.gvr] {
					missing = append(missing, r.kind+" ("+r.gvr.GroupVersion().String()+")")
				}
			}
			if len(missing) > 0 {
				return Failed("", "not served: %s", strings.Join(missing, ", "))
			}
			return Passed("KonnectAPIAuthConfiguration, KonnectGatewayControlPlane, KongDataPlaneClientCertificate and DataPlane are served")
		},
	}, {
		ID:          IDKGOGeneration,
		Description: "KGO API generation is known",
		Details:     "As the webhook decides it. A served konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane means kong-operator 2.x, whose release is the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version annotation (from the kinds served when the CRD cannot be read: KongReferenceGrant means 2.1, KonnectEventGateway 2.2, KonnectAIGateway 2.3), whose KonnectGatewayControlPlane and KonnectExtension are read as v1alpha2; else a served konnect.konghq.com KonnectExtension means KGO >= 1.5, which ignores the gateway-operator.konghq.com one; only gateway-operator.konghq.com means KGO 1.4, whose konnectID is the control plane's endpoint prefix.",
		Hint:        installKGOHint,
		Needs:       []string{IDKGOCRDs},
		Run: func(ctx context.Context, e *Env) Result {
			gen, err := e.Generation(ctx)
			if err != nil {
				return failedFrom(err)
			}
			switch {
			case gen == rules.GenerationKGO15Plus:
				return Passed("%s: KonnectExtension konnect.konghq.com/v1alpha1 is served, and KGO ignores the gateway-operator.konghq.com one", gen)
			case gen == rules.GenerationKGO14:
				return Passed("%s: only the gateway-operator.konghq.com/v1alpha1 KonnectExtension is served; its konnectID is the control plane's endpoint prefix", gen)
			case gen.KongOperator2():
				ext, err := e.extensionGVR(ctx)
				if err != nil {
					return failedFrom(err)
				}
				read := "KonnectGatewayControlPlane and KonnectExtension are read as konnect.konghq.com/v1alpha2"
				if ext.Version != kgoapi.V1Alpha2 {
					read = fmt.Sprintf("KonnectGatewayControlPlane is read as konnect.konghq.com/v1alpha2, KonnectExtension as %s", ext.GroupVersion())
				}
				return Passed("%s: %s (%s): %s (a v1alpha1 KonnectGatewayControlPlane is converted to it); no gateway-operator.konghq.com KonnectExtension is served",
					gen, gen.Release(), e.releaseFacts.ReleaseSource(), read)
			}
			return Failed("", "KonnectExtension is served in neither konnect.konghq.com nor gateway-operator.konghq.com")
		},
	}}
}

func authChecks() []Check {
	return []Check{{
		ID:          IDAuthFound,
		Description: "KonnectAPIAuthConfiguration present",
		Details:     "Every KonnectAPIAuthConfiguration of the namespace is checked by the auth checks, and the control plane's when its spec.konnect.authRef names another namespace. With --gateway, only the one the Gateway's control plane uses (before kong-operator created it, the one its GatewayConfiguration names), in the namespace its authRef names.",
		Hint:        "Create a KonnectAPIAuthConfiguration with a Konnect token (kubectl konnect init does it), or pass the namespace with -n.",
		Needs:       []string{IDKGOGeneration},
		Run: func(ctx context.Context, e *Env) Result {
			auths, err := e.auths(ctx)
			var pre *prereqError
			if errors.As(err, &pre) {
				return Skipped("skipped: %v", err)
			}
			if err != nil {
				return failedFrom(err)
			}
			if len(auths) == 0 {
				return Failed("", "no KonnectAPIAuthConfiguration in namespace %s", e.Namespace)
			}
			var parts []string
			for _, a := range auths {
				parts = append(parts, fmt.Sprintf("%s (serverURL %s)", e.objName(a), str(a, "spec", "serverURL")))
			}
			return Passed("%s", strings.Join(parts, "; "))
		},
	}, {
		ID:          IDAuthToken,
		Description: "Konnect token is readable",
		Details:     "The token is read as KGO reads it: spec.token, or the Secret of spec.secretRef, which needs the label konghq.com/credential=konnect and the key token. Tokens start with kpat_ (personal access token) or spat_ (system account token).",
		Hint:        "Give the KonnectAPIAuthConfiguration a token: inline in spec.token, or in a Secret labelled konghq.com/credential=konnect under the key token.",
		Needs:       []string{IDAuthFound},
		Run: func(ctx context.Context, e *Env) Result {
			auths, err := e.auths(ctx)
			if err != nil {
				return failedFrom(err)
			}
			var ok, warn []string
			for _, a := range auths {
				ka, err := e.authToken(ctx, a)
				if err != nil {
					return failedFrom(err)
				}
				if !strings.HasPrefix(ka.token, "kpat_") && !strings.HasPrefix(ka.token, "spat_") {
					warn = append(warn, fmt.Sprintf("%s: the token from %s starts with neither kpat_ nor spat_", e.objName(a), ka.Source))
					continue
				}
				ok = append(ok, fmt.Sprintf("%s: %s token from %s", e.objName(a), tokenKind(ka.token), ka.Source))
			}
			if len(warn) > 0 {
				return Warned("Konnect tokens are personal access tokens (kpat_...) or system account tokens (spat_...); check that the right value was stored.",
					"%s", strings.Join(append(warn, ok...), "; "))
			}
			return Passed("%s", strings.Join(ok, "; "))
		},
	}, {
		ID:          IDAuthTokenValid,
		Description: "Konnect accepts the token",
		Details:     "GET /v3/organizations/me with each token: Konnect answers with the organization, or 401 for a revoked, expired or foreign token.",
		Hint:        "Create a new token in Konnect (personal access token, or a system account token for automation) and store it where the KonnectAPIAuthConfiguration reads it.",
		Needs:       []string{IDAuthToken},
		Run: func(ctx context.Context, e *Env) Result {
			auths, err := e.auths(ctx)
			if err != nil {
				return failedFrom(err)
			}
			var ok []string
			for _, a := range auths {
				ka, err := e.authToken(ctx, a)
				if err != nil {
					return failedFrom(err)
				}
				org, err := e.organization(ctx, ka)
				if err != nil {
					status, msg := konnectError(err)
					if status == http.StatusUnauthorized || status == http.StatusForbidden {
						return Failed(newTokenHint(e, ka),
							"%s: %s on GET /v3/organizations/me: the token is revoked, expired, or not a Konnect token", e.objName(a), msg)
					}
					return Failed(fmt.Sprintf("Check that this machine reaches %s (proxy, firewall), then run the check again.", ka.ServerURL),
						"%s: asking Konnect who the token belongs to: %s", e.objName(a), msg)
				}
				name := ""
				if org != nil && org.Name != nil {
					name = *org.Name
				}
				// Konnect accepts the token; KGO must not have said otherwise.
				if r, no := kgoSaysNo(a, "KonnectAPIAuthConfiguration "+e.objName(a),
					fmt.Sprintf("kubectl describe konnectapiauthconfiguration %s -n %s", a.GetName(), e.nsOf(a)), "APIAuthValid"); no {
					r.Message += fmt.Sprintf(", although Konnect accepts the token now (organization %q): KGO retries on its next reconcile", name)
					return r
				}
				ok = append(ok, fmt.Sprintf("%s: organization %q", e.objName(a), name))
			}
			return Passed("%s", strings.Join(ok, "; "))
		},
	}, {
		ID:          IDAuthRegion,
		Description: "server URL's region matches the control plane",
		Details:     "KGO takes the region from the first label of spec.serverURL (us, eu, au, me, in; global). For the control plane's KonnectAPIAuthConfiguration it must be the region of the endpoint Konnect gives the control plane, <prefix>.<region>.cp0.konghq.com.",
		Hint:        "Set spec.serverURL to the regional API host of your organization: <region>.api.konghq.com with region us, eu, au, me or in.",
		Needs:       []string{IDAuthTokenValid},
		Retry:       true, // the endpoint is known once the control plane is programmed
		Run: func(ctx context.Context, e *Env) Result {
			auths, err := e.auths(ctx)
			if err != nil {
				return failedFrom(err)
			}
			cp, _ := e.controlPlane(ctx)
			var parts []string
			var unknown error
			for _, a := range auths {
				ka, err := e.authToken(ctx, a)
				if err != nil {
					return failedFrom(err)
				}
				if ka.Region == "" {
					return Failed("", "%s: serverURL %q names no Konnect region (KGO derives the region from the first label)", e.objName(a), str(a, "spec", "serverURL"))
				}
				if !e.usesAuth(cp, a) {
					parts = append(parts, fmt.Sprintf("%s: region %s", e.objName(a), ka.Region))
					continue
				}
				ep, err := e.endpoint(ctx)
				if err != nil {
					unknown = err
					parts = append(parts, fmt.Sprintf("%s: region %s", e.objName(a), ka.Region))
					continue
				}
				if ka.Region != "global" && ep.Region != "" && ep.Region != ka.Region {
					return Failed(fmt.Sprintf("Use the API host of region %s: spec.serverURL %s.api.konghq.com (the field is immutable: re-create the KonnectAPIAuthConfiguration %s).", ep.Region, ep.Region, e.objName(a)),
						"%s: serverURL region %s, but control plane %s is in region %s (endpoint %s)", e.objName(a), ka.Region, cp.GetName(), ep.Region, ep.URL)
				}
				parts = append(parts, fmt.Sprintf("%s: region %s, as the endpoint %s of control plane %s", e.objName(a), ka.Region, ep.URL, cp.GetName()))
			}
			if unknown != nil {
				return Skipped("%s; the control plane's endpoint is not known: %v", strings.Join(parts, "; "), unknown)
			}
			return Passed("%s", strings.Join(parts, "; "))
		},
	}}
}

func tokenKind(tok string) string {
	if strings.HasPrefix(tok, "spat_") {
		return "system account"
	}
	return "personal access"
}

// newTokenHint is the exact command that stores a new token where ka reads it.
func newTokenHint(e *Env, ka konnectAuth) string {
	if str(ka.Obj, "spec", "type") == "secretRef" {
		ns := str(ka.Obj, "spec", "secretRef", "namespace")
		if ns == "" {
			ns = e.nsOf(ka.Obj)
		}
		return fmt.Sprintf("Create a new token in Konnect and store it: kubectl patch secret %s -n %s --type merge -p '{\"stringData\":{\"token\":\"<new token>\"}}'",
			str(ka.Obj, "spec", "secretRef", "name"), ns)
	}
	return fmt.Sprintf("Create a new token in Konnect and store it: kubectl patch konnectapiauthconfiguration %s -n %s --type merge -p '{\"spec\":{\"token\":\"<new token>\"}}'",
		ka.Obj.GetName(), e.nsOf(ka.Obj))
}

// konnectPrereq turns an error of a Konnect lookup into a result: a skip
// when what is missing is checked elsewhere (no control plane ID, token not
// accepted), a failure when Konnect answered something else.
func konnectPrereq(err error) Result {
	var p *problem
	var pre *prereqError
	if errors.As(err, &p) || errors.As(err, &pre) {
		return Skipped("skipped: %v", err)
	}
	_, msg := konnectError(err)
	return Failed("Check that this machine reaches the Konnect API (proxy, firewall), then run the check again.", "%s", msg)
}

func controlPlaneChecks() []Check {
	return []Check{{
		ID:          IDControlPlaneFound,
		Description: "KonnectGatewayControlPlane found",
		Details:     "--control-plane, else the only KonnectGatewayControlPlane of the namespace, else the one the data plane's KonnectExtension refers to. With --gateway, the one kong-operator made for the Gateway (label gateway-operator.konghq.com/managed-by=gateway and an ownerReference to the Gateway's uid, v2.2.3:pkg/utils/gateway/ownerrefs.go ListKonnectGatewayControlPlanesForGateway); it settles then, while kong-operator has not created it. On kong-operator 2.x an object applied as v1alpha1 is read as v1alpha2: its conversion webhook keeps spec.name as spec.createControlPlaneRequest.name.",
		Needs:       []string{IDKGOGeneration},
		Run: func(ctx context.Context, e *Env) Result {
			cp, err := e.controlPlane(ctx)
			if err != nil {
				return failedFrom(err)
			}
			if kgoapi.IsMirror(cp) {
				return Passed("%s (%s, mirror of Konnect control plane %s, KonnectAPIAuthConfiguration %s)", cp.GetName(), cp.GetAPIVersion(), kgoapi.KonnectID(cp), e.nsName(e.authRefOf(cp)))
			}
			return Passed("%s (%s, Konnect name %q, KonnectAPIAuthConfiguration %s)", cp.GetName(), cp.GetAPIVersion(), kgoapi.KonnectName(cp), e.nsName(e.authRefOf(cp)))
		},
	}, {
		ID:          IDControlPlaneProgrammed,
		Description: "control plane is Programmed",
		Details:     "Condition Programmed=True and status.id, the control plane's Konnect ID.",
		Needs:       []string{IDControlPlaneFound},
		Retry:       true,
		Run: func(ctx context.Context, e *Env) Result {
			cp, err := e.controlPlane(ctx)
			if err != nil {
				return failedFrom(err)
			}
			hint := fmt.Sprintf("KGO says why in status.conditions: kubectl describe konnectgatewaycontrolplane %s -n %s", cp.GetName(), e.Namespace)
			st, reason, msg, found := condition(cp, "Programmed")
			switch {
			case !found:
				return Failed("Is KGO running, with the Konnect controllers enabled (ENABLE_CONTROLLER_KONNECT=true)? "+hint,
					"KonnectGatewayControlPlane %s has no Programmed condition: KGO has not reconciled it", cp.GetName())
			case st != "True":
				return Failed(hint, "Programmed=%s (%s): %s%s", st, reason, msg, alsoFalse(cp, "Programmed"))
			case str(cp, "status", "id") == "":
				return Failed(hint, "Programmed, but status.id is empty")
			}
			return Passed("Konnect ID %s", str(cp, "status", "id"))
		},
	}, {
		ID:          IDControlPlaneEndpoint,
		Description: "control plane exists in Konnect, with its endpoint",
		Details:     "GET /v2/control-planes/{status.id}. 404 means the control plane was deleted in Konnect behind KGO's back. config.control_plane_endpoint is where data planes connect.",
		Needs:       []string{IDControlPlaneProgrammed, IDAuthTokenValid},
		Retry:       true,
		Run: func(ctx context.Context, e *Env) Result {
			kcp, err := e.konnectControlPlane(ctx)
			if err != nil {
				if status, msg := konnectError(err); status == http.StatusNotFound {
					cp, _ := e.controlPlane(ctx)
					if kgoapi.IsMirror(cp) {
						return Failed(fmt.Sprintf("Mirror an existing control plane: set spec.mirror.konnect.id of KonnectGatewayControlPlane %s -n %s to the ID of a control plane of the organization.", cp.GetName(), e.Namespace),
							"%s on GET /v2/control-planes/%s: the control plane KonnectGatewayControlPlane %s mirrors does not exist in Konnect", msg, kgoapi.KonnectID(cp), cp.GetName())
					}
					return Failed(fmt.Sprintf("The control plane was deleted in Konnect. Delete the KonnectGatewayControlPlane so that KGO creates it again: kubectl delete konnectgatewaycontrolplane %s -n %s, then apply it again.", cp.GetName(), e.Namespace),
						"%s on GET /v2/control-planes/%s", msg, str(cp, "status", "id"))
				}
				return konnectPrereq(err)
			}
			if kcp.Config.ControlPlaneEndpoint == "" {
				return Failed("Konnect gave the control plane no endpoint: this control plane type takes no self-managed data planes.", "control plane %q has no control_plane_endpoint", kcp.Name)
			}
			return Passed("%s (telemetry %s, %s)", kcp.Config.ControlPlaneEndpoint, kcp.Config.TelemetryEndpoint, kcp.Config.AuthType)
		},
	}, {
		ID:          IDControlPlaneType,
		Description: "control plane's cluster type takes data planes",
		Details:     "config.cluster_type from Konnect: CLUSTER_TYPE_CONTROL_PLANE takes self-managed data planes; a Kong Ingress Controller control plane (CLUSTER_TYPE_K8S_INGRESS_CONTROLLER) or a control plane group (CLUSTER_TYPE_CONTROL_PLANE_GROUP) does not.",
		Needs:       []string{IDControlPlaneEndpoint},
		Run: func(ctx context.Context, e *Env) Result {
			kcp, err := e.konnectControlPlane(ctx)
			if err != nil {
				return konnectPrereq(err)
			}
			cp, _ := e.controlPlane(ctx)
			fix := fmt.Sprintf("the default: remove %s", kgoapi.RequestFieldPathOf(cp, "cluster_type"))
			if kgoapi.IsMirror(cp) {
				fix = "a Mirror takes the control plane as Konnect has it: mirror one of that type"
			}
			ct := kcp.Config.ClusterType
			switch ct {
			case components.ControlPlaneClusterTypeClusterTypeControlPlane:
				return Passed("%s", ct)
			case components.ControlPlaneClusterTypeClusterTypeK8SIngressController:
				return Failed("A KIC control plane is configured by Kong Ingress Controller only; KGO data planes need a control plane of cluster type CLUSTER_TYPE_CONTROL_PLANE ("+fix+").",
					"%s: a Kong Ingress Controller control plane; a KGO data plane attached to it gets no configuration from Konnect", ct)
			case components.ControlPlaneClusterTypeClusterTypeControlPlaneGroup:
				return Failed("Attach the data plane to a member control plane of the group (cluster type CLUSTER_TYPE_CONTROL_PLANE).",
					"%s: a control plane group takes no data planes of its own", ct)
			}
			return Failed("Attach the data plane to a control plane of cluster type CLUSTER_TYPE_CONTROL_PLANE.", "%s: not a control plane for self-managed data planes", ct)
		},
	}}
}
