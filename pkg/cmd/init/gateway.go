package initcmd

// init --gateway: the Gateway API road to Konnect (kong-operator >= 2.1
// "hybrid Gateway"). kong-operator, not init, creates the
// KonnectGatewayControlPlane, KonnectExtension, certificate and DataPlane for
// a Gateway whose GatewayClass parametersRef names a GatewayConfiguration with
// spec.konnect.authRef (kong-operator v2.2.3 controller/gateway/controller.go
// Reconcile, internal/utils/gatewayconfig/get.go IsGatewayHybrid). The
// GatewayConfiguration's spec.konnect (authRef, source, mirror) appears in
// kong-operator 2.1.0; 2.0's v2beta1 GatewayConfiguration has no konnect
// field (api/gateway-operator/v2beta1/gatewayconfiguration_types.go at
// v2.0.0), and KGO 1.x has no hybrid Gateway at all.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

var (
	gvrGatewayConfiguration = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v2beta1", Resource: "gatewayconfigurations"}
	gvrGatewayClass         = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
	gvrGateway              = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}

	// Discovery marks of the kong-operator minor release (rules.Served).
	gvrReferenceGrant = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongreferencegrants"}
	gvrEventGateway   = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnecteventgateways"}
	gvrAIGateway      = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectaigateways"}
)

func init() {
	kinds[gvrGatewayConfiguration] = "GatewayConfiguration"
	kinds[gvrGatewayClass] = "GatewayClass"
	kinds[gvrGateway] = "Gateway"
	kinds[gvrReferenceGrant] = "KongReferenceGrant"
}

// release reads the operator release line from discovery, by the rule the
// webhook, lint and check use (rules.GenerationFor). The CRD version
// annotation, which names the exact release, needs a CRD read that this
// discovery round does not make; the served kinds tell the minor releases
// apart.
func (s served) release() rules.Generation {
	return rules.GenerationFor(rules.Served{
		KonnectExtension:       s[gvrExtKonnect] || s[gvrExtKonnectV1alpha2],
		LegacyKonnectExtension: s[gvrExtOperator],
		ControlPlaneV1Alpha2:   s[gvrCPV1alpha2],
		ReferenceGrant:         s[gvrReferenceGrant],
		EventGateway:           s[gvrEventGateway],
		AIGateway:              s[gvrAIGateway],
	})
}

// HybridGatewayUnsupportedError: the operator release in the cluster has
// no hybrid Gateway.
type HybridGatewayUnsupportedError struct {
	Gateway string
	Release rules.Generation
}

func (e *HybridGatewayUnsupportedError) Error() string {
	return fmt.Sprintf(`--gateway %s: the cluster serves the CRDs of %s, which cannot connect a Gateway to Konnect: `+
		`a hybrid Gateway (GatewayConfiguration spec.konnect.authRef) needs kong-operator 2.1 or later. `+
		`Nothing was written. Upgrade kong-operator, or leave --gateway out to connect a DataPlane to Konnect (--control-plane NAME)`,
		e.Gateway, e.Release.Release())
}

// gatewayRelease checks, before anything is read from Konnect or written,
// that the cluster can run a hybrid Gateway: kong-operator >= 2.1 and the
// Gateway API CRDs.
func (s served) gatewayRelease(gateway string) (rules.Generation, error) {
	rel := s.release()
	if !rel.Known() {
		return rel, &NotInstalledError{Missing: []string{"KonnectGatewayControlPlane (konnect.konghq.com/v1alpha2): kong-operator 2.1 or later"}}
	}
	if !rel.AtLeast(rules.GenerationKO21) {
		return rel, &HybridGatewayUnsupportedError{Gateway: gateway, Release: rel}
	}
	var missing []string
	for _, gvr := range []schema.GroupVersionResource{gvrAuth, gvrGatewayConfiguration, gvrGatewayClass, gvrGateway} {
		if !s[gvr] {
			missing = append(missing, describeGVR(gvr))
		}
	}
	if len(missing) > 0 {
		return rel, fmt.Errorf("--gateway %s: the cluster does not serve %s; install the Gateway API CRDs kong-operator requires "+
			"(standard channel, e.g. kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml for kong-operator 2.2) "+
			"and kong-operator's own CRDs, then run this command again", gateway, strings.Join(missing, ", "))
	}
	return rel, nil
}

