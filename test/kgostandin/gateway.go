package kgostandin

// The hybrid Gateway of kong-operator >= 2.1, as its source describes it
// (Kong/kong-operator v2.2.3 and v2.3.0-rc.3; the facts with file:line are
// in .notes/hybrid-gateway-facts.md):
//   - GatewayClass of controllerName konghq.com/gateway-operator: Accepted
//     from its parametersRef (controller/gatewayclass getAcceptedCondition).
//   - Gateway of such a class whose GatewayConfiguration has
//     spec.konnect.authRef: a KonnectGatewayControlPlane, then a
//     KonnectExtension, then a DataPlane, each labelled managed-by gateway and
//     owned by the Gateway (controller/gateway Reconcile); the Gateway's
//     conditions follow them in that order. The KonnectGatewayControlPlane,
//     KonnectExtension and DataPlane reconcilers of this stand-in then do what
//     kong-operator's do (Konnect control plane, certificate, node).
//   - HTTPRoute with a parentRef to such a Gateway: status.parents under
//     controllerName konghq.com/gateway-operator (Accepted, ResolvedRefs,
//     KongRouteProgrammed, KongServiceProgrammed), and a KongService per rule
//     and a KongRoute per match (controller/hybridgateway), annotated with the
//     Gateway and route they come from. KongUpstream and KongTarget, which
//     kong-operator makes too, are not modelled: nothing here reads them.
// What a real install has and the stand-in has not: no Services for the
// DataPlane (GatewayService is set True, status.addresses stays empty), no
// NetworkPolicy, no garbage collection of owned objects (envtest runs no
// kube-controller-manager).

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

var (
	gvkGatewayClass         = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GatewayClass"}
	gvkGateway              = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}
	gvkHTTPRoute            = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	gvkGatewayConfiguration = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v2beta1", Kind: "GatewayConfiguration"}
	gvkKongReferenceGrant   = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongReferenceGrant"}
	gvkAIGateway            = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectAIGateway"}
)

// kong-operator's names (pkg/vars/gateway.go, pkg/consts, controller/hybridgateway).
const (
	// ControllerName is the GatewayClass controllerName kong-operator serves.
	ControllerName = "konghq.com/gateway-operator"
	// LabelManagedBy marks what kong-operator made: "gateway" for a
	// Gateway's children, the route kind for translated entities.
	LabelManagedBy = "gateway-operator.konghq.com/managed-by"
	// LabelGatewayName is the GEP-1762 label on a Gateway's children.
	LabelGatewayName = "gateway.networking.k8s.io/gateway-name"
	// AnnotationStaticNaming names a Gateway's children after it.
	AnnotationStaticNaming = "gateway-operator.konghq.com/static-naming"
	// AnnotationHybridGateways and AnnotationHybridRoutes link translated
	// entities to the Gateways and HTTPRoutes they come from (ns/name lists).
	AnnotationHybridGateways = "gateway-operator.konghq.com/hybrid-gateways"
	AnnotationHybridRoutes   = "gateway-operator.konghq.com/hybrid-routes"
	// fieldOwner of the hybrid gateway's server-side applies.
	hybridFieldOwner = "gateway-operator"
	managedByGateway = "gateway"
)

func (s *StandIn) gatewayKinds() []struct {
	gvk schema.GroupVersionKind
	fn  func(context.Context, *unstructured.Unstructured) (reconcile.Result, error)
} {
	return []struct {
		gvk schema.GroupVersionKind
		fn  func(context.Context, *unstructured.Unstructured) (reconcile.Result, error)
	}{
		{gvkGatewayClass, s.reconcileGatewayClass},
		{gvkGateway, s.reconcileGateway},
		{gvkHTTPRoute, s.reconcileHTTPRoute},
	}
}

func nsName(ns, name string) string { return ns + "/" + name }

