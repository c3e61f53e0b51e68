package webhook

import (
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Rules returns the ValidatingWebhookConfiguration rules: CREATE and UPDATE
// of every kind that has at least one rule (rules.ValidatedKinds), all
// versions, one entry per API group. config/webhook/manifests.yaml must
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
	var out []admissionregistrationv1.RuleWithOperations
	for _, g := range groups {
		res := byGroup[g]
		sort.Strings(res)
		scope := admissionregistrationv1.NamespacedScope
		if clusterScopedGroups[g] {
			scope = admissionregistrationv1.AllScopes
		}
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

// clusterScopedGroups are the groups with a validated cluster-scoped kind
// (Gateway API's GatewayClass): their rule takes every scope.
var clusterScopedGroups = map[string]bool{rules.GroupGatewayAPI: true}

// resourceOf is the plural resource name of the validated kinds: the
// lower-cased kind plus "s", or "es" after an s (GatewayClass).
func resourceOf(kind string) string {
	k := strings.ToLower(kind)
	if strings.HasSuffix(k, "s") {
		return k + "es"
	}
	return k + "s"
}
