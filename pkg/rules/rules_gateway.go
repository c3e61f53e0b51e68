package rules

// Rules of the Gateway API path to Konnect (kong-operator >= 2.1 "hybrid
// Gateway"): GatewayClass -> GatewayConfiguration -> KonnectAPIAuthConfiguration.
//
// What kong-operator does, read at v2.2.3 and v2.3.0-rc.3
// (github.com/Kong/kong-operator):
//   - internal/utils/gatewayconfig/get.go GetFromParametersRef: a GatewayClass
//     parametersRef must be group gateway-operator.konghq.com, kind
//     GatewayConfiguration, with a namespace; a missing one is a reconcile
//     error of every Gateway of the class (nothing refuses it at admission).
//   - IsGatewayHybrid (same file): the Gateway is hybrid iff
//     spec.konnect.authRef is set.
//   - controller/gateway/controller_reconciler_utils.go
//     createKonnectGatewayControlPlane copies spec.konnect.authRef (name and
//     namespace), source and mirror into the KonnectGatewayControlPlane it
//     creates once; provisionKonnectGatewayControlPlane never updates it
//     afterwards ("TODO enforce KonnectGatewayControlPlane spec",
//     Kong/kong-operator#2639).
//   - controller/gateway/konnect_auth_referencegrant.go (2.2.0, #3258; absent
//     at v2.1.0): a cross-namespace authRef needs a KongReferenceGrant in the
//     auth's namespace from GatewayConfiguration to KonnectAPIAuthConfiguration;
//     kong-operator then mirrors it into a managed grant for the control plane.
//     The grant rules (a missing grant on >= 2.2, a cross-namespace reference
//     before 2.2) are KON1901/KON1902 (xref.go crossRefFields), not
//     repeated here.
//   - api/gateway-operator/v2beta1/gatewayconfiguration_types.go at
//     v2.3.0-rc.3: CEL on spec.konnect makes authRef, source and mirror
//     immutable once set (the API server refuses the change); v2.2.3 has no
//     such rule.
//   - pkg/vars/gateway.go: the default controllerName is
//     konghq.com/gateway-operator (changeable with --controller-name).
//   - kong-operator's own admission (config/default/validating_webhook,
//     validating_policies) checks none of these references.

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// GroupGatewayAPI is the Gateway API group.
const GroupGatewayAPI = "gateway.networking.k8s.io"

// Gateway API kinds the hybrid-Gateway rules read.
var (
	GKGatewayClass = schema.GroupKind{Group: GroupGatewayAPI, Kind: "GatewayClass"}
	GKGateway      = schema.GroupKind{Group: GroupGatewayAPI, Kind: "Gateway"}
	GKHTTPRoute    = schema.GroupKind{Group: GroupGatewayAPI, Kind: "HTTPRoute"}
)

// KongOperatorControllerName is kong-operator's default GatewayClass
// controllerName (pkg/vars/gateway.go DefaultControllerName).
const KongOperatorControllerName = "konghq.com/gateway-operator"

// IndexGatewayClassParameters indexes GatewayClasses by the
// "<namespace>/<name>" of the GatewayConfiguration their parametersRef names.
const IndexGatewayClassParameters = "gateway.networking.k8s.io/parameters-ref"

func indexGatewayClassParameters(obj *unstructured.Unstructured) []string {
	if ns, name, ok := gatewayConfigurationRef(obj); ok && ns != "" {
		return []string{ns + "/" + name}
	}
	return nil
}

// gatewayConfigurationRef reads a GatewayClass parametersRef; ok is false
// when it names no GatewayConfiguration.
func gatewayConfigurationRef(gc *unstructured.Unstructured) (namespace, name string, ok bool) {
	ref := nestedMap(gc.Object, "spec", "parametersRef")
	if ref == nil || nestedString(ref, "group") != GroupGatewayOperator || nestedString(ref, "kind") != "GatewayConfiguration" {
		return "", "", false
	}
	return nestedString(ref, "namespace"), nestedString(ref, "name"), true
}

// konnectAuthRef reads a GatewayConfiguration's spec.konnect.authRef; the
// namespace defaults to the configuration's.
func konnectAuthRef(gwc *unstructured.Unstructured) (namespace, name string, crossNamespace bool) {
	name = nestedString(gwc.Object, "spec", "konnect", "authRef", "name")
	namespace = nestedString(gwc.Object, "spec", "konnect", "authRef", "namespace")
	if namespace == "" || namespace == gwc.GetNamespace() {
		return gwc.GetNamespace(), name, false
	}
	return namespace, name, true
}

