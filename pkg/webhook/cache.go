// Package webhook serves kubectl-konnect's validating admission webhook: the
// rules of pkg/rules evaluated against informer caches, so that no
// admission request makes an API call.
package webhook

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Cache is a rules.Lookup over informers of exactly the kinds the rules look
// up (rules.LookupKinds), each object stripped by rules.Strip before it is
// stored. Secrets are watched as metadata only: their values never reach
// the webhook.
//
// The KGO generation and the set of served kinds are read from discovery at
// start; installing or upgrading the KGO CRDs needs a webhook restart (a
// rollout), which the CRD upgrade does anyway in practice.
type Cache struct {
	gen       rules.Generation
	informers map[schema.GroupKind]cache.SharedIndexInformer
}

var _ rules.Lookup = (*Cache)(nil)

// NewCache discovers which lookup kinds the cluster serves and prepares an
// informer for each. Start runs them.
func NewCache(cfg *rest.Config) (*Cache, error) {
	cfg = rest.CopyConfig(cfg)
	// Listing the deprecated KonnectExtension group draws a warning on every
	// relist; the rules report that deprecation to users, the log need not.
	cfg.WarningHandler = rest.NoWarnings{}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil && len(groups) == 0 {
		return nil, fmt.Errorf("discovering served APIs: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	served := func(gk schema.GroupKind) (schema.GroupVersionResource, bool) {
		m, err := mapper.RESTMapping(gk)
		if err != nil {
			return schema.GroupVersionResource{}, false
		}
		return m.Resource, true
	}
	// A discovery error leaves a fact false, as a kind the mapper does not
	// know is not cached either.
	facts, _ := rules.ServedIn(mapper)
	sources := map[schema.GroupKind]Source{}
	for _, gk := range rules.LookupKinds() {
		gvr, ok := served(gk)
		if !ok {
			continue
		}
		var inf cache.SharedIndexInformer
		if gk == rules.GKSecret {
			inf = metadatainformer.NewFilteredMetadataInformer(meta, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		} else {
			inf = dynamicinformer.NewFilteredDynamicInformer(dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		}
		sources[gk] = Source{GVK: gvr.GroupVersion().WithKind(gk.Kind), Informer: inf}
	}
	return NewCacheFrom(rules.GenerationFor(facts), sources)
}

// Source is an informer of one kind, not started, and the version it serves.
type Source struct {
	GVK      schema.GroupVersionKind
	Informer cache.SharedIndexInformer
}

// NewCacheFrom builds a Cache over informers the caller made (NewCache uses
// the cluster's; the memory benchmark feeds objects from memory).
func NewCacheFrom(gen rules.Generation, sources map[schema.GroupKind]Source) (*Cache, error) {
	c := &Cache{gen: gen, informers: map[schema.GroupKind]cache.SharedIndexInformer{}}
	for gk, src := range sources {
		indexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
		for _, ix := range rules.Indexes() {
			if ix.Kind == gk {
				indexers[ix.Name] = indexFunc(ix.Func)
			}
		}
		if err := src.Informer.AddIndexers(indexers); err != nil {
			return nil, err
		}
		if err := src.Informer.SetTransform(compactTransform(src.GVK)); err != nil {
			return nil, err
		}
		c.informers[gk] = src.Informer
	}
	return c, nil
}

// compactObject is how the cache holds an object: the JSON of what
// rules.Strip keeps, decoded again on each lookup. Nested maps cost about
// 2 KB per object and fragment the heap; this costs a few hundred bytes, for
// some microseconds per lookup (see .notes/webhook-bench.txt).
type compactObject struct {
	namespace, name string
	raw             []byte
}

// GetObjectMeta lets client-go key and index the object (meta.Accessor).
func (c *compactObject) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: c.namespace, Name: c.name}
}

func (c *compactObject) object() (*unstructured.Unstructured, bool) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(c.raw); err != nil {
		return nil, false
	}
	return u, true
}

// compactTransform strips what the informer decoded (metadata informers give
// PartialObjectMetadata) and keeps it compact.
func compactTransform(gvk schema.GroupVersionKind) cache.TransformFunc {
	return func(obj any) (any, error) {
		var u *unstructured.Unstructured
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			u = rules.Strip(o)
		case *metav1.PartialObjectMetadata:
			m := &unstructured.Unstructured{Object: map[string]any{}}
			m.SetGroupVersionKind(gvk)
			m.SetName(o.Name)
			m.SetNamespace(o.Namespace)
			m.SetUID(o.UID)
			m.SetResourceVersion(o.ResourceVersion)
			m.SetLabels(o.Labels)
			u = rules.Strip(m)
		default:
			return obj, nil // tombstones and already compact objects pass through
		}
		raw, err := u.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return &compactObject{namespace: u.GetNamespace(), name: u.GetName(), raw: raw}, nil
	}
}

func indexFunc(f rules.IndexFunc) cache.IndexFunc {
	return func(obj any) ([]string, error) {
		c, ok := obj.(*compactObject)
		if !ok {
			return nil, nil
		}
		u, ok := c.object()
		if !ok {
			return nil, nil
		}
		return f(u), nil
	}
}

// Start runs the informers until ctx ends.
func (c *Cache) Start(ctx context.Context) {
	for _, inf := range c.informers {
		go inf.Run(ctx.Done())
	}
}

// HasSynced reports whether every informer has listed its kind once.
func (c *Cache) HasSynced() bool {
	for _, inf := range c.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync waits until HasSynced or ctx ends.
func (c *Cache) WaitForSync(ctx context.Context) bool {
	var synced []cache.InformerSynced
	for _, inf := range c.informers {
		synced = append(synced, inf.HasSynced)
	}
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Len is the number of cached objects.
func (c *Cache) Len() int {
	n := 0
	for _, inf := range c.informers {
		n += len(inf.GetIndexer().ListKeys())
	}
	return n
}

// Get implements rules.Lookup.
func (c *Cache) Get(gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, bool) {
	inf, ok := c.informers[gk]
	if !ok {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	co, ok := obj.(*compactObject)
	if !ok {
		return nil, false
	}
	return co.object()
}

// List implements rules.Lookup.
func (c *Cache) List(gk schema.GroupKind, namespace string) []*unstructured.Unstructured {
	inf, ok := c.informers[gk]
	if !ok {
		return nil
	}
	var objs []any
	if namespace == "" {
		objs = inf.GetIndexer().List()
	} else {
		objs, _ = inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	}
	return unstructuredList(objs)
}

// ByIndex implements rules.Lookup.
func (c *Cache) ByIndex(gk schema.GroupKind, index, value string) []*unstructured.Unstructured {
	inf, ok := c.informers[gk]
	if !ok {
		return nil
	}
	objs, err := inf.GetIndexer().ByIndex(index, value)
	if err != nil {
		return nil
	}
	return unstructuredList(objs)
}

// Tracks implements rules.Lookup.
func (c *Cache) Tracks(gk schema.GroupKind) bool {
	_, ok := c.informers[gk]
	return ok
}

// Generation implements rules.Lookup.
func (c *Cache) Generation() rules.Generation { return c.gen }

func unstructuredList(objs []any) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if c, ok := o.(*compactObject); ok {
			if u, ok := c.object(); ok {
				out = append(out, u)
			}
		}
	}
	return out
}
