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
)

func (g Generation) String() string {
	switch g {
	case KGO14:
		return "KGO 1.4"
	case KGO15:
		return "KGO 1.5/1.6"
	}
	return "unknown KGO"
}

// The kinds init reads and writes. Their group/versions are the same in every generation but the
// KonnectExtension's.
var (
	gvrSecret      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrNamespace   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrAuth        = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectapiauthconfigurations"}
	gvrCP          = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectgatewaycontrolplanes"}
	gvrDPCert      = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongdataplaneclientcertificates"}
	gvrExtKonnect  = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectextensions"}
	gvrExtOperator = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1alpha1", Resource: "konnectextensions"}
	gvrDataPlane   = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1beta1", Resource: "dataplanes"}

	// gvrExtKonnectV1alpha2 is kong-operator 2.x's KonnectExtension, which init does not write.
	gvrExtKonnectV1alpha2 = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha2", Resource: "konnectextensions"}
)

var kinds = map[schema.GroupVersionResource]string{
	gvrSecret:      "Secret",
	gvrAuth:        "KonnectAPIAuthConfiguration",
	gvrCP:          "KonnectGatewayControlPlane",
	gvrDPCert:      "KongDataPlaneClientCertificate",
	gvrExtKonnect:  "KonnectExtension",
	gvrExtOperator: "KonnectExtension",
	gvrDataPlane:   "DataPlane",
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
	if g == KGO14 {
		return gvrExtOperator
	}
	return gvrExtKonnect
}

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

// generation decides what to write: the KonnectExtension the cluster serves (konnect.konghq.com
// first: KGO >= 1.5 ignores the old group), unless override (--kgo-version) says otherwise.
func (s served) generation(override string, dataPlane bool) (Generation, error) {
	var missing []string
	required := []schema.GroupVersionResource{gvrAuth, gvrCP, gvrDPCert}
	if dataPlane {
		required = append(required, gvrDataPlane)
	}
	for _, gvr := range required {
		if !s[gvr] {
			missing = append(missing, describeGVR(gvr))
		}
	}
	if !s[gvrExtKonnect] && !s[gvrExtOperator] {
		if s[gvrExtKonnectV1alpha2] {
			return 0, errors.New("this cluster runs kong-operator 2.x (it serves KonnectExtension konnect.konghq.com/v1alpha2 only): " +
				"init writes the objects of KGO 1.4 to 1.6 and does not support kong-operator 2.x yet")
		}
		missing = append(missing, "KonnectExtension (konnect.konghq.com/v1alpha1 or gateway-operator.konghq.com/v1alpha1)")
	}
	if len(missing) > 0 {
		return 0, &NotInstalledError{Missing: missing}
	}
	var g Generation
	switch v := strings.TrimPrefix(strings.TrimSpace(override), "v"); {
	case v == "":
		g = KGO14
		if s[gvrExtKonnect] {
			g = KGO15
		}
		return g, nil
	case v == "1.4" || strings.HasPrefix(v, "1.4."):
		g = KGO14
	case v == "1.5" || v == "1.6" || strings.HasPrefix(v, "1.5.") || strings.HasPrefix(v, "1.6."):
		g = KGO15
	default:
		return 0, fmt.Errorf("--kgo-version %q is not supported: use 1.4, 1.5 or 1.6 (or leave it out: init reads the generation from the CRDs the cluster serves)", override)
	}
	if !s[g.extensionGVR()] {
		return 0, fmt.Errorf("--kgo-version %s: the cluster does not serve %s, which %s acts on: leave --kgo-version out, or install that KGO's CRDs",
			override, describeGVR(g.extensionGVR()), g)
	}
	return g, nil
}

// mirrorSupported says whether the served KonnectGatewayControlPlane has spec.source with Mirror
// (kubernetes-configuration >= v1.2, KGO >= 1.5), read from the API server's OpenAPI v3 document.
func mirrorSupported(ctx context.Context, dc discovery.DiscoveryInterface) (bool, error) {
	paths, err := openapi.ToClientWithContext(dc.OpenAPIV3()).PathsWithContext(ctx)
	if err != nil {
		return false, err
	}
	gv, ok := paths["apis/"+gvrCP.Group+"/"+gvrCP.Version]
	if !ok {
		return false, errors.New("no OpenAPI v3 document for " + gvrCP.Group + "/" + gvrCP.Version)
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