// reconcileGatewayClass sets Accepted as getAcceptedCondition does
// (controller/gatewayclass/controller_reconciler_utils.go, v2.2.3).
func (s *StandIn) reconcileGatewayClass(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	if str(u, "spec", "controllerName") != ControllerName {
		return reconcile.Result{}, nil
	}
	before := u.DeepCopy()
	ref, hasRef, _ := unstructured.NestedMap(u.Object, "spec", "parametersRef")
	var msgs []string
	requeue := false
	if hasRef {
		group, _ := ref["group"].(string)
		kind, _ := ref["kind"].(string)
		ns, _ := ref["namespace"].(string)
		name, _ := ref["name"].(string)
		if group != gvkGatewayConfiguration.Group || kind != gvkGatewayConfiguration.Kind {
			msgs = append(msgs, "ParametersRef must reference a gateway-operator.konghq.com/GatewayConfiguration")
		}
		if ns == "" {
			msgs = append(msgs, "ParametersRef must reference a namespaced resource")
		}
		if len(msgs) == 0 {
			if _, err := s.get(ctx, gvkGatewayConfiguration, ns, name); err != nil {
				if client.IgnoreNotFound(err) != nil {
					return reconcile.Result{}, err
				}
				msgs = append(msgs, "The referenced GatewayConfiguration does not exist")
				requeue = true // kong-operator watches GatewayConfigurations; the stand-in polls
			}
		}
	}
	if len(msgs) == 0 {
		setCondition(u, "Accepted", true, "Accepted", "GatewayClass is accepted")
	} else {
		setCondition(u, "Accepted", false, "InvalidParameters", strings.Join(msgs, ". "))
	}
	if err := s.writeStatus(ctx, before, u); err != nil {
		return reconcile.Result{}, err
	}
	if requeue {
		return requeueSoon()
	}
	return reconcile.Result{}, nil
}

// supportedRoutes are the route kinds a listener protocol takes
// (controller/gateway supportedRoutesByProtocol: TCP and UDP from 2.3 on).
func (s *StandIn) supportedRoutes(protocol string) (string, bool) {
	switch protocol {
	case "HTTP", "HTTPS":
		return "HTTPRoute", true
	case "TLS":
		return "TLSRoute", true
	case "TCP":
		return "TCPRoute", s.ko23
	case "UDP":
		return "UDPRoute", s.ko23
	}
	return "", false
}

// gatewayChildren lists the objects of gvk kong-operator made for gw: the
// managed-by label and an owner reference with the Gateway's UID
// (pkg/utils/gateway/ownerrefs.go).
func (s *StandIn) gatewayChildren(ctx context.Context, gvk schema.GroupVersionKind, gw *unstructured.Unstructured) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := s.cl.List(ctx, l, client.InNamespace(gw.GetNamespace()), client.MatchingLabels{LabelManagedBy: managedByGateway}); err != nil {
		return nil, err
	}
	var out []unstructured.Unstructured
	for _, item := range l.Items {
		for _, ref := range item.GetOwnerReferences() {
			if ref.UID == gw.GetUID() {
				out = append(out, item)
				break
			}
		}
	}
	return out, nil
}

// childMeta names, labels and owns a Gateway's child as
// setObjectNamespaceName, SetOwnerForObject and LabelObjectAsGatewayManaged
// do; static naming applies unless generateName is asked for.
func childMeta(gw, child *unstructured.Unstructured, generate bool) {
	child.SetNamespace(gw.GetNamespace())
	switch {
	case generate:
		child.SetGenerateName(gw.GetName() + "-")
	case gw.GetAnnotations()[AnnotationStaticNaming] == "true":
		child.SetName(gw.GetName())
	default:
		child.SetName(gw.GetName() + "-" + randomSuffix())
	}
	child.SetLabels(map[string]string{LabelManagedBy: managedByGateway, LabelGatewayName: gw.GetName()})
	child.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: gvkGateway.GroupVersion().String(), Kind: "Gateway", Name: gw.GetName(), UID: gw.GetUID(), Controller: ptrTo(true),
	}})
}