// validateGateway checks the flags of the Gateway road.
func (o *Options) validateGateway() error {
	if errs := validation.IsDNS1123Subdomain(o.Gateway); len(errs) > 0 {
		return fmt.Errorf("--gateway %q is not a valid Gateway name: %s", o.Gateway, strings.Join(errs, "; "))
	}
	if o.ControlPlane != "" && !o.Adopt {
		return fmt.Errorf("--gateway and --control-plane go together only with --adopt (the Konnect control plane to attach the Gateway to): " +
			"kong-operator creates the KonnectGatewayControlPlane of a hybrid Gateway itself (named after the Gateway); leave --control-plane out")
	}
	if o.Adopt && strings.TrimSpace(o.ControlPlane) == "" {
		return errors.New("--adopt with --gateway: name the Konnect control plane to attach the Gateway to with --control-plane NAME")
	}
	if o.NoDataPlane || o.DataPlane != "" {
		return errors.New("--gateway: kong-operator makes the Gateway's DataPlane itself; leave out --no-dataplane and --dataplane")
	}
	if o.CertProvisioning == "manual" && o.certProvisioningGiven {
		return errors.New("--gateway: kong-operator provisions the data plane's certificate of a hybrid Gateway itself; leave out --cert-provisioning")
	}
	if o.GatewayClass != "" {
		if errs := validation.IsDNS1123Subdomain(o.GatewayClass); len(errs) > 0 {
			return fmt.Errorf("--gateway-class %q is not a valid GatewayClass name: %s", o.GatewayClass, strings.Join(errs, "; "))
		}
	}
	ls, err := parseListeners(o.Listeners)
	if err != nil {
		return err
	}
	o.listeners = ls
	return nil
}

// listener is one Gateway listener from --listener.
type listener struct {
	name, protocol string
	port           int64
	tlsSecret      string
}

// parseListeners reads --listener [NAME=]PROTOCOL:PORT[:TLS_SECRET]; none
// gives one HTTP listener on port 80, as kong-operator's samples have.
func parseListeners(flags []string) ([]listener, error) {
	if len(flags) == 0 {
		return []listener{{name: "http", protocol: "HTTP", port: 80}}, nil
	}
	seen := map[string]bool{}
	var out []listener
	for _, f := range flags {
		bad := func(why string) error {
			return fmt.Errorf("--listener %q: %s; use [NAME=]PROTOCOL:PORT[:TLS_SECRET], e.g. --listener http:80 or --listener web=HTTPS:443:web-tls", f, why)
		}
		name, spec, named := strings.Cut(f, "=")
		if !named {
			spec, name = f, ""
		}
		parts := strings.Split(spec, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, bad("give a protocol and a port")
		}
		l := listener{protocol: strings.ToUpper(parts[0])}
		switch l.protocol {
		case "HTTP", "TCP", "UDP":
			if len(parts) == 3 {
				return nil, bad(l.protocol + " takes no TLS Secret")
			}
		case "HTTPS", "TLS":
			if len(parts) != 3 || parts[2] == "" {
				return nil, bad(l.protocol + " needs the TLS Secret that terminates it (PROTOCOL:PORT:SECRET)")
			}
			l.tlsSecret = parts[2]
		default:
			return nil, bad("protocol " + parts[0] + " is not one of HTTP, HTTPS, TLS, TCP, UDP")
		}
		port, err := strconv.ParseInt(parts[1], 10, 32)
		if err != nil || port < 1 || port > 65535 {
			return nil, bad("the port must be a number from 1 to 65535")
		}
		l.port = port
		if name == "" {
			name = strings.ToLower(l.protocol)
			if seen[name] {
				name = fmt.Sprintf("%s-%d", name, port)
			}
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, bad("the name " + strings.Join(errs, "; "))
		}
		if seen[name] {
			return nil, bad("the name " + name + " is taken by another listener")
		}
		seen[name] = true
		l.name = name
		out = append(out, l)
	}
	return out, nil
}

// gatewayPreflight runs before anything else of init --gateway: one
// discovery round, no Konnect call, no write.
func (r *run) gatewayPreflight() error {
	srv, err := discoverServed(r.o.Discovery)
	if err != nil {
		return err
	}
	rel, err := srv.gatewayRelease(r.o.Gateway)
	if err != nil {
		return err
	}
	r.p.info("%s (from the CRDs the cluster serves): hybrid Gateways are supported", rel.Release())
	return nil
}

// What kong-operator puts on the objects it makes for a Gateway
// (pkg/utils/gateway/labels.go LabelObjectAsGatewayManaged, pkg/consts at
// v2.1.0..v2.3.0-rc.3), and the annotation that names them after the
// Gateway (consts.GatewayStaticNamingAnnotation; the issue's
// "konghq.com/operator-static-naming" is not what the operator reads).
const (
	labelGatewayManagedBy      = "gateway-operator.konghq.com/managed-by"
	gatewayManagedValue        = "gateway"
	labelGatewayName           = "gateway.networking.k8s.io/gateway-name"
	annotationStaticNaming     = "gateway-operator.konghq.com/static-naming"
	kongOperatorControllerName = "konghq.com/gateway-operator"
)

