package rules

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Cross-namespace references and KongReferenceGrant (kong-operator >= 2.1,
// Kong/kong-operator#2855).
//
// kong-operator checks a grant in internal/utils/crossnamespace/
// kongreferencegrant.go, ReferenceGrantsAllow (same code at v2.1.0, v2.2.3
// and v2.3.0-rc.3): among the KongReferenceGrants in the TARGET's namespace,
// one must have a spec.from entry whose namespace, group and kind equal the
// referrer's (exact match, the referrer's namespace is "" for the
// cluster-scoped KongVault) and a spec.to entry whose group and kind equal
// the target's (group "core" for a Secret) and whose name is unset or the
// target's name. Without one the referrer gets ResolvedRefs=False, reason
// RefNotPermitted (e.g. controller/konnect/reconciler_controlplaneref.go,
// ensureKongReferenceGrant; reconciler_pluginref.go, handlePluginRef).

// crossRefField is one field that may name an object in another namespace.
type crossRefField struct {
	// From are the referrer kinds.
	From []schema.GroupKind
	// To is the target kind.
	To schema.GroupKind
	// What names the reference for people: "control plane reference".
	What string
	// Since is the first release whose kong-operator honours the field
	// with a grant; before it a cross-namespace value is not honoured at all.
	Since Generation
	// HonouredWithoutGrantBefore: releases before it follow the reference
	// without any grant (KonnectAPIAuthConfiguration's secretRef before 2.3,
	// which KON1505 reports), so KON1902 stays silent there.
	HonouredWithoutGrantBefore Generation
	// Paths are the namespace fields refs reads, as field paths ("[*]" for
	// every element of a list): what tests and people look for.
	Paths []string
	// refs reads the references of the field in obj.
	refs func(obj *unstructured.Unstructured) []crossRef
}

// CrossNamespaceField is one field that may name an object in another
// namespace, for tests that must cover every such field.
type CrossNamespaceField struct {
	From  []schema.GroupKind
	To    schema.GroupKind
	What  string
	Paths []string
	// Since is the first release that follows the reference with a
	// KongReferenceGrant.
	Since Generation
	// HonouredWithoutGrantBefore: releases before it follow the reference
	// without a grant (KON1505 reports it there).
	HonouredWithoutGrantBefore Generation
}

// CrossNamespaceFields lists every cross-namespace reference field the
// rules judge (KON1901, KON1902), in table order.
func CrossNamespaceFields() []CrossNamespaceField {
	out := make([]CrossNamespaceField, len(crossRefFields))
	for i, f := range crossRefFields {
		out[i] = CrossNamespaceField{From: append([]schema.GroupKind(nil), f.From...), To: f.To, What: f.What,
			Paths: append([]string(nil), f.Paths...), Since: f.Since, HonouredWithoutGrantBefore: f.HonouredWithoutGrantBefore}
	}
	return out
}

// crossRef is one reference as written in an object.
type crossRef struct {
	Field     *crossRefField
	Namespace string // the named namespace (never empty)
	Name      string
	// NSPath is the path of the namespace field.
	NSPath *field.Path
}

// nsRef reads {name, namespace} at path (relative to the object).
func nsRef(nameKey string, path ...string) func(*unstructured.Unstructured) []crossRef {
	return func(obj *unstructured.Unstructured) []crossRef {
		m := nestedMap(obj.Object, path...)
		if m == nil {
			return nil
		}
		ns := nestedString(m, "namespace")
		if ns == "" {
			return nil
		}
		return []crossRef{{Namespace: ns, Name: nestedString(m, nameKey), NSPath: field.NewPath(path[0], path[1:]...).Child("namespace")}}
	}
}

// nsRefList reads a list of {name, namespace} at path.
func nsRefList(path ...string) func(*unstructured.Unstructured) []crossRef {
	return func(obj *unstructured.Unstructured) []crossRef {
		var out []crossRef
		for i, e := range nestedSlice(obj.Object, path...) {
			m, _ := e.(map[string]any)
			if ns := nestedString(m, "namespace"); ns != "" {
				out = append(out, crossRef{Namespace: ns, Name: nestedString(m, "name"), NSPath: field.NewPath(path[0], path[1:]...).Index(i).Child("namespace")})
			}
		}
		return out
	}
}

// cpRefField reads spec.controlPlaneRef.konnectNamespacedRef.namespace.
func cpNamespacedRef(obj *unstructured.Unstructured) []crossRef {
	if nestedString(obj.Object, "spec", "controlPlaneRef", "type") != refTypeNamespaced {
		return nil
	}
	return nsRef("name", "spec", "controlPlaneRef", "konnectNamespacedRef")(obj)
}

func routeServiceNSRef(obj *unstructured.Unstructured) []crossRef {
	if nestedString(obj.Object, "spec", "serviceRef", "type") != "namespacedRef" {
		return nil
	}
	return nsRef("name", "spec", "serviceRef", "namespacedRef")(obj)
}

func bindingPluginNSRef(obj *unstructured.Unstructured) []crossRef {
	if k := nestedString(obj.Object, "spec", "pluginRef", "kind"); k != "" && k != "KongPlugin" {
		return nil
	}
	return nsRef("name", "spec", "pluginRef")(obj)
}

func authSecretNSRef(obj *unstructured.Unstructured) []crossRef {
	if t := nestedString(obj.Object, "spec", "type"); t != "" && t != "secretRef" {
		return nil
	}
	return nsRef("name", "spec", "secretRef")(obj)
}

func joinRefs(fs ...func(*unstructured.Unstructured) []crossRef) func(*unstructured.Unstructured) []crossRef {
	return func(obj *unstructured.Unstructured) []crossRef {
		var out []crossRef
		for _, f := range fs {
			out = append(out, f(obj)...)
		}
		return out
	}
}

// crossRefFields lists every field that may name another namespace, from
// kong-operator's CHANGELOG and the CRDs of v2.2.3 and v2.3.0-rc.3 (fields
// whose description says "Cross-namespace references require a
// KongReferenceGrant").
var crossRefFields = []*crossRefField{
	// #2892 #2913 #3033: controlPlaneRef of every entity. KongVault is
	// cluster-scoped: its namespace field is how it names a control plane at
	// all, honoured on every release (KGO 1.x and kong-operator 2.0:
	// controller/pkg/controlplane/ref.go GetCPForRef), with a grant from
	// namespace "" on >= 2.1.
	{From: EntityKinds, To: GKKonnectGatewayControlPlane, What: "control plane reference", Since: GenerationKO21,
		Paths: []string{"spec.controlPlaneRef.konnectNamespacedRef.namespace"}, refs: cpNamespacedRef},
	// #3125.
	{From: []schema.GroupKind{GKKongRoute}, To: GKKongService, What: "KongService reference", Since: GenerationKO21,
		Paths: []string{"spec.serviceRef.namespacedRef.namespace"}, refs: routeServiceNSRef},
	// #3108.
	{From: []schema.GroupKind{GKKongPluginBinding}, To: GKKongPlugin, What: "plugin reference", Since: GenerationKO21,
		Paths: []string{"spec.pluginRef.namespace"}, refs: bindingPluginNSRef},
	// #2904.
	// KongCACertificate has no secretRefAlt (CRDs of v2.2.3 and v2.3.0-rc.3).
	{From: []schema.GroupKind{GKKongCertificate}, To: GKSecret, What: "Secret reference", Since: GenerationKO21,
		Paths: []string{"spec.secretRef.namespace", "spec.secretRefAlt.namespace"},
		refs:  joinRefs(nsRef("name", "spec", "secretRef"), nsRef("name", "spec", "secretRefAlt"))},
	{From: []schema.GroupKind{GKKongCACertificate}, To: GKSecret, What: "Secret reference", Since: GenerationKO21,
		Paths: []string{"spec.secretRef.namespace"}, refs: nsRef("name", "spec", "secretRef")},
	// #2483.
	{From: []schema.GroupKind{GKKonnectGatewayControlPlane}, To: GKKonnectAPIAuthConfiguration, What: "KonnectAPIAuthConfiguration reference", Since: GenerationKO21,
		Paths: []string{"spec.konnect.authRef.namespace"}, refs: nsRef("name", "spec", "konnect", "authRef")},
	// 2.2.0: #4263, #4235, #3258 and the certificate references of
	// KongService and KongUpstream (new fields in the 2.2 CRDs).
	{From: []schema.GroupKind{GKKongTarget}, To: GKKongUpstream, What: "KongUpstream reference", Since: GenerationKO22,
		Paths: []string{"spec.upstreamRef.namespace"}, refs: nsRef("name", "spec", "upstreamRef")},
	{From: []schema.GroupKind{GKKongSNI}, To: GKKongCertificate, What: "KongCertificate reference", Since: GenerationKO22,
		Paths: []string{"spec.certificateRef.namespace"}, refs: nsRef("name", "spec", "certificateRef")},
	{From: []schema.GroupKind{GKGatewayConfiguration}, To: GKKonnectAPIAuthConfiguration, What: "KonnectAPIAuthConfiguration reference", Since: GenerationKO22,
		Paths: []string{"spec.konnect.authRef.namespace"}, refs: nsRef("name", "spec", "konnect", "authRef")},
	{From: []schema.GroupKind{GKKongService}, To: GKKongCACertificate, What: "KongCACertificate reference", Since: GenerationKO22,
		Paths: []string{"spec.caCertificateRefs[*].namespace"}, refs: nsRefList("spec", "caCertificateRefs")},
	{From: []schema.GroupKind{GKKongService, GKKongUpstream}, To: GKKongCertificate, What: "client certificate reference", Since: GenerationKO22,
		Paths: []string{"spec.clientCertificateRef.namespace"}, refs: nsRef("name", "spec", "clientCertificateRef")},
	// #2908: honoured without a grant (with a logged warning) before 2.3,
	// controller/konnect/reconciler_konnectapiauth.go
	// GetTokenFromKonnectAPIAuthConfiguration at v2.2.3 and v2.3.0-rc.3.
	{From: []schema.GroupKind{GKKonnectAPIAuthConfiguration}, To: GKSecret, What: "token Secret reference", Since: GenerationKO23,
		HonouredWithoutGrantBefore: GenerationKO23, Paths: []string{"spec.secretRef.namespace"}, refs: authSecretNSRef},
}

// crossRefKinds are the kinds with a cross-namespace reference field.
func crossRefKinds() []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, f := range crossRefFields {
		for _, gk := range f.From {
			if !seen[gk] {
				seen[gk] = true
				out = append(out, gk)
			}
		}
	}
	return out
}

