package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// Lookup is the read-only view of other objects in the cluster that rules
// consult. Objects it returns are stripped (see Strip) and shared: callers
// must not modify them.
//
// Every method must be cheap: Get is a map lookup and ByIndex reads a
// maintained index, so that a rule costs the same with 100 or 100,000
// cached objects. List exists for tools (lint, diagnostics); rules do not
// call it.
type Lookup interface {
	// Get returns the object of the group kind with that namespace and name
	// (namespace "" for cluster-scoped kinds).
	Get(gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, bool)
	// List returns the objects of the group kind in a namespace ("" for all).
	List(gk schema.GroupKind, namespace string) []*unstructured.Unstructured
	// ByIndex returns the objects of the group kind whose index (one of
	// Indexes) yields value.
	ByIndex(gk schema.GroupKind, index, value string) []*unstructured.Unstructured
	// Tracks reports whether the lookup holds objects of the group kind at
	// all. Rules never report a missing target of a kind that is not tracked
	// (a webhook that does not cache Secrets must not warn that every Secret
	// is missing).
	Tracks(gk schema.GroupKind) bool
	// Generation is the KGO API generation installed in the cluster.
	Generation() Generation
}

// Generation identifies the Kong Gateway Operator release line installed in a
// cluster, which decides what some resources mean and which references the
// operator honours. Generations are ordered (Generations, oldest first); a
// rule names the range of generations it predicts (Rule.Releases).
type Generation string

const (
	// GenerationUnknown: rules that depend on the generation stay silent.
	GenerationUnknown Generation = ""
	// GenerationKGO14 is KGO 1.4.x: kubernetes-configuration <= v1.0.x plus
	// KGO's own gateway-operator.konghq.com CRDs. KGO acts on the
	// gateway-operator.konghq.com/v1alpha1 KonnectExtension whose
	// controlPlaneRef.konnectID is the control-plane endpoint prefix.
	GenerationKGO14 Generation = "kgo-1.4"
	// GenerationKGO15Plus is KGO 1.5 and 1.6: the konnect.konghq.com
	// KonnectExtension (v1alpha1) is served and KGO ignores the
	// gateway-operator.konghq.com one. Discovery cannot tell 1.5 from 1.6.
	GenerationKGO15Plus Generation = "kgo-1.5+"
	// GenerationKO20 is kong-operator 2.0 (kubernetes-configuration v2.0):
	// KonnectGatewayControlPlane v1alpha2 (spec.createControlPlaneRequest,
	// status.clusterType; v1alpha1 still served and converted by
	// kong-operator's conversion webhook, Kong/kong-operator#2023),
	// KonnectExtension v1alpha2 with konnectNamespacedRef only, no
	// gateway-operator.konghq.com KonnectExtension, and
	// KongDataPlaneClientCertificate allowed on control plane groups.
	GenerationKO20 Generation = "ko-2.0"
	// GenerationKO21 is kong-operator 2.1: KongReferenceGrant
	// (configuration.konghq.com/v1alpha1, Kong/kong-operator#2855) permits
	// cross-namespace references; hybrid Gateways.
	GenerationKO21 Generation = "ko-2.1"
	// GenerationKO22 is kong-operator 2.2: more grant-guarded references
	// (KongTarget, KongSNI, GatewayConfiguration auth), KonnectExtension on
	// a control plane group (Kong/kong-operator#3711).
	GenerationKO22 Generation = "ko-2.2"
	// GenerationKO23 is kong-operator 2.3: a KonnectAPIAuthConfiguration's
	// cross-namespace secretRef needs a grant (Kong/kong-operator#2908).
	GenerationKO23 Generation = "ko-2.3"
)

// Generations lists the known generations, oldest first.
var Generations = []Generation{GenerationKGO14, GenerationKGO15Plus, GenerationKO20, GenerationKO21, GenerationKO22, GenerationKO23}

// index is the generation's position in Generations; -1 when unknown.
func (g Generation) index() int {
	for i, k := range Generations {
		if k == g {
			return i
		}
	}
	return -1
}

// Known reports whether g is one of Generations.
func (g Generation) Known() bool { return g.index() >= 0 }

// AtLeast reports whether g is known and o or newer.
func (g Generation) AtLeast(o Generation) bool {
	i := g.index()
	return i >= 0 && i >= o.index()
}

// KongOperator2 reports whether g is a kong-operator 2.x release.
func (g Generation) KongOperator2() bool { return g.AtLeast(GenerationKO20) }

