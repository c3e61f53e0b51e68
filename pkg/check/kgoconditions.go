package check

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// KGO's own verdict comes first. The operator writes status conditions on
// every object along the path (KonnectAPIAuthConfiguration,
// KonnectGatewayControlPlane, KongDataPlaneClientCertificate,
// KonnectExtension, DataPlane); a check reads the ones about what it
// checks, reports them with their reason and message before its own
// inferences, and never passes when KGO says False on the same object: KGO is
// what configures the data plane, so its failure is the failure, whatever
// the check can see from outside (issue 15: check passed the extension's
// target while KGO 1.5.1 had set ControlPlaneRefValid=False).

// kgoCondition is one condition as KGO wrote it.
type kgoCondition struct {
	Type, Status, Reason, Message string
}

func (c kgoCondition) String() string {
	s := fmt.Sprintf("%s=%s", c.Type, c.Status)
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// kgoConditions returns u's conditions of the given types (all when none is
// given), in the order KGO wrote them.
func kgoConditions(u *unstructured.Unstructured, types ...string) []kgoCondition {
	if u == nil {
		return nil
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []kgoCondition
	for _, c := range conds {
		m, _ := c.(map[string]any)
		var kc kgoCondition
		kc.Type, _ = m["type"].(string)
		kc.Status, _ = m["status"].(string)
		kc.Reason, _ = m["reason"].(string)
		kc.Message, _ = m["message"].(string)
		if kc.Type == "" || (len(types) > 0 && !slices.Contains(types, kc.Type)) {
			continue
		}
		out = append(out, kc)
	}
	return out
}

// kgoFalse returns u's conditions of the given types (all when none is
// given) that KGO set to False.
func kgoFalse(u *unstructured.Unstructured, types ...string) []kgoCondition {
	var out []kgoCondition
	for _, c := range kgoConditions(u, types...) {
		if c.Status == "False" {
			out = append(out, c)
		}
	}
	return out
}

// kgoSaysNo is the failure of a check whose object KGO reports False on one
// of types, quoting KGO; ok is false when KGO does not contradict.
func kgoSaysNo(u *unstructured.Unstructured, what, describe string, types ...string) (Result, bool) {
	bad := kgoFalse(u, types...)
	if len(bad) == 0 {
		return Result{}, false
	}
	return Failed("KGO says why in status.conditions: "+describe, "KGO reports on %s: %s", what, joinConditions(bad)), true
}

func joinConditions(cs []kgoCondition) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "; ")
}

// alsoFalse renders the other False conditions of u (not typ), to follow a
// failing condition: "; KGO also reports X=False (R): m".
func alsoFalse(u *unstructured.Unstructured, typ string) string {
	var others []kgoCondition
	for _, c := range kgoFalse(u) {
		if c.Type != typ {
			others = append(others, c)
		}
	}
	if len(others) == 0 {
		return ""
	}
	return "; KGO also reports " + joinConditions(others)
}
