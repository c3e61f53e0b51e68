package check

// Checks of a hybrid Gateway (--gateway, kong-operator >= 2.1): the Gateway
// API side, from the Gateway to its HTTPRoutes. The Konnect side (auth,
// control plane, certificate, extension, data plane) is the usual
// categories, run against the objects kong-operator made for the Gateway.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

func gatewayChecks() []Check {
	return []Check{{
		ID:          IDGatewayFound,
		Description: "hybrid Gateway found",
		Details:     "The Gateway (gateway.networking.k8s.io/v1) of --gateway in the namespace. Hybrid Gateways, whose data plane kong-operator attaches to a Konnect control plane, are new in kong-operator 2.1: on an older release the check fails.",
		Hint:        "Pass the Gateway's namespace with -n; list the Gateways with: kubectl get gateways.gateway.networking.k8s.io -A",
		Needs:       []string{IDKGOGeneration},
		Run:         gatewayFound,
	}, {
		ID:          IDGatewayClass,
		Description: "GatewayClass is kong-operator's and Accepted",
		Details:     "The Gateway's GatewayClass must exist, name konghq.com/gateway-operator in spec.controllerName (kong-operator ignores the Gateways of other classes: v2.2.3:internal/utils/gatewayclass/get.go) and be Accepted=True; kong-operator's Accepted condition is quoted when it is not (InvalidParameters: the parametersRef is not a namespaced GatewayConfiguration that exists).",
		Hint:        "Create the GatewayClass with spec.controllerName konghq.com/gateway-operator and spec.parametersRef to a gateway-operator.konghq.com GatewayConfiguration.",
		Needs:       []string{IDGatewayFound},
		Run:         gatewayClassCheck,
	}, {
		ID:          IDGatewayConfiguration,
		Description: "GatewayConfiguration makes the Gateway hybrid",
		Details:     "The GatewayClass's spec.parametersRef names a gateway-operator.konghq.com/v2beta1 GatewayConfiguration that exists (the Gateway's spec.infrastructure.parametersRef, a GatewayConfiguration of its namespace, is merged over it) and has spec.konnect.authRef: that makes the Gateway hybrid (v2.2.3:internal/utils/gatewayconfig/get.go IsGatewayHybrid). An authRef to another namespace needs kong-operator 2.2 and a KongReferenceGrant in the KonnectAPIAuthConfiguration's namespace from the GatewayConfiguration's (group gateway-operator.konghq.com, kind GatewayConfiguration) to the KonnectAPIAuthConfiguration (group konnect.konghq.com; name empty or the auth's); kong-operator then grants its KonnectGatewayControlPlane the same (v2.2.3:controller/gateway/konnect_auth_referencegrant.go). A grant straight from KonnectGatewayControlPlane of the Gateway's namespace works as well. The control plane's APIAuthResolvedRef=False is quoted.",
		Hint:        "Point the GatewayClass at a GatewayConfiguration with spec.konnect.authRef naming a KonnectAPIAuthConfiguration.",
		Needs:       []string{IDGatewayFound},
		Run:         gatewayConfigurationCheck,
	}, {
		ID:          IDGatewayProgrammed,
		Description: "Gateway is Programmed",
		Details:     "Condition Programmed=True, which kong-operator sets once every other condition is True. Otherwise the first condition that is not True is quoted, in the order kong-operator works: Accepted, ControlPlaneReady (present only when listing or creating the KonnectGatewayControlPlane failed), KonnectGatewayControlPlaneProgrammed, KonnectExtensionReady, DataPlaneReady, GatewayService (the DataPlane's ingress Service has an address), Programmed (v2.2.3:controller/gateway/controller.go).",
		Hint:        "kong-operator says why in the Gateway's status.conditions: kubectl describe gateway NAME -n NAMESPACE",
		Needs:       []string{IDGatewayFound},
		Retry:       true,
		Run:         gatewayProgrammed,
	}}
}

