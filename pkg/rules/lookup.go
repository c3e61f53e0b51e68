package rules

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
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
	// GenerationKGO15Plus is KGO 1.5 and 1.6: the konnect.konghq.com
	// KonnectExtension (v1alpha1) is served and KGO ignores the
	// gateway-operator.konghq.com one.
	GenerationKGO15Plus Generation = "kgo-1.5+"
	// GenerationKO20 is kong-operator 2.x (kubernetes-configuration v2):
	// KonnectGatewayControlPlane v1alpha2 (spec.createControlPlaneRequest,
	// status.clusterType), KonnectExtension v1alpha2 with
	// konnectNamespacedRef only, no gateway-operator.konghq.com
	// KonnectExtension, and KongDataPlaneClientCertificate allowed on
	// control plane groups.
	GenerationKO20 Generation = "ko-2.0"
)

// Generations lists the known generations, oldest first.
var Generations = []Generation{GenerationKGO14, GenerationKGO15Plus, GenerationKO20}

// LegacyKonnectExtensionActive reports whether KGO acts on the
// gateway-operator.konghq.com KonnectExtension; known is false when the
// generation is unknown.
func (g Generation) LegacyKonnectExtensionActive() (active, known bool) {
	switch g {
	case GenerationKGO14:
		return true, true
	case GenerationKGO15Plus, GenerationKO20:
		return false, true
	default:
		return false, false
	}
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
}

// GenerationFor derives the generation from API discovery.
func GenerationFor(s Served) Generation {
	switch {
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
		_, err := m.RESTMapping(gk, versions...)
		switch {
		case err == nil:
			return true
		case meta.IsNoMatchError(err):
			return false
		default:
			errs = append(errs, fmt.Errorf("discovering whether the cluster serves %s: %w", gk, err))
			return false
		}
	}
	s := Served{
		KonnectExtension:       served(GKKonnectExtension),
		LegacyKonnectExtension: served(GKKonnectExtensionLegacy),
		ControlPlaneV1Alpha2:   served(GKKonnectGatewayControlPlane, "v1alpha2"),
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