// randomSuffix is k8sutils.GenerateName's five characters.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// reconcileGateway provisions a hybrid Gateway's control plane, extension
// and data plane in kong-operator's order and sets its conditions
// (controller/gateway/controller.go Reconcile, v2.2.3).
func (s *StandIn) reconcileGateway(ctx context.Context, gw *unstructured.Unstructured) (reconcile.Result, error) {
	if gw.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	class, err := s.get(ctx, gvkGatewayClass, "", str(gw, "spec", "gatewayClassName"))
	if err != nil {
		if client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	if str(class, "spec", "controllerName") != ControllerName {
		return reconcile.Result{}, nil // not kong-operator's Gateway: ignored
	}
	if conditionStatus(class, "Accepted") != "True" {
		return requeueSoon() // "gatewayclass not accepted, ignoring" until it is
	}
	before := gw.DeepCopy()

	// Listeners and Accepted (setAcceptedAndAttachedRoutes).
	specListeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	oldStatus, _, _ := unstructured.NestedSlice(gw.Object, "status", "listeners")
	var listeners []any
	var refused []string
	for i, l := range specListeners {
		m, _ := l.(map[string]any)
		name, _ := m["name"].(string)
		protocol, _ := m["protocol"].(string)
		ls := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": gw.GetGeneration()}}}
		for _, old := range oldStatus {
			if om, _ := old.(map[string]any); om["name"] == name {
				if conds, ok := om["conditions"]; ok {
					_ = unstructured.SetNestedField(ls.Object, conds, "status", "conditions")
				}
			}
		}
		kind, ok := s.supportedRoutes(protocol)
		if ok {
			setCondition(ls, "Accepted", true, "Accepted", "")
		} else {
			setCondition(ls, "Accepted", false, "UnsupportedProtocol", "")
			refused = append(refused, fmt.Sprintf("Listener %d is not accepted.", i))
		}
		setCondition(ls, "Conflicted", false, "NoConflicts", "")
		setCondition(ls, "ResolvedRefs", true, "ResolvedRefs", "")
		attached, err := s.attachedRoutes(ctx, gw, m)
		if err != nil {
			return reconcile.Result{}, err
		}
		conds, _, _ := unstructured.NestedSlice(ls.Object, "status", "conditions")
		entry := map[string]any{"name": name, "attachedRoutes": attached, "conditions": conds, "supportedKinds": []any{}}
		if ok {
			entry["supportedKinds"] = []any{map[string]any{"group": gvkGateway.Group, "kind": kind}}
		}
		listeners = append(listeners, entry)
	}
	if len(refused) > 0 {
		setCondition(gw, "Accepted", false, "ListenersNotValid", strings.Join(refused, " "))
	} else {
		setCondition(gw, "Accepted", true, "Accepted", "All listeners are accepted.")
	}
	programmed := func(ok bool) {
		if ok {
			setCondition(gw, "Programmed", true, "Programmed", "")
		} else {
			setCondition(gw, "Programmed", false, "DependenciesNotReady", "There are other conditions that are not yet ready")
		}
		for _, l := range listeners {
			m := l.(map[string]any)
			ls := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": gw.GetGeneration()}}}
			_ = unstructured.SetNestedField(ls.Object, m["conditions"], "status", "conditions")
			if ok && conditionStatus(ls, "Accepted") == "True" {
				setCondition(ls, "Programmed", true, "Programmed", "")
			} else {
				setCondition(ls, "Programmed", false, "Pending", "")
			}
			m["conditions"], _, _ = unstructured.NestedSlice(ls.Object, "status", "conditions")
		}
		_ = unstructured.SetNestedSlice(gw.Object, listeners, "status", "listeners")
	}
	done := func(requeue bool) (reconcile.Result, error) {
		if err := s.writeStatus(ctx, before, gw); err != nil {
			return reconcile.Result{}, err
		}
		if requeue {
			return requeueSoon()
		}
		return reconcile.Result{}, nil
	}
	if len(refused) > 0 {
		programmed(false)
		return done(false)
	}

	ref, _, _ := unstructured.NestedMap(class.Object, "spec", "parametersRef")
	cfgNS, _ := ref["namespace"].(string)
	cfgName, _ := ref["name"].(string)
	cfg, err := s.get(ctx, gvkGatewayConfiguration, cfgNS, cfgName)
	if err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	authRef, hybrid, _ := unstructured.NestedMap(cfg.Object, "spec", "konnect", "authRef")
	if !hybrid {
		// A Gateway that is not hybrid runs a ControlPlane (KIC): not modelled.
		programmed(false)
		return done(false)
	}
	if err := s.ensureAuthGrant(ctx, gw, authRef); err != nil {
		return reconcile.Result{}, err
	}

	// The control plane.
	cps, err := s.gatewayChildren(ctx, s.cpGVK, gw)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(cps) == 0 {
		if err := s.createGatewayControlPlane(ctx, gw, cfg, authRef); err != nil {
			setCondition(gw, "ControlPlaneReady", false, "UnableToProvision", err.Error())
		} else {
			setCondition(gw, "ControlPlaneReady", false, "ResourceCreatedOrUpdated", "Resource has been created")
		}
		programmed(false)
		return done(true)
	}
	removeCondition(gw, "ControlPlaneReady")
	if conditionStatus(&cps[0], condProgrammed) != "True" {
		setCondition(gw, "KonnectGatewayControlPlaneProgrammed", false, "Pending", "Waiting for the resource to become programmed")
		programmed(false)
		return done(true)
	}
	setCondition(gw, "KonnectGatewayControlPlaneProgrammed", true, "Programmed", "")

	// The extension.
	exts, err := s.gatewayChildren(ctx, s.extGVK, gw)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(exts) == 0 {
		ext := &unstructured.Unstructured{}
		ext.SetGroupVersionKind(s.extGVK)
		childMeta(gw, ext, true)
		ext.Object["spec"] = map[string]any{"konnect": map[string]any{"controlPlane": map[string]any{"ref": map[string]any{
			"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": cps[0].GetName(), "namespace": cps[0].GetNamespace()},
		}}}}
		if err := s.cl.Create(ctx, ext); err != nil {
			setCondition(gw, "KonnectExtensionReady", false, "UnableToProvision", err.Error())
		} else {
			setCondition(gw, "KonnectExtensionReady", false, "ResourceCreatedOrUpdated", "Resource has been created")
		}
		programmed(false)
		return done(true)
	}
	if conditionStatus(&exts[0], condReady) != "True" {
		setCondition(gw, "KonnectExtensionReady", false, "WaitingToBecomeReady", "Waiting for the resource to become ready")
		programmed(false)
		return done(true)
	}
	setCondition(gw, "KonnectExtensionReady", true, "Ready", "")

	// The data plane.
	dps, err := s.gatewayChildren(ctx, gvkDataPlane, gw)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(dps) == 0 {
		dp := &unstructured.Unstructured{}
		dp.SetGroupVersionKind(gvkDataPlane)
		childMeta(gw, dp, false)
		deployment, _, _ := unstructured.NestedMap(cfg.Object, "spec", "dataPlaneOptions", "deployment")
		deployment = s.withDefaultImage(deployment)
		dp.Object["spec"] = map[string]any{
			"deployment": deployment,
			"extensions": []any{map[string]any{"group": s.extGVK.Group, "kind": "KonnectExtension", "name": exts[0].GetName()}},
		}
		if err := s.cl.Create(ctx, dp); err != nil {
			setCondition(gw, "DataPlaneReady", false, "UnableToProvision", err.Error())
		} else {
			setCondition(gw, "DataPlaneReady", false, "ResourceCreatedOrUpdated", "Resource has been created")
		}
		programmed(false)
		return done(true)
	}
	if conditionStatus(&dps[0], condReady) != "True" {
		setCondition(gw, "DataPlaneReady", false, "WaitingToBecomeReady", "Waiting for the resource to become ready")
		programmed(false)
		return done(true)
	}
	setCondition(gw, "DataPlaneReady", true, "Ready", "")
	setCondition(gw, "GatewayService", true, "Ready", "")
	programmed(true)
	if err := s.writeStatus(ctx, before, gw); err != nil {
		return reconcile.Result{}, err
	}
	// kong-operator watches HTTPRoutes to count a listener's attachedRoutes;
	// the stand-in looks again now and then (no Konnect call).
	return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
}