func routeChecks() []Check {
	return []Check{{
		ID:          IDHTTPRoutesAccepted,
		Description: "HTTPRoutes attached to the Gateway are accepted",
		Details:     "HTTPRoutes (gateway.networking.k8s.io/v1) of every namespace (the Gateway's alone when listing all is forbidden) whose spec.parentRefs name the Gateway (kind Gateway and group gateway.networking.k8s.io by default, namespace the route's by default). For each such parentRef, kong-operator's status.parents entry (controllerName konghq.com/gateway-operator) must say Accepted=True and ResolvedRefs=True; its condition is quoted otherwise (NoMatchingParent: no listener matches sectionName or port; NotAllowedByListeners; NoMatchingListenerHostname; BackendNotFound; RefNotPermitted). No HTTPRoute attached passes.",
		Hint:        "kubectl describe httproute NAME -n NAMESPACE shows kong-operator's conditions for each parent.",
		Needs:       []string{IDGatewayFound},
		Retry:       true,
		Run:         httpRoutesAccepted,
	}, {
		ID:          IDHTTPRoutesProgrammed,
		Description: "HTTPRoutes are programmed in Konnect",
		Details:     "kong-operator translates each accepted HTTPRoute into KongRoutes, KongServices, KongUpstreams and KongTargets (configuration.konghq.com/v1alpha1) in the Gateway's namespace, annotated gateway-operator.konghq.com/hybrid-routes (<namespace>/<route>, comma-separated when shared) and gateway-operator.konghq.com/hybrid-gateways (<namespace>/<gateway>). Every KongRoute of the route, and the KongService each names in spec.serviceRef, must be Programmed=True: created in the Konnect control plane. Their Programmed condition is quoted otherwise.",
		Hint:        "kubectl get kongroutes,kongservices -n NAMESPACE shows what kong-operator translated and whether Konnect took it.",
		Needs:       []string{IDHTTPRoutesAccepted},
		Retry:       true,
		Run:         httpRoutesProgrammed,
	}}
}

func gatewayFound(ctx context.Context, e *Env) Result {
	gen, err := e.Generation(ctx)
	if err != nil {
		return failedFrom(err)
	}
	if !gen.AtLeast(rules.GenerationKO21) {
		return Failed("Upgrade to kong-operator 2.1 or later (https://developer.konghq.com/operator/), or check the data plane without --gateway.",
			"hybrid Gateways need kong-operator 2.1+; this cluster runs %s", gen.Release())
	}
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	ls, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var listeners []string
	for _, l := range ls {
		m, _ := l.(map[string]any)
		port, _, _ := unstructured.NestedInt64(m, "port")
		listeners = append(listeners, fmt.Sprintf("%q", fmt.Sprintf("%s %s/%d", mstr(m, "name"), mstr(m, "protocol"), port)))
	}
	if len(listeners) == 0 {
		listeners = []string{"none"}
	}
	return Passed("%s (gatewayClassName %q, listeners %s)", gw.GetName(), str(gw, "spec", "gatewayClassName"), strings.Join(listeners, ", "))
}

func gatewayClassCheck(ctx context.Context, e *Env) Result {
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	gc, err := e.gatewayClass(ctx)
	if err != nil {
		return failedFrom(err)
	}
	name := str(gw, "spec", "gatewayClassName")
	if gc == nil {
		return Failed(fmt.Sprintf("Create GatewayClass %s with spec.controllerName konghq.com/gateway-operator and spec.parametersRef to a GatewayConfiguration, or set spec.gatewayClassName of Gateway %s to an existing class (kubectl get gatewayclasses).", name, gw.GetName()),
			"GatewayClass %s of Gateway %s does not exist", name, gw.GetName())
	}
	if ctrl := str(gc, "spec", "controllerName"); ctrl != gatewayControllerName {
		return Failed(fmt.Sprintf("spec.controllerName is immutable: create a GatewayClass with controllerName %s (or run kong-operator with KONG_CONTROLLER_NAME=%s) and set spec.gatewayClassName of Gateway %s to it.", gatewayControllerName, ctrl, gw.GetName()),
			"GatewayClass %s has controllerName %q, not %s: kong-operator ignores Gateway %s", name, ctrl, gatewayControllerName, gw.GetName())
	}
	describe := fmt.Sprintf("kubectl describe gatewayclass %s", name)
	c, found := objCondition(gc, "Accepted")
	switch {
	case !found:
		return Failed("Is kong-operator running? "+describe, "GatewayClass %s has no Accepted condition: kong-operator has not reconciled it", name)
	case c.Status == "Unknown":
		// The CRD's default status, until kong-operator reconciles the class.
		return Failed("Is kong-operator running? "+describe, "kong-operator has not reconciled GatewayClass %s yet: %s", name, c)
	case c.Status != "True":
		hint := "kong-operator says why: " + describe
		if c.Reason == "InvalidParameters" {
			hint = "Point spec.parametersRef at a gateway-operator.konghq.com GatewayConfiguration that exists, with its namespace (see gateway-configuration): " + describe
		}
		return Failed(hint, "kong-operator reports on GatewayClass %s: %s", name, c)
	}
	return Passed("%s (controllerName %s, Accepted)", name, gatewayControllerName)
}

