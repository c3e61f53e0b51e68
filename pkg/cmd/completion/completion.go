// Package completion completes flag values from the cluster: namespaces,
// control planes, data planes, Gateways and GatewayClasses. Completion runs only when the shell asks,
// so the factory is touched then and never during help or version.
package completion

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

var (
	namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	// controlPlanes is listed in the version the cluster serves newest (v1alpha2 on kong-operator 2.x).
	controlPlanes = kgoapi.ControlPlaneGVR(kgoapi.V1Alpha1)
	dataPlanes    = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1beta1", Resource: "dataplanes"}
	gateways      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	// gatewayClasses are cluster-scoped, as namespaces are.
	gatewayClasses = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
)

// flagResources maps flag names to what completes them.
var flagResources = map[string]schema.GroupVersionResource{
	"namespace":     namespaces,
	"control-plane": controlPlanes,
	"dataplane":     dataPlanes,
	"gateway":       gateways,
	"gateway-class": gatewayClasses,
}

// Register adds cluster completion to every flag of the tree named in
// flagResources (persistent flags of the root included).
func Register(root *cobra.Command, f *kube.Factory) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, gvr := range flagResources {
			fl := c.Flags().Lookup(name)
			if fl == nil {
				fl = c.PersistentFlags().Lookup(name)
			}
			if fl == nil {
				continue
			}
			if _, exists := c.GetFlagCompletionFunc(name); exists {
				continue
			}
			_ = c.RegisterFlagCompletionFunc(name, names(f, gvr))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// names lists the names of a resource in the current namespace (all
// namespaces for cluster-scoped ones) that start with what was typed.
func names(f *kube.Factory, gvr schema.GroupVersionResource) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		dyn, err := f.Dynamic()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if gvr == controlPlanes {
			v, err := controlPlaneVersion(f)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			gvr = kgoapi.ControlPlaneGVR(v)
		}
		ri := dyn.Resource(gvr)
		lister := dynamicLister(ri)
		if gvr != namespaces && gvr != gatewayClasses {
			ns, _, err := f.Namespace()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			lister = ri.Namespace(ns)
		}
		l, err := lister.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, it := range l.Items {
			if strings.HasPrefix(it.GetName(), toComplete) {
				out = append(out, it.GetName())
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// controlPlaneVersion asks discovery, within the same 5 seconds a listing gets, which
// KonnectGatewayControlPlane version the cluster serves.
func controlPlaneVersion(f *kube.Factory) (string, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return "", err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 5 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	return kgoapi.DiscoverControlPlaneVersion(dc)
}

// dynamicLister is the List of a dynamic resource client, namespaced or not.
type dynamicLister = dynamic.ResourceInterface