// createGatewayControlPlane is createKonnectGatewayControlPlane: the
// Gateway's name in Konnect too (only createControlPlaneRequest.name), or a
// mirror of the configured control plane.
func (s *StandIn) createGatewayControlPlane(ctx context.Context, gw, cfg *unstructured.Unstructured, authRef map[string]any) error {
	cp := &unstructured.Unstructured{}
	cp.SetGroupVersionKind(s.cpGVK)
	childMeta(gw, cp, false)
	spec := map[string]any{"konnect": map[string]any{"authRef": authRef}}
	if src := str(cfg, "spec", "konnect", "source"); src != "" {
		spec["source"] = src
	}
	if id := str(cfg, "spec", "konnect", "mirror", "konnect", "id"); id != "" {
		spec["mirror"] = map[string]any{"konnect": map[string]any{"id": id}}
	} else {
		spec["createControlPlaneRequest"] = map[string]any{"name": cp.GetName()}
	}
	cp.Object["spec"] = spec
	return s.cl.Create(ctx, cp)
}

// ensureAuthGrant is ensureKonnectAPIAuthReferenceGrant
// (controller/gateway/konnect_auth_referencegrant.go): for an authRef in
// another namespace that a user's KongReferenceGrant lets the
// GatewayConfiguration reach, kong-operator grants its control plane the
// same reference; without that grant it makes none.
func (s *StandIn) ensureAuthGrant(ctx context.Context, gw *unstructured.Unstructured, authRef map[string]any) error {
	authNS, _ := authRef["namespace"].(string)
	authName, _ := authRef["name"].(string)
	if authNS == "" || authNS == gw.GetNamespace() {
		return nil
	}
	if !s.granted(ctx, authNS, gvkGatewayConfiguration.Group, gvkGatewayConfiguration.Kind, gw.GetNamespace(), gvkAuth.Group, gvkAuth.Kind, authName) {
		return nil
	}
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%s/%s/%s/%s", gw.GetNamespace(), gw.GetName(), authNS, authName)
	grant := &unstructured.Unstructured{}
	grant.SetGroupVersionKind(gvkKongReferenceGrant)
	grant.SetNamespace(authNS)
	grant.SetName(fmt.Sprintf("konnect-api-auth-grant-%x", h.Sum64()))
	grant.SetLabels(map[string]string{
		LabelManagedBy: managedByGateway, "gateway-operator.konghq.com/managed-by-name": gw.GetName(),
		"gateway-operator.konghq.com/managed-by-namespace": gw.GetNamespace(), "gateway-operator.konghq.com/konnect-api-auth-grant": "true",
	})
	grant.Object["spec"] = map[string]any{
		"from": []any{map[string]any{"group": s.cpGVK.Group, "kind": "KonnectGatewayControlPlane", "namespace": gw.GetNamespace()}},
		"to":   []any{map[string]any{"group": gvkAuth.Group, "kind": gvkAuth.Kind, "name": authName}},
	}
	err := s.cl.Create(ctx, grant)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	return nil
}

