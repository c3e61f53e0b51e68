package rules

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
)

// --- KonnectAPIAuthConfiguration ---

// The region logic lives in pkg/konnect/region: the operator's own check
// (^[a-z]{2}$ or global) decides, the known geos only hint.

func checkServerURLRegion(obj *unstructured.Unstructured, _ Lookup) []Finding {
	raw := nestedString(obj.Object, "spec", "serverURL")
	h := region.ParseHost(raw)
	if !h.Konnect() || h.ValidRegion() {
		return nil
	}
	hint := fmt.Sprintf("Use the regional API host of your organization, <region>.api.%s, e.g. %s (known geos: %s)",
		h.Domain, region.APIHostFor("us", h.Domain), strings.Join(region.KnownGeos, ", "))
	if s := h.Suggest(); s != "" {
		hint = fmt.Sprintf("Did you mean %s? Use the regional API host of your organization, <region>.api.%s (known geos: %s)",
			s, h.Domain, strings.Join(region.KnownGeos, ", "))
	}
	return []Finding{{
		Field: field.NewPath("spec", "serverURL"),
		Value: raw,
		Message: fmt.Sprintf("serverURL host %s names no Konnect region: the operator takes the first DNS label %q as the region and accepts only two lowercase letters (or global)",
			h.Host, h.Label),
		Hint: hint,
	}}
}

// checkServerURLOperatorRegion: a host whose region is valid once lower-cased and parsed as a URL
// (KON1501 passes it), but not as the operator reads it.
func checkServerURLOperatorRegion(obj *unstructured.Unstructured, _ Lookup) []Finding {
	raw := nestedString(obj.Object, "spec", "serverURL")
	h := region.ParseHost(raw)
	label := region.OperatorLabel(raw)
	if !h.Konnect() || !h.ValidRegion() || region.ValidLabel(label) {
		return nil
	}
	return []Finding{{
		Field: field.NewPath("spec", "serverURL"),
		Value: raw,
		Message: fmt.Sprintf("the operator reads the region of serverURL %q as %q (case kept, only a literal https:// cut) and accepts only two lowercase letters (or global), so it never checks the token",
			raw, label),
		Hint: fmt.Sprintf("Set spec.serverURL to %s", region.APIHostFor(h.Label, h.Domain)),
	}}
}

func checkServerURLNotAPIHost(obj *unstructured.Unstructured, _ Lookup) []Finding {
	raw := nestedString(obj.Object, "spec", "serverURL")
	h := region.ParseHost(raw)
	// An invalid region label is KON1501's.
	if !h.Konnect() || !h.ValidRegion() || h.IsAPIHost() {
		return nil
	}
	want := region.APIHostFor(h.Label, h.Domain)
	if s := h.Suggest(); s != "" {
		want = s
	}
	return []Finding{{
		Field: field.NewPath("spec", "serverURL"),
		Value: raw,
		Message: fmt.Sprintf("serverURL host %s is not a Konnect API host: Konnect serves its API only at <region>.api.%s, so the operator's token check fails (APIAuthValid=False)",
			h.Host, h.Domain),
		Hint: fmt.Sprintf("Did you mean %s? Set spec.serverURL to %s", want, want),
	}}
}

func checkServerURLUnknownGeo(obj *unstructured.Unstructured, _ Lookup) []Finding {
	raw := nestedString(obj.Object, "spec", "serverURL")
	h := region.ParseHost(raw)
	if !h.Konnect() || !h.ValidRegion() || h.Label == region.Global || region.KnownGeo(h.Label) {
		return nil
	}
	return []Finding{{
		Field: field.NewPath("spec", "serverURL"),
		Value: raw,
		Message: fmt.Sprintf("region %q of serverURL host %s is not a Konnect geo known to this tool (%s); the operator accepts any two-letter region, so this is only a warning",
			h.Label, h.Host, strings.Join(region.KnownGeos, ", ")),
	}}
}

// checkInlineTokenShape finds inline tokens the operator sends as they are
// (getTokenFromKonnectAPIAuthConfiguration does not trim) and that can
// therefore never authenticate. The CRD already requires the kpat_/spat_
// prefix: that is not repeated here. The token itself is never reported.
func checkInlineTokenShape(obj *unstructured.Unstructured, _ Lookup) []Finding {
	if nestedString(obj.Object, "spec", "type") != "token" {
		return nil
	}
	tok := nestedString(obj.Object, "spec", "token")
	what := ""
	for _, r := range tok {
		switch {
		case r == '\n' || r == '\r':
			what = "a line break"
		case unicode.IsSpace(r):
			if what == "" {
				what = "whitespace"
			}
		case unicode.IsControl(r):
			if what == "" {
				what = "a control character"
			}
		}
	}
	if what == "" {
		return nil
	}
	return []Finding{{
		Field: field.NewPath("spec", "token"),
		Type:  field.ErrorTypeForbidden,
		Message: fmt.Sprintf("the token contains %s; the operator sends spec.token unchanged as the bearer token, so Konnect can never accept it (APIAuthValid=False)",
			what),
	}}
}

