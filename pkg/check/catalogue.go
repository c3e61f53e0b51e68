package check

import "slices"

// Catalogue is every check, by category, in the order they run and print,
// without --gateway (see CatalogueFor). IDs are stable: a retired check's
// ID is never given to another check.
func Catalogue() []Category {
	return []Category{
		{ID: "kgo", Name: "Kong Gateway Operator", Checks: kgoChecks()},
		{ID: "auth", Name: "Konnect API authentication", Checks: authChecks()},
		{ID: "controlplane", Name: "Konnect control plane", Checks: controlPlaneChecks()},
		{ID: "certificate", Name: "Data plane certificate", Checks: certificateChecks()},
		{ID: "extension", Name: "KonnectExtension", Checks: extensionChecks()},
		{ID: "dataplane", Name: "Data plane", Checks: dataPlaneChecks()},
		{ID: "webhook", Name: "Admission webhook", Checks: webhookChecks()},
	}
}

// gatewayCategory and routesCategory are the categories of --gateway.
func gatewayCategory() Category {
	return Category{ID: "gateway", Name: "Gateway API (hybrid Gateway)", Checks: gatewayChecks()}
}

func routesCategory() Category {
	return Category{ID: "httproutes", Name: "HTTPRoutes", Checks: routeChecks()}
}

// CatalogueFor is the catalogue for the options: Catalogue, and with
// Options.Gateway the gateway category right after kgo and the routes
// category right before webhook. The Konnect categories then check the
// Gateway's own control plane and data plane: they need gateway-found, and
// the checks that find what kong-operator creates for the Gateway settle
// (--wait waits for kong-operator to create them).
func CatalogueFor(o Options) []Category {
	cats := Catalogue()
	if o.Gateway == "" {
		return cats
	}
	out := make([]Category, 0, len(cats)+2)
	for _, cat := range cats {
		if cat.ID == "webhook" {
			out = append(out, routesCategory())
		}
		if cat.ID != "kgo" && cat.ID != "webhook" {
			for i := range cat.Checks {
				c := &cat.Checks[i]
				if slices.Contains(c.Needs, IDKGOGeneration) {
					c.Needs = append(slices.Clone(c.Needs), IDGatewayFound)
				}
				if c.ID == IDControlPlaneFound || c.ID == IDDataPlaneFound {
					c.Retry = true
				}
			}
		}
		out = append(out, cat)
		if cat.ID == "kgo" {
			out = append(out, gatewayCategory())
		}
	}
	return out
}

// AllCategories is every category any run may have, in order, for
// docs/check.md: CatalogueFor with --gateway, with the checks as Catalogue
// defines them.
func AllCategories() []Category {
	cats := Catalogue()
	out := make([]Category, 0, len(cats)+2)
	for _, cat := range cats {
		if cat.ID == "webhook" {
			out = append(out, routesCategory())
		}
		out = append(out, cat)
		if cat.ID == "kgo" {
			out = append(out, gatewayCategory())
		}
	}
	return out
}

// IDs of the checks, for Needs and for tests.
const (
	IDKGOCRDs                = "kgo-crds"
	IDKGOGeneration          = "kgo-generation"
	IDGatewayFound           = "gateway-found"
	IDGatewayClass           = "gateway-class"
	IDGatewayConfiguration   = "gateway-configuration"
	IDGatewayProgrammed      = "gateway-programmed"
	IDAuthFound              = "auth-found"
	IDAuthToken              = "auth-token"
	IDAuthTokenValid         = "auth-token-valid"
	IDAuthRegion             = "auth-region"
	IDControlPlaneFound      = "controlplane-found"
	IDControlPlaneProgrammed = "controlplane-programmed"
	IDControlPlaneEndpoint   = "controlplane-endpoint"
	IDControlPlaneType       = "controlplane-cluster-type"
	IDCertificateSecret      = "certificate-secret"
	IDCertificateExpiry      = "certificate-expiry"
	IDCertificateRegistered  = "certificate-registered"
	IDExtensionFound         = "extension-found"
	IDExtensionTarget        = "extension-target"
	IDExtensionReady         = "extension-ready"
	IDDataPlaneFound         = "dataplane-found"
	IDDataPlaneReady         = "dataplane-ready"
	IDDataPlaneConnected     = "dataplane-connected"
	IDHTTPRoutesAccepted     = "httproutes-accepted"
	IDHTTPRoutesProgrammed   = "httproutes-programmed"
	IDWebhookInstalled       = "webhook-installed"
	IDWebhookServing         = "webhook-serving"
	IDWebhookCertificate     = "webhook-certificate"
	IDWebhookDryRun          = "webhook-dry-run"
)
