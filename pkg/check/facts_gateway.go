package check

// Facts of a hybrid Gateway (kong-operator >= 2.1, --gateway): the Gateway,
// its GatewayClass and GatewayConfiguration, the objects kong-operator made
// for it, and the HTTPRoutes attached to it. Citations are
// tag:path of github.com/Kong/kong-operator.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	gvrGateway              = schema.GroupVersionResource{Group: groupGatewayAPI, Version: "v1", Resource: "gateways"}
	gvrGatewayClass         = schema.GroupVersionResource{Group: groupGatewayAPI, Version: "v1", Resource: "gatewayclasses"}
	gvrHTTPRoute            = schema.GroupVersionResource{Group: groupGatewayAPI, Version: "v1", Resource: "httproutes"}
	gvrGatewayConfiguration = schema.GroupVersionResource{Group: groupGatewayOperator, Version: "v2beta1", Resource: "gatewayconfigurations"}
	gvrKongReferenceGrant   = schema.GroupVersionResource{Group: groupConfiguration, Version: "v1alpha1", Resource: "kongreferencegrants"}
	gvrKongRoute            = schema.GroupVersionResource{Group: groupConfiguration, Version: "v1alpha1", Resource: "kongroutes"}
	gvrKongService          = schema.GroupVersionResource{Group: groupConfiguration, Version: "v1alpha1", Resource: "kongservices"}
)

const (
	groupGatewayAPI    = "gateway.networking.k8s.io"
	groupConfiguration = "configuration.konghq.com"
	// gatewayControllerName is kong-operator's GatewayClass controllerName
	// (v2.2.3:pkg/vars/gateway.go DefaultControllerName; KONG_CONTROLLER_NAME
	// changes it) and the controllerName of its HTTPRoute status entries.
	gatewayControllerName = "konghq.com/gateway-operator"
	// managedByLabel=managedByGateway and an ownerReference with the
	// Gateway's uid mark what kong-operator made for a Gateway
	// (v2.2.3:pkg/utils/gateway/labels.go LabelObjectAsGatewayManaged,
	// pkg/utils/gateway/ownerrefs.go ListDataPlanesForGateway and siblings).
	managedByLabel   = "gateway-operator.konghq.com/managed-by"
	managedByGateway = "gateway"
	// The annotations on the Kong objects kong-operator translates an
	// HTTPRoute into: comma-separated <namespace>/<name> lists
	// (v2.2.3:pkg/consts/hybridgateway.go, controller/hybridgateway/metadata/annotation.go).
	annHybridRoutes   = "gateway-operator.konghq.com/hybrid-routes"
	annHybridGateways = "gateway-operator.konghq.com/hybrid-gateways"
)

// gatewayServed is which Gateway API and GatewayConfiguration resources are
// served (not asked for without --gateway, so that the other checks make
// the same calls as ever).
func (e *Env) gatewayServed(ctx context.Context) (map[schema.GroupVersionResource]bool, error) {
	return memo(e, "served/gateway", func() (map[schema.GroupVersionResource]bool, error) {
		out := map[schema.GroupVersionResource]bool{}
		for _, gv := range []schema.GroupVersion{gvrGateway.GroupVersion(), gvrGatewayConfiguration.GroupVersion()} {
			list, err := e.Discovery.ServerResourcesForGroupVersion(gv.String())
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("discovering %s: %w", gv, err)
			}
			for _, r := range list.APIResources {
				out[gv.WithResource(r.Name)] = true
			}
		}
		return out, nil
	})
}