// ReferenceGrants reports whether the operator honours KongReferenceGrant
// (kong-operator >= 2.1).
func (g Generation) ReferenceGrants() bool { return g.AtLeast(GenerationKO21) }

// Release names the operator release line for people: "KGO 1.4",
// "KGO 1.5/1.6", "kong-operator 2.2".
func (g Generation) Release() string {
	switch g {
	case GenerationKGO14:
		return "KGO 1.4"
	case GenerationKGO15Plus:
		return "KGO 1.5/1.6"
	case GenerationUnknown:
		return "an unknown KGO release"
	}
	if g.KongOperator2() {
		return "kong-operator " + strings.TrimPrefix(string(g), "ko-")
	}
	return string(g)
}

// LegacyKonnectExtensionActive reports whether KGO acts on the
// gateway-operator.konghq.com KonnectExtension; known is false when the
// generation is unknown.
func (g Generation) LegacyKonnectExtensionActive() (active, known bool) {
	if !g.Known() {
		return false, false
	}
	return g == GenerationKGO14, true
}

// Range is an inclusive range of generations; an empty bound is open.
type Range struct {
	From, To Generation
}

// Since is the range from g on.
func Since(g Generation) Range { return Range{From: g} }

// Until is the range up to and including g.
func Until(g Generation) Range { return Range{To: g} }

// Only is the range of g alone.
func Only(g Generation) Range { return Range{From: g, To: g} }

// All reports whether the range is unbounded: the rule applies whatever the
// generation, unknown included.
func (r Range) All() bool { return r.From == "" && r.To == "" }

// Contains reports whether g is in the range. A bounded range never
// contains the unknown generation: a rule that depends on the release stays
// silent until the release is known.
func (r Range) Contains(g Generation) bool {
	if r.All() {
		return true
	}
	if !g.Known() {
		return false
	}
	if r.From != "" && !g.AtLeast(r.From) {
		return false
	}
	if r.To != "" && !r.To.AtLeast(g) {
		return false
	}
	return true
}

// Members lists the known generations in the range.
func (r Range) Members() []Generation {
	var out []Generation
	for _, g := range Generations {
		if r.Contains(g) {
			out = append(out, g)
		}
	}
	return out
}

// String is how documents name the range: "all", "kgo-1.4 .. kgo-1.5+",
// "ko-2.2 and later".
func (r Range) String() string {
	switch {
	case r.All():
		return "all"
	case r.From == r.To:
		return string(r.From)
	case r.To == "":
		return string(r.From) + " and later"
	case r.From == "":
		return string(Generations[0]) + " .. " + string(r.To)
	}
	return string(r.From) + " .. " + string(r.To)
}

// ParseRelease maps an operator version as people write it to its
// generation: 1.4, 1.5, 1.6 (Kong Gateway Operator), 2.0 .. 2.3
// (kong-operator), full versions such as v2.2.3 or 2.3.0-rc.3, and "2.x" for
// the newest kong-operator 2 known. A kong-operator 2 minor newer than the
// newest known is read as the newest known.
func ParseRelease(v string) (Generation, error) {
	s := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(v), "v"))
	major, rest, _ := strings.Cut(s, ".")
	minor, _, _ := strings.Cut(rest, ".")
	minor, _, _ = strings.Cut(minor, "-")
	switch {
	case major == "1" && minor == "4":
		return GenerationKGO14, nil
	case major == "1" && (minor == "5" || minor == "6"):
		return GenerationKGO15Plus, nil
	case major == "2" && (minor == "" || minor == "x"):
		return Generations[len(Generations)-1], nil
	case major == "2":
		if n, err := strconv.Atoi(minor); err == nil && n >= 0 {
			if g := Generation(fmt.Sprintf("ko-2.%d", n)); g.Known() {
				return g, nil
			}
			if n > 3 {
				return Generations[len(Generations)-1], nil
			}
		}
	}
	return GenerationUnknown, fmt.Errorf("KGO version %q is not one of %s", v, ReleaseVersions)
}

// ReleaseVersions lists the versions ParseRelease takes, for messages and help.
const ReleaseVersions = "1.4, 1.5, 1.6 (Kong Gateway Operator), 2.0, 2.1, 2.2, 2.3 (kong-operator), or a full version such as v2.2.3"

// CRDVersionAnnotation is the annotation every kong-operator 2.x CRD carries
// with the release of the CRDs (kubernetes-configuration v2.0.x for
// kong-operator 2.0, the kong-operator release itself from 2.1 on, where the
// CRDs moved into kong-operator's repository).
const CRDVersionAnnotation = kgoapi.CRDVersionAnnotation