// granted reports whether a KongReferenceGrant in ns lets objects of
// fromGroup/fromKind in fromNS refer to toGroup/toKind toName.
func (s *StandIn) granted(ctx context.Context, ns, fromGroup, fromKind, fromNS, toGroup, toKind, toName string) bool {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvkKongReferenceGrant.GroupVersion().WithKind("KongReferenceGrantList"))
	if err := s.cl.List(ctx, l, client.InNamespace(ns)); err != nil {
		return false
	}
	for _, g := range l.Items {
		from, _, _ := unstructured.NestedSlice(g.Object, "spec", "from")
		to, _, _ := unstructured.NestedSlice(g.Object, "spec", "to")
		fromOK := slices.ContainsFunc(from, func(f any) bool {
			m, _ := f.(map[string]any)
			return m["group"] == fromGroup && m["kind"] == fromKind && m["namespace"] == fromNS
		})
		toOK := slices.ContainsFunc(to, func(t any) bool {
			m, _ := t.(map[string]any)
			name, _ := m["name"].(string)
			return m["group"] == toGroup && m["kind"] == toKind && (name == "" || name == toName)
		})
		if fromOK && toOK {
			return true
		}
	}
	return false
}

func removeCondition(u *unstructured.Unstructured, typ string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	keep := conds[:0]
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] != typ {
			keep = append(keep, c)
		}
	}
	if len(keep) != len(conds) {
		_ = unstructured.SetNestedSlice(u.Object, keep, "status", "conditions")
	}
}

// parentRef is an HTTPRoute's parentRef with the defaults filled.
type parentRef struct {
	raw                   map[string]any
	group, kind, ns, name string
	section               string
	port                  int64
}

func parentRefs(route *unstructured.Unstructured) []parentRef {
	refs, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var out []parentRef
	for _, r := range refs {
		m, _ := r.(map[string]any)
		p := parentRef{raw: m, group: gvkGateway.Group, kind: "Gateway", ns: route.GetNamespace()}
		if g, ok := m["group"].(string); ok {
			p.group = g
		}
		if k, ok := m["kind"].(string); ok {
			p.kind = k
		}
		if n, ok := m["namespace"].(string); ok && n != "" {
			p.ns = n
		}
		p.name, _ = m["name"].(string)
		p.section, _ = m["sectionName"].(string)
		p.port, _ = toInt64(m["port"])
		out = append(out, p)
	}
	return out
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}

// attachedRoutes counts the HTTPRoutes of the Gateway's namespace whose
// parentRefs name this listener (countAttachedRoutesForGatewayListener, for
// the default allowedRoutes of the same namespace).
func (s *StandIn) attachedRoutes(ctx context.Context, gw *unstructured.Unstructured, listener map[string]any) (int64, error) {
	if !s.httpRoutes {
		return 0, nil
	}
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvkHTTPRoute.GroupVersion().WithKind("HTTPRouteList"))
	if err := s.cl.List(ctx, l, client.InNamespace(gw.GetNamespace())); err != nil {
		return 0, err
	}
	var n int64
	for i := range l.Items {
		for _, p := range parentRefs(&l.Items[i]) {
			if p.kind == "Gateway" && p.group == gvkGateway.Group && p.ns == gw.GetNamespace() && p.name == gw.GetName() && listenerMatches(p, listener) {
				n++
				break
			}
		}
	}
	return n, nil
}

