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

// ValidateDelete implements admission.Validator: deletions are never checked
// (the configuration only sends CREATE and UPDATE).
func (v *Validator) ValidateDelete(context.Context, *unstructured.Unstructured) (admission.Warnings, error) {
	return nil, nil
}
