// Package migrate turns the Konnect objects of Kong Gateway Operator 1.x
// into what kong-operator 2.x (kubernetes-configuration v2, API group
// konnect.konghq.com/v1alpha2) serves:
//
//   - KonnectGatewayControlPlane v1alpha1 -> v1alpha2: the Konnect request
//     (spec.name, description, labels, cluster_type, auth_type,
//     cloud_gateway, proxy_urls) moves to spec.createControlPlaneRequest,
//     spec.source becomes explicit (Origin, or Mirror with spec.mirror).
//   - KonnectExtension of gateway-operator.konghq.com (KGO 1.4, konnectID =
//     the control plane's endpoint prefix) and of konnect.konghq.com/v1alpha1
//     (konnectID = the control plane's UUID, or konnectNamespacedRef) ->
//     konnect.konghq.com/v1alpha2, which references a
//     KonnectGatewayControlPlane by name only: the one in the namespace that
//     stands for that Konnect control plane, or a new Mirror.
//   - DataPlane spec.extensions: group gateway-operator.konghq.com ->
//     konnect.konghq.com.
//
// The conversions are pure functions of the objects; Plan resolves what
// needs the Konnect API (an endpoint prefix) through the Konnect interface.
package migrate

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// API versions of kong-operator 2.x.
const (
	VersionV1Alpha2 = "v1alpha2"
	// APIVersionKonnectV1Alpha2 is konnect.konghq.com/v1alpha2.
	APIVersionKonnectV1Alpha2 = rules.GroupKonnect + "/" + VersionV1Alpha2
)

// Sources of a KonnectGatewayControlPlane.
const (
	SourceOrigin = "Origin"
	SourceMirror = "Mirror"
)

// requestFields are the v1alpha1 spec fields that v1alpha2 keeps under
// spec.createControlPlaneRequest (the body of POST /v2/control-planes).
var requestFields = []string{"name", "description", "labels", "cluster_type", "auth_type", "cloud_gateway", "proxy_urls"}

// keptSpecFields keep their place in v1alpha2.
var keptSpecFields = []string{"konnect", "members"}

