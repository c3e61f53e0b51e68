package webhook

import (
	"fmt"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Rules returns the ValidatingWebhookConfiguration rules: CREATE and UPDATE
// of every kind that has at least one rule (rules.ValidatedKinds), all
// versions, one entry per API group, then DELETE of the kinds in
// rules.DeleteValidatedKinds. config/base/webhook.yaml must list exactly
// these; a test keeps them in step.
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

// resourceOf is the plural resource name of the validated kinds: the
// lower-cased kind plus "s", or "es" after an s (GatewayClass).
func resourceOf(kind string) string {
	k := strings.ToLower(kind)
	if strings.HasSuffix(k, "s") {
		return k + "es"
	}
	return k + "s"
}

// Names of the matchConditions of the ValidatingWebhookConfiguration.
const (
	// MatchUpdateChangesReviewedFields skips an UPDATE that changes none of
	// the fields the rules read of the object (rules.ReviewedFields): the
	// operator's own finalizer, annotation and label writes, for example.
	// Such an update cannot be denied (EvaluateUpdate only warns about a
	// denial the old object already had) and its warnings would only repeat
	// the ones the last change of those fields gave.
	MatchUpdateChangesReviewedFields = "update-changes-what-the-rules-read"
	// MatchUpdateNotDeleting skips an UPDATE of an object being deleted
	// (finalizer removals): rules report nothing then (rules.Findings).
	MatchUpdateNotDeleting = "update-of-an-object-not-being-deleted"
)

// MatchConditions are the CEL conditions under which the API server calls
// the webhook, generated from what the rules read of the object under
// review (rules.ReviewedFields). Every condition is true for any operation
// other than UPDATE, so that a rule judging another operation (a DELETE)
// composes. config/base/webhook.yaml must list exactly these; a test keeps
// them in step, and an envtest test proves a real API server applies them.
func MatchConditions() []admissionregistrationv1.MatchCondition {
	return []admissionregistrationv1.MatchCondition{
		{Name: MatchUpdateChangesReviewedFields, Expression: updateChangesExpression()},
		{Name: MatchUpdateNotDeleting, Expression: "request.operation != 'UPDATE' || !has(object.metadata.deletionTimestamp)"},
	}
}

// updateChangesExpression: not an UPDATE, or one of the reviewed fields of
// the request's kind differs between object and oldObject. A field read by
// every validated kind is compared for all; one read by some kinds only is
// compared when the request is of one of them.
func updateChangesExpression() string {
	kinds := rules.ValidatedKinds()
	readers := map[string][]schema.GroupKind{}
	paths := map[string][]string{}
	for _, gk := range kinds {
		for _, p := range rules.ReviewedFields(gk) {
			key := strings.Join(p, ".")
			readers[key] = append(readers[key], gk)
			paths[key] = p
		}
	}
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	// Fields every kind reads first, then by path.
	sort.Slice(keys, func(i, j int) bool {
		ai, aj := len(readers[keys[i]]) == len(kinds), len(readers[keys[j]]) == len(kinds)
		if ai != aj {
			return ai
		}
		return keys[i] < keys[j]
	})
	terms := []string{"request.operation != 'UPDATE'"}
	for _, k := range keys {
		changed := celChanged(paths[k])
		if len(readers[k]) == len(kinds) {
			terms = append(terms, changed)
			continue
		}
		var of []string
		for _, gk := range readers[k] {
			of = append(of, fmt.Sprintf("(request.kind.group == '%s' && request.kind.kind == '%s')", gk.Group, gk.Kind))
		}
		sort.Strings(of)
		terms = append(terms, fmt.Sprintf("((%s) && %s)", strings.Join(of, " || "), changed))
	}
	return strings.Join(terms, "\n|| ")
}

// celChanged is a CEL expression that is true when the field at path is
// present in only one of object and oldObject, or differs between them.
// has() guards every step: a missing key is an evaluation error in CEL,
// and with failurePolicy Ignore an error would skip the webhook.
func celChanged(path []string) string {
	for _, p := range path {
		if !celIdentifier(p) {
			// Reserved words and other names would need CEL's escaping;
			// no reviewed field needs it today, and a test runs this.
			panic(fmt.Sprintf("webhook: reviewed field %q is not a plain CEL identifier", strings.Join(path, ".")))
		}
	}
	present := func(root string) string {
		var has []string
		for i := range path {
			has = append(has, "has("+root+"."+strings.Join(path[:i+1], ".")+")")
		}
		return strings.Join(has, " && ")
	}
	field := strings.Join(path, ".")
	return fmt.Sprintf("((%s) != (%s) || (%s && object.%s != oldObject.%s))",
		present("object"), present("oldObject"), present("object"), field, field)
}

// celReserved are CEL's reserved words, which a field selection cannot use
// unescaped.
var celReserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true, "const": true, "continue": true, "else": true,
	"for": true, "function": true, "if": true, "import": true, "let": true, "loop": true, "package": true, "namespace": true,
	"return": true, "var": true, "void": true, "while": true,
}

func celIdentifier(s string) bool {
	if s == "" || celReserved[s] {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}