func listenerMatches(p parentRef, l map[string]any) bool {
	port, _ := toInt64(l["port"])
	return (p.section == "" || p.section == l["name"]) && (p.port == 0 || p.port == port)
}

// routeParent is what the hybrid gateway decided for one parentRef.
type routeParent struct {
	ref        parentRef
	gw         *unstructured.Unstructured
	cp         string
	accepted   [3]string // status, reason, message
	resolved   [3]string
	services   []*unstructured.Unstructured
	routes     []*unstructured.Unstructured
	programmed bool
}

// reconcileHTTPRoute translates an HTTPRoute attached to hybrid Gateways
// (controller/hybridgateway/converter/http_route.go, route/status.go).
func (s *StandIn) reconcileHTTPRoute(ctx context.Context, route *unstructured.Unstructured) (reconcile.Result, error) {
	if route.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	before := route.DeepCopy()
	var parents []*routeParent
	requeue := false
	for _, p := range parentRefs(route) {
		rp, err := s.routeParent(ctx, route, p)
		if err != nil {
			return reconcile.Result{}, err
		}
		if rp != nil {
			parents = append(parents, rp)
		} else if p.kind == "Gateway" {
			// kong-operator is told when the Gateway gets its extension (it
			// watches Gateways); the stand-in looks again.
			requeue = true
		}
	}
	for _, rp := range parents {
		if rp.accepted[0] != "True" {
			continue
		}
		if err := s.translate(ctx, route, rp); err != nil {
			return reconcile.Result{}, err
		}
		if !rp.programmed {
			requeue = true
		}
	}
	// Keep the entries of other controllers; ours are rewritten.
	old, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	var entries []any
	for _, e := range old {
		if m, _ := e.(map[string]any); m["controllerName"] != ControllerName {
			entries = append(entries, e)
		}
	}
	for _, rp := range parents {
		entries = append(entries, s.parentStatus(route, rp, old))
	}
	if entries == nil {
		entries = []any{}
	}
	_ = unstructured.SetNestedSlice(route.Object, entries, "status", "parents")
	if err := s.writeStatus(ctx, before, route); err != nil {
		return reconcile.Result{}, err
	}
	if requeue {
		return requeueSoon()
	}
	return reconcile.Result{}, nil
}

// routeParent decides Accepted and ResolvedRefs for one parentRef, or nil
// when the parent is not a hybrid Gateway (kong-operator writes nothing
// for it: refs/get.go, converter/http_route.go).
func (s *StandIn) routeParent(ctx context.Context, route *unstructured.Unstructured, p parentRef) (*routeParent, error) {
	if p.kind != "Gateway" || p.group != gvkGateway.Group {
		return nil, nil
	}
	gw, err := s.get(ctx, gvkGateway, p.ns, p.name)
	if err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	exts, err := s.gatewayChildren(ctx, s.extGVK, gw)
	if err != nil || len(exts) != 1 {
		return nil, err
	}
	cp := str(&exts[0], "spec", "konnect", "controlPlane", "ref", "konnectNamespacedRef", "name")
	if cp == "" {
		return nil, nil
	}
	rp := &routeParent{ref: p, gw: gw, cp: cp}

	// Accepted: a listener of the Gateway this parentRef selects, accepted,
	// allowing routes of this namespace, with a matching hostname.
	rp.accepted = [3]string{"False", "NoMatchingParent", "NoMatchingParent"}
	specListeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	statusListeners, _, _ := unstructured.NestedSlice(gw.Object, "status", "listeners")
	hostnames, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	for _, l := range specListeners {
		lm, _ := l.(map[string]any)
		if !listenerMatches(p, lm) || !listenerAccepted(statusListeners, lm["name"]) {
			continue
		}
		from, _, _ := unstructured.NestedString(lm, "allowedRoutes", "namespaces", "from")
		if (from == "" || from == "Same") && route.GetNamespace() != gw.GetNamespace() {
			rp.accepted = [3]string{"False", "NotAllowedByListeners", "No Gateway Listener allows this route"}
			continue
		}
		if h, _ := lm["hostname"].(string); h != "" && len(hostnames) > 0 && !slices.ContainsFunc(hostnames, func(rh string) bool { return hostnameMatches(h, rh) }) {
			rp.accepted = [3]string{"False", "NoMatchingListenerHostname", "No Gateway Listener hostname matches this route"}
			continue
		}
		rp.accepted = [3]string{"True", "Accepted", "The route is accepted by the gateway"}
		break
	}

	// ResolvedRefs: every backendRef a Service that exists (in the route's
	// namespace; a cross-namespace one would need a Gateway API
	// ReferenceGrant, not modelled, so it is refused).
	rp.resolved = [3]string{"True", "ResolvedRefs", "All references resolved"}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		backends, _ := rm["backendRefs"].([]any)
		for _, b := range backends {
			bm, _ := b.(map[string]any)
			group, _ := bm["group"].(string)
			kind, _ := bm["kind"].(string)
			ns, _ := bm["namespace"].(string)
			name, _ := bm["name"].(string)
			if kind == "" {
				kind = "Service"
			}
			if ns == "" {
				ns = route.GetNamespace()
			}
			switch {
			case group != "" || kind != "Service":
				rp.resolved = [3]string{"False", "InvalidKind", fmt.Sprintf("Unsupported BackendRef %s/%s group/kind: %s/%s", ns, name, group, kind)}
			case ns != route.GetNamespace():
				rp.resolved = [3]string{"False", "RefNotPermitted", fmt.Sprintf("No ReferenceGrants found in namespace %s for BackendRef %s/%s", ns, ns, name)}
			default:
				var svc corev1.Service
				if err := s.cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &svc); err != nil {
					if client.IgnoreNotFound(err) != nil {
						return nil, err
					}
					rp.resolved = [3]string{"False", "BackendNotFound", fmt.Sprintf("BackendRef %s/%s not found", ns, name)}
				}
			}
		}
	}
	return rp, nil
}