// lastApplied is kubectl's client-side apply annotation: it describes the
// old object, not the migrated one.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Clean returns a copy of obj with only what a user applies: apiVersion,
// kind, metadata name, generateName, namespace, labels and annotations
// (without kubectl's last-applied configuration), and everything but
// status. Server-set metadata (uid, resourceVersion, managedFields, ...),
// finalizers and owner references, which controllers own, are dropped.
func Clean(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range obj.Object {
		switch k {
		case "status", "metadata":
		default:
			out.Object[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	md := map[string]any{}
	old, _ := obj.Object["metadata"].(map[string]any)
	for _, k := range []string{"name", "generateName", "namespace"} {
		if v, ok := old[k].(string); ok && v != "" {
			md[k] = v
		}
	}
	if l, ok := old["labels"].(map[string]any); ok && len(l) > 0 {
		md["labels"] = runtime.DeepCopyJSONValue(l)
	}
	if a, ok := old["annotations"].(map[string]any); ok {
		kept := map[string]any{}
		for k, v := range a {
			if k != lastApplied {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			md["annotations"] = runtime.DeepCopyJSONValue(kept)
		}
	}
	out.Object["metadata"] = md
	return out
}

// ControlPlaneV1Alpha2 converts a v1alpha1 KonnectGatewayControlPlane;
// ok is false when cp is already v1alpha2 (or not a control plane). dropped
// lists spec fields that v1alpha2 has no place for.
func ControlPlaneV1Alpha2(cp *unstructured.Unstructured) (out *unstructured.Unstructured, dropped []string, ok bool) {
	gvk := cp.GroupVersionKind()
	if gvk.GroupKind() != rules.GKKonnectGatewayControlPlane || gvk.Version == VersionV1Alpha2 {
		return nil, nil, false
	}
	out = Clean(cp)
	out.SetAPIVersion(APIVersionKonnectV1Alpha2)
	spec, _ := cp.Object["spec"].(map[string]any)
	newSpec := map[string]any{}
	source, _ := spec["source"].(string)
	if source == "" {
		source = SourceOrigin
	}
	newSpec["source"] = source
	for _, k := range keptSpecFields {
		if v, ok := spec[k]; ok {
			newSpec[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	known := map[string]bool{"source": true, "mirror": true}
	for _, k := range keptSpecFields {
		known[k] = true
	}
	req := map[string]any{}
	for _, k := range requestFields {
		known[k] = true
		if v, ok := spec[k]; ok && source != SourceMirror {
			req[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	if len(req) > 0 {
		newSpec["createControlPlaneRequest"] = req
	}
	if m, ok := spec["mirror"]; ok && source == SourceMirror {
		newSpec["mirror"] = runtime.DeepCopyJSONValue(m)
	}
	for k := range spec {
		if !known[k] {
			dropped = append(dropped, "spec."+k)
		}
	}
	sort.Strings(dropped)
	out.Object["spec"] = newSpec
	return out, dropped, true
}

// NewMirror is a v1alpha2 Mirror KonnectGatewayControlPlane of the Konnect
// control plane id, read with the KonnectAPIAuthConfiguration authRef.
func NewMirror(namespace, name, id, authRef string) *unstructured.Unstructured {
	md := map[string]any{"name": name}
	if namespace != "" {
		md["namespace"] = namespace
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": APIVersionKonnectV1Alpha2,
		"kind":       rules.GKKonnectGatewayControlPlane.Kind,
		"metadata":   md,
		"spec": map[string]any{
			"source":  SourceMirror,
			"mirror":  map[string]any{"konnect": map[string]any{"id": id}},
			"konnect": map[string]any{"authRef": map[string]any{"name": authRef}},
		},
	}}
}

// ExtensionV1Alpha2 converts a KonnectExtension of either group and
// version 1.x to konnect.konghq.com/v1alpha2 on the KonnectGatewayControlPlane
// named controlPlane (in the extension's namespace):
//
//   - gateway-operator.konghq.com/v1alpha1: the certificate Secret
//     (konnectControlPlaneAPIAuthConfiguration.clusterCertificateSecretRef)
//     becomes spec.clientAuth.certificateSecret with provisioning Manual, and
//     clusterDataPlaneLabels spec.konnect.dataPlane.labels; region and
//     server host name come from the control plane.
//   - konnect.konghq.com/v1alpha1: spec.clientAuth and
//     spec.konnect.dataPlane stay; spec.konnect.configuration (the authRef
//     of a konnectID reference) goes: the control plane has the authRef.
func ExtensionV1Alpha2(ext *unstructured.Unstructured, controlPlane string) *unstructured.Unstructured {
	out := Clean(ext)
	out.SetAPIVersion(APIVersionKonnectV1Alpha2)
	out.SetKind(rules.GKKonnectExtension.Kind)
	spec, _ := ext.Object["spec"].(map[string]any)
	konnect := map[string]any{
		"controlPlane": map[string]any{"ref": map[string]any{
			"type":                 "konnectNamespacedRef",
			"konnectNamespacedRef": map[string]any{"name": controlPlane},
		}},
	}
	newSpec := map[string]any{"konnect": konnect}
	if ext.GroupVersionKind().GroupKind() == rules.GKKonnectExtensionLegacy {
		if name, _, _ := unstructured.NestedString(spec, "konnectControlPlaneAPIAuthConfiguration", "clusterCertificateSecretRef", "name"); name != "" {
			newSpec["clientAuth"] = map[string]any{"certificateSecret": map[string]any{
				"provisioning": "Manual",
				"secretRef":    map[string]any{"name": name},
			}}
		}
		if labels, ok := spec["clusterDataPlaneLabels"].(map[string]any); ok && len(labels) > 0 {
			konnect["dataPlane"] = map[string]any{"labels": runtime.DeepCopyJSONValue(labels)}
		}
	} else {
		if ca, ok := spec["clientAuth"]; ok {
			newSpec["clientAuth"] = runtime.DeepCopyJSONValue(ca)
		}
		if dp, ok, _ := unstructured.NestedFieldNoCopy(spec, "konnect", "dataPlane"); ok {
			konnect["dataPlane"] = runtime.DeepCopyJSONValue(dp)
		}
	}
	out.Object["spec"] = newSpec
	return out
}

// DataPlaneExtensionsV2 moves a DataPlane's KonnectExtension references of
// group gateway-operator.konghq.com (also the CRD's default when group is
// unset) to konnect.konghq.com; ok is false when none needs it. names are
// the extensions moved.
func DataPlaneExtensionsV2(dp *unstructured.Unstructured) (out *unstructured.Unstructured, names []string, ok bool) {
	exts, _, _ := unstructured.NestedSlice(dp.Object, "spec", "extensions")
	for i, e := range exts {
		m, _ := e.(map[string]any)
		if m["kind"] != rules.GKKonnectExtension.Kind {
			continue
		}
		if g, _ := m["group"].(string); g != "" && g != rules.GroupGatewayOperator {
			continue
		}
		m["group"] = rules.GroupKonnect
		exts[i] = m
		n, _ := m["name"].(string)
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, nil, false
	}
	out = Clean(dp)
	_ = unstructured.SetNestedSlice(out.Object, exts, "spec", "extensions")
	return out, names, true
}

// IsMigrated reports whether obj is already in its kong-operator 2.x form.
func IsMigrated(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	switch gvk.GroupKind() {
	case rules.GKKonnectGatewayControlPlane, rules.GKKonnectExtension:
		return gvk.Version == VersionV1Alpha2
	case rules.GKKonnectExtensionLegacy:
		return false
	case rules.GKDataPlane:
		_, _, needs := DataPlaneExtensionsV2(obj)
		return !needs
	}
	return true
}