// crossNamespaceRefs lists the references of obj that name a namespace other
// than its own (for KongVault, which has none, every named namespace).
func crossNamespaceRefs(obj *unstructured.Unstructured) []crossRef {
	gk := obj.GroupVersionKind().GroupKind()
	var out []crossRef
	for _, f := range crossRefFields {
		if !containsGK(f.From, gk) {
			continue
		}
		for _, r := range f.refs(obj) {
			if r.Namespace == obj.GetNamespace() {
				continue
			}
			r.Field = f
			out = append(out, r)
		}
	}
	return out
}

func containsGK(gks []schema.GroupKind, gk schema.GroupKind) bool {
	for _, g := range gks {
		if g == gk {
			return true
		}
	}
	return false
}

// grantGroup is how a grant writes a group: "core" for the core group.
func grantGroup(g string) string {
	if g == "" {
		return "core"
	}
	return g
}

// grantAllows is kong-operator's ReferenceGrantsAllow for one grant.
func grantAllows(grant *unstructured.Unstructured, fromNS string, from schema.GroupKind, to schema.GroupKind, toName string) bool {
	fromOK := false
	for _, e := range nestedSlice(grant.Object, "spec", "from") {
		m, _ := e.(map[string]any)
		if nestedString(m, "namespace") == fromNS && nestedString(m, "group") == from.Group && nestedString(m, "kind") == from.Kind {
			fromOK = true
			break
		}
	}
	if !fromOK {
		return false
	}
	for _, e := range nestedSlice(grant.Object, "spec", "to") {
		m, _ := e.(map[string]any)
		name, named := nested(m, "name").(string)
		if (!named || name == toName) && nestedString(m, "group") == grantGroup(to.Group) && nestedString(m, "kind") == to.Kind {
			return true
		}
	}
	return false
}