// gateway is the Gateway of --gateway.
func (e *Env) gateway(ctx context.Context) (*unstructured.Unstructured, error) {
	return memo(e, "gateway", func() (*unstructured.Unstructured, error) {
		served, err := e.gatewayServed(ctx)
		if err != nil {
			return nil, err
		}
		if !served[gvrGateway] {
			return nil, problemf("Install the Gateway API CRDs (standard channel) of the release kong-operator supports: https://gateway-api.sigs.k8s.io/guides/#installing-gateway-api",
				"the Gateway API is not served (no %s): there is no Gateway to check", gvrGateway.GroupVersion())
		}
		gw, err := e.get(ctx, gvrGateway, e.Gateway)
		if err != nil {
			return nil, err
		}
		if gw == nil {
			return nil, &problem{missing: true, msg: fmt.Sprintf("Gateway %s not found in namespace %s", e.Gateway, e.Namespace),
				hint: fmt.Sprintf("List the Gateways with: kubectl get gateways.gateway.networking.k8s.io -n %s (or -A), and pass the namespace with -n.", e.Namespace)}
		}
		return gw, nil
	})
}

// gatewayClass is the Gateway's GatewayClass, or nil when it does not exist.
func (e *Env) gatewayClass(ctx context.Context) (*unstructured.Unstructured, error) {
	gw, err := e.gateway(ctx)
	if err != nil {
		return nil, err
	}
	return e.getIn(ctx, gvrGatewayClass, "", str(gw, "spec", "gatewayClassName"))
}

// gwConfig is the GatewayConfiguration a Gateway is reconciled with.
type gwConfig struct {
	Class *unstructured.Unstructured
	// Config is the GatewayConfiguration of the class's parametersRef.
	Config *unstructured.Unstructured
	// Infra is the GatewayConfiguration of the Gateway's
	// spec.infrastructure.parametersRef, merged over Config; nil without.
	Infra *unstructured.Unstructured
	// AuthFrom is the GatewayConfiguration whose spec.konnect.authRef counts.
	AuthFrom *unstructured.Unstructured
	// AuthNamespace/AuthName is the KonnectAPIAuthConfiguration; the
	// namespace defaults to the Gateway's, where kong-operator creates the
	// KonnectGatewayControlPlane that inherits the authRef.
	AuthNamespace, AuthName string
	// FromNamespace is the namespace kong-operator checks a KongReferenceGrant
	// from: the (merged) GatewayConfiguration's.
	FromNamespace string
}

// describe names the GatewayConfigurations, for messages.
func (c gwConfig) describe() string {
	var parts []string
	if c.Config != nil {
		parts = append(parts, fmt.Sprintf("GatewayConfiguration %s/%s (parametersRef of GatewayClass %s)", c.Config.GetNamespace(), c.Config.GetName(), c.Class.GetName()))
	}
	if c.Infra != nil {
		parts = append(parts, fmt.Sprintf("GatewayConfiguration %s/%s (the Gateway's spec.infrastructure.parametersRef)", c.Infra.GetNamespace(), c.Infra.GetName()))
	}
	return strings.Join(parts, " merged with ")
}

