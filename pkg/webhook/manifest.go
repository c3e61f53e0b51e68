package webhook

import (
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Rules returns the ValidatingWebhookConfiguration rules: CREATE and UPDATE
// of every kind that has at least one rule (rules.ValidatedKinds), all
// versions, one entry per API group. config/base/webhook.yaml must list
// exactly these; a test keeps them in step.
//
// Scope is "*": the rules judge cluster-scoped kinds too (KongVault), and a
// "Namespaced" rule never sends those. Namespaced kinds are still filtered
// by the webhook's namespaceSelector; cluster-scoped ones never are.
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
	scope := admissionregistrationv1.AllScopes
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
	return out
}

// resourceOf is the plural resource name of the KGO/Konnect kinds, which all
// pluralise by adding "s" to the lower-cased kind.
func resourceOf(kind string) string { return strings.ToLower(kind) + "s" }
