package initcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Generation is the KGO API generation init writes for.
type Generation int

const (
	// KGO14 is KGO 1.4: gateway-operator.konghq.com/v1alpha1 KonnectExtension, whose konnectID is the
	// endpoint prefix, with region and server host name spelled out.
	KGO14 Generation = 14
	// KGO15 is KGO 1.5 and 1.6: konnect.konghq.com/v1alpha1 KonnectExtension referring to the
	// KonnectGatewayControlPlane; control planes created elsewhere are adopted with source: Mirror.
	KGO15 Generation = 15
	// KO20 is kong-operator 2.x: konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane (the Konnect
	// request in spec.createControlPlaneRequest) and KonnectExtension; adoption is a Mirror, as on KGO15.
	KO20 Generation = 20
)

func (g Generation) String() string {
	switch g {
	case KGO14:
		return "KGO 1.4"
	case KGO15:
		return "KGO 1.5/1.6"
	case KO20:
		return "kong-operator 2.x"
	}
	return "unknown KGO"
}

// The kinds init reads and writes. KonnectGatewayControlPlane and KonnectExtension change version
// with the generation (cpGVR, extensionGVR); the others are the same in all.
var (
	gvrSecret      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrNamespace   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrAuth        = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectapiauthconfigurations"}
	gvrCP          = kgoapi.ControlPlaneGVR(kgoapi.V1Alpha1)
	gvrCPV1alpha2  = kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2)
	gvrDPCert      = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongdataplaneclientcertificates"}
	gvrExtKonnect  = kgoapi.ExtensionGVR(kgoapi.V1Alpha1)
	gvrExtOperator = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1alpha1", Resource: "konnectextensions"}
	gvrDataPlane   = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1beta1", Resource: "dataplanes"}

	// gvrExtKonnectV1alpha2 is kong-operator 2.x's KonnectExtension.
	gvrExtKonnectV1alpha2 = kgoapi.ExtensionGVR(kgoapi.V1Alpha2)
)

var kinds = map[schema.GroupVersionResource]string{
	gvrSecret:             "Secret",
	gvrAuth:               "KonnectAPIAuthConfiguration",
	gvrCP:                 "KonnectGatewayControlPlane",
	gvrCPV1alpha2:         "KonnectGatewayControlPlane",
	gvrDPCert:             "KongDataPlaneClientCertificate",
	gvrExtKonnect:         "KonnectExtension",
	gvrExtKonnectV1alpha2: "KonnectExtension",
	gvrExtOperator:        "KonnectExtension",
	gvrDataPlane:          "DataPlane",
}

// resourceName is how kubectl names a resource in its output: secret, dataplane.gateway-operator.konghq.com.
func resourceName(gvr schema.GroupVersionResource) string {
	kind := strings.ToLower(kinds[gvr])
	if gvr.Group == "" {
		return kind
	}
	return kind + "." + gvr.Group
}

// extensionGVR is the KonnectExtension the generation acts on.
func (g Generation) extensionGVR() schema.GroupVersionResource {
	switch g {
	case KGO14:
		return gvrExtOperator
	case KO20:
		return gvrExtKonnectV1alpha2
	}
	return gvrExtKonnect
}

// cpVersion is the KonnectGatewayControlPlane version init reads and writes: kong-operator 2.x
// stores v1alpha2 and only converts the deprecated v1alpha1.
func (g Generation) cpVersion() string {
	if g == KO20 {
		return kgoapi.V1Alpha2
	}
	return kgoapi.V1Alpha1
}

// cpGVR is the KonnectGatewayControlPlane resource of the generation.
func (g Generation) cpGVR() schema.GroupVersionResource { return kgoapi.ControlPlaneGVR(g.cpVersion()) }

// mirrors says whether the generation adopts a control plane made elsewhere with source: Mirror.
func (g Generation) mirrors() bool { return g == KGO15 || g == KO20 }

// NotInstalledError says KGO's CRDs are missing, and how to install them.
type NotInstalledError struct{ Missing []string }

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf(`KGO not installed: the cluster does not serve %s.
Install Kong Gateway Operator (1.4 or later) with its CRDs, for example:
  helm repo add kong https://charts.konghq.com && helm repo update
  helm upgrade --install kgo kong/gateway-operator -n kong-system --create-namespace
then run this command again (see https://developer.konghq.com/operator/)`, strings.Join(e.Missing, ", "))
}

// served is the set of resources the API server serves, from one discovery round.
type served map[schema.GroupVersionResource]bool

func discoverServed(dc discovery.DiscoveryInterface) (served, error) {
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovering the API server's resources: %w", err)
	}
	s := served{}
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				s[gv.WithResource(r.Name)] = true
			}
		}
	}
	return s, nil
}

