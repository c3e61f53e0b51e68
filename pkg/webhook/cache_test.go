package webhook_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
)

// listedInformer is an informer over a fixed list of objects, as a real
// API server lists them (a cluster-scoped object has no namespace).
func listedInformer(objs ...*unstructured.Unstructured) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (k8sruntime.Object, error) {
			list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
			list.SetResourceVersion("1")
			for _, o := range objs {
				list.Items = append(list.Items, *o)
			}
			return list, nil
		},
		// With watch-list (client-go's default): the objects as ADDED
		// events, then the bookmark that ends the initial events.
		WatchFuncWithContext: func(_ context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w := watch.NewFakeWithChanSize(len(objs)+1, false)
			if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
				for _, o := range objs {
					w.Add(o.DeepCopy())
				}
				bookmark := &unstructured.Unstructured{}
				bookmark.SetResourceVersion("1")
				bookmark.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
				w.Action(watch.Bookmark, bookmark)
			}
			return w, nil
		},
	}
	return cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
}

func object(gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// The cache keys a cluster-scoped object by its name alone, as client-go
// does: Get with namespace "" finds it, and a namespaced object of the same
// name is another object.
func TestCacheLooksUpClusterScopedObjectsWithoutNamespace(t *testing.T) {
	vaultGVK := rules.GKKongVault.WithVersion("v1alpha1")
	svcGVK := rules.GKKongService.WithVersion("v1alpha1")
	c, err := webhook.NewCacheFrom(rules.GenerationKGO15Plus, map[schema.GroupKind]webhook.Source{
		rules.GKKongVault:   {GVK: vaultGVK, Informer: listedInformer(object(vaultGVK, "", "env"))},
		rules.GKKongService: {GVK: svcGVK, Informer: listedInformer(object(svcGVK, "kong", "env"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)
	if !c.WaitForSync(ctx) {
		t.Fatal("informers did not sync")
	}
	v, ok := c.Get(rules.GKKongVault, "", "env")
	if !ok || v.GetName() != "env" || v.GetNamespace() != "" || v.GetKind() != "KongVault" {
		t.Fatalf("Get(KongVault, \"\", env): want the cluster-scoped vault, got %v, %v", v, ok)
	}
	if _, ok := c.Get(rules.GKKongVault, "kong", "env"); ok {
		t.Error("Get(KongVault, kong, env): a cluster-scoped object is in no namespace")
	}
	if s, ok := c.Get(rules.GKKongService, "kong", "env"); !ok || s.GetNamespace() != "kong" {
		t.Errorf("Get(KongService, kong, env): got %v, %v", s, ok)
	}
	if _, ok := c.Get(rules.GKKongService, "", "env"); ok {
		t.Error("Get(KongService, \"\", env): a namespaced object needs its namespace")
	}
	if l := c.List(rules.GKKongVault, ""); len(l) != 1 || l[0].GetName() != "env" {
		t.Errorf("List(KongVault, \"\"): got %v", l)
	}
}
