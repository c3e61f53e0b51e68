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
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

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
	if o.ControlPlane != "" {
		return fmt.Errorf("--gateway and --control-plane exclude each other: kong-operator creates the KonnectGatewayControlPlane of a hybrid Gateway itself (named after the Gateway); leave --control-plane out")
	}
	if o.Adopt {
		// kong-operator can: GatewayConfiguration spec.konnect.source: Mirror with
		// spec.konnect.mirror.konnect.id becomes a Mirror KonnectGatewayControlPlane
		// (controller/gateway/controller_reconciler_utils.go
		// createKonnectGatewayControlPlane, v2.2.3).
		return errors.New("--adopt with --gateway: init does not write a mirrored hybrid Gateway yet; kong-operator attaches a Gateway to an existing Konnect control plane " +
			"when its GatewayConfiguration has spec.konnect.source: Mirror and spec.konnect.mirror.konnect.id: <control plane ID>: write that GatewayConfiguration yourself")
	}
	return nil
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
	return errGatewayWritePathMissing
}

// errGatewayWritePathMissing: the objects of the Gateway road are not
// written by this build yet (issue 16); say so rather than write half of it.
var errGatewayWritePathMissing = errors.New("init --gateway: this build checks that the cluster can run a hybrid Gateway but does not write its objects yet; " +
	"nothing was written. Apply a KonnectAPIAuthConfiguration, a GatewayConfiguration (gateway-operator.konghq.com/v2beta1) with spec.konnect.authRef, " +
	"a GatewayClass whose parametersRef names it, and a Gateway of that class (kong-operator's config/samples/gateway-hybrid-*.yaml)")
