package initcmd

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// Labels on what init writes. managed-by is how a re-run tells its own objects from foreign ones of
// the same name; the credential label is what KGO requires on a token Secret.
const (
	labelManagedBy  = "app.kubernetes.io/managed-by"
	managedBy       = "kubectl-konnect"
	labelCredential = "konghq.com/credential"
	credentialValue = "konnect"
	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "kubectl-konnect"

	clusterTypeHybrid = "CLUSTER_TYPE_CONTROL_PLANE"
	clusterTypeKIC    = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"
	clusterTypeGroup  = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
	authTypePKI       = "pki_client_certs"
)

type obj = map[string]any

func newObject(apiVersion, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: obj{"apiVersion": apiVersion, "kind": kind, "metadata": obj{"name": name, "namespace": ns}}}
	l := map[string]string{labelManagedBy: managedBy}
	for k, v := range labels {
		l[k] = v
	}
	u.SetLabels(l)
	return u
}

func ours(u *unstructured.Unstructured) bool {
	return u != nil && u.GetLabels()[labelManagedBy] == managedBy
}

// tokenSecret holds the Konnect token as KGO's secretRef wants it.
func tokenSecret(ns, name, tok string) *unstructured.Unstructured {
	labels := kgoapi.OperatorSecretLabels()
	labels[labelCredential] = credentialValue
	u := newObject("v1", "Secret", ns, name, labels)
	u.Object["type"] = "Opaque"
	u.Object["data"] = obj{"token": base64.StdEncoding.EncodeToString([]byte(tok))}
	return u
}

// authConfig refers to the token Secret, or holds the token inline (--inline-token).
func authConfig(ns, name string, server serverURL, secretName, inlineToken string) *unstructured.Unstructured {
	u := newObject("konnect.konghq.com/v1alpha1", "KonnectAPIAuthConfiguration", ns, name, nil)
	spec := obj{"serverURL": server.host()}
	if inlineToken != "" {
		spec["type"] = "token"
		spec["token"] = inlineToken
	} else {
		spec["type"] = "secretRef"
		spec["secretRef"] = obj{"name": secretName}
	}
	u.Object["spec"] = spec
	return u
}

// controlPlaneOrigin makes KGO create the control plane in Konnect, in the generation's
// KonnectGatewayControlPlane version.
func controlPlaneOrigin(g Generation, ns, name, konnectName, clusterType, auth string) *unstructured.Unstructured {
	return labelled(kgoapi.NewOriginControlPlane(g.cpVersion(), ns, name, kgoapi.ControlPlaneRequest{
		Name: konnectName, ClusterType: clusterType, AuthRef: auth,
	}))
}

// controlPlaneMirror makes KGO (>= 1.5) mirror a control plane that exists in Konnect: it reads it,
// never changes or deletes it.
func controlPlaneMirror(g Generation, ns, name, id, auth string) *unstructured.Unstructured {
	return labelled(kgoapi.NewMirrorControlPlane(g.cpVersion(), ns, name, id, auth))
}

// labelled adds the labels of newObject to an object built elsewhere.
func labelled(u *unstructured.Unstructured) *unstructured.Unstructured {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[labelManagedBy] = managedBy
	u.SetLabels(l)
	return u
}

// extensionKonnect is the konnect.konghq.com KonnectExtension of KGO 1.5+ (v1alpha1) and
// kong-operator 2.x (v1alpha2, the same spec): the control plane by reference, and the data plane's
// certificate from our Secret (Manual) or made by KGO (Automatic).
func extensionKonnect(g Generation, ns, name, controlPlane, certSecret string) *unstructured.Unstructured {
	u := newObject(g.extensionGVR().GroupVersion().String(), "KonnectExtension", ns, name, nil)
	certificate := obj{"provisioning": "Automatic"}
	if certSecret != "" {
		certificate = obj{"provisioning": "Manual", "secretRef": obj{"name": certSecret}}
	}
	u.Object["spec"] = obj{
		"konnect": obj{"controlPlane": obj{"ref": obj{
			"type":                 "konnectNamespacedRef",
			"konnectNamespacedRef": obj{"name": controlPlane},
		}}},
		"clientAuth": obj{"certificateSecret": certificate},
	}
	return u
}

// extensionKGO14 is the gateway-operator.konghq.com KonnectExtension of KGO 1.4, from which KGO builds
// <konnectID>.<region>.cp0.<serverHostname>: all three come from the endpoint Konnect gave.
func extensionKGO14(ns, name string, ep endpoint, certSecret string) *unstructured.Unstructured {
	u := newObject("gateway-operator.konghq.com/v1alpha1", "KonnectExtension", ns, name, nil)
	u.Object["spec"] = obj{
		"controlPlaneRef":    obj{"type": "konnectID", "konnectID": ep.prefix},
		"controlPlaneRegion": ep.region,
		"serverHostname":     ep.server,
		"konnectControlPlaneAPIAuthConfiguration": obj{
			"clusterCertificateSecretRef": obj{"name": certSecret},
		},
	}
	return u
}

// dataPlane runs the gateway with the extension.
func dataPlane(ns, name string, g Generation, extension, image string, replicas int64) *unstructured.Unstructured {
	u := newObject("gateway-operator.konghq.com/v1beta1", "DataPlane", ns, name, nil)
	u.Object["spec"] = obj{
		"extensions": []any{obj{"kind": "KonnectExtension", "name": extension, "group": g.extensionGVR().Group}},
		"deployment": obj{
			"replicas": replicas,
			"podTemplateSpec": obj{"spec": obj{"containers": []any{
				obj{"name": "proxy", "image": image},
			}}},
		},
	}
	return u
}

// upToDate says whether applying desired over live would change nothing we care about: every label
// and annotation we set is there, and type, data and spec hold at least what we set (the API server
// and KGO may add defaults).
func upToDate(live, desired *unstructured.Unstructured) bool {
	if live == nil {
		return false
	}
	if !subsetStrings(desired.GetLabels(), live.GetLabels()) || !subsetStrings(desired.GetAnnotations(), live.GetAnnotations()) {
		return false
	}
	for _, f := range []string{"type", "data", "spec"} {
		if want, ok := desired.Object[f]; ok && !contains(live.Object[f], want) {
			return false
		}
	}
	return true
}

func subsetStrings(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// contains reports whether have holds want: maps may have extra keys, lists must have the same
// length with each element containing the wanted one, scalars must be equal (numbers by value).
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !contains(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	case int64, int32, int, float64:
		hf, ok1 := toFloat(have)
		wf, _ := toFloat(want)
		return ok1 && hf == wf
	}
	return reflect.DeepEqual(have, want)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// resourceNameFor turns a Konnect control plane name into a resource name (DNS-1123 label, at most
// 63 characters, so the names derived from it fit too), or returns it unchanged when it is one.
func resourceNameFor(konnectName string) (string, error) {
	if len(validation.IsDNS1123Label(konnectName)) == 0 {
		return konnectName, nil
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(konnectName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > validation.DNS1123LabelMaxLength {
		s = strings.Trim(s[:validation.DNS1123LabelMaxLength], "-")
	}
	if s == "" {
		return "", fmt.Errorf("--control-plane %q has no letters or digits to name the Kubernetes resources after: use a name such as my-gateway", konnectName)
	}
	return s, nil
}