// GenerationFromCRDVersion reads the generation from a CRD's
// CRDVersionAnnotation; ok is false for a value that names no kong-operator 2
// release (KGO 1.x's kubernetes-configuration versions do not map one to one
// to KGO releases: discovery decides those).
func GenerationFromCRDVersion(v string) (Generation, bool) {
	if !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(v), "v"), "2.") {
		return GenerationUnknown, false
	}
	g, err := ParseRelease(v)
	return g, err == nil
}

// Served are the API discovery facts that decide the generation.
type Served struct {
	// KonnectExtension: konnect.konghq.com KonnectExtension, in any version
	// (KGO >= 1.5 CRDs).
	KonnectExtension bool
	// LegacyKonnectExtension: gateway-operator.konghq.com KonnectExtension
	// (KGO 1.4 CRDs; the KGO 1.5/1.6 CRDs still serve it, kong-operator 2.x
	// does not).
	LegacyKonnectExtension bool
	// ControlPlaneV1Alpha2: konnect.konghq.com/v1alpha2
	// KonnectGatewayControlPlane, which only kong-operator 2.x CRDs serve.
	ControlPlaneV1Alpha2 bool
	// ReferenceGrant: configuration.konghq.com KongReferenceGrant
	// (kong-operator >= 2.1).
	ReferenceGrant bool
	// EventGateway: konnect.konghq.com KonnectEventGateway, new in
	// kong-operator 2.2.0 (config/crd/kong-operator at v2.1.0 lacks it).
	EventGateway bool
	// AIGateway: konnect.konghq.com KonnectAIGateway, new in kong-operator
	// 2.3 (config/crd/kong-operator at v2.2.3 lacks it).
	AIGateway bool
	// CRDVersion is the CRDVersionAnnotation of the
	// KonnectGatewayControlPlane CRD where the reader may get CRDs; it names
	// the exact release and wins over the kinds above.
	CRDVersion string
	// CRDUnread says why the CRD could not be read (kgoapi.CRDVersion);
	// the kinds above then decide.
	CRDUnread string
}

// ReleaseSource says where GenerationFor read the release, for the messages
// that name it: the CRD's annotation, or the kinds served and why the
// annotation did not decide.
func (s Served) ReleaseSource() string {
	if !s.ControlPlaneV1Alpha2 {
		return "from the kinds served"
	}
	if _, ok := GenerationFromCRDVersion(s.CRDVersion); ok {
		return fmt.Sprintf("the KonnectGatewayControlPlane CRD's %s is %s", CRDVersionAnnotation, s.CRDVersion)
	}
	switch {
	case s.CRDUnread != "":
		return "from the kinds served: the KonnectGatewayControlPlane CRD could not be read (" + s.CRDUnread + ")"
	case s.CRDVersion == "":
		return "from the kinds served: the KonnectGatewayControlPlane CRD has no " + CRDVersionAnnotation
	}
	return fmt.Sprintf("from the kinds served: the KonnectGatewayControlPlane CRD's %s %q names no kong-operator 2 release", CRDVersionAnnotation, s.CRDVersion)
}

// ServedFromResources reads the Served facts (but the CRD's) from the
// resources discovery lists, for readers that list them rather than ask a
// REST mapper (ServedIn).
func ServedFromResources(resources []schema.GroupVersionResource) Served {
	var s Served
	for _, r := range resources {
		switch {
		case r.Group == GroupKonnect && r.Resource == "konnectextensions":
			s.KonnectExtension = true
		case r.Group == GKKonnectExtensionLegacy.Group && r.Resource == "konnectextensions":
			s.LegacyKonnectExtension = true
		case r.Group == GroupKonnect && r.Resource == kgoapi.ResourceControlPlanes && r.Version == kgoapi.V1Alpha2:
			s.ControlPlaneV1Alpha2 = true
		case r.Group == GroupConfiguration && r.Resource == "kongreferencegrants":
			s.ReferenceGrant = true
		case r.Group == GroupKonnect && r.Resource == "konnecteventgateways":
			s.EventGateway = true
		case r.Group == GroupKonnect && r.Resource == "konnectaigateways":
			s.AIGateway = true
		}
	}
	return s
}

