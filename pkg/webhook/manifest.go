package webhook

import (
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Rules returns the ValidatingWebhookConfiguration rules: CREATE and UPDATE
// of every kind that has at least one rule (rules.ValidatedKinds), all
// versions, one entry per API group, then DELETE of the kinds in
// rules.DeleteValidatedKinds. config/webhook/manifests.yaml must
// list exactly these; a test keeps them in step.
func Rules() []admissionregistrationv1.RuleWithOperations {
	byGroup := map[string][]string{}
	for _, gk := range rules.ValidatedKinds() {
		byGroup[gk.Group] = append(byGroup[gk.Group], resourceOf(gk.Kind))
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	scope := admissionregistrationv1.NamespacedScope
	var out []admissionregistrationv1.RuleWithOperations
	for _, g := range groups {
		res := byGroup[g]
		sort.Strings(res)
		out = append(out, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{
				APIGroups:   []string{g},
				APIVersions: []string{"*"},
				Resources:   res,
				Scope:       &scope,
			},
		})
	}
	// DELETE only for the kinds whose deletion a rule judges (a
	// KongReferenceGrant that objects depend on), in entries of their own so
	// that no other deletion reaches the webhook.
	for _, gk := range rules.DeleteValidatedKinds() {
		out = append(out, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
			Rule: admissionregistrationv1.Rule{
				APIGroups:   []string{gk.Group},
				APIVersions: []string{"*"},
				Resources:   []string{resourceOf(gk.Kind)},
				Scope:       &scope,
			},
		})
	}
	return out
}

// resourceOf is the plural resource name of the KGO/Konnect kinds, which all
// pluralise by adding "s" to the lower-cased kind.
func resourceOf(kind string) string { return strings.ToLower(kind) + "s" }