// gatewayConfig reads the GatewayConfiguration as kong-operator does
// (v2.2.3:controller/gateway/controller_reconciler_utils.go
// getOrCreateGatewayConfiguration): the class's parametersRef, with the
// Gateway's spec.infrastructure.parametersRef (a GatewayConfiguration of
// the Gateway's namespace) merged over it. The error says what is missing.
func (e *Env) gatewayConfig(ctx context.Context) (gwConfig, error) {
	return memo(e, "gatewayconfig", func() (gwConfig, error) {
		gw, err := e.gateway(ctx)
		if err != nil {
			return gwConfig{}, err
		}
		var c gwConfig
		if c.Class, err = e.gatewayClass(ctx); err != nil {
			return c, err
		}
		className := str(gw, "spec", "gatewayClassName")
		if c.Class == nil {
			return c, &problem{missing: true, msg: fmt.Sprintf("GatewayClass %s of Gateway %s does not exist", className, gw.GetName()),
				hint: "Create it with spec.controllerName konghq.com/gateway-operator and a parametersRef to a GatewayConfiguration (see gateway-class)."}
		}
		served, err := e.gatewayServed(ctx)
		if err != nil {
			return c, err
		}
		if !served[gvrGatewayConfiguration] {
			return c, problemf("Hybrid Gateways need kong-operator 2.1 or later with its CRDs.", "GatewayConfiguration %s is not served", gvrGatewayConfiguration.GroupVersion())
		}
		if ref, ok, _ := unstructured.NestedMap(c.Class.Object, "spec", "parametersRef"); ok {
			group, kind, name, ns := mstr(ref, "group"), mstr(ref, "kind"), mstr(ref, "name"), mstr(ref, "namespace")
			// v2.2.3:controller/gatewayclass/controller_reconciler_utils.go getAcceptedCondition.
			switch {
			case group != groupGatewayOperator || kind != "GatewayConfiguration":
				return c, problemf(fmt.Sprintf("Point it at a GatewayConfiguration: kubectl patch gatewayclass %s --type merge -p '{\"spec\":{\"parametersRef\":{\"group\":\"gateway-operator.konghq.com\",\"kind\":\"GatewayConfiguration\",\"name\":\"<name>\",\"namespace\":\"<namespace>\"}}}'", c.Class.GetName()),
					"GatewayClass %s spec.parametersRef names %s %s, not a gateway-operator.konghq.com GatewayConfiguration", c.Class.GetName(), qualified(kind, group), name)
			case ns == "":
				return c, problemf(fmt.Sprintf("Set it: kubectl patch gatewayclass %s --type merge -p '{\"spec\":{\"parametersRef\":{\"namespace\":\"<namespace of GatewayConfiguration %s>\"}}}'", c.Class.GetName(), name),
					"GatewayClass %s spec.parametersRef names GatewayConfiguration %s without a namespace (kong-operator: ParametersRef must reference a namespaced resource)", c.Class.GetName(), name)
			}
			if c.Config, err = e.getIn(ctx, gvrGatewayConfiguration, ns, name); err != nil {
				return c, err
			}
			if c.Config == nil {
				return c, problemf(fmt.Sprintf("Create GatewayConfiguration %s in namespace %s (gateway-operator.konghq.com/v2beta1, with spec.konnect.authRef), or correct spec.parametersRef of GatewayClass %s.", name, ns, c.Class.GetName()),
					"GatewayConfiguration %s/%s named by GatewayClass %s spec.parametersRef does not exist", ns, name, c.Class.GetName())
			}
			c.FromNamespace = ns
		}
		if ref, ok, _ := unstructured.NestedMap(gw.Object, "spec", "infrastructure", "parametersRef"); ok {
			group, kind, name := mstr(ref, "group"), mstr(ref, "kind"), mstr(ref, "name")
			if group != groupGatewayOperator || kind != "GatewayConfiguration" {
				return c, problemf(fmt.Sprintf("Point spec.infrastructure.parametersRef of Gateway %s at a GatewayConfiguration of its namespace, or remove it.", gw.GetName()),
					"Gateway %s spec.infrastructure.parametersRef names %s %s, not a gateway-operator.konghq.com GatewayConfiguration", gw.GetName(), qualified(kind, group), name)
			}
			if c.Infra, err = e.getIn(ctx, gvrGatewayConfiguration, e.nsOf(gw), name); err != nil {
				return c, err
			}
			if c.Infra == nil {
				return c, problemf(fmt.Sprintf("Create GatewayConfiguration %s in namespace %s, or correct spec.infrastructure.parametersRef of Gateway %s.", name, e.nsOf(gw), gw.GetName()),
					"GatewayConfiguration %s/%s named by Gateway %s spec.infrastructure.parametersRef does not exist", e.nsOf(gw), name, gw.GetName())
			}
			// The merged object keeps the Gateway's configuration's metadata.
			c.FromNamespace = e.nsOf(gw)
		}
		for _, cfg := range []*unstructured.Unstructured{c.Infra, c.Config} {
			if name := str(cfg, "spec", "konnect", "authRef", "name"); name != "" {
				c.AuthFrom, c.AuthName = cfg, name
				c.AuthNamespace = str(cfg, "spec", "konnect", "authRef", "namespace")
				break
			}
		}
		if c.AuthFrom == nil {
			// v2.2.3:internal/utils/gatewayconfig/get.go IsGatewayHybrid.
			target := c.Config
			if target == nil {
				target = c.Infra
			}
			hint := fmt.Sprintf("Set the GatewayClass's spec.parametersRef to a gateway-operator.konghq.com GatewayConfiguration with spec.konnect.authRef: kubectl patch gatewayclass %s --type merge -p '{\"spec\":{\"parametersRef\":{\"group\":\"gateway-operator.konghq.com\",\"kind\":\"GatewayConfiguration\",\"name\":\"<name>\",\"namespace\":\"<namespace>\"}}}'", c.Class.GetName())
			if target == nil {
				return c, problemf(hint, "GatewayClass %s has no spec.parametersRef: Gateway %s is not hybrid (kong-operator runs its own ControlPlane for it, not a Konnect control plane)", c.Class.GetName(), gw.GetName())
			}
			return c, problemf(fmt.Sprintf("Name the KonnectAPIAuthConfiguration: kubectl patch gatewayconfiguration.gateway-operator.konghq.com %s -n %s --type merge -p '{\"spec\":{\"konnect\":{\"authRef\":{\"name\":\"<KonnectAPIAuthConfiguration>\"}}}}' (kubectl konnect init writes one)", target.GetName(), target.GetNamespace()),
				"%s has no spec.konnect.authRef: Gateway %s is not hybrid (kong-operator runs its own ControlPlane for it, not a Konnect control plane)", c.describe(), gw.GetName())
		}
		if c.AuthNamespace == "" {
			c.AuthNamespace = e.nsOf(gw)
		}
		return c, nil
	})
}

