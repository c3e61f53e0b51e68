package migrate

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// ControlPlane is a control plane as the Konnect API describes it.
type ControlPlane struct {
	ID   string
	Name string
	// ControlPlaneEndpoint is config.control_plane_endpoint, e.g.
	// https://b89939e7f0.us.cp0.konghq.com.
	ControlPlaneEndpoint string
}

// EndpointPrefix is the first DNS label of the control plane endpoint: what
// KGO 1.4's KonnectExtension calls konnectID.
func (cp ControlPlane) EndpointPrefix() string { return endpointPrefix(cp.ControlPlaneEndpoint) }

func endpointPrefix(endpoint string) string {
	host := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = u.Hostname()
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label)
}

// Konnect lists the control planes a KonnectAPIAuthConfiguration's token
// can see. Plan calls it only for what the objects cannot tell: the control
// plane of a KGO 1.4 endpoint prefix, and the Konnect name of a Mirror.
type Konnect interface {
	ControlPlanes(ctx context.Context, auth *unstructured.Unstructured) ([]ControlPlane, error)
}

// Input of Plan.
type Input struct {
	// Objects of one namespace (other kinds are ignored).
	Objects []*unstructured.Unstructured
	// Namespace of objects without one.
	Namespace string
	// Konnect answers what only Konnect knows; nil works offline, leaving
	// KGO 1.4 endpoint prefixes unresolved unless a control plane's
	// status.konnectEndpoints names them.
	Konnect Konnect
}

// Change is one object that differs on kong-operator 2.x.
type Change struct {
	// Old is the object as it is, cleaned (see Clean); nil for an object
	// the migration adds (a Mirror KonnectGatewayControlPlane).
	Old *unstructured.Unstructured
	// New is the object to apply.
	New *unstructured.Unstructured
	// Why says what changes, for people.
	Why string
}

// Result of Plan.
type Result struct {
	// Changes in apply order: control planes, extensions, data planes.
	Changes []Change
	// Notes are what to do besides applying (delete the objects of kinds
	// kong-operator 2.x no longer serves) and how references were resolved.
	Notes []string
	// Unresolved are KonnectExtensions whose control plane could not be
	// found, with the reason; they are not in Changes.
	Unresolved []string
}

// planner holds the objects of one Plan.
type planner struct {
	in     Input
	ctx    context.Context
	cps    []*unstructured.Unstructured // KonnectGatewayControlPlanes, sorted
	auths  []*unstructured.Unstructured
	names  map[string]bool // KonnectGatewayControlPlane ns/name in use
	listed map[string]listing
	// mirrors by namespace and Konnect ID, so one control plane gets one Mirror.
	mirrors map[string]*unstructured.Unstructured
	res     *Result
}

type listing struct {
	cps []ControlPlane
	err error
}

func (p *planner) ns(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns
	}
	return p.in.Namespace
}

// Plan computes the changes that bring the objects to kong-operator 2.x.
// Objects already in their 2.x form produce no change, so a second run over
// migrated objects plans nothing.
func Plan(ctx context.Context, in Input) *Result {
	p := &planner{in: in, ctx: ctx, names: map[string]bool{}, listed: map[string]listing{}, mirrors: map[string]*unstructured.Unstructured{}, res: &Result{}}
	var exts, dps []*unstructured.Unstructured
	for _, o := range in.Objects {
		switch o.GroupVersionKind().GroupKind() {
		case rules.GKKonnectGatewayControlPlane:
			p.cps = append(p.cps, o)
			p.names[p.ns(o)+"/"+o.GetName()] = true
		case rules.GKKonnectAPIAuthConfiguration:
			p.auths = append(p.auths, o)
		case rules.GKKonnectExtension, rules.GKKonnectExtensionLegacy:
			exts = append(exts, o)
		case rules.GKDataPlane:
			dps = append(dps, o)
		}
	}
	for _, l := range [][]*unstructured.Unstructured{p.cps, p.auths, exts, dps} {
		sortObjects(l)
	}

	var cpChanges, extChanges, dpChanges []Change
	for _, cp := range p.cps {
		out, dropped, ok := ControlPlaneV1Alpha2(cp)
		if !ok {
			continue
		}
		why := fmt.Sprintf("KonnectGatewayControlPlane %s: v1alpha1 -> v1alpha2", nsName(p.ns(cp), cp.GetName()))
		if src, _, _ := unstructured.NestedString(out.Object, "spec", "source"); src == SourceMirror {
			why += " (Mirror)"
		} else {
			why += " (spec.name and the other Konnect fields move to spec.createControlPlaneRequest; source: Origin)"
		}
		if len(dropped) > 0 {
			why += "; dropped, not in v1alpha2: " + strings.Join(dropped, ", ")
		}
		cpChanges = append(cpChanges, Change{Old: Clean(cp), New: out, Why: why})
	}
	for _, ext := range exts {
		if c, ok := p.extension(ext); ok {
			extChanges = append(extChanges, c)
		}
	}
	for _, dp := range dps {
		out, names, ok := DataPlaneExtensionsV2(dp)
		if !ok {
			continue
		}
		dpChanges = append(dpChanges, Change{Old: Clean(dp), New: out, Why: fmt.Sprintf(
			"DataPlane %s: spec.extensions KonnectExtension %s: group gateway-operator.konghq.com -> konnect.konghq.com",
			nsName(p.ns(dp), dp.GetName()), strings.Join(names, ", "))})
	}
	var mirrors []Change
	keys := make([]string, 0, len(p.mirrors))
	for k := range p.mirrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m := p.mirrors[k]
		id, _, _ := unstructured.NestedString(m.Object, "spec", "mirror", "konnect", "id")
		mirrors = append(mirrors, Change{New: m, Why: fmt.Sprintf("KonnectGatewayControlPlane %s: new Mirror of Konnect control plane %s, for the KonnectExtensions that referenced it by konnectID",
			nsName(p.ns(m), m.GetName()), id)})
	}
	cpChanges = append(cpChanges, mirrors...)
	sort.SliceStable(cpChanges, func(i, j int) bool { return cpChanges[i].New.GetName() < cpChanges[j].New.GetName() })
	p.res.Changes = append(append(cpChanges, extChanges...), dpChanges...)
	return p.res
}