func gatewayConfigurationCheck(ctx context.Context, e *Env) Result {
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	c, err := e.gatewayConfig(ctx)
	if err != nil {
		var p *problem
		if errors.As(err, &p) && p.missing && c.Class == nil {
			return Skipped("skipped: %s (see gateway-class)", p.msg)
		}
		return failedFrom(err)
	}
	gwNS := e.nsOf(gw)
	authName := c.AuthNamespace + "/" + c.AuthName
	msg := fmt.Sprintf("%s has spec.konnect.authRef: KonnectAPIAuthConfiguration %s", c.describe(), authName)
	// kong-operator's verdict on the control plane's reference to the auth
	// (v2.2.3:controller/konnect/handle_status_conditions.go
	// handleAPIAuthStatusCondition): quoted whatever this check finds.
	var kgo string
	cp, _ := e.controlPlane(ctx)
	if bad := kgoFalse(cp, "APIAuthResolvedRef"); len(bad) > 0 {
		kgo = fmt.Sprintf("kong-operator reports on KonnectGatewayControlPlane %s: %s", cp.GetName(), bad[0])
	}
	if c.AuthNamespace == gwNS {
		if kgo != "" {
			return Failed(fmt.Sprintf("kubectl describe konnectgatewaycontrolplane %s -n %s", cp.GetName(), gwNS), "%s; but %s", msg, kgo)
		}
		return Passed("%s", msg)
	}
	gen, _ := e.Generation(ctx)
	if !gen.AtLeast(rules.GenerationKO22) {
		return Failed(fmt.Sprintf("Create the KonnectAPIAuthConfiguration in namespace %s and drop authRef.namespace, or upgrade to kong-operator 2.2+ and permit the reference with a KongReferenceGrant.", gwNS),
			"%s in another namespace than Gateway %s's (%s): %s does not follow a GatewayConfiguration's cross-namespace authRef (kong-operator 2.2+ does, with a KongReferenceGrant)", msg, gw.GetName(), gwNS, gen.Release())
	}
	grants, err := e.listIn(ctx, gvrKongReferenceGrant, c.AuthNamespace)
	if err != nil {
		return Warned("", "%s in namespace %s; whether a KongReferenceGrant permits the reference is unknown: %v", msg, c.AuthNamespace, err)
	}
	fromCfg := grantFrom{Group: groupGatewayOperator, Kind: "GatewayConfiguration", Namespace: c.FromNamespace}
	fromCP := grantFrom{Group: groupKonnect, Kind: "KonnectGatewayControlPlane", Namespace: gwNS}
	g := grantPermits(grants, fromCfg, groupKonnect, "KonnectAPIAuthConfiguration", c.AuthName)
	if g == nil {
		g = grantPermits(grants, fromCP, groupKonnect, "KonnectAPIAuthConfiguration", c.AuthName)
	}
	if g == nil {
		m := fmt.Sprintf("%s, and no KongReferenceGrant in namespace %s permits it: the grant missing is from GatewayConfiguration (gateway-operator.konghq.com) of namespace %s to KonnectAPIAuthConfiguration (konnect.konghq.com) %s",
			msg, c.AuthNamespace, c.FromNamespace, c.AuthName)
		if kgo != "" {
			m += "; " + kgo
		}
		return Failed("Apply the grant (kong-operator then grants its KonnectGatewayControlPlane the same): kubectl apply -f - <<< '"+grantManifest(c)+"'", "%s", m)
	}
	if kgo != "" {
		return Failed(fmt.Sprintf("kong-operator checks the grants again on its next reconcile; it says why in: kubectl describe konnectgatewaycontrolplane %s -n %s", cp.GetName(), gwNS),
			"%s, permitted by KongReferenceGrant %s/%s; but %s", msg, g.GetNamespace(), g.GetName(), kgo)
	}
	return Passed("%s, permitted by KongReferenceGrant %s/%s", msg, g.GetNamespace(), g.GetName())
}

