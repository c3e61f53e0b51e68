package initcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Generation is the operator release init writes for: a rules.Generation, so that init names the
// release as the webhook, lint and check do. What init writes changes with the API (KGO14, KGO15, then
// any kong-operator 2.x alike) and, by release, the DataPlane's default image (defaultImage).
type Generation rules.Generation

const (
	// KGO14 is KGO 1.4: gateway-operator.konghq.com/v1alpha1 KonnectExtension, whose konnectID is the
	// endpoint prefix, with region and server host name spelled out.
	KGO14 = Generation(rules.GenerationKGO14)
	// KGO15 is KGO 1.5 and 1.6: konnect.konghq.com/v1alpha1 KonnectExtension referring to the
	// KonnectGatewayControlPlane; control planes created elsewhere are adopted with source: Mirror.
	KGO15 = Generation(rules.GenerationKGO15Plus)
	// KO20 .. KO23 are kong-operator 2.0 .. 2.3: konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane
	// (the Konnect request in spec.createControlPlaneRequest) and KonnectExtension; adoption is a
	// Mirror, as on KGO15. The objects are the same on all four.
	KO20 = Generation(rules.GenerationKO20)
	KO21 = Generation(rules.GenerationKO21)
	KO22 = Generation(rules.GenerationKO22)
	KO23 = Generation(rules.GenerationKO23)
)

// release is the generation as the rules name it.
func (g Generation) release() rules.Generation { return rules.Generation(g) }

// kongOperator2 says whether g is a kong-operator 2.x release (v1alpha2 objects).
func (g Generation) kongOperator2() bool { return g.release().KongOperator2() }

// String names the release: "KGO 1.4", "KGO 1.5/1.6", "kong-operator 2.2".
func (g Generation) String() string {
	if g == "" {
		return "unknown KGO"
	}
	return g.release().Release()
}

// defaultImages is the DataPlane image init writes unless --image says otherwise, by release: the Kong
// Gateway minor kong-operator itself defaults to and uses in its samples from 2.1 on
// (DefaultDataPlaneTag in pkg/consts and the kong/kong-gateway images of config/samples, e.g.
// config/samples/dataplane-with-nodeport.yaml, of Kong/kong-operator at v2.1.0: 3.13, v2.2.3: 3.14,
// v2.3.0-rc.3: 3.15). Up to kong-operator 2.0 (samples: 3.8 at gateway-operator v1.4.2, 3.9 at
// v1.5.1, 3.10 at v1.6.2, 3.11 at kong-operator v2.0.11) init keeps the image it has always written,
// which all of those run.
var defaultImages = map[Generation]string{
	KO21: "kong/kong-gateway:3.13",
	KO22: "kong/kong-gateway:3.14",
	KO23: "kong/kong-gateway:3.15",
}

// defaultImage is the DataPlane image of the release when --image is not given.
func (g Generation) defaultImage() string {
	if img, ok := defaultImages[g]; ok {
		return img
	}
	return DefaultImage
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
	switch {
	case g == KGO14:
		return gvrExtOperator
	case g.kongOperator2():
		return gvrExtKonnectV1alpha2
	}
	return gvrExtKonnect
}

// cpVersion is the KonnectGatewayControlPlane version init reads and writes: kong-operator 2.x
// stores v1alpha2 and only converts the deprecated v1alpha1.
func (g Generation) cpVersion() string {
	if g.kongOperator2() {
		return kgoapi.V1Alpha2
	}
	return kgoapi.V1Alpha1
}

// cpGVR is the KonnectGatewayControlPlane resource of the generation.
func (g Generation) cpGVR() schema.GroupVersionResource { return kgoapi.ControlPlaneGVR(g.cpVersion()) }

// mirrors says whether the generation adopts a control plane made elsewhere with source: Mirror.
func (g Generation) mirrors() bool { return g == KGO15 || g.kongOperator2() }

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

// facts are the discovery facts of rules.Served, with what the KonnectGatewayControlPlane CRD says of
// its release.
func (s served) facts(crd kgoapi.CRDVersion) rules.Served {
	f := rules.ServedFromResources(slices.Collect(maps.Keys(s)))
	f.CRDVersion, f.CRDUnread = crd.Version, crd.Unread
	return f
}

// detect reads the release by the same rule as the webhook, lint and check (rules.GenerationFor): on
// kong-operator 2.x the KonnectGatewayControlPlane CRD's version annotation, else the kinds served (a
// v1alpha2 KonnectGatewayControlPlane is kong-operator 2.x; else the konnect.konghq.com KonnectExtension
// wins, as KGO >= 1.5 ignores the old group). "" when no KonnectExtension of any generation is served.
func (s served) detect(crd kgoapi.CRDVersion) Generation {
	if g := rules.GenerationFor(s.facts(crd)); g.Known() {
		return Generation(g)
	}
	return ""
}

// parseKGOVersion reads --kgo-version: a release (1.4 .. 2.3, v2.2.3), or 2 / 2.x for the kong-operator
// 2 release the cluster runs (detected), the newest known when the cluster runs none.
func parseKGOVersion(override string, detected Generation) (Generation, error) {
	v := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(override), "v"))
	if (v == "2" || v == "2.x") && detected.kongOperator2() {
		return detected, nil
	}
	g, err := rules.ParseRelease(v)
	if err != nil {
		return "", fmt.Errorf("--kgo-version %q is not supported: use %s, or leave it out: init reads the release from the CRDs the cluster serves", override, rules.ReleaseVersions)
	}
	return Generation(g), nil
}

// generation decides what to write: the release the cluster runs (detect, with crd what the
// KonnectGatewayControlPlane CRD says), unless override (--kgo-version) says otherwise.
func (s served) generation(override string, dataPlane bool, crd kgoapi.CRDVersion) (Generation, error) {
	detected := s.detect(crd)
	var missing []string
	required := []schema.GroupVersionResource{gvrAuth, detected.cpGVR(), gvrDPCert}
	if dataPlane {
		required = append(required, gvrDataPlane)
	}
	if detected != "" {
		required = append(required, detected.extensionGVR())
	}
	for _, gvr := range required {
		if !s[gvr] {
			missing = append(missing, describeGVR(gvr))
		}
	}
	if detected == "" {
		missing = append(missing, "KonnectExtension (konnect.konghq.com/v1alpha2 or v1alpha1, or gateway-operator.konghq.com/v1alpha1)")
	}
	if len(missing) > 0 {
		return "", &NotInstalledError{Missing: missing}
	}
	if strings.TrimSpace(override) == "" {
		return detected, nil
	}
	g, err := parseKGOVersion(override, detected)
	if err != nil {
		return "", err
	}
	for _, gvr := range []schema.GroupVersionResource{g.extensionGVR(), g.cpGVR()} {
		if !s[gvr] {
			return "", fmt.Errorf("--kgo-version %s: the cluster does not serve %s, which %s acts on: leave --kgo-version out (the cluster serves the CRDs of %s), or install that KGO's CRDs",
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
