package webhook

import (
	"strings"
	"testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Every field the rules read of a validated kind is compared by the
// generated condition, and only under that kind when other kinds do not
// read it.
func TestMatchConditionComparesEveryReviewedField(t *testing.T) {
	expr := updateChangesExpression()
	if !strings.HasPrefix(expr, "request.operation != 'UPDATE'\n") {
		t.Fatalf("the condition must let every operation but UPDATE through, so that rules on other operations compose:\n%s", expr)
	}
	for _, gk := range rules.ValidatedKinds() {
		for _, p := range rules.ReviewedFields(gk) {
			field := strings.Join(p, ".")
			if !strings.Contains(expr, "object."+field+" != oldObject."+field) {
				t.Errorf("%s: %s is not compared:\n%s", gk, field, expr)
			}
		}
	}
	if !strings.Contains(expr, "request.kind.kind == 'KongConsumer')) && ((has(object.consumerGroups))") {
		t.Errorf("consumerGroups, read of KongConsumers only, must be compared under that kind:\n%s", expr)
	}
}

func TestCELIdentifiers(t *testing.T) {
	for s, want := range map[string]bool{"spec": true, "cluster_type": true, "consumerGroups": true, "namespace": false, "in": false, "tls.crt": false, "1a": false, "": false} {
		if got := celIdentifier(s); got != want {
			t.Errorf("celIdentifier(%q) = %v, want %v", s, got, want)
		}
	}
}