// grantsAllow reports whether a KongReferenceGrant in the target's namespace
// permits the reference of obj.
func grantsAllow(l Lookup, obj *unstructured.Unstructured, r crossRef) bool {
	from := obj.GroupVersionKind().GroupKind()
	for _, g := range l.ByIndex(GKKongReferenceGrant, IndexGrantNamespace, r.Namespace) {
		if grantAllows(g, obj.GetNamespace(), from, r.Field.To, r.Name) {
			return true
		}
	}
	return false
}

// grantJSON is the KongReferenceGrant that permits the reference, as one
// line of JSON, which kubectl apply -f - takes as printed (it reads a stream
// that starts with "{" as JSON, so flow-style YAML would not do). One line,
// because the API server drops an admission warning that holds a newline
// (k8s.io/apimachinery/pkg/util/net NewWarningHeader refuses control
// characters), and the webhook's KON1901 is a warning.
func grantJSON(obj *unstructured.Unstructured, r crossRef) string {
	from := obj.GroupVersionKind().GroupKind()
	name := strings.ToLower(fmt.Sprintf("%s-%s-to-%s", obj.GetNamespace(), from.Kind, r.Field.To.Kind))
	if obj.GetNamespace() == "" {
		name = strings.ToLower(fmt.Sprintf("%s-to-%s", from.Kind, r.Field.To.Kind))
	}
	type grantFrom struct {
		Group     string `json:"group"`
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"` // "" for the cluster-scoped KongVault
	}
	type grantTo struct {
		Group string `json:"group"`
		Kind  string `json:"kind"`
		Name  string `json:"name,omitempty"`
	}
	type meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	type spec struct {
		From []grantFrom `json:"from"`
		To   []grantTo   `json:"to"`
	}
	b, _ := json.Marshal(struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   meta   `json:"metadata"`
		Spec       spec   `json:"spec"`
	}{
		APIVersion: GroupConfiguration + "/v1alpha1", Kind: GKKongReferenceGrant.Kind,
		Metadata: meta{Name: name, Namespace: r.Namespace},
		Spec: spec{
			From: []grantFrom{{Group: from.Group, Kind: from.Kind, Namespace: obj.GetNamespace()}},
			To:   []grantTo{{Group: grantGroup(r.Field.To.Group), Kind: r.Field.To.Kind, Name: r.Name}},
		},
	})
	return string(b)
}