func listenerAccepted(status []any, name any) bool {
	for _, l := range status {
		m, _ := l.(map[string]any)
		if m["name"] != name {
			continue
		}
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": m["conditions"]}}}
		return conditionStatus(u, "Accepted") == "True"
	}
	return false
}

// hostnameMatches: a listener hostname, maybe a *. wildcard, and a route's.
func hostnameMatches(listener, route string) bool {
	if strings.HasPrefix(listener, "*.") {
		return strings.HasSuffix(route, listener[1:])
	}
	return listener == route
}

func hash32(v any) string {
	b, _ := json.Marshal(v)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return fmt.Sprintf("%08x", h.Sum32())
}

// translate applies a KongService per rule and a KongRoute per match
// (namegen/name.go shapes the names: http.<what>.cp<hash>.<hash>), on the
// control plane of the Gateway's KonnectExtension, and reads back whether
// they are programmed.
func (s *StandIn) translate(ctx context.Context, route *unstructured.Unstructured, rp *routeParent) error {
	cpHash := hash32(rp.cp)
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	hostnames, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	rp.programmed = true
	for i, r := range rules {
		rm, _ := r.(map[string]any)
		backends, _ := rm["backendRefs"].([]any)
		display := route.GetNamespace() + "-" + route.GetName()
		if len(backends) > 0 {
			bm, _ := backends[0].(map[string]any)
			port, _ := toInt64(bm["port"])
			display = fmt.Sprintf("%s-%s-%d", route.GetNamespace(), bm["name"], port)
		}
		svcName := fmt.Sprintf("http.%s.%d.cp%s.%s", display, len(backends), cpHash, hash32(backends))
		svc := s.hybridEntity(gvkService, rp, route, svcName)
		svc.Object["spec"] = map[string]any{
			"name": svcName, "host": svcName, "port": int64(80), "protocol": "http",
			"controlPlaneRef": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": rp.cp}},
		}
		got, err := s.applyHybrid(ctx, svc)
		if err != nil {
			return err
		}
		rp.services = append(rp.services, got)
		matches, _ := rm["matches"].([]any)
		if len(matches) == 0 {
			matches = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
		}
		for j, m := range matches {
			mm, _ := m.(map[string]any)
			name := fmt.Sprintf("http.%s-%s.cp%s.%s.m%02d", route.GetNamespace(), route.GetName(), cpHash, hash32([]any{i, mm}), j)
			spec := map[string]any{
				"name": name, "protocols": []any{"http", "https"}, "strip_path": false, "preserve_host": true,
				"serviceRef": map[string]any{"type": "namespacedRef", "namespacedRef": map[string]any{"name": svcName}},
			}
			if v, _, _ := unstructured.NestedString(mm, "path", "value"); v != "" {
				spec["paths"] = []any{v}
			}
			if method, _ := mm["method"].(string); method != "" {
				spec["methods"] = []any{method}
			}
			if len(hostnames) > 0 {
				hs := make([]any, len(hostnames))
				for k, h := range hostnames {
					hs[k] = h
				}
				spec["hosts"] = hs
			}
			kr := s.hybridEntity(gvkRoute, rp, route, name)
			kr.Object["spec"] = spec
			got, err := s.applyHybrid(ctx, kr)
			if err != nil {
				return err
			}
			rp.routes = append(rp.routes, got)
		}
	}
	for _, u := range append(append([]*unstructured.Unstructured{}, rp.services...), rp.routes...) {
		if conditionStatus(u, condProgrammed) != "True" {
			rp.programmed = false
		}
	}
	return nil
}

