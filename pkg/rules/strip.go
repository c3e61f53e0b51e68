package rules

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// CredentialLabel marks a Secret that holds a Konnect token for a
// KonnectAPIAuthConfiguration of type secretRef; its value must be
// CredentialLabelValue.
const (
	CredentialLabel      = "konghq.com/credential"
	CredentialLabelValue = "konnect"
	// OperatorSecretLabel is kong-operator 2.x's Secret selector: it reads only Secrets whose
	// label is OperatorSecretLabelValue.
	OperatorSecretLabel      = kgoapi.SecretLabel
	OperatorSecretLabelValue = kgoapi.SecretLabelValue
	// DataPlaneCertLabel is the label the KonnectExtension controller watches Secrets by.
	DataPlaneCertLabel = kgoapi.DataPlaneCertLabel
)

// keptFields lists, per kind, the fields besides the common metadata that
// Strip keeps because a rule reads them from a looked-up object.
var keptFields = map[schema.GroupKind][][]string{
	GKKonnectGatewayControlPlane: {
		{"spec", "name"},
		{"spec", "cluster_type"},
		{"spec", "source"},
		{"spec", "mirror", "konnect", "id"},
		{"spec", "konnect", "authRef", "name"},
		{"spec", "konnect", "authRef", "namespace"},
		{"spec", "createControlPlaneRequest", "name"},
		{"spec", "createControlPlaneRequest", "cluster_type"},
		{"status", "id"},
		{"status", "clusterType"},
	},
	GKKongService:       {{"spec", "controlPlaneRef"}, {"spec", "caCertificateRefs"}, {"spec", "clientCertificateRef"}},
	GKKongRoute:         {{"spec", "controlPlaneRef"}, {"spec", "serviceRef"}},
	GKKongConsumer:      {{"spec", "controlPlaneRef"}},
	GKKongConsumerGroup: {{"spec", "controlPlaneRef"}},
	GKKongKeySet:        {{"spec", "controlPlaneRef"}},
	GKKonnectExtension: {
		{"spec", "konnect", "controlPlane", "ref"},
		{"status", "konnect", "clusterType"},
		{"status", "konnect", "controlPlaneID"},
	},
	GKSecret: {{"type"}},
	// What a grant permits (KON1901, KON1904).
	GKKongReferenceGrant: {{"spec", "from"}, {"spec", "to"}},
	// Hybrid Gateway rules (rules_gateway.go).
	GKGatewayConfiguration: {{"spec", "konnect"}},
	GKGatewayClass:         {{"spec", "controllerName"}, {"spec", "parametersRef"}},
}

// commonMetadata is kept for every kind.
var commonMetadata = []string{"name", "namespace", "uid", "resourceVersion"}

// KeptFields describes, per kind, what Strip keeps (for documentation).
func KeptFields() map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for _, gk := range LookupKinds() {
		var fs []string
		for _, m := range commonMetadata {
			fs = append(fs, "metadata."+m)
		}
		if gk == GKSecret {
			fs = append(fs, "metadata.labels["+CredentialLabel+"]", "metadata.labels["+OperatorSecretLabel+"]")
		}
		for _, p := range keptFields[gk] {
			fs = append(fs, joinPath(p))
		}
		if gk == GKSecret {
			fs = append(fs, "data (key names only, values dropped)")
		}
		out[gk] = fs
	}
	return out
}

// MetadataOnly reports whether Strip keeps nothing of a kind beyond the
// common metadata: rules only test that such objects exist, so a cache may
// watch their metadata only. Secrets are not: Strip keeps their type and
// key names (a cache that watches their metadata only gives up KON1503 and
// KON1605, see Rule.NeedsSecretKeys).
func MetadataOnly(gk schema.GroupKind) bool {
	return gk != GKSecret && len(keptFields[gk]) == 0
}

func joinPath(p []string) string {
	s := ""
	for i, e := range p {
		if i > 0 {
			s += "."
		}
		s += e
	}
	return s
}

