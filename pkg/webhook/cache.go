// Package webhook serves kubectl-konnect's validating admission webhook: the
// rules of pkg/rules evaluated against informer caches, so that no
// admission request makes an API call.
package webhook

import (
	"context"
	"fmt"
	"time"

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
	c := &Cache{
		gen:       rules.GenerationFor(facts),
		informers: map[schema.GroupKind]cache.SharedIndexInformer{},
	}
	for _, gk := range rules.LookupKinds() {
		gvr, ok := served(gk)
		if !ok {
			continue
		}
		indexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
		for _, ix := range rules.Indexes() {
			if ix.Kind == gk {
				indexers[ix.Name] = indexFunc(ix.Func)
			}
		}
		var inf cache.SharedIndexInformer
		if gk == rules.GKSecret {
			inf = metadatainformer.NewFilteredMetadataInformer(meta, gvr, metav1.NamespaceAll, 0, indexers, nil).Informer()
		} else {
			inf = dynamicinformer.NewFilteredDynamicInformer(dyn, gvr, metav1.NamespaceAll, 0, indexers, nil).Informer()
		}
		gvk := gvr.GroupVersion().WithKind(gk.Kind)
		if err := inf.SetTransform(stripTransform(gvk)); err != nil {
			return nil, err
		}
		c.informers[gk] = inf
	}
	return c, nil
}

// stripTransform stores every object as the stripped unstructured object the
// rules read, whatever the informer decoded (metadata informers give
// PartialObjectMetadata).
func stripTransform(gvk schema.GroupVersionKind) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			return rules.Strip(o), nil
		case *metav1.PartialObjectMetadata:
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetGroupVersionKind(gvk)
			u.SetName(o.Name)
			u.SetNamespace(o.Namespace)
			u.SetUID(o.UID)
			u.SetResourceVersion(o.ResourceVersion)
			u.SetLabels(o.Labels)
			return rules.Strip(u), nil
		default:
			return obj, nil // tombstones pass through
		}
	}
}

func indexFunc(f rules.IndexFunc) cache.IndexFunc {
	return func(obj any) ([]string, error) {
		u, ok := obj.(*unstructured.Unstructured)
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
	u, ok := obj.(*unstructured.Unstructured)
	return u, ok
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
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// syncTimeout bounds how long readiness waits for the first list.
const syncTimeout = 2 * time.Minute