// authSecret returns the Secret of a secretRef auth configuration.
func authSecret(obj *unstructured.Unstructured, l Lookup) (secret *unstructured.Unstructured, ns, name string, path *field.Path, found bool) {
	if t := nestedString(obj.Object, "spec", "type"); t != "" && t != "secretRef" {
		return nil, "", "", nil, false
	}
	ns, name, path = secretName(obj, "spec", "secretRef")
	if name == "" || !l.Tracks(GKSecret) {
		return nil, ns, name, path, false
	}
	secret, found = l.Get(GKSecret, ns, name)
	return secret, ns, name, path, found
}

func checkAuthSecretLabel(obj *unstructured.Unstructured, l Lookup) []Finding {
	secret, ns, name, path, ok := authSecret(obj, l)
	if !ok || secret.GetLabels()[CredentialLabel] == CredentialLabelValue {
		return nil
	}
	return []Finding{{
		Field:   path,
		Value:   name,
		Message: fmt.Sprintf("Secret %s lacks the label %s=%s, without which Kong Gateway Operator does not use it", nsName(ns, name), CredentialLabel, CredentialLabelValue),
		Hint:    fmt.Sprintf("kubectl label secret %s -n %s %s=%s", name, ns, CredentialLabel, CredentialLabelValue),
	}}
}

func checkAuthSecretKey(obj *unstructured.Unstructured, l Lookup) []Finding {
	secret, ns, name, path, ok := authSecret(obj, l)
	if !ok {
		return nil
	}
	keys, known := secretKeys(secret)
	if !known {
		return nil
	}
	if _, ok := keys["token"]; ok {
		return nil
	}
	return []Finding{{
		Field:   path,
		Value:   name,
		Message: fmt.Sprintf("Secret %s has no key \"token\"", nsName(ns, name)),
	}}
}

func checkAuthSecretMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	_, ns, name, path, ok := authSecret(obj, l)
	if ok || name == "" || !l.Tracks(GKSecret) {
		return nil
	}
	return []Finding{{Field: path, Value: name, Message: fmt.Sprintf("Secret %s not found", nsName(ns, name))}}
}

func checkAuthSecretNamespace(obj *unstructured.Unstructured, _ Lookup) []Finding {
	ns := nestedString(obj.Object, "spec", "secretRef", "namespace")
	if ns == "" || ns == obj.GetNamespace() {
		return nil
	}
	return []Finding{{
		Field: field.NewPath("spec", "secretRef", "namespace"),
		Value: ns,
		Message: fmt.Sprintf("secretRef reads a token from namespace %s; Kong Gateway Operator honours it without any grant, so whoever may create a KonnectAPIAuthConfiguration in %s uses that token",
			ns, obj.GetNamespace()),
	}}
}

// --- authRef (KonnectGatewayControlPlane, KonnectExtension) ---

// authRefName is the authRef of a control plane or extension; ns is
// authRef.namespace (kong-operator >= 2.1, #2483) or the object's.
func authRefName(obj *unstructured.Unstructured) (ns, name string, path *field.Path) {
	var p []string
	switch obj.GroupVersionKind().GroupKind() {
	case GKKonnectGatewayControlPlane:
		p = []string{"spec", "konnect", "authRef"}
	case GKKonnectExtension:
		p = []string{"spec", "konnect", "configuration", "authRef"}
	default:
		return "", "", nil
	}
	ns = nestedString(obj.Object, append(p, "namespace")...)
	if ns == "" {
		ns = obj.GetNamespace()
	}
	return ns, nestedString(obj.Object, append(p, "name")...), field.NewPath(p[0], p[1:]...).Child("name")
}

func checkAuthRefMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	ns, name, path := authRefName(obj)
	if name == "" || !l.Tracks(GKKonnectAPIAuthConfiguration) {
		return nil
	}
	if _, ok := l.Get(GKKonnectAPIAuthConfiguration, ns, name); ok {
		return nil
	}
	return []Finding{{Field: path, Value: name, Message: fmt.Sprintf("KonnectAPIAuthConfiguration %s not found", nsName(ns, name))}}
}