// extension plans one KonnectExtension.
func (p *planner) extension(ext *unstructured.Unstructured) (Change, bool) {
	gvk := ext.GroupVersionKind()
	ns := p.ns(ext)
	where := fmt.Sprintf("KonnectExtension %s (%s)", nsName(ns, ext.GetName()), gvk.GroupVersion())
	if gvk.GroupKind() == rules.GKKonnectExtension && gvk.Version == VersionV1Alpha2 {
		return Change{}, false
	}
	legacy := gvk.GroupKind() == rules.GKKonnectExtensionLegacy
	if legacy && p.konnectExtensionExists(ns, ext.GetName()) {
		p.res.Notes = append(p.res.Notes, fmt.Sprintf("%s: a konnect.konghq.com KonnectExtension %s exists already and stays as it is; delete this one (kubectl delete konnectextensions.gateway-operator.konghq.com %s -n %s)",
			where, nsName(ns, ext.GetName()), ext.GetName(), ns))
		return Change{}, false
	}
	var cp, how string
	var err error
	if legacy {
		cp, how, err = p.legacyTarget(ext)
	} else {
		ref, _, _ := unstructured.NestedMap(ext.Object, "spec", "konnect", "controlPlane", "ref")
		switch t, _ := ref["type"].(string); t {
		case "konnectNamespacedRef":
			cp, _, _ = unstructured.NestedString(ref, "konnectNamespacedRef", "name")
			how = "konnectNamespacedRef kept"
			if cp == "" {
				err = fmt.Errorf("spec.konnect.controlPlane.ref.konnectNamespacedRef.name is empty")
			}
		case "konnectID":
			id, _ := ref["konnectID"].(string)
			auth, _, _ := unstructured.NestedString(ext.Object, "spec", "konnect", "configuration", "authRef", "name")
			cp, how, err = p.byID(ext, strings.ToLower(id), auth)
		default:
			err = fmt.Errorf("spec.konnect.controlPlane.ref.type %q has no v1alpha2 form (konnectNamespacedRef only)", t)
		}
	}
	if err != nil {
		p.res.Unresolved = append(p.res.Unresolved, fmt.Sprintf("%s: %v", where, err))
		return Change{}, false
	}
	if legacy {
		p.res.Notes = append(p.res.Notes, fmt.Sprintf("kong-operator 2.x does not serve the gateway-operator.konghq.com KonnectExtension: once the konnect.konghq.com one is applied, delete %s (kubectl delete konnectextensions.gateway-operator.konghq.com %s -n %s)",
			nsName(ns, ext.GetName()), ext.GetName(), ns))
	}
	return Change{Old: Clean(ext), New: ExtensionV1Alpha2(ext, cp), Why: fmt.Sprintf("%s -> %s on KonnectGatewayControlPlane %s (%s)", where, APIVersionKonnectV1Alpha2, cp, how)}, true
}

func (p *planner) konnectExtensionExists(ns, name string) bool {
	for _, o := range p.in.Objects {
		if o.GroupVersionKind().GroupKind() == rules.GKKonnectExtension && p.ns(o) == ns && o.GetName() == name {
			return true
		}
	}
	return false
}