// hybridEntity is a translated entity's metadata: in the Gateway's
// namespace, labelled with the route kind and annotated with the Gateway
// and route (metadata/label.go, metadata/annotation.go).
func (s *StandIn) hybridEntity(gvk schema.GroupVersionKind, rp *routeParent, route *unstructured.Unstructured, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(rp.gw.GetNamespace())
	u.SetName(name)
	u.SetLabels(map[string]string{LabelManagedBy: "HTTPRoute"})
	u.SetAnnotations(map[string]string{
		AnnotationHybridGateways: nsName(rp.gw.GetNamespace(), rp.gw.GetName()),
		AnnotationHybridRoutes:   nsName(route.GetNamespace(), route.GetName()),
	})
	return u
}

// applyHybrid server-side applies as kong-operator does (field owner
// gateway-operator, forced), and returns the object with its status.
func (s *StandIn) applyHybrid(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := s.cl.Patch(ctx, u, client.Apply, client.FieldOwner(hybridFieldOwner), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return u, nil
}

// parentStatus is the route's status.parents entry for rp
// (route/status.go): Accepted, ResolvedRefs, and per translated kind
// whether all are programmed.
func (s *StandIn) parentStatus(route *unstructured.Unstructured, rp *routeParent, old []any) map[string]any {
	holder := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": route.GetGeneration()}}}
	// Keep lastTransitionTime of unchanged conditions from the old entry.
	for _, e := range old {
		m, _ := e.(map[string]any)
		if m["controllerName"] == ControllerName && samePrefix(m["parentRef"], rp.ref.raw) {
			_ = unstructured.SetNestedField(holder.Object, m["conditions"], "status", "conditions")
		}
	}
	set := func(typ string, c [3]string) { setCondition(holder, typ, c[0] == "True", c[1], c[2]) }
	set("Accepted", rp.accepted)
	set("ResolvedRefs", rp.resolved)
	if rp.accepted[0] == "True" {
		for _, k := range []struct {
			typ  string
			objs []*unstructured.Unstructured
		}{{"KongRouteProgrammed", rp.routes}, {"KongServiceProgrammed", rp.services}} {
			ok := true
			for _, u := range k.objs {
				ok = ok && conditionStatus(u, condProgrammed) == "True"
			}
			if ok {
				set(k.typ, [3]string{"True", k.typ, "Resource is programmed"})
			} else {
				set(k.typ, [3]string{"False", strings.Replace(k.typ, "Programmed", "NotProgrammed", 1), "Resource is not programmed"})
			}
		}
	} else {
		removeCondition(holder, "KongRouteProgrammed")
		removeCondition(holder, "KongServiceProgrammed")
	}
	conds, _, _ := unstructured.NestedSlice(holder.Object, "status", "conditions")
	return map[string]any{"parentRef": rp.ref.raw, "controllerName": ControllerName, "conditions": conds}
}

func samePrefix(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// withDefaultImage gives the DataPlane's proxy container the release's
// default image when the GatewayConfiguration names none
// (controller/gateway/controller.go, the DataPlane defaults, v2.2.3;
// consts.DefaultDataPlaneTag: 3.14 on 2.2, 3.15 on 2.3).
func (s *StandIn) withDefaultImage(deployment map[string]any) map[string]any {
	if deployment == nil {
		deployment = map[string]any{}
	}
	image := "kong/kong-gateway:3.14"
	if s.ko23 {
		image = "kong/kong-gateway:3.15"
	}
	containers, _, _ := unstructured.NestedSlice(deployment, "podTemplateSpec", "spec", "containers")
	for _, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == "proxy" {
			if img, _ := m["image"].(string); img == "" {
				m["image"] = image
			}
			_ = unstructured.SetNestedSlice(deployment, containers, "podTemplateSpec", "spec", "containers")
			return deployment
		}
	}
	containers = append(containers, map[string]any{"name": "proxy", "image": image})
	_ = unstructured.SetNestedSlice(deployment, containers, "podTemplateSpec", "spec", "containers")
	return deployment
}