// gatewayPlan is the Gateway road's objects.
type gatewayPlan struct {
	className                     string
	liveConfig, liveClass, liveGW *unstructured.Unstructured
	config, class, gateway        *unstructured.Unstructured
	mirror                        *components.ControlPlane
}

// GatewayClassName is the GatewayClass init writes for a Gateway: one per
// Gateway, since its parametersRef names the Gateway's GatewayConfiguration
// and GatewayClasses are cluster-wide.
func GatewayClassName(ns, gateway string) string {
	name := "konnect-" + ns + "-" + gateway
	if len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:validation.DNS1123SubdomainMaxLength-9], "-.") + "-" + hex.EncodeToString(sum[:4])
}

// planGateway reads the Gateway road's objects and, with static naming,
// what Konnect has under the Gateway's name. It writes nothing.
func (r *run) planGateway(ctx context.Context) error {
	if err := r.planAuth(ctx); err != nil {
		return err
	}
	o, g := r.o, &r.gw
	g.className = o.GatewayClass
	if g.className == "" {
		g.className = GatewayClassName(r.ns, o.Gateway)
	}
	var err error
	if g.liveConfig, err = r.get(ctx, gvrGatewayConfiguration, o.Gateway); err != nil {
		return err
	}
	if g.liveClass, err = r.get(ctx, gvrGatewayClass, g.className); err != nil {
		return err
	}
	if g.liveGW, err = r.get(ctx, gvrGateway, o.Gateway); err != nil {
		return err
	}
	for _, l := range []*unstructured.Unstructured{g.liveConfig, g.liveClass, g.liveGW} {
		if l != nil && !ours(l) && !o.Force {
			return r.foreignError(l)
		}
	}
	if g.liveClass != nil && !o.Force {
		ref := str(g.liveClass, "spec", "parametersRef", "namespace") + "/" + str(g.liveClass, "spec", "parametersRef", "name")
		if want := r.ns + "/" + o.Gateway; ref != want {
			return fmt.Errorf("GatewayClass %s exists for GatewayConfiguration %s, not %s: choose another --gateway-class", g.className, ref, want)
		}
	}

	// kong-operator names the control plane after the Gateway, in Konnect
	// too (setObjectNamespaceName: createControlPlaneRequest.name is the
	// resource name). A control plane of that name that this Gateway did
	// not create would make kong-operator's create fail with 409.
	live, err := r.gatewayControlPlane(ctx, g.liveGW)
	if err != nil {
		return err
	}
	if live != nil {
		r.cp.live, r.cp.res = live, live.GetName()
	}
	if o.Adopt {
		kcp, err := r.kc.controlPlaneByName(ctx, strings.TrimSpace(o.ControlPlane))
		if err != nil {
			return err
		}
		if kcp == nil {
			return fmt.Errorf("--adopt: Konnect has no control plane named %q in region %s: check the name (it is case-sensitive), or leave out --adopt and --control-plane to let kong-operator create one named %s",
				o.ControlPlane, r.server.region, o.Gateway)
		}
		if err := clusterTypeError(kcp.Name, string(kcp.Config.ClusterType), "in Konnect"); err != nil {
			return err
		}
		g.mirror = kcp
		r.cp.konnect, r.cp.konnectName = kcp, kcp.Name
		r.p.info("Adopting Konnect control plane %q (%s): GatewayConfiguration %s mirrors it (spec.konnect.source: Mirror); kong-operator reads it and never changes or deletes it in Konnect",
			kcp.Name, kcp.ID, o.Gateway)
	} else {
		r.cp.konnectName = o.Gateway
		kcp, err := r.kc.controlPlaneByName(ctx, o.Gateway)
		if err != nil {
			return err
		}
		if kcp != nil && (live == nil || !strings.EqualFold(kgoapi.KonnectID(live), kcp.ID)) && (live == nil || kcp.Labels["k8s-uid"] != string(live.GetUID())) {
			return fmt.Errorf("name clash: Konnect already has a control plane named %q (ID %s, %s, created %s), which kong-operator would give the Gateway's control plane (the Gateway's name): "+
				"its create would fail with 409 Conflict. Pass --adopt --control-plane %q to attach the Gateway to it, or choose another --gateway name",
				kcp.Name, kcp.ID, kcp.Config.ClusterType, kcp.CreatedAt.UTC().Format(time.RFC3339), kcp.Name)
		}
		if kcp != nil {
			r.cp.konnect = kcp
		}
	}

	mirrorID := ""
	if g.mirror != nil {
		mirrorID = g.mirror.ID
	}
	g.config = gatewayConfiguration(r.ns, o.Gateway, o.AuthName, mirrorID, o.Image, int64(o.Replicas))
	if err := r.checkGatewayKonnectFields(); err != nil {
		return err
	}
	g.class = gatewayClass(g.className, r.ns, o.Gateway)
	g.gateway = gateway(r.ns, o.Gateway, g.className, o.listeners)
	return nil
}