// grantManifest is a KongReferenceGrant that permits the
// GatewayConfiguration's cross-namespace authRef, as one line of JSON.
func grantManifest(c gwConfig) string {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": gvrKongReferenceGrant.GroupVersion().String(),
		"kind":       "KongReferenceGrant",
		"metadata":   map[string]any{"name": "gatewayconfigurations-from-" + c.FromNamespace, "namespace": c.AuthNamespace},
		"spec": map[string]any{
			"from": []any{map[string]any{"group": groupGatewayOperator, "kind": "GatewayConfiguration", "namespace": c.FromNamespace}},
			"to":   []any{map[string]any{"group": groupKonnect, "kind": "KonnectAPIAuthConfiguration", "name": c.AuthName}},
		},
	})
	return string(b)
}

// gatewayConditionOrder is the order in which kong-operator sets the
// Gateway's conditions (v2.2.3:controller/gateway/controller.go Reconcile;
// types in api/gateway-operator/gateway/conditions.go). ControlPlaneReady
// appears on a hybrid Gateway only when listing or creating its
// KonnectGatewayControlPlane failed (controller.go:808-837).
var gatewayConditionOrder = []string{"Accepted", "ControlPlaneReady", "KonnectGatewayControlPlaneProgrammed", "KonnectExtensionReady", "DataPlaneReady", "GatewayService", "Programmed"}

func gatewayProgrammed(ctx context.Context, e *Env) Result {
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	ns := e.nsOf(gw)
	describe := fmt.Sprintf("kubectl describe gateway %s -n %s", gw.GetName(), ns)
	if c, ok := objCondition(gw, "Programmed"); ok && c.Status == "True" {
		var addrs []string
		as, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
		for _, a := range as {
			m, _ := a.(map[string]any)
			addrs = append(addrs, mstr(m, "value"))
		}
		if len(addrs) > 0 {
			return Passed("Programmed (addresses %s)", strings.Join(addrs, ", "))
		}
		return Passed("Programmed")
	}
	children := func(resource string) string {
		return fmt.Sprintf("kubectl get %s -n %s -l %s=%s", resource, ns, managedByLabel, managedByGateway)
	}
	for _, typ := range gatewayConditionOrder {
		c, found := objCondition(gw, typ)
		if !found && typ == "ControlPlaneReady" {
			continue
		}
		if found && c.Status == "True" {
			continue
		}
		hint := "kong-operator says why: " + describe
		switch typ {
		case "Accepted":
			hint = "Is kong-operator running, and is the GatewayClass its (see gateway-class)? The listeners' status says what kong-operator did not accept: " + describe
		case "ControlPlaneReady":
			hint = "kong-operator could not list or create the Gateway's KonnectGatewayControlPlane; its log says why. " + describe
		case "KonnectGatewayControlPlaneProgrammed":
			hint = "See the Konnect control plane checks below; the control plane: " + children("konnectgatewaycontrolplanes.konnect.konghq.com")
		case "KonnectExtensionReady":
			hint = "See the KonnectExtension checks below; the extension: " + children("konnectextensions.konnect.konghq.com")
		case "DataPlaneReady":
			hint = "See the Data plane checks below; the data plane: " + children("dataplanes.gateway-operator.konghq.com")
		case "GatewayService":
			hint = fmt.Sprintf("The DataPlane's ingress Service has no address yet (a LoadBalancer waits for one): kubectl get services -n %s -l gateway-operator.konghq.com/dataplane-service-type=ingress", ns)
		}
		switch {
		case !found:
			return Failed(hint, "Gateway %s has no %s condition yet: kong-operator has not got that far", gw.GetName(), typ)
		case typ == "Accepted" && c.Status == "Unknown":
			// The CRD's default status, until kong-operator reconciles the Gateway.
			return Failed(hint, "kong-operator has not reconciled Gateway %s yet: %s", gw.GetName(), c)
		}
		return Failed(hint, "kong-operator reports on Gateway %s: %s", gw.GetName(), c)
	}
	return Failed(describe, "Gateway %s is not Programmed", gw.GetName())
}

