package check

// Catalogue is every check, by category, in the order they run and print.
// IDs are stable: a retired check's ID is never given to another check.
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

// IDs of the checks, for Needs and for tests.
const (
	IDKGOCRDs                = "kgo-crds"
	IDKGOGeneration          = "kgo-generation"
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
	IDWebhookInstalled       = "webhook-installed"
	IDWebhookServing         = "webhook-serving"
	IDWebhookCertificate     = "webhook-certificate"
	IDWebhookDryRun          = "webhook-dry-run"
)