func mstr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// qualified is "Kind.group", or "Kind" for the core group.
func qualified(kind, group string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// gatewayChildren are the objects of a resource that kong-operator made
// for the Gateway: in its namespace, labelled managed-by=gateway, with an
// ownerReference to the Gateway's uid (never found by name: names carry a
// random suffix unless the Gateway asks for static naming).
func (e *Env) gatewayChildren(ctx context.Context, gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, error) {
	gw, err := e.gateway(ctx)
	if err != nil {
		return nil, err
	}
	return memo(e, "gateway-children/"+gvr.String(), func() ([]*unstructured.Unstructured, error) {
		sel := managedByLabel + "=" + managedByGateway
		l, err := e.res(gvr, e.nsOf(gw)).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("listing %s in namespace %s with label %s: %w", gvr.GroupResource(), e.nsOf(gw), sel, err)
		}
		var out []*unstructured.Unstructured
		for _, o := range sortedItems(l) {
			if o.GetLabels()[managedByLabel] != managedByGateway {
				continue
			}
			if slices.ContainsFunc(o.GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == gw.GetUID() }) {
				out = append(out, o)
			}
		}
		return out, nil
	})
}

// gatewayChild is the one object of a kind kong-operator made for the
// Gateway; the error says that it has not made it yet, or made several.
func (e *Env) gatewayChild(ctx context.Context, gvr schema.GroupVersionResource, kind string) (*unstructured.Unstructured, error) {
	gw, err := e.gateway(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := e.gatewayChildren(ctx, gvr)
	if err != nil {
		return nil, err
	}
	ns, list := e.nsOf(gw), fmt.Sprintf("kubectl get %s -n %s -l %s=%s", gvr.GroupResource(), e.nsOf(gw), managedByLabel, managedByGateway)
	switch len(objs) {
	case 0:
		when := "when it reconciles the hybrid Gateway"
		if kind == "DataPlane" {
			// v2.2.3:controller/gateway/controller.go: the KonnectExtension and
			// the DataPlane follow a Programmed KonnectGatewayControlPlane.
			when = "once the Gateway's KonnectGatewayControlPlane is Programmed"
		}
		return nil, &problem{missing: true,
			msg:  fmt.Sprintf("kong-operator has not created the %s of Gateway %s yet (none in namespace %s with label %s=%s and an ownerReference to the Gateway)", kind, gw.GetName(), ns, managedByLabel, managedByGateway),
			hint: fmt.Sprintf("kong-operator creates it %s (see gateway-configuration and gateway-programmed); its status says how far it got: kubectl describe gateway %s -n %s. Wait for it with --wait 2m.", when, gw.GetName(), ns)}
	case 1:
		return objs[0], nil
	}
	return nil, problemf(fmt.Sprintf("kong-operator keeps one and deletes the others on its next reconcile; list them with: %s", list),
		"%d %ss are owned by Gateway %s (%s): kong-operator expects one", len(objs), kind, gw.GetName(), names(objs))
}

// gatewayAuths is the KonnectAPIAuthConfiguration the Gateway uses: its
// control plane's authRef, or before kong-operator created the control
// plane, the GatewayConfiguration's (which kong-operator copies into it,
// v2.2.3:controller/gateway/controller_reconciler_utils.go
// createKonnectGatewayControlPlane). What cannot be known yet is a
// prerequisite that gateway-configuration reports.
func (e *Env) gatewayAuths(ctx context.Context) ([]*unstructured.Unstructured, error) {
	var ns, name, by string
	if cp, err := e.controlPlane(ctx); err == nil {
		ns, name = e.authRefOf(cp)
		by = fmt.Sprintf("KonnectGatewayControlPlane %s spec.konnect.authRef", cp.GetName())
	} else {
		c, err := e.gatewayConfig(ctx)
		if err != nil {
			return nil, prereqf("the Gateway names no KonnectAPIAuthConfiguration (see gateway-configuration): %v", err)
		}
		ns, name = c.AuthNamespace, c.AuthName
		by = fmt.Sprintf("GatewayConfiguration %s/%s spec.konnect.authRef", c.AuthFrom.GetNamespace(), c.AuthFrom.GetName())
	}
	a, err := e.getIn(ctx, gvrAuth, ns, name)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, problemf(fmt.Sprintf("Create it in namespace %s (kubectl konnect init writes one), or correct %s.", ns, by),
			"KonnectAPIAuthConfiguration %s named by %s does not exist", e.nsName(ns, name), by)
	}
	return []*unstructured.Unstructured{a}, nil
}