func httpRoutesAccepted(ctx context.Context, e *Env) Result {
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	if served, err := e.gatewayServed(ctx); err == nil && !served[gvrHTTPRoute] {
		return NotApplicable("HTTPRoute (%s) is not served: no route can attach to Gateway %s", gvrHTTPRoute.GroupVersion(), gw.GetName())
	}
	routes, scope, err := e.gatewayRoutes(ctx)
	if err != nil {
		return failedFrom(err)
	}
	suffix := ""
	if scope != "" {
		suffix = " (" + scope + ")"
	}
	if len(routes) == 0 {
		return Passed("no HTTPRoute attached to Gateway %s%s", gw.GetName(), suffix)
	}
	var ok, bad []string
	hint := ""
	for _, r := range routes {
		describe := fmt.Sprintf("kubectl describe httproute %s -n %s", r.Obj.GetName(), r.Obj.GetNamespace())
		fine := true
		for _, p := range r.Refs {
			where := "HTTPRoute " + r.name()
			if len(r.Refs) > 1 {
				where += " (" + p.String() + ")"
			}
			st := routeParentStatus(r.Obj, p)
			if st == nil {
				fine = false
				bad = append(bad, where+": kong-operator has not written its status for this parent yet")
				if hint == "" {
					hint = fmt.Sprintf("kong-operator writes it once the Gateway has its KonnectExtension (see gateway-programmed); %s", describe)
				}
				continue
			}
			for _, typ := range []string{"Accepted", "ResolvedRefs"} {
				c, found := statusCondition(st, typ)
				if found && c.Status == "True" {
					continue
				}
				fine = false
				if !found {
					bad = append(bad, fmt.Sprintf("%s: kong-operator wrote no %s condition for this parent yet", where, typ))
				} else {
					bad = append(bad, fmt.Sprintf("%s: %s", where, c))
				}
				if hint == "" {
					hint = routeHint(c, describe)
				}
				break
			}
		}
		if fine {
			ok = append(ok, "HTTPRoute "+r.name())
		}
	}
	if len(bad) > 0 {
		return Failed(hint, "%s", strings.Join(bad, "; ")+suffix)
	}
	return Passed("%s: Accepted, references resolved%s", strings.Join(ok, ", "), suffix)
}

// routeHint is the fix for an HTTPRoute condition of kong-operator
// (v2.2.3:controller/hybridgateway/route/status.go).
func routeHint(c kgoCondition, describe string) string {
	switch c.Reason {
	case "NoMatchingParent":
		return "No listener of the Gateway matches the parentRef's sectionName or port, or none is Accepted: correct the parentRef or the Gateway's listeners. " + describe
	case "NotAllowedByListeners":
		return "The listeners' allowedRoutes do not admit the route's namespace or kind: set spec.listeners[].allowedRoutes.namespaces.from on the Gateway (e.g. All or Selector). " + describe
	case "NoMatchingListenerHostname":
		return "No listener hostname matches spec.hostnames of the route: correct one or the other. " + describe
	case "BackendNotFound":
		return "Create the backend Service the rule names, or correct its backendRefs. " + describe
	case "RefNotPermitted":
		return "A backendRef in another namespace needs a ReferenceGrant (gateway.networking.k8s.io/v1beta1) in the backend's namespace from HTTPRoute of the route's namespace. " + describe
	case "InvalidKind":
		return "Use Service backends (core group, kind Service). " + describe
	}
	return "kong-operator says why: " + describe
}