// byID finds the control plane of a Konnect ID: a KonnectGatewayControlPlane
// of the namespace with that ID, else a Mirror read with authRef.
func (p *planner) byID(ext *unstructured.Unstructured, id, authRef string) (string, string, error) {
	ns := p.ns(ext)
	if id == "" {
		return "", "", fmt.Errorf("spec.konnect.controlPlane.ref.konnectID is empty")
	}
	if cp := p.cpWithID(ns, id); cp != nil {
		return cp.GetName(), fmt.Sprintf("konnectID %s is the ID of KonnectGatewayControlPlane %s", id, cp.GetName()), nil
	}
	if authRef == "" {
		return "", "", fmt.Errorf("konnectID %s matches no KonnectGatewayControlPlane of namespace %s, and without spec.konnect.configuration.authRef a Mirror cannot be made", id, ns)
	}
	name := ""
	if auth := p.auth(ns, authRef); auth != nil {
		if cps, err := p.list(auth); err == nil {
			for _, c := range cps {
				if strings.EqualFold(c.ID, id) {
					name = c.Name
				}
			}
		}
	}
	m := p.mirror(ext, id, authRef, name)
	return m, fmt.Sprintf("konnectID %s: no KonnectGatewayControlPlane of the namespace has it, so a Mirror does", id), nil
}

// legacyTarget resolves a KGO 1.4 KonnectExtension's endpoint prefix.
func (p *planner) legacyTarget(ext *unstructured.Unstructured) (string, string, error) {
	ns := p.ns(ext)
	prefix, _, _ := unstructured.NestedString(ext.Object, "spec", "controlPlaneRef", "konnectID")
	prefix = strings.ToLower(prefix)
	region, _, _ := unstructured.NestedString(ext.Object, "spec", "controlPlaneRegion")
	if prefix == "" {
		return "", "", fmt.Errorf("spec.controlPlaneRef.konnectID is empty")
	}
	// A control plane whose status names the endpoint (KGO >= 1.6 writes
	// status.konnectEndpoints) needs no Konnect call.
	for _, cp := range p.cps {
		if p.ns(cp) != ns {
			continue
		}
		if ep, _, _ := unstructured.NestedString(cp.Object, "status", "konnectEndpoints", "controlPlane"); ep != "" && endpointPrefix(ep) == prefix {
			return cp.GetName(), fmt.Sprintf("konnectID %s is the endpoint prefix in status.konnectEndpoints of KonnectGatewayControlPlane %s", prefix, cp.GetName()), nil
		}
	}
	if p.in.Konnect == nil {
		return "", "", fmt.Errorf("konnectID %s is a control-plane endpoint prefix (KGO 1.4); no KonnectGatewayControlPlane's status names it, and Konnect was not asked", prefix)
	}
	var asked []string
	for _, auth := range p.candidateAuths(ns, region) {
		cps, err := p.list(auth)
		if err != nil {
			asked = append(asked, fmt.Sprintf("%s: %v", auth.GetName(), err))
			continue
		}
		asked = append(asked, fmt.Sprintf("%s: %d control planes", auth.GetName(), len(cps)))
		for _, c := range cps {
			if c.EndpointPrefix() != prefix {
				continue
			}
			via := fmt.Sprintf("konnectID %s is the endpoint prefix of Konnect control plane %q (%s), found with KonnectAPIAuthConfiguration %s", prefix, c.Name, c.ID, auth.GetName())
			if cp := p.cpWithID(ns, c.ID); cp != nil {
				return cp.GetName(), via + fmt.Sprintf("; KonnectGatewayControlPlane %s has its ID", cp.GetName()), nil
			}
			if cp := p.originNamed(ns, c.Name, auth.GetName()); cp != nil {
				return cp.GetName(), via + fmt.Sprintf("; KonnectGatewayControlPlane %s creates it (spec.name %q)", cp.GetName(), c.Name), nil
			}
			return p.mirror(ext, strings.ToLower(c.ID), auth.GetName(), c.Name), via + "; no KonnectGatewayControlPlane of the namespace stands for it, so a Mirror does", nil
		}
	}
	if len(asked) == 0 {
		return "", "", fmt.Errorf("konnectID %s is a control-plane endpoint prefix (KGO 1.4), and namespace %s has no KonnectAPIAuthConfiguration to ask Konnect with", prefix, ns)
	}
	return "", "", fmt.Errorf("konnectID %s matches the endpoint of no control plane Konnect listed (%s)", prefix, strings.Join(asked, "; "))
}