// GenerationFor derives the generation from API discovery.
func GenerationFor(s Served) Generation {
	if s.ControlPlaneV1Alpha2 {
		if g, ok := GenerationFromCRDVersion(s.CRDVersion); ok {
			return g
		}
	}
	switch {
	case s.ControlPlaneV1Alpha2 && s.AIGateway:
		return GenerationKO23
	case s.ControlPlaneV1Alpha2 && s.EventGateway:
		return GenerationKO22
	case s.ControlPlaneV1Alpha2 && s.ReferenceGrant:
		return GenerationKO21
	case s.ControlPlaneV1Alpha2:
		return GenerationKO20
	case s.KonnectExtension:
		return GenerationKGO15Plus
	case s.LegacyKonnectExtension:
		return GenerationKGO14
	default:
		return GenerationUnknown
	}
}

// ServedIn reads the Served facts from a discovery-backed REST mapper. A
// kind or version the mapper does not know is not served; other errors
// (discovery failed) are returned, joined, with the facts that could be
// read.
func ServedIn(m meta.RESTMapper) (Served, error) {
	var errs []error
	served := func(gk schema.GroupKind, versions ...string) bool {
		if len(errs) > 0 {
			return false
		}
		_, err := m.RESTMapping(gk, versions...)
		switch {
		case err == nil:
			return true
		case meta.IsNoMatchError(err):
			return false
		default:
			// One failure is the cluster's (unreachable, discovery
			// broken): asking again for the next kind repeats it.
			errs = append(errs, fmt.Errorf("discovering whether the cluster serves %s: %w", gk, err))
			return false
		}
	}
	s := Served{
		KonnectExtension:       served(GKKonnectExtension),
		LegacyKonnectExtension: served(GKKonnectExtensionLegacy),
		ControlPlaneV1Alpha2:   served(GKKonnectGatewayControlPlane, "v1alpha2"),
		ReferenceGrant:         served(GKKongReferenceGrant),
		EventGateway:           served(GKKonnectEventGateway),
		AIGateway:              served(GKKonnectAIGateway),
	}
	return s, errors.Join(errs...)
}

// Index names. A Lookup must maintain these indexes (client-go: pass the
// functions of Indexes to the informer's AddIndexers).
const (
	// IndexKonnectName indexes KonnectGatewayControlPlanes by
	// "<namespace>/<Konnect name>" (spec.name, or
	// spec.createControlPlaneRequest.name in v1alpha2).
	IndexKonnectName = "konnect.konghq.com/konnect-name"
	// IndexKonnectID indexes KonnectGatewayControlPlanes by their Konnect
	// control-plane ID (status.id, or spec.mirror.konnect.id of a Mirror).
	IndexKonnectID = "konnect.konghq.com/konnect-id"
)

// IndexFunc computes the values under which an object is indexed.
type IndexFunc func(obj *unstructured.Unstructured) []string

// Index is one index a Lookup maintains for a group kind.
type Index struct {
	Name string
	Kind schema.GroupKind
	Func IndexFunc
}

// Indexes lists the indexes rules use through Lookup.ByIndex.
func Indexes() []Index {
	out := []Index{
		{Name: IndexKonnectName, Kind: GKKonnectGatewayControlPlane, Func: indexKonnectName},
		{Name: IndexKonnectID, Kind: GKKonnectGatewayControlPlane, Func: indexKonnectID},
		{Name: IndexGrantNamespace, Kind: GKKongReferenceGrant, Func: indexGrantNamespace},
		{Name: IndexGatewayClassParameters, Kind: GKGatewayClass, Func: indexGatewayClassParameters},
	}
	// Referrers by the namespaces they name, for the deletion of a grant
	// (KON1904); only kinds the lookup holds matter.
	for _, gk := range crossRefKinds() {
		out = append(out, Index{Name: IndexCrossNamespaceTarget, Kind: gk, Func: indexCrossNamespaceTarget})
	}
	return out
}

func indexKonnectName(obj *unstructured.Unstructured) []string {
	if n := konnectName(obj); n != "" {
		return []string{obj.GetNamespace() + "/" + n}
	}
	return nil
}

func indexKonnectID(obj *unstructured.Unstructured) []string {
	if id := konnectID(obj); id != "" {
		return []string{id}
	}
	return nil
}

// Indexer adapts the index function to client-go's cache.IndexFunc shape
// (for SharedIndexInformer.AddIndexers); objects that are not unstructured
// are not indexed.
func (ix Index) Indexer() func(obj any) ([]string, error) {
	return func(obj any) ([]string, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, nil
		}
		return ix.Func(u), nil
	}
}