// --- KonnectGatewayControlPlane ---

func checkDuplicateKonnectName(obj *unstructured.Unstructured, l Lookup) []Finding {
	name := konnectName(obj)
	if name == "" || nestedString(obj.Object, "spec", "source") == "Mirror" {
		return nil
	}
	auth := nestedString(obj.Object, "spec", "konnect", "authRef", "name")
	path := field.NewPath("spec", "name")
	if nestedString(obj.Object, "spec", "name") == "" {
		path = field.NewPath("spec", "createControlPlaneRequest", "name")
	}
	var out []Finding
	for _, other := range l.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectName, obj.GetNamespace()+"/"+name) {
		if other.GetName() == obj.GetName() || nestedString(other.Object, "spec", "konnect", "authRef", "name") != auth {
			continue
		}
		out = append(out, Finding{
			Field: path,
			Value: name,
			Message: fmt.Sprintf("KonnectGatewayControlPlane %s already creates a control plane named %q with the same authRef; Konnect answers 409 Conflict to the second one",
				objName(other), name),
		})
	}
	return out
}

// --- KonnectExtension ---

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func extensionCPRef(obj *unstructured.Unstructured) cpRef {
	return readCPRef(obj.Object, obj.GetNamespace(), "spec", "konnect", "controlPlane", "ref")
}

// extensionClusterType is the cluster type of the control plane a
// konnect.konghq.com KonnectExtension (full or stripped) points at.
func extensionClusterType(ext *unstructured.Unstructured, l Lookup) (ct string, cp *unstructured.Unstructured) {
	if cp, ok := resolveCP(l, extensionCPRef(ext)); ok {
		if ct := clusterType(cp); ct != "" {
			return ct, cp
		}
	}
	if nestedString(ext.Object, "status", "konnect", "clusterType") == "K8SIngressController" {
		return ClusterTypeKIC, nil
	}
	return "", nil
}

// runningOperator names the operator of a generation that ignores the
// gateway-operator.konghq.com KonnectExtension, for messages.
func runningOperator(g Generation) string {
	if g.KongOperator2() {
		return g.Release()
	}
	return "Kong Gateway Operator >= 1.5"
}

func checkLegacyExtensionIgnored(obj *unstructured.Unstructured, l Lookup) []Finding {
	gen := l.Generation()
	if active, known := gen.LegacyKonnectExtensionActive(); !known || active {
		return nil
	}
	return []Finding{{
		Field:   field.NewPath("apiVersion"),
		Value:   obj.GetAPIVersion(),
		Message: runningOperator(gen) + " runs in this cluster and ignores KonnectExtension of group gateway-operator.konghq.com: a DataPlane using it does not connect to Konnect",
	}}
}

func checkExtensionKIC(obj *unstructured.Unstructured, l Lookup) []Finding {
	ct, cp := extensionClusterType(obj, l)
	if ct != ClusterTypeKIC {
		return nil
	}
	r := extensionCPRef(obj)
	where := describeCP(l, r)
	if cp != nil {
		where = objName(cp)
	}
	return []Finding{{
		Field: r.valuePath(),
		Value: r.value(),
		Message: fmt.Sprintf("ControlPlane %s has cluster type %s: only a gateway-operator ControlPlane (Kong Ingress Controller) can use this KonnectExtension; a DataPlane using it runs with KONG_ROLE=traditional",
			where, ClusterTypeKIC),
	}}
}

func checkExtensionGroup(obj *unstructured.Unstructured, l Lookup) []Finding {
	// v1alpha2 too: the kong-operator 2.0 CRD (kubernetes-configuration
	// v2.0.1) still accepts only ControlPlane or K8SIngressController in
	// status.konnect.clusterType (Kong/kong-operator#3710).
	ct, cp := extensionClusterType(obj, l)
	if ct != ClusterTypeControlPlaneGroup {
		return nil
	}
	r := extensionCPRef(obj)
	return []Finding{{
		Field: r.valuePath(),
		Value: r.value(),
		Message: fmt.Sprintf("ControlPlane %s has cluster type %s, which Kong Gateway Operator cannot record in this KonnectExtension (status.konnect.clusterType accepts ControlPlane or K8SIngressController only), so the extension never becomes ready",
			objName(cp), ClusterTypeControlPlaneGroup),
	}}
}