// Strip returns a copy of obj with only what rules read from looked-up
// objects, to keep a cache of many objects small. It keeps apiVersion,
// kind, metadata name/namespace/uid/resourceVersion and, per kind:
//
//   - KonnectGatewayControlPlane: spec.name, spec.cluster_type, spec.source,
//     spec.mirror.konnect.id, spec.konnect.authRef.{name,namespace},
//     spec.createControlPlaneRequest.{name,cluster_type} (v1alpha2), status.id,
//     status.clusterType (v1alpha2: the cluster type of a Mirror)
//   - KongService: spec.controlPlaneRef, spec.caCertificateRefs,
//     spec.clientCertificateRef (the references a grant may permit)
//   - KongConsumer, KongConsumerGroup, KongKeySet: spec.controlPlaneRef
//   - KongRoute: spec.controlPlaneRef, spec.serviceRef
//   - KonnectExtension (konnect.konghq.com): spec.konnect.controlPlane.ref,
//     status.konnect.{clusterType,controlPlaneID}
//   - KongReferenceGrant: spec.from, spec.to
//   - Secret: type, the label konghq.com/credential, and the key names of
//     data with empty values. Values are never kept: rules may read only
//     metadata and key names. A stripped full Secret always has a data map,
//     so rules can tell "no keys" from a metadata-only object (from a
//     metadata informer: no type, no data), whose keys are unknown and not
//     checked.
//
// Other kinds (KonnectAPIAuthConfiguration, KongPlugin, the
// gateway-operator.konghq.com KonnectExtension, ...) keep metadata only:
// rules only test that they exist. Labels, annotations, managed fields,
// owner references, conditions and the rest are dropped.
//
// Strip of an already stripped object returns an equal object, so it is
// safe as an informer transform.
func Strip(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil {
		return nil
	}
	gk := obj.GroupVersionKind().GroupKind()
	out := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": obj.GetAPIVersion(),
		"kind":       obj.GetKind(),
	}}
	md := map[string]any{}
	for _, k := range commonMetadata {
		if v, ok := nested(obj.Object, "metadata", k).(string); ok && v != "" {
			md[k] = v
		}
	}
	if gk == GKSecret {
		labels := map[string]any{}
		for _, k := range []string{CredentialLabel, OperatorSecretLabel} {
			if v, ok := obj.GetLabels()[k]; ok {
				labels[k] = v
			}
		}
		if len(labels) > 0 {
			md["labels"] = labels
		}
	}
	out.Object["metadata"] = md
	for _, p := range keptFields[gk] {
		if v := nested(obj.Object, p...); v != nil {
			_ = unstructured.SetNestedField(out.Object, runtime.DeepCopyJSONValue(v), p...)
		}
	}
	if gk == GKSecret && secretKeysKnown(obj) {
		keys := map[string]any{}
		for k := range nestedMap(obj.Object, "data") {
			keys[k] = ""
		}
		// stringData only appears in objects that were never stored (files
		// for lint); the API server merges it into data.
		for k := range nestedMap(obj.Object, "stringData") {
			keys[k] = ""
		}
		out.Object["data"] = keys
	}
	return out
}

// secretKeysKnown: an object read from the API server always has type
// (defaulted to Opaque); a metadata-only object has neither type nor data.
func secretKeysKnown(obj *unstructured.Unstructured) bool {
	for _, f := range []string{"type", "data", "stringData"} {
		if _, ok := obj.Object[f]; ok {
			return true
		}
	}
	return false
}

// secretKeys returns the key names of a (stripped or full) Secret and
// whether they are known.
func secretKeys(secret *unstructured.Unstructured) (map[string]any, bool) {
	data, ok := secret.Object["data"].(map[string]any)
	if !ok {
		if !secretKeysKnown(secret) {
			return nil, false
		}
		data = map[string]any{}
	}
	if sd, ok := secret.Object["stringData"].(map[string]any); ok {
		merged := make(map[string]any, len(data)+len(sd))
		for k, v := range data {
			merged[k] = v
		}
		for k, v := range sd {
			merged[k] = v
		}
		data = merged
	}
	return data, true
}

// Transform is Strip in the shape of an informer transform (client-go's
// cache.TransformFunc, controller-runtime's cache.Options transforms): it
// strips unstructured objects and returns anything else (tombstones,
// typed objects) unchanged.
func Transform(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return Strip(u), nil
	}
	return obj, nil
}