func describeGVR(gvr schema.GroupVersionResource) string {
	return fmt.Sprintf("%s (%s/%s)", kinds[gvr], gvr.Group, gvr.Version)
}

// detect reads the generation from the CRDs the cluster serves, by the same rule as the webhook, lint
// and check (rules.GenerationFor): a v1alpha2 KonnectGatewayControlPlane is kong-operator 2.x; else the
// konnect.konghq.com KonnectExtension wins (KGO >= 1.5 ignores the old group). 0 when no KonnectExtension
// of any generation is served.
func (s served) detect() Generation {
	switch g := rules.GenerationFor(rules.Served{
		KonnectExtension:       s[gvrExtKonnect] || s[gvrExtKonnectV1alpha2],
		LegacyKonnectExtension: s[gvrExtOperator],
		ControlPlaneV1Alpha2:   s[gvrCPV1alpha2],
	}); {
	case g.KongOperator2():
		return KO20
	case g == rules.GenerationKGO15Plus:
		return KGO15
	case g == rules.GenerationKGO14:
		return KGO14
	}
	return 0
}

// parseKGOVersion reads --kgo-version.
func parseKGOVersion(override string) (Generation, error) {
	v := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(override), "v"))
	switch {
	case v == "1.4" || strings.HasPrefix(v, "1.4."):
		return KGO14, nil
	case v == "1.5" || v == "1.6" || strings.HasPrefix(v, "1.5.") || strings.HasPrefix(v, "1.6."):
		return KGO15, nil
	case v == "2" || strings.HasPrefix(v, "2."):
		return KO20, nil
	}
	return 0, fmt.Errorf("--kgo-version %q is not supported: use 1.4, 1.5, 1.6 or 2.x (kong-operator 2.x), or leave it out: init reads the generation from the CRDs the cluster serves", override)
}

// generation decides what to write: the generation the served CRDs say (detect), unless override
// (--kgo-version) says otherwise.
func (s served) generation(override string, dataPlane bool) (Generation, error) {
	detected := s.detect()
	var missing []string
	required := []schema.GroupVersionResource{gvrAuth, detected.cpGVR(), gvrDPCert}
	if dataPlane {
		required = append(required, gvrDataPlane)
	}
	if detected != 0 {
		required = append(required, detected.extensionGVR())
	}
	for _, gvr := range required {
		if !s[gvr] {
			missing = append(missing, describeGVR(gvr))
		}
	}
	if detected == 0 {
		missing = append(missing, "KonnectExtension (konnect.konghq.com/v1alpha2 or v1alpha1, or gateway-operator.konghq.com/v1alpha1)")
	}
	if len(missing) > 0 {
		return 0, &NotInstalledError{Missing: missing}
	}
	if strings.TrimSpace(override) == "" {
		return detected, nil
	}
	g, err := parseKGOVersion(override)
	if err != nil {
		return 0, err
	}
	for _, gvr := range []schema.GroupVersionResource{g.extensionGVR(), g.cpGVR()} {
		if !s[gvr] {
			return 0, fmt.Errorf("--kgo-version %s: the cluster does not serve %s, which %s acts on: leave --kgo-version out (the cluster serves the CRDs of %s), or install that KGO's CRDs",
				override, describeGVR(gvr), g, detected)
		}
	}
	return g, nil
}

// mirrorSupported says whether the served KonnectGatewayControlPlane has spec.source with Mirror
// (kubernetes-configuration >= v1.2, KGO >= 1.5), read from the API server's OpenAPI v3 document.
// kong-operator 2.x's v1alpha2 always has it.
func mirrorSupported(ctx context.Context, dc discovery.DiscoveryInterface, cp schema.GroupVersionResource) (bool, error) {
	if cp.Version == kgoapi.V1Alpha2 {
		return true, nil
	}
	paths, err := openapi.ToClientWithContext(dc.OpenAPIV3()).PathsWithContext(ctx)
	if err != nil {
		return false, err
	}
	gv, ok := paths["apis/"+cp.Group+"/"+cp.Version]
	if !ok {
		return false, errors.New("no OpenAPI v3 document for " + cp.Group + "/" + cp.Version)
	}
	b, err := gv.SchemaWithContext(ctx, "application/json")
	if err != nil {
		return false, err
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties struct {
					Spec struct {
						Properties map[string]struct {
							Enum []string `json:"enum"`
						} `json:"properties"`
					} `json:"spec"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, err
	}
	for name, sc := range doc.Components.Schemas {
		if strings.HasSuffix(name, ".KonnectGatewayControlPlane") {
			for _, v := range sc.Properties.Spec.Properties["source"].Enum {
				if v == "Mirror" {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return false, errors.New("KonnectGatewayControlPlane is not in the OpenAPI v3 document")
}
