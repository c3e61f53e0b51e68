// Package webhook serves kubectl-konnect's validating admission webhook: the
// rules of pkg/rules evaluated against informer caches, so that no
// admission request makes an API call.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
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
	gvks      map[schema.GroupKind]schema.GroupVersionKind
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
		if WatchesMetadataOnly(gk) {
			inf = metadatainformer.NewFilteredMetadataInformer(meta, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		} else {
			inf = dynamicinformer.NewFilteredDynamicInformer(dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		}
		sources[gk] = Source{GVK: gvr.GroupVersion().WithKind(gk.Kind), Informer: inf}
	}
	return NewCacheFrom(rules.GenerationFor(facts), sources)
}

// WatchesMetadataOnly says whether the cache watches only the metadata of
// kind gk: Secrets, whose data must never reach the webhook, and the kinds
// the rules only test for existence (rules.KeptFields keeps nothing beyond
// metadata). The API server then sends and the informer decodes metadata
// only.
func WatchesMetadataOnly(gk schema.GroupKind) bool {
	return gk == rules.GKSecret || rules.MetadataOnly(gk)
}

// Source is an informer of one kind, not started, and the version it serves.
type Source struct {
	GVK      schema.GroupVersionKind
	Informer cache.SharedIndexInformer
}

// NewCacheFrom builds a Cache over informers the caller made (NewCache uses
// the cluster's; the memory benchmark feeds objects from memory).
func NewCacheFrom(gen rules.Generation, sources map[schema.GroupKind]Source) (*Cache, error) {
	c := &Cache{gen: gen, informers: map[schema.GroupKind]cache.SharedIndexInformer{}, gvks: map[schema.GroupKind]schema.GroupVersionKind{}}
	for gk, src := range sources {
		// Only the indexes the rules look up by: no rule lists a namespace
		// (rules.Lookup.List; TestRulesNeverListObjects), and a namespace
		// index costs a set entry per object, about a fifth of what the
		// cache holds.
		indexers := cache.Indexers{}
		for _, ix := range rules.Indexes() {
			if ix.Kind == gk {
				indexers[ix.Name] = indexFunc(ix.Func, src.GVK)
			}
		}
		if len(indexers) > 0 {
			if err := src.Informer.AddIndexers(indexers); err != nil {
				return nil, err
			}
		}
		if err := src.Informer.SetTransform(compactTransform(src.GVK)); err != nil {
			return nil, err
		}
		c.informers[gk] = src.Informer
		c.gvks[gk] = src.GVK
	}
	return c, nil
}

// compactObject is how the cache holds an object: its key and the JSON of
// what rules.Strip keeps, less what the cache knows anyway (apiVersion and
// kind, the informer's; name and namespace, in the key) and the uid, which
// no rule reads of a looked-up object. It is decoded again on each lookup.
// Nested maps cost about 2 KB per object and fragment the heap, and the
// garbage collector must scan them; a byte slice is never scanned. See
// .notes/webhook-bench.txt and docs/HARDENING.md for the figures.
type compactObject struct {
	// key is the store's key, "namespace/name" (or "name"); nsLen is the
	// length of its namespace part, -1 without one.
	key   string
	nsLen int
	raw   []byte
}

func (c *compactObject) namespaceName() (string, string) {
	if c.nsLen < 0 {
		return "", c.key
	}
	return c.key[:c.nsLen], c.key[c.nsLen+1:]
}

// GetObjectMeta lets client-go key and index the object (meta.Accessor).
func (c *compactObject) GetObjectMeta() metav1.Object {
	ns, name := c.namespaceName()
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
}

// object rebuilds the stripped object, in the version the informer
// watches.
func (c *compactObject) object(gvk schema.GroupVersionKind) (*unstructured.Unstructured, bool) {
	m := map[string]any{}
	if err := utiljson.Unmarshal(c.raw, &m); err != nil {
		return nil, false
	}
	u := &unstructured.Unstructured{Object: m}
	if _, ok := m["apiVersion"]; !ok {
		u.SetAPIVersion(gvk.GroupVersion().String())
	}
	if _, ok := m["kind"]; !ok {
		u.SetKind(gvk.Kind)
	}
	ns, name := c.namespaceName()
	u.SetName(name)
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u, true
}

// compactTransform strips what the informer decoded (metadata informers give
// PartialObjectMetadata) and keeps it compact. The informer applies it
// before anything is stored, in the watch-list's temporary store too, so the
// full object never outlives its decoding.
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
			m.SetResourceVersion(o.ResourceVersion)
			m.SetLabels(o.Labels)
			u = rules.Strip(m)
		default:
			return obj, nil // tombstones and already compact objects pass through
		}
		ns, name := u.GetNamespace(), u.GetName()
		c := &compactObject{key: name, nsLen: -1}
		if ns != "" {
			c.key, c.nsLen = ns+"/"+name, len(ns)
		}
		// What the cache restores on lookup need not be stored.
		if u.GetAPIVersion() == gvk.GroupVersion().String() && u.GetKind() == gvk.Kind {
			delete(u.Object, "apiVersion")
			delete(u.Object, "kind")
		}
		if md, ok := u.Object["metadata"].(map[string]any); ok {
			delete(md, "name")
			delete(md, "namespace")
			delete(md, "uid")
		}
		raw, err := json.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		c.raw = raw
		return c, nil
	}
}

func indexFunc(f rules.IndexFunc, gvk schema.GroupVersionKind) cache.IndexFunc {
	return func(obj any) ([]string, error) {
		c, ok := obj.(*compactObject)
		if !ok {
			return nil, nil
		}
		u, ok := c.object(gvk)
		if !ok {
			return nil, nil
		}
		return f(u), nil
	}
}

// Start runs the informers until ctx ends. Once they have synced, it
// returns the heap the initial lists left idle to the operating system.
func (c *Cache) Start(ctx context.Context) {
	for _, inf := range c.informers {
		go inf.Run(ctx.Done())
	}
	go func() {
		if c.WaitForSync(ctx) {
			// The initial lists decode every object whole before stripping
			// it: garbage of several times the cache's size, which the
			// runtime's scavenger would return only over minutes (at
			// 100,000 objects 139 MiB of RSS, 85 MiB after this; see
			// docs/HARDENING.md). One collection, once.
			debug.FreeOSMemory()
		}
	}()
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
	return co.object(c.gvks[gk])
}

// List implements rules.Lookup, by scanning the kind's objects.
func (c *Cache) List(gk schema.GroupKind, namespace string) []*unstructured.Unstructured {
	inf, ok := c.informers[gk]
	if !ok {
		return nil
	}
	// A scan: only tests and tools list (the rules never do), so no
	// namespace index is kept for them.
	var objs []any
	for _, o := range inf.GetIndexer().List() {
		if co, ok := o.(*compactObject); ok {
			if ns, _ := co.namespaceName(); namespace == "" || ns == namespace {
				objs = append(objs, o)
			}
		}
	}
	return unstructuredList(objs, c.gvks[gk])
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
	return unstructuredList(objs, c.gvks[gk])
}

// Tracks implements rules.Lookup.
func (c *Cache) Tracks(gk schema.GroupKind) bool {
	_, ok := c.informers[gk]
	return ok
}

// Generation implements rules.Lookup.
func (c *Cache) Generation() rules.Generation { return c.gen }

func unstructuredList(objs []any, gvk schema.GroupVersionKind) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if c, ok := o.(*compactObject); ok {
			if u, ok := c.object(gvk); ok {
				out = append(out, u)
			}
		}
	}
	return out
}