// grantFrom is one entry of a KongReferenceGrant's spec.from.
type grantFrom struct{ Group, Kind, Namespace string }

// grantPermits is the KongReferenceGrant of grants that lets objects of
// from reference the toGroup/toKind object toName, as kong-operator matches
// them (v2.2.3:internal/utils/crossnamespace/kongreferencegrant.go
// ReferenceGrantsAllow: exact from, to.name empty or equal); nil when none.
func grantPermits(grants []*unstructured.Unstructured, from grantFrom, toGroup, toKind, toName string) *unstructured.Unstructured {
	for _, g := range grants {
		froms, _, _ := unstructured.NestedSlice(g.Object, "spec", "from")
		if !slices.ContainsFunc(froms, func(f any) bool {
			m, _ := f.(map[string]any)
			return mstr(m, "group") == from.Group && mstr(m, "kind") == from.Kind && mstr(m, "namespace") == from.Namespace
		}) {
			continue
		}
		tos, _, _ := unstructured.NestedSlice(g.Object, "spec", "to")
		if slices.ContainsFunc(tos, func(t any) bool {
			m, _ := t.(map[string]any)
			n := mstr(m, "name")
			return mstr(m, "group") == toGroup && mstr(m, "kind") == toKind && (n == "" || n == toName)
		}) {
			return g
		}
	}
	return nil
}

// parentRef is an HTTPRoute parentRef with Gateway API's defaults filled.
type parentRef struct {
	Group, Kind, Namespace, Name, SectionName string
	Port                                      int64
}

func readParentRef(m map[string]any, routeNS string) parentRef {
	p := parentRef{Group: groupGatewayAPI, Kind: "Gateway", Namespace: routeNS,
		Name: mstr(m, "name"), SectionName: mstr(m, "sectionName")}
	if g, ok := m["group"].(string); ok && g != "" {
		p.Group = g
	}
	if k := mstr(m, "kind"); k != "" {
		p.Kind = k
	}
	if ns := mstr(m, "namespace"); ns != "" {
		p.Namespace = ns
	}
	switch v := m["port"].(type) {
	case int64:
		p.Port = v
	case float64:
		p.Port = int64(v)
	case int:
		p.Port = int64(v)
	}
	return p
}