// checkCrossNamespaceNotGranted: a cross-namespace reference that no
// KongReferenceGrant permits, on a release that checks grants for it.
func checkCrossNamespaceNotGranted(obj *unstructured.Unstructured, l Lookup) []Finding {
	gen := l.Generation()
	if !l.Tracks(GKKongReferenceGrant) {
		return nil
	}
	var out []Finding
	for _, r := range crossNamespaceRefs(obj) {
		if !gen.AtLeast(r.Field.Since) || grantsAllow(l, obj, r) {
			continue
		}
		from := "namespace " + obj.GetNamespace()
		if obj.GetNamespace() == "" {
			from = "the cluster-scoped " + obj.GetKind()
		}
		out = append(out, Finding{
			Field: r.NSPath,
			Value: r.Namespace,
			Message: fmt.Sprintf("the %s names %s %s in namespace %s from %s, and no KongReferenceGrant in %s permits it: %s sets ResolvedRefs=False (RefNotPermitted) and does not reconcile the %s",
				r.Field.What, r.Field.To.Kind, r.Name, r.Namespace, from, r.Namespace, gen.Release(), obj.GetKind()),
			Hint: fmt.Sprintf("Permit it with this KongReferenceGrant in %s (kubectl apply -f - takes the line as printed): %s; or move the objects into one namespace",
				r.Namespace, grantJSON(obj, r)),
		})
	}
	return out
}

