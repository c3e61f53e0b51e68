package kgoapi

// Labels the operators read on the Secrets they are pointed at.
const (
	// SecretLabel is kong-operator 2.x's Secret label selector: with its default
	// --secret-label-selector konghq.com/secret, the manager's cache holds only Secrets whose
	// label is "true", so any other Secret is "not found" to every controller (Kong/kong-operator
	// modules/manager/config/consts.go DefaultSecretLabelSelector, cache_options.go
	// setByObjectFor, the same from v2.0.0 to v2.3.0-rc.3). KGO 1.x reads every Secret; the
	// label does no harm there and keeps a Secret readable across an upgrade to 2.x.
	SecretLabel = "konghq.com/secret"
	// SecretLabelValue is the value SecretLabel must have ("internal" is for the operator's own).
	SecretLabelValue = "true"
	// DataPlaneCertLabel marks a Secret as a data-plane certificate: the KonnectExtension
	// controller watches only Secrets carrying it, so without it a change to the Secret
	// (creating it late, adding a label) never wakes the extension up
	// (controller/konnect/konnectextension_controller.go SetupWithManager, KGO v1.5.0 to
	// kong-operator v2.3.0-rc.3).
	DataPlaneCertLabel = "konghq.com/konnect-dp-cert"
)

// OperatorSecretLabels are the labels every Secret we write for the operator to read carries.
func OperatorSecretLabels() map[string]string {
	return map[string]string{SecretLabel: SecretLabelValue}
}

// DataPlaneCertSecretLabels are the labels of a data-plane certificate Secret.
func DataPlaneCertSecretLabels() map[string]string {
	return map[string]string{SecretLabel: SecretLabelValue, DataPlaneCertLabel: "true"}
}

// OperatorCanSeeSecret says whether kong-operator 2.x (with its default selector) can read a Secret
// with these labels. KGO 1.x can read them all.
func OperatorCanSeeSecret(labels map[string]string, kongOperator2 bool) bool {
	return !kongOperator2 || labels[SecretLabel] == SecretLabelValue
}