func httpRoutesProgrammed(ctx context.Context, e *Env) Result {
	gw, err := e.gateway(ctx)
	if err != nil {
		return failedFrom(err)
	}
	routes, scope, err := e.gatewayRoutes(ctx)
	if err != nil {
		return failedFrom(err)
	}
	if len(routes) == 0 {
		suffix := ""
		if scope != "" {
			suffix = " (" + scope + ")"
		}
		return Passed("no HTTPRoute attached to Gateway %s%s", gw.GetName(), suffix)
	}
	ns := e.nsOf(gw)
	kongRoutes, err := e.listIn(ctx, gvrKongRoute, ns)
	if err != nil {
		return failedFrom(err)
	}
	gwKey := ns + "/" + gw.GetName()
	var ok, bad []string
	hint := ""
	fail := func(h, format string, args ...any) {
		bad = append(bad, fmt.Sprintf(format, args...))
		if hint == "" {
			hint = h
		}
	}
	for _, r := range routes {
		var mine []*unstructured.Unstructured
		for _, kr := range kongRoutes {
			a := kr.GetAnnotations()
			if hasListEntry(a[annHybridRoutes], r.name()) && hasListEntry(a[annHybridGateways], gwKey) {
				mine = append(mine, kr)
			}
		}
		if len(mine) == 0 {
			fail(fmt.Sprintf("kong-operator translates an accepted HTTPRoute once the Gateway is Programmed; list what it made with: kubectl get kongroutes -n %s -o custom-columns=NAME:.metadata.name,ROUTES:.metadata.annotations.gateway-operator\\.konghq\\.com/hybrid-routes", ns),
				"HTTPRoute %s: kong-operator has not translated it into a KongRoute yet (none in namespace %s annotated %s=%s for Gateway %s)", r.name(), ns, annHybridRoutes, r.name(), gwKey)
			continue
		}
		fine := true
		services := map[string]bool{}
		for _, kr := range mine {
			if c, found := objCondition(kr, "Programmed"); !found || c.Status != "True" {
				fine = false
				fail(fmt.Sprintf("kong-operator says why in status.conditions: kubectl describe kongroute %s -n %s", kr.GetName(), ns),
					"HTTPRoute %s: KongRoute %s %s", r.name(), kr.GetName(), programmedState(c, found))
			}
			svc := str(kr, "spec", "serviceRef", "namespacedRef", "name")
			if svc == "" {
				continue
			}
			svcNS := str(kr, "spec", "serviceRef", "namespacedRef", "namespace")
			if svcNS == "" {
				svcNS = e.nsOf(kr)
			}
			key := svcNS + "/" + svc
			if services[key] {
				continue
			}
			services[key] = true
			ks, err := e.getIn(ctx, gvrKongService, svcNS, svc)
			if err != nil {
				return failedFrom(err)
			}
			if ks == nil {
				fine = false
				fail(fmt.Sprintf("kong-operator creates it with the KongRoute; kubectl describe kongroute %s -n %s", kr.GetName(), ns),
					"HTTPRoute %s: KongService %s named by KongRoute %s does not exist", r.name(), e.nsName(svcNS, svc), kr.GetName())
				continue
			}
			if c, found := objCondition(ks, "Programmed"); !found || c.Status != "True" {
				fine = false
				fail(fmt.Sprintf("kong-operator says why in status.conditions: kubectl describe kongservice %s -n %s", svc, svcNS),
					"HTTPRoute %s: KongService %s %s", r.name(), e.nsName(svcNS, svc), programmedState(c, found))
			}
		}
		if fine {
			ok = append(ok, fmt.Sprintf("HTTPRoute %s: %s, %s programmed in Konnect", r.name(), count(len(mine), "KongRoute"), count(len(services), "KongService")))
		}
	}
	if len(bad) > 0 {
		return Failed(hint, "%s", strings.Join(bad, "; "))
	}
	return Passed("%s", strings.Join(ok, "; "))
}

// programmedState quotes a Kong object's Programmed condition that is not True.
func programmedState(c kgoCondition, found bool) string {
	if !found {
		return "has no Programmed condition: kong-operator has not reconciled it"
	}
	return "is not programmed: " + c.String()
}