// extensionCertSecret is the manually provisioned client certificate
// Secret of either KonnectExtension.
func extensionCertSecret(obj *unstructured.Unstructured) (name string, path *field.Path) {
	if obj.GroupVersionKind().GroupKind() == GKKonnectExtensionLegacy {
		p := []string{"spec", "konnectControlPlaneAPIAuthConfiguration", "clusterCertificateSecretRef", "name"}
		return nestedString(obj.Object, p...), field.NewPath(p[0], p[1:]...)
	}
	if nestedString(obj.Object, "spec", "clientAuth", "certificateSecret", "provisioning") != "Manual" {
		return "", nil
	}
	p := []string{"spec", "clientAuth", "certificateSecret", "secretRef", "name"}
	return nestedString(obj.Object, p...), field.NewPath(p[0], p[1:]...)
}

func checkExtensionSecretMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	name, path := extensionCertSecret(obj)
	if name == "" || !l.Tracks(GKSecret) {
		return nil
	}
	if _, ok := l.Get(GKSecret, obj.GetNamespace(), name); ok {
		return nil
	}
	return []Finding{{Field: path, Value: name, Message: fmt.Sprintf("Secret %s not found", nsName(obj.GetNamespace(), name))}}
}

// extensionSecret is the extension's certificate Secret, when it names one that exists.
func extensionSecret(obj *unstructured.Unstructured, l Lookup) (secret *unstructured.Unstructured, name string, path *field.Path, ok bool) {
	name, path = extensionCertSecret(obj)
	if name == "" || !l.Tracks(GKSecret) {
		return nil, name, path, false
	}
	secret, ok = l.Get(GKSecret, obj.GetNamespace(), name)
	return secret, name, path, ok
}