// checkGatewayKonnectFields refuses to change spec.konnect of an existing GatewayConfiguration:
// kong-operator 2.3 makes authRef, source and mirror immutable once set (CEL on KonnectOptions,
// api/gateway-operator/v2beta1/gatewayconfiguration_types.go at v2.3.0-rc.3), and on 2.2 the
// control plane it made keeps its authRef once programmed, so the change would be lost.
func (r *run) checkGatewayKonnectFields() error {
	live := r.gw.liveConfig
	if live == nil {
		return nil
	}
	for _, f := range []string{"authRef", "source", "mirror"} {
		have, _, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "konnect", f)
		want, _, _ := unstructured.NestedFieldNoCopy(r.gw.config.Object, "spec", "konnect", f)
		if have == nil || (f == "source" && want == nil && have == "Origin") || contains(have, want) && contains(want, have) {
			continue
		}
		return fmt.Errorf("GatewayConfiguration %s/%s has spec.konnect.%s %v, and this run asks for %v: the Konnect settings of a hybrid Gateway cannot change "+
			"(kong-operator 2.3 refuses it; earlier releases keep the control plane on the old settings). Re-run with the same --auth-name (and --adopt choice), "+
			"or delete Gateway %s and GatewayConfiguration %s first (kubectl delete gateway,gatewayconfiguration %s -n %s)",
			r.ns, live.GetName(), f, have, want, live.GetName(), live.GetName(), live.GetName(), r.ns)
	}
	return nil
}

// gatewayControlPlane is the KonnectGatewayControlPlane kong-operator made
// for the Gateway, found as kong-operator finds it: labelled managed-by
// gateway and owned by the Gateway's UID (pkg/utils/gateway/ownerrefs.go
// ListKonnectGatewayControlPlanesForGateway, v2.2.3), never by its name.
func (r *run) gatewayControlPlane(ctx context.Context, gw *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if gw == nil {
		return nil, nil
	}
	l, err := r.res(r.gen.cpGVR()).List(ctx, metav1.ListOptions{LabelSelector: labelGatewayManagedBy + "=" + gatewayManagedValue})
	if err != nil {
		return nil, r.kubeErr("list", r.gen.cpGVR(), "", err)
	}
	for i := range l.Items {
		if ownedBy(&l.Items[i], gw) {
			return &l.Items[i], nil
		}
	}
	return nil, nil
}

func ownedBy(u, owner *unstructured.Unstructured) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

// gatewayConfiguration makes the Gateway hybrid: spec.konnect.authRef
// (kong-operator IsGatewayHybrid), and the data plane's image and replicas.
func gatewayConfiguration(ns, name, auth, mirrorID, image string, replicas int64) *unstructured.Unstructured {
	u := newObject(gvrGatewayConfiguration.GroupVersion().String(), "GatewayConfiguration", ns, name, nil)
	konnect := obj{"authRef": obj{"name": auth}}
	if mirrorID != "" {
		konnect["source"] = "Mirror"
		konnect["mirror"] = obj{"konnect": obj{"id": mirrorID}}
	}
	u.Object["spec"] = obj{
		"konnect": konnect,
		"dataPlaneOptions": obj{"deployment": obj{
			"replicas": replicas,
			"podTemplateSpec": obj{"spec": obj{"containers": []any{
				obj{"name": "proxy", "image": image},
			}}},
		}},
	}
	return u
}

// gatewayClass is kong-operator's class, with the GatewayConfiguration as
// its parameters.
func gatewayClass(name, ns, config string) *unstructured.Unstructured {
	u := newObject("gateway.networking.k8s.io/v1", "GatewayClass", "", name, nil)
	unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	u.Object["spec"] = obj{
		"controllerName": kongOperatorControllerName,
		"parametersRef": obj{
			"group": gvrGatewayConfiguration.Group, "kind": "GatewayConfiguration",
			"name": config, "namespace": ns,
		},
	}
	return u
}

// gateway is the Gateway, named statically so that kong-operator's
// control plane (in the cluster and in Konnect) carries its name.
func gateway(ns, name, class string, listeners []listener) *unstructured.Unstructured {
	u := newObject("gateway.networking.k8s.io/v1", "Gateway", ns, name, nil)
	u.SetAnnotations(map[string]string{annotationStaticNaming: "true"})
	var ls []any
	for _, l := range listeners {
		m := obj{"name": l.name, "protocol": l.protocol, "port": l.port}
		if l.tlsSecret != "" {
			m["tls"] = obj{"mode": "Terminate", "certificateRefs": []any{obj{"kind": "Secret", "name": l.tlsSecret}}}
		}
		ls = append(ls, m)
	}
	u.Object["spec"] = obj{"gatewayClassName": class, "listeners": ls}
	return u
}