// checkCrossNamespaceUnsupported: a cross-namespace reference on a release
// that does not honour it.
func checkCrossNamespaceUnsupported(obj *unstructured.Unstructured, l Lookup) []Finding {
	gen := l.Generation()
	var out []Finding
	for _, r := range crossNamespaceRefs(obj) {
		if gen.AtLeast(r.Field.Since) {
			continue
		}
		if r.Field.HonouredWithoutGrantBefore != "" && !gen.AtLeast(r.Field.HonouredWithoutGrantBefore) {
			continue // KON1505 tells
		}
		if obj.GetNamespace() == "" && r.Field.To == GKKonnectGatewayControlPlane {
			continue // KongVault: the only way to name a control plane
		}
		since := r.Field.Since.Release()
		out = append(out, Finding{
			Field: r.NSPath,
			Value: r.Namespace,
			Message: fmt.Sprintf("the %s names %s %s in namespace %s, but %s does not follow references across namespaces for %s (%s and later do, with a KongReferenceGrant)",
				r.Field.What, r.Field.To.Kind, r.Name, r.Namespace, gen.Release(), obj.GetKind(), since),
			Type: field.ErrorTypeForbidden,
			Hint: fmt.Sprintf("Create the %s in namespace %s and omit %s, or upgrade to %s and permit the reference with a KongReferenceGrant in %s",
				r.Field.To.Kind, obj.GetNamespace(), r.NSPath, since, r.Namespace),
		})
	}
	return out
}

// grantPairs are the (from, to) kind pairs some release checks grants for.
func grantPairs(gen Generation) map[[2]schema.GroupKind]bool {
	out := map[[2]schema.GroupKind]bool{}
	for _, f := range crossRefFields {
		if gen.Known() && !gen.AtLeast(f.Since) {
			continue
		}
		for _, from := range f.From {
			out[[2]schema.GroupKind{from, f.To}] = true
		}
	}
	return out
}