func (p parentRef) String() string {
	s := p.Name
	if p.SectionName != "" {
		s += ", sectionName " + p.SectionName
	}
	if p.Port != 0 {
		s += fmt.Sprintf(", port %d", p.Port)
	}
	return "parentRef " + s
}

// attachedRoute is an HTTPRoute with the parentRefs that name the Gateway.
type attachedRoute struct {
	Obj  *unstructured.Unstructured
	Refs []parentRef
}

func (r attachedRoute) name() string { return r.Obj.GetNamespace() + "/" + r.Obj.GetName() }

// gatewayRoutes are the HTTPRoutes whose parentRefs name the Gateway, from
// every namespace where the user may list them (else the Gateway's: scope
// says so).
func (e *Env) gatewayRoutes(ctx context.Context) (routes []attachedRoute, scope string, err error) {
	type routesFact struct {
		routes []attachedRoute
		scope  string
	}
	gw, err := e.gateway(ctx)
	if err != nil {
		return nil, "", err
	}
	f, err := memo(e, "httproutes", func() (routesFact, error) {
		var f routesFact
		l, err := e.Dynamic.Resource(gvrHTTPRoute).List(ctx, metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			f.scope = fmt.Sprintf("namespace %s only: listing HTTPRoutes in all namespaces is forbidden", e.nsOf(gw))
			l, err = e.res(gvrHTTPRoute, e.nsOf(gw)).List(ctx, metav1.ListOptions{})
		}
		if err != nil {
			return f, fmt.Errorf("listing %s: %w", gvrHTTPRoute.GroupResource(), err)
		}
		for _, r := range sortedItems(l) {
			refs, _, _ := unstructured.NestedSlice(r.Object, "spec", "parentRefs")
			ar := attachedRoute{Obj: r}
			for _, x := range refs {
				m, _ := x.(map[string]any)
				p := readParentRef(m, r.GetNamespace())
				if p.Group == groupGatewayAPI && p.Kind == "Gateway" && p.Namespace == e.nsOf(gw) && p.Name == gw.GetName() {
					ar.Refs = append(ar.Refs, p)
				}
			}
			if len(ar.Refs) > 0 {
				f.routes = append(f.routes, ar)
			}
		}
		return f, nil
	})
	return f.routes, f.scope, err
}

// routeParentStatus is the status.parents entry kong-operator wrote for
// parentRef p; nil when there is none yet
// (v2.2.3:controller/hybridgateway/converter/http_route.go, 2.3:controller/hybridgateway/route/status.go).
func routeParentStatus(route *unstructured.Unstructured, p parentRef) map[string]any {
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	for _, x := range parents {
		m, _ := x.(map[string]any)
		if mstr(m, "controllerName") != gatewayControllerName {
			continue
		}
		ref, _ := m["parentRef"].(map[string]any)
		if readParentRef(ref, route.GetNamespace()) == p {
			return m
		}
	}
	return nil
}

// statusCondition reads condition typ of a status entry's conditions.
func statusCondition(entry map[string]any, typ string) (kgoCondition, bool) {
	conds, _ := entry["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if mstr(m, "type") == typ {
			return kgoCondition{Type: typ, Status: mstr(m, "status"), Reason: mstr(m, "reason"), Message: mstr(m, "message")}, true
		}
	}
	return kgoCondition{}, false
}

// objCondition reads condition typ of an object.
func objCondition(u *unstructured.Unstructured, typ string) (kgoCondition, bool) {
	cs := kgoConditions(u, typ)
	if len(cs) == 0 {
		return kgoCondition{}, false
	}
	return cs[0], true
}

// hasListEntry reports whether a comma-separated annotation value holds v.
func hasListEntry(list, v string) bool {
	for _, x := range strings.Split(list, ",") {
		if strings.TrimSpace(x) == v {
			return true
		}
	}
	return false
}
