package rules

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What the rules read of the object under review (not of looked-up
// objects: that is keptFields). The webhook's matchConditions are generated
// from this table (pkg/webhook.MatchConditions): an UPDATE that changes
// none of these fields cannot change the rules' answer, so the API server
// need not call the webhook. runCases checks every rule test case against
// ReviewedProjection, so a rule that starts reading a field missing here
// fails its own test.
//
// Besides these fields, rules read the object's identity, which an UPDATE
// cannot change (apiVersion and kind: both objects of an admission review
// come in the same version; metadata.name and metadata.namespace), and
// metadata.deletionTimestamp, with which no rule reports anything
// (Findings). No rule reads the object's labels, annotations, finalizers,
// owner references or managed fields.
var reviewedFields = map[schema.GroupKind][][]string{
	// KongConsumer keeps its consumer groups at the top level (KON1301,
	// KON1302), beside spec.
	GKKongConsumer: {{"spec"}, {"consumerGroups"}},
	// A KonnectExtension bound to a KIC control plane says so in its status
	// (KON1602, KON1603 via extensionClusterType).
	GKKonnectExtension: {{"spec"}, {"status", "konnect", "clusterType"}},
}

// defaultReviewedFields are what rules read of every other validated kind.
var defaultReviewedFields = [][]string{{"spec"}}

// ReviewedFields are the field paths the rules read of an object of kind gk
// under review, besides its identity (see reviewedFields). Paths are JSON
// field names from the object's root.
func ReviewedFields(gk schema.GroupKind) [][]string {
	if f, ok := reviewedFields[gk]; ok {
		return f
	}
	return defaultReviewedFields
}

// ReviewedFieldsByKind is ReviewedFields for every kind that reads more
// than defaultReviewedFields, and the default for the rest.
func ReviewedFieldsByKind() (byKind map[schema.GroupKind][][]string, others [][]string) {
	byKind = map[schema.GroupKind][][]string{}
	for gk, f := range reviewedFields {
		byKind[gk] = f
	}
	return byKind, defaultReviewedFields
}

// ReviewedProjection is obj reduced to what the rules may read of it under
// review: its identity and ReviewedFields. Findings of the projection equal
// Findings of obj; a test checks that for every rule test case.
func ReviewedProjection(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := obj.Object[k]; ok {
			out.Object[k] = v
		}
	}
	md := map[string]any{}
	for _, k := range []string{"name", "namespace", "deletionTimestamp"} {
		if v := nested(obj.Object, "metadata", k); v != nil {
			md[k] = v
		}
	}
	out.Object["metadata"] = md
	for _, p := range ReviewedFields(obj.GroupVersionKind().GroupKind()) {
		if v := nested(obj.Object, p...); v != nil {
			_ = unstructured.SetNestedField(out.Object, runtime.DeepCopyJSONValue(v), p...)
		}
	}
	return out
}