// candidateAuths are the namespace's KonnectAPIAuthConfigurations, those
// the control planes use first, and only those of the extension's region
// when it has one.
func (p *planner) candidateAuths(ns, region string) []*unstructured.Unstructured {
	used := map[string]bool{}
	for _, cp := range p.cps {
		if p.ns(cp) == ns {
			if a, _, _ := unstructured.NestedString(cp.Object, "spec", "konnect", "authRef", "name"); a != "" {
				used[a] = true
			}
		}
	}
	var first, rest []*unstructured.Unstructured
	for _, a := range p.auths {
		if p.ns(a) != ns {
			continue
		}
		if region != "" {
			server, _, _ := unstructured.NestedString(a.Object, "spec", "serverURL")
			if r := serverRegion(server); r != "" && r != strings.ToLower(region) {
				continue
			}
		}
		if used[a.GetName()] {
			first = append(first, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(first, rest...)
}

// serverRegion is the first DNS label of a serverURL (us.api.konghq.com).
func serverRegion(server string) string {
	if h := region.ParseHost(server); h.ValidRegion() {
		return h.Label
	}
	return ""
}

func slicesContains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (p *planner) list(auth *unstructured.Unstructured) ([]ControlPlane, error) {
	key := p.ns(auth) + "/" + auth.GetName()
	if l, ok := p.listed[key]; ok {
		return l.cps, l.err
	}
	if p.in.Konnect == nil {
		return nil, fmt.Errorf("Konnect was not asked")
	}
	cps, err := p.in.Konnect.ControlPlanes(p.ctx, auth)
	p.listed[key] = listing{cps, err}
	return cps, err
}

func (p *planner) auth(ns, name string) *unstructured.Unstructured {
	for _, a := range p.auths {
		if p.ns(a) == ns && a.GetName() == name {
			return a
		}
	}
	return nil
}

// cpWithID is the KonnectGatewayControlPlane of the namespace whose Konnect
// ID (status.id, or spec.mirror.konnect.id) is id.
func (p *planner) cpWithID(ns, id string) *unstructured.Unstructured {
	for _, cp := range p.cps {
		if p.ns(cp) != ns {
			continue
		}
		for _, f := range [][]string{{"status", "id"}, {"spec", "mirror", "konnect", "id"}} {
			if v, _, _ := unstructured.NestedString(cp.Object, f...); v != "" && strings.EqualFold(v, id) {
				return cp
			}
		}
	}
	return nil
}

// originNamed is the KonnectGatewayControlPlane that creates (or adopts) the
// Konnect control plane name with the token of authRef.
func (p *planner) originNamed(ns, name, authRef string) *unstructured.Unstructured {
	for _, cp := range p.cps {
		if p.ns(cp) != ns {
			continue
		}
		if src, _, _ := unstructured.NestedString(cp.Object, "spec", "source"); src == SourceMirror {
			continue
		}
		n, _, _ := unstructured.NestedString(cp.Object, "spec", "name")
		if n == "" {
			n, _, _ = unstructured.NestedString(cp.Object, "spec", "createControlPlaneRequest", "name")
		}
		a, _, _ := unstructured.NestedString(cp.Object, "spec", "konnect", "authRef", "name")
		if n == name && a == authRef {
			return cp
		}
	}
	return nil
}

// mirror returns the name of the Mirror for Konnect control plane id in
// the extension's namespace, making it on first use: named after the Konnect
// control plane when that makes a free Kubernetes name, else after the
// extension. It is written in the extension's namespace as given (none when
// the extension has none, for kubectl apply -n).
func (p *planner) mirror(ext *unstructured.Unstructured, id, authRef, konnectName string) string {
	ns := p.ns(ext)
	key := ns + "/" + id
	if m, ok := p.mirrors[key]; ok {
		return m.GetName()
	}
	base := dnsName(konnectName)
	if base == "" {
		base = dnsName(ext.GetName() + "-control-plane")
	}
	name := base
	for i := 1; p.names[ns+"/"+name]; i++ {
		if i == 1 {
			name = base + "-mirror"
		} else {
			name = fmt.Sprintf("%s-mirror-%d", base, i)
		}
	}
	p.names[ns+"/"+name] = true
	p.mirrors[key] = NewMirror(ext.GetNamespace(), name, id, authRef)
	return name
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes s a DNS-1123 subdomain-safe name, or "".
func dnsName(s string) string {
	s = strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > validation.DNS1123LabelMaxLength {
		s = strings.Trim(s[:validation.DNS1123LabelMaxLength], "-")
	}
	if len(validation.IsDNS1123Label(s)) > 0 {
		return ""
	}
	return s
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func sortObjects(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		if a, b := objs[i].GetNamespace(), objs[j].GetNamespace(); a != b {
			return a < b
		}
		if a, b := objs[i].GroupVersionKind().Group, objs[j].GroupVersionKind().Group; a != b {
			// konnect.konghq.com before gateway-operator.konghq.com
			return a > b
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}
