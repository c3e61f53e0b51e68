package cert

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// controlPlane is the part of a KonnectGatewayControlPlane the cert verbs use, read through kgoapi so
// that v1alpha1 (KGO 1.x) and v1alpha2 (kong-operator 2.x) objects give the same answers.
type controlPlane struct {
	// Name is the resource name: what controlPlaneRef must name.
	Name      string
	Namespace string
	// Version is the API version the object was read in.
	Version string
	// KonnectName is the name in Konnect (spec.name, or spec.createControlPlaneRequest.name in
	// v1alpha2); empty for a Mirror.
	KonnectName string
	// ID is the control plane's UUID in Konnect: status.id once KGO programmed it, or a Mirror's
	// spec.mirror.konnect.id.
	ID string
	// ClusterType as requested at creation, or a Mirror's status.clusterType (v1alpha2).
	ClusterType string
	// AuthType is the auth_type requested at creation; Konnect's answer is authoritative.
	AuthType string
	// AuthRef is spec.konnect.authRef.name, the KonnectAPIAuthConfiguration in the same namespace.
	AuthRef string
	// Mirror says the object mirrors a control plane made elsewhere (spec.source: Mirror).
	Mirror bool
}

func toControlPlane(u *unstructured.Unstructured) *controlPlane {
	return &controlPlane{
		Name:        u.GetName(),
		Namespace:   u.GetNamespace(),
		Version:     u.GroupVersionKind().Version,
		KonnectName: kgoapi.KonnectName(u),
		ID:          kgoapi.KonnectID(u),
		ClusterType: kgoapi.ClusterType(u),
		AuthType:    kgoapi.AuthType(u),
		AuthRef:     kgoapi.AuthRef(u),
		Mirror:      kgoapi.IsMirror(u),
	}
}

// field is the path of a create-request field (name, auth_type) in the object's version.
func (cp *controlPlane) field(f string) string { return kgoapi.RequestFieldPath(cp.Version, f) }

// resolveControlPlane finds the KonnectGatewayControlPlane that ref names: by resource name first, then
// by Konnect name, which is a common slip and is said on stderr. A control plane of another
// namespace is refused (controlPlaneRef cannot cross namespaces); an unknown one gets close names.
func (c *Clients) resolveControlPlane(ctx context.Context, ref string) (*controlPlane, error) {
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		if ns != c.Namespace {
			return nil, crossNamespaceError(ns, name, c.Namespace)
		}
		ref = name
	}
	gvr, err := c.controlPlaneGVR()
	if err != nil {
		return nil, err
	}
	u, err := c.get(ctx, gvr, ref)
	if err != nil {
		return nil, err
	}
	if u != nil {
		return toControlPlane(u), nil
	}
	all, err := c.list(ctx, gvr, "")
	if err != nil {
		return nil, err
	}
	nameField := kgoapi.RequestFieldPath(gvr.Version, "name")
	var byKonnectName []*controlPlane
	for i := range all {
		if cp := toControlPlane(&all[i]); cp.KonnectName == ref {
			byKonnectName = append(byKonnectName, cp)
		}
	}
	switch len(byKonnectName) {
	case 1:
		cp := byKonnectName[0]
		c.progress("note: %q is the Konnect name (%s) of KonnectGatewayControlPlane %s/%s; controlPlaneRef uses its resource name %q",
			ref, cp.field("name"), cp.Namespace, cp.Name, cp.Name)
		return cp, nil
	case 0:
	default:
		names := make([]string, len(byKonnectName))
		for i, cp := range byKonnectName {
			names[i] = cp.Name
		}
		return nil, fmt.Errorf("--control-plane %q: %d KonnectGatewayControlPlanes in namespace %q have that Konnect name (%s): %s; pass the resource name instead",
			ref, len(names), c.Namespace, nameField, strings.Join(names, ", "))
	}
	if other := c.findElsewhere(ctx, gvr, ref); other != nil {
		return nil, crossNamespaceError(other.Namespace, other.Name, c.Namespace)
	}
	return nil, unknownControlPlaneError(ref, c.Namespace, nameField, all)
}

// findElsewhere looks for the control plane in other namespaces, when the user may list them.
func (c *Clients) findElsewhere(ctx context.Context, gvr schema.GroupVersionResource, ref string) *controlPlane {
	l, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		if !apierrors.IsForbidden(err) {
			c.progress("note: could not look for control plane %q in other namespaces: %v", ref, err)
		}
		return nil
	}
	for i := range l.Items {
		cp := toControlPlane(&l.Items[i])
		if cp.Namespace != c.Namespace && (cp.Name == ref || cp.KonnectName == ref) {
			return cp
		}
	}
	return nil
}

func crossNamespaceError(cpNS, cpName, ns string) error {
	return fmt.Errorf("KonnectGatewayControlPlane %s/%s is in namespace %q, but the certificate goes to namespace %q and controlPlaneRef cannot cross namespaces: run with -n %s",
		cpNS, cpName, cpNS, ns, cpNS)
}

func unknownControlPlaneError(ref, ns, nameField string, all []unstructured.Unstructured) error {
	if len(all) == 0 {
		return fmt.Errorf("--control-plane %q: there is no KonnectGatewayControlPlane in namespace %q: create one first, or pick the namespace with -n", ref, ns)
	}
	var candidates []string
	for i := range all {
		cp := toControlPlane(&all[i])
		candidates = append(candidates, cp.Name)
		if cp.KonnectName != "" && cp.KonnectName != cp.Name {
			candidates = append(candidates, cp.KonnectName)
		}
	}
	msg := fmt.Sprintf("--control-plane %q: no KonnectGatewayControlPlane in namespace %q has that resource name or Konnect name (%s)", ref, ns, nameField)
	if close := closeNames(ref, candidates); len(close) > 0 {
		msg += "; did you mean " + quoteJoin(close) + "?"
	}
	return fmt.Errorf("%s (list them with: kubectl get konnectgatewaycontrolplanes -n %s)", msg, ns)
}

// closeNames returns up to three candidates that look like a typo of s: within an edit distance of a
// third of its length (at least 2), or containing it (or contained in it), ignoring case.
func closeNames(s string, candidates []string) []string {
	type scored struct {
		name string
		d    int
	}
	var out []scored
	seen := map[string]bool{}
	ls := strings.ToLower(s)
	limit := max(2, len(s)/3)
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := levenshtein(ls, lc)
		if d <= limit || strings.Contains(lc, ls) || strings.Contains(ls, lc) {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	names := make([]string, 0, 3)
	for i := 0; i < len(out) && i < 3; i++ {
		names = append(names, out[i].name)
	}
	return names
}

func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
