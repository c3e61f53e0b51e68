package webhook

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Validator evaluates the rule catalogue for every kind the webhook is sent.
// Denials become one apierrors.NewInvalid with a field error per finding, so
// kubectl prints each field, the rule code, the message and the fix;
// warnings become admission warnings, which kubectl prints as "Warning: ...".
type Validator struct {
	Lookup  rules.Lookup
	Options rules.Options
}

var _ admission.Validator[*unstructured.Unstructured] = (*Validator)(nil)

// ValidateCreate implements admission.Validator.
func (v *Validator) ValidateCreate(_ context.Context, obj *unstructured.Unstructured) (admission.Warnings, error) {
	denies, warnings := rules.Evaluate(obj, v.Lookup, v.Options)
	return warnings, rules.Invalid(obj, denies)
}

// ValidateUpdate implements admission.Validator.
func (v *Validator) ValidateUpdate(_ context.Context, oldObj, newObj *unstructured.Unstructured) (admission.Warnings, error) {
	denies, warnings := rules.EvaluateUpdate(oldObj, newObj, v.Lookup, v.Options)
	return warnings, rules.Invalid(newObj, denies)
}

// ValidateDelete implements admission.Validator: a deletion is never
// denied, but deleting a KongReferenceGrant that cached objects still depend
// on draws a warning naming them (KON1904; the configuration sends DELETE
// only for the kinds of rules.DeleteValidatedKinds).
func (v *Validator) ValidateDelete(_ context.Context, obj *unstructured.Unstructured) (admission.Warnings, error) {
	return rules.EvaluateDelete(obj, v.Lookup, v.Options), nil
}