// checkGrantPermitsNothing: a KongReferenceGrant none of whose from x to
// pairs is a reference kong-operator checks grants for, or whose from names
// its own namespace, or whose named targets do not exist.
func checkGrantPermitsNothing(obj *unstructured.Unstructured, l Lookup) []Finding {
	pairs := grantPairs(l.Generation())
	froms := nestedSlice(obj.Object, "spec", "from")
	tos := nestedSlice(obj.Object, "spec", "to")
	var reasons []string
	useful := false
	for _, fe := range froms {
		fm, _ := fe.(map[string]any)
		from := schema.GroupKind{Group: nestedString(fm, "group"), Kind: nestedString(fm, "kind")}
		if ns := nestedString(fm, "namespace"); ns == obj.GetNamespace() {
			reasons = append(reasons, fmt.Sprintf("from %s in namespace %s is the grant's own namespace, where no grant is needed", from.Kind, ns))
			continue
		}
		for _, te := range tos {
			tm, _ := te.(map[string]any)
			to := schema.GroupKind{Group: nestedString(tm, "group"), Kind: nestedString(tm, "kind")}
			if to.Group == "core" {
				to.Group = ""
			}
			if !pairs[[2]schema.GroupKind{from, to}] {
				reasons = append(reasons, fmt.Sprintf("%s (%s) to %s (%s) is no reference %s checks grants for", from.Kind, from.Group, to.Kind, grantGroup(to.Group), l.Generation().Release()))
				continue
			}
			if name := nestedString(tm, "name"); name != "" && l.Tracks(to) {
				if _, ok := l.Get(to, obj.GetNamespace(), name); !ok {
					reasons = append(reasons, fmt.Sprintf("%s %s does not exist", to.Kind, nsName(obj.GetNamespace(), name)))
					continue
				}
			}
			useful = true
		}
	}
	if useful || len(froms) == 0 || len(tos) == 0 {
		return nil
	}
	sort.Strings(reasons)
	return []Finding{{
		Field:   field.NewPath("spec"),
		Message: "the KongReferenceGrant permits nothing: " + strings.Join(dedupe(reasons), "; "),
	}}
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// GrantDependents lists the cached objects whose cross-namespace reference
// the grant permits and no other grant does: what breaks when it is
// deleted. Only referrer kinds the lookup holds are seen.
func GrantDependents(grant *unstructured.Unstructured, l Lookup) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gk := range crossRefKinds() {
		if !l.Tracks(gk) {
			continue
		}
		for _, obj := range l.ByIndex(gk, IndexCrossNamespaceTarget, grant.GetNamespace()) {
			for _, r := range crossNamespaceRefs(obj) {
				if r.Namespace != grant.GetNamespace() || !l.Generation().AtLeast(r.Field.Since) {
					continue
				}
				if !grantAllows(grant, obj.GetNamespace(), gk, r.Field.To, r.Name) {
					continue
				}
				if otherGrantAllows(l, grant, obj, gk, r) {
					continue
				}
				out = append(out, obj)
				break
			}
		}
	}
	return out
}

func otherGrantAllows(l Lookup, grant, obj *unstructured.Unstructured, gk schema.GroupKind, r crossRef) bool {
	for _, g := range l.ByIndex(GKKongReferenceGrant, IndexGrantNamespace, r.Namespace) {
		if g.GetName() != grant.GetName() && grantAllows(g, obj.GetNamespace(), gk, r.Field.To, r.Name) {
			return true
		}
	}
	return false
}

// checkGrantDeleteBreaksReferences runs on DELETE of a KongReferenceGrant.
func checkGrantDeleteBreaksReferences(obj *unstructured.Unstructured, l Lookup) []Finding {
	deps := GrantDependents(obj, l)
	if len(deps) == 0 {
		return nil
	}
	names := make([]string, len(deps))
	for i, d := range deps {
		names[i] = d.GetKind() + " " + objName(d)
	}
	return []Finding{{
		Field: field.NewPath("metadata", "name"),
		Value: obj.GetName(),
		Message: fmt.Sprintf("deleting KongReferenceGrant %s leaves %s without the grant it needs: %s sets ResolvedRefs=False (RefNotPermitted) on them",
			objName(obj), strings.Join(names, ", "), l.Generation().Release()),
	}}
}

// Indexes of KongReferenceGrant and of referrers.
const (
	// IndexGrantNamespace indexes KongReferenceGrants by namespace.
	IndexGrantNamespace = "configuration.konghq.com/grant-namespace"
	// IndexCrossNamespaceTarget indexes referrers by the namespaces their
	// cross-namespace references name.
	IndexCrossNamespaceTarget = "konghq.com/cross-namespace-target"
)

func indexGrantNamespace(obj *unstructured.Unstructured) []string {
	return []string{obj.GetNamespace()}
}

func indexCrossNamespaceTarget(obj *unstructured.Unstructured) []string {
	var out []string
	for _, r := range crossNamespaceRefs(obj) {
		out = append(out, r.Namespace)
	}
	sort.Strings(out)
	return dedupe(out)
}
