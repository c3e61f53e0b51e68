package lint

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Cluster reads what a --cluster lint needs from a live cluster.
type Cluster struct {
	Mapper  meta.RESTMapper
	Dynamic dynamic.Interface
	// Metadata lists Secrets: their values never leave the API server.
	Metadata metadata.Interface
}

// Generation is the operator release the cluster runs (as the webhook
// determines it): see Release.
func (c *Cluster) Generation() (rules.Generation, error) {
	served, err := c.Release(context.Background())
	if err != nil {
		return rules.GenerationUnknown, err
	}
	return rules.GenerationFor(served), nil
}

// Release reads the facts the release is decided from: discovery, and on
// kong-operator 2.x the KonnectGatewayControlPlane CRD's version annotation
// (one metadata GET; a user who may not read CRDs gets the release from
// discovery, and CRDUnread says why).
func (c *Cluster) Release(ctx context.Context) (rules.Served, error) {
	served, err := rules.ServedIn(c.Mapper)
	if err != nil {
		return served, err
	}
	if served.ControlPlaneV1Alpha2 && c.Metadata != nil {
		crd, err := kgoapi.ReadCRDVersion(ctx, c.Metadata)
		if err != nil {
			return served, err
		}
		served.CRDVersion, served.CRDUnread = crd.Version, crd.Unread
	}
	return served, nil
}

// Live lists the objects of every lookup kind (rules.LookupKinds) in the
// namespaces, stripped. A kind the cluster does not serve has no live
// objects; a kind it forbids listing is Untracked. Any other error (the
// cluster cannot be reached) is returned.
func (c *Cluster) Live(ctx context.Context, namespaces []string) (*Live, error) {
	live := &Live{}
	for _, gk := range rules.LookupKinds() {
		mapping, err := c.Mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discovering %s: %w", gk, err)
		}
		gvk := mapping.GroupVersionKind
		for _, ns := range namespaces {
			objs, err := c.list(ctx, gvk, mapping.Resource, ns)
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				live.Untracked = append(live.Untracked, gk)
				break
			}
			if apierrors.IsNotFound(err) {
				continue // the kind went away since discovery
			}
			if err != nil {
				return nil, fmt.Errorf("listing %s in namespace %s: %w", mapping.Resource.GroupResource(), ns, err)
			}
			live.Objects = append(live.Objects, objs...)
		}
	}
	return live, nil
}

func (c *Cluster) list(ctx context.Context, gvk schema.GroupVersionKind, gvr schema.GroupVersionResource, ns string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	opts := metav1.ListOptions{Limit: 500}
	for {
		var cont string
		if gvk.GroupKind() == rules.GKSecret {
			l, err := c.Metadata.Resource(gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				m := &l.Items[i]
				u := &unstructured.Unstructured{Object: map[string]any{}}
				u.SetGroupVersionKind(gvk)
				u.SetName(m.Name)
				u.SetNamespace(m.Namespace)
				u.SetUID(m.UID)
				u.SetResourceVersion(m.ResourceVersion)
				u.SetLabels(m.Labels)
				out = append(out, rules.Strip(u))
			}
			cont = l.Continue
		} else {
			l, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				u := &l.Items[i]
				u.SetGroupVersionKind(gvk)
				out = append(out, rules.Strip(u))
			}
			cont = l.GetContinue()
		}
		if cont == "" {
			return out, nil
		}
		opts.Continue = cont
	}
}
