package rules

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// Generation identifies the Kong Gateway Operator API generation of a
// cluster, which decides what some resources mean.
type Generation string

const (
	// GenerationUnknown: rules that depend on the generation stay silent.
	GenerationUnknown Generation = ""
	// GenerationKGO14 is KGO 1.4.x: kubernetes-configuration <= v1.0.x plus
	// KGO's own gateway-operator.konghq.com CRDs. KGO acts on the
	// gateway-operator.konghq.com/v1alpha1 KonnectExtension whose
	// controlPlaneRef.konnectID is the control-plane endpoint prefix.
	GenerationKGO14 Generation = "kgo-1.4"
	// GenerationKGO15Plus is KGO 1.5 and later: the
	// konnect.konghq.com KonnectExtension is served and KGO ignores the
	// gateway-operator.konghq.com one.
	GenerationKGO15Plus Generation = "kgo-1.5+"
)

// LegacyKonnectExtensionActive reports whether KGO acts on the
// gateway-operator.konghq.com KonnectExtension; known is false when the
// generation is unknown.
func (g Generation) LegacyKonnectExtensionActive() (active, known bool) {
	switch g {
	case GenerationKGO14:
		return true, true
	case GenerationKGO15Plus:
		return false, true
	default:
		return false, false
	}
}

// GenerationFor derives the generation from API discovery: whether the
// cluster serves KonnectExtension in konnect.konghq.com (KGO >= 1.5 CRDs)
// and in gateway-operator.konghq.com (KGO 1.4 CRDs, also still served by
// the later CRD sets).
func GenerationFor(konnectExtensionServed, legacyKonnectExtensionServed bool) Generation {
	switch {
	case konnectExtensionServed:
		return GenerationKGO15Plus
	case legacyKonnectExtensionServed:
		return GenerationKGO14
	default:
		return GenerationUnknown
	}
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
	return []Index{
		{Name: IndexKonnectName, Kind: GKKonnectGatewayControlPlane, Func: indexKonnectName},
		{Name: IndexKonnectID, Kind: GKKonnectGatewayControlPlane, Func: indexKonnectID},
	}
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