var pathParametersRef = field.NewPath("spec", "parametersRef")
var pathKonnectAuthRef = field.NewPath("spec", "konnect", "authRef")

// KON2001
func checkGatewayClassParametersMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	ns, name, ok := gatewayConfigurationRef(obj)
	if !ok || name == "" || ns == "" || !l.Tracks(GKGatewayConfiguration) {
		return nil
	}
	if _, found := l.Get(GKGatewayConfiguration, ns, name); found {
		return nil
	}
	return []Finding{{Field: pathParametersRef.Child("name"), Value: name,
		Message: fmt.Sprintf("GatewayConfiguration %s not found; kong-operator fails every Gateway of this class until it exists", nsName(ns, name))}}
}

// KON2002
func checkGatewayClassParametersNamespace(obj *unstructured.Unstructured, _ Lookup) []Finding {
	_, name, ok := gatewayConfigurationRef(obj)
	if !ok || nestedString(obj.Object, "spec", "parametersRef", "namespace") != "" {
		return nil
	}
	return []Finding{{Field: pathParametersRef.Child("namespace"), Type: field.ErrorTypeRequired,
		Message: fmt.Sprintf("parametersRef to GatewayConfiguration %q has no namespace; GatewayConfiguration is namespaced and kong-operator refuses the class (\"ParametersRef: namespace must be provided\")", name)}}
}

// KON2003
func checkGatewayConfigurationAuthMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	ns, name, _ := konnectAuthRef(obj)
	if name == "" || !l.Tracks(GKKonnectAPIAuthConfiguration) {
		return nil
	}
	if _, found := l.Get(GKKonnectAPIAuthConfiguration, ns, name); found {
		return nil
	}
	return []Finding{{Field: pathKonnectAuthRef.Child("name"), Value: name,
		Message: fmt.Sprintf("KonnectAPIAuthConfiguration %s not found; the KonnectGatewayControlPlane kong-operator creates for each Gateway stays unprogrammed", nsName(ns, name))}}
}

// KON2004
func checkGatewayConfigurationForeignController(obj *unstructured.Unstructured, l Lookup) []Finding {
	ns, name, ok := gatewayConfigurationRef(obj)
	ctrl := nestedString(obj.Object, "spec", "controllerName")
	if !ok || ns == "" || ctrl == "" || ctrl == KongOperatorControllerName {
		return nil
	}
	gwc, found := l.Get(GKGatewayConfiguration, ns, name)
	if !found || nestedMap(gwc.Object, "spec", "konnect") == nil {
		return nil
	}
	return []Finding{{Field: field.NewPath("spec", "controllerName"), Value: ctrl,
		Message: fmt.Sprintf("GatewayConfiguration %s has Konnect settings (spec.konnect) but this class's controller is %q, not kong-operator's %q: nothing connects its Gateways to Konnect", nsName(ns, name), ctrl, KongOperatorControllerName)}}
}

// KON2005 (update): a change of spec.konnect of a GatewayConfiguration that
// a GatewayClass uses. kong-operator 2.1/2.2 never updates the
// KonnectGatewayControlPlane it created; 2.3's CRD refuses the change itself,
// so the rule stops at 2.2.
func checkGatewayConfigurationKonnectChanged(oldObj, newObj *unstructured.Unstructured, l Lookup) []Finding {
	if oldObj == nil {
		return nil
	}
	before := nestedMap(oldObj.Object, "spec", "konnect")
	after := nestedMap(newObj.Object, "spec", "konnect")
	if before == nil || equality.Semantic.DeepEqual(before, after) {
		return nil
	}
	classes := l.ByIndex(GKGatewayClass, IndexGatewayClassParameters, newObj.GetNamespace()+"/"+newObj.GetName())
	if len(classes) == 0 {
		return nil
	}
	return []Finding{{Field: field.NewPath("spec", "konnect"),
		Message: fmt.Sprintf("GatewayConfiguration is used by GatewayClass %s; kong-operator keeps the KonnectGatewayControlPlane it already created for each Gateway with the old Konnect settings (Kong/kong-operator#2639), and kong-operator 2.3 refuses this change", classes[0].GetName())}}
}