func checkExtensionSecretKeys(obj *unstructured.Unstructured, l Lookup) []Finding {
	secret, name, path, ok := extensionSecret(obj, l)
	if !ok {
		return nil
	}
	keys, known := secretKeys(secret)
	if !known {
		return nil
	}
	var missing []string
	for _, k := range []string{"tls.crt", "tls.key"} {
		if _, ok := keys[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []Finding{{
		Field:   path,
		Value:   name,
		Message: fmt.Sprintf("Secret %s has no key %s", nsName(obj.GetNamespace(), name), strings.Join(missing, " and no key ")),
	}}
}

func checkLegacyKonnectIDIsUUID(obj *unstructured.Unstructured, l Lookup) []Finding {
	id := nestedString(obj.Object, "spec", "controlPlaneRef", "konnectID")
	if id == "" {
		return nil
	}
	cps := l.ByIndex(GKKonnectGatewayControlPlane, IndexKonnectID, strings.ToLower(id))
	if !uuidRE.MatchString(id) && len(cps) == 0 {
		return nil
	}
	what := "a control-plane ID"
	if len(cps) > 0 {
		what = "the ID of KonnectGatewayControlPlane " + objName(cps[0])
	}
	return []Finding{{
		Field: field.NewPath("spec", "controlPlaneRef", "konnectID"),
		Value: id,
		Message: fmt.Sprintf("konnectID %q is %s, but Kong Gateway Operator 1.4 expects the control-plane endpoint prefix: the data plane would dial %s.<region>.cp0.<serverHostname>",
			id, what, id),
	}}
}

// --- DataPlane, ControlPlane, GatewayConfiguration ---

// extensionRef is one spec.extensions entry naming a KonnectExtension.
type extensionRef struct {
	gk       extensionGK
	ns, name string
	path     *field.Path
}

type extensionGK = struct{ Group, Kind string }

func konnectExtensionRefs(obj *unstructured.Unstructured) []extensionRef {
	var out []extensionRef
	for i, e := range nestedSlice(obj.Object, "spec", "extensions") {
		m, _ := e.(map[string]any)
		if nestedString(m, "kind") != "KonnectExtension" {
			continue
		}
		ns := nestedString(m, "namespace")
		if ns == "" {
			ns = obj.GetNamespace()
		}
		out = append(out, extensionRef{
			gk:   extensionGK{Group: nestedString(m, "group"), Kind: "KonnectExtension"},
			ns:   ns,
			name: nestedString(m, "name"),
			path: field.NewPath("spec", "extensions").Index(i),
		})
	}
	return out
}

func checkExtensionRefMissing(obj *unstructured.Unstructured, l Lookup) []Finding {
	var out []Finding
	for _, e := range konnectExtensionRefs(obj) {
		gk := GKKonnectExtension
		if e.gk.Group == GroupGatewayOperator {
			gk = GKKonnectExtensionLegacy
		}
		if e.name == "" || !l.Tracks(gk) {
			continue
		}
		// Across namespaces the operator never looks the extension up: KON1804.
		if obj.GroupVersionKind().GroupKind() == GKDataPlane && e.ns != obj.GetNamespace() {
			continue
		}
		if _, ok := l.Get(gk, e.ns, e.name); ok {
			continue
		}
		out = append(out, Finding{
			Field:   e.path.Child("name"),
			Value:   e.name,
			Message: fmt.Sprintf("KonnectExtension %s (group %s) not found; Kong Gateway Operator stops reconciling with KonnectExtensionApplied=False until it exists", nsName(e.ns, e.name), gk.Group),
		})
	}
	return out
}

func checkDataPlaneLegacyExtension(obj *unstructured.Unstructured, l Lookup) []Finding {
	gen := l.Generation()
	if active, known := gen.LegacyKonnectExtensionActive(); !known || active {
		return nil
	}
	var out []Finding
	for _, e := range konnectExtensionRefs(obj) {
		if e.gk.Group != GroupGatewayOperator {
			continue
		}
		out = append(out, Finding{
			Field:   e.path.Child("group"),
			Value:   e.gk.Group,
			Message: runningOperator(gen) + " runs in this cluster and does not apply a KonnectExtension of group gateway-operator.konghq.com",
		})
	}
	return out
}

func checkDataPlaneExtensionNamespace(obj *unstructured.Unstructured, _ Lookup) []Finding {
	var out []Finding
	for _, e := range konnectExtensionRefs(obj) {
		if e.ns == obj.GetNamespace() {
			continue
		}
		out = append(out, Finding{
			Field: e.path.Child("namespace"),
			Value: e.ns,
			Message: fmt.Sprintf("KonnectExtension %s is in another namespace than the DataPlane; the operator refuses cross-namespace extension references (\"cross-namespace reference is not currently supported for Konnect extensions\") and sets KonnectExtensionApplied=False, RefNotPermitted",
				nsName(e.ns, e.name)),
		})
	}
	return out
}

func checkDataPlaneKICExtension(obj *unstructured.Unstructured, l Lookup) []Finding {
	var out []Finding
	for _, e := range konnectExtensionRefs(obj) {
		if e.gk.Group != GroupKonnect {
			continue
		}
		ext, ok := l.Get(GKKonnectExtension, e.ns, e.name)
		if !ok {
			continue
		}
		if ct, _ := extensionClusterType(ext, l); ct != ClusterTypeKIC {
			continue
		}
		out = append(out, Finding{
			Field: e.path.Child("name"),
			Value: e.name,
			Message: fmt.Sprintf("KonnectExtension %s points at a control plane of cluster type %s: the DataPlane would run with KONG_ROLE=traditional instead of as a Konnect data plane",
				objName(ext), ClusterTypeKIC),
		})
	}
	return out
}

// operatorSecretLabelFinding is the finding of a Secret that kong-operator 2.x does not read, or nil.
func operatorSecretLabelFinding(secret *unstructured.Unstructured, ns, name string, path *field.Path, labels string) []Finding {
	if secret.GetLabels()[OperatorSecretLabel] == OperatorSecretLabelValue {
		return nil
	}
	return []Finding{{
		Field: path,
		Value: name,
		Message: fmt.Sprintf("Secret %s lacks the label %s=%s: kong-operator 2.x reads only Secrets with it (its default --secret-label-selector), so to the operator the Secret does not exist",
			nsName(ns, name), OperatorSecretLabel, OperatorSecretLabelValue),
		Hint: fmt.Sprintf("kubectl label secret %s -n %s %s", name, ns, labels),
	}}
}

func checkAuthSecretOperatorLabel(obj *unstructured.Unstructured, l Lookup) []Finding {
	secret, ns, name, path, ok := authSecret(obj, l)
	if !ok {
		return nil
	}
	return operatorSecretLabelFinding(secret, ns, name, path, OperatorSecretLabel+"="+OperatorSecretLabelValue)
}

func checkExtensionSecretOperatorLabel(obj *unstructured.Unstructured, l Lookup) []Finding {
	secret, name, path, ok := extensionSecret(obj, l)
	if !ok {
		return nil
	}
	return operatorSecretLabelFinding(secret, obj.GetNamespace(), name, path,
		OperatorSecretLabel+"="+OperatorSecretLabelValue+" "+DataPlaneCertLabel+"=true")
}
