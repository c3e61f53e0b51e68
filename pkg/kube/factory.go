// Package kube builds Kubernetes clients from kubectl's own flags.
package kube

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// Factory builds clients lazily from genericclioptions.ConfigFlags, so `--help`, `version` and completion
// never touch a cluster, and every client sees the same --kubeconfig, --context, --as, ... flags.
type Factory struct {
	flags *genericclioptions.ConfigFlags

	once   sync.Once
	config *rest.Config
	err    error
}

// NewFactory wraps the given flags; nothing is read until a client is asked for.
func NewFactory(flags *genericclioptions.ConfigFlags) *Factory {
	return &Factory{flags: flags}
}

// ConfigFlags are the kubectl flags the factory reads.
func (f *Factory) ConfigFlags() *genericclioptions.ConfigFlags { return f.flags }

// RESTConfig is the client configuration with our user agent.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	f.once.Do(func() {
		cfg, err := f.flags.ToRESTConfig()
		if err != nil {
			f.err = fmt.Errorf("reading kubeconfig: %w", err)
			return
		}
		cfg = rest.CopyConfig(cfg)
		cfg.UserAgent = version.UserAgent()
		// The plugin issues bursts of small requests (apply then wait); kubectl's defaults are too tight.
		cfg.QPS, cfg.Burst = 50, 100
		f.config = cfg
	})
	return f.config, f.err
}

// Namespace is the namespace from -n or the kubeconfig context, and whether -n was given.
func (f *Factory) Namespace() (string, bool, error) {
	return f.flags.ToRawKubeConfigLoader().Namespace()
}

// Kubernetes is a typed clientset.
func (f *Factory) Kubernetes() (kubernetes.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Dynamic is a dynamic client: the KGO kinds differ by generation, so most work is unstructured.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// Discovery is a cached discovery client.
func (f *Factory) Discovery() (discovery.CachedDiscoveryInterface, error) {
	return f.flags.ToDiscoveryClient()
}

// FreshDiscovery is a discovery client without a cache, for the few requests whose answer must be
// current (which KonnectGatewayControlPlane version is served): kubectl's disk cache lives for hours.
func (f *Factory) FreshDiscovery() (discovery.DiscoveryInterface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return discovery.NewDiscoveryClientForConfig(cfg)
}

// RESTMapper maps kinds to resources through discovery.
func (f *Factory) RESTMapper() (meta.RESTMapper, error) {
	return f.flags.ToRESTMapper()
}
