// Package webhook is `kubectl konnect webhook install|uninstall|status`: the
// admission webhook's manifests from config/ (embedded, rendered with
// kustomize as `kubectl apply -k` does), applied with server-side apply and
// removed ValidatingWebhookConfiguration first.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// Factory is what the commands need from pkg/kube.Factory.
type Factory interface {
	RESTConfig() (*rest.Config, error)
	RESTMapper() (meta.RESTMapper, error)
	Namespace() (string, bool, error)
}

// NewCommand builds `webhook` and its verbs.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Install, remove or inspect the admission webhook that checks KGO/Konnect references at kubectl apply time",
		Long: `The admission webhook rejects invalid cross-object references of KGO and Konnect resources when
they are applied, with the fix in the message (the rule catalogue: docs/rules.md).

install applies the manifests of config/default (self-managed certificates: nothing to prepare)
or config/cert-manager, embedded in this binary: the same objects as
  kubectl apply -k 'https://github.com/kubectl-konnect/kubectl-konnect/config/default?ref=<version>'
uninstall removes them, the ValidatingWebhookConfiguration first, so that the API server stops
calling the webhook before anything it runs on goes away. status says whether the API server can
call it.

The webhook runs in the namespace ` + Namespace + ` with failurePolicy Ignore: while it is down,
requests are admitted unchecked, never blocked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newInstallCommand(f, streams))
	cmd.AddCommand(newUninstallCommand(f, streams))
	cmd.AddCommand(newStatusCommand(f, streams))
	return cmd
}

// clients are what the verbs talk to the cluster with.
type clients struct {
	mapper meta.RESTMapper
	dyn    dynamic.Interface
	meta   metadata.Interface
	kube   kubernetes.Interface
}

func newClients(f Factory) (*clients, error) {
	if ns, explicit, err := f.Namespace(); err == nil && explicit && ns != Namespace {
		return nil, fmt.Errorf("the webhook always runs in the namespace %s (its Service, certificate and RBAC name it): drop -n %s", Namespace, ns)
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	mapper, err := f.RESTMapper()
	if err != nil {
		return nil, err
	}
	c := &clients{mapper: mapper}
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.meta, err = metadata.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// mapping finds the resource of an object's kind; served is false when the
// cluster does not serve the kind (say cert-manager is not installed).
func (c *clients) mapping(u *unstructured.Unstructured) (m *meta.RESTMapping, served bool, err error) {
	gvk := u.GroupVersionKind()
	m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("finding the resource of %s: %w", gvk, err)
	}
	return m, true, nil
}

func (c *clients) resource(m *meta.RESTMapping, u *unstructured.Unstructured) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	return c.dyn.Resource(m.Resource)
}

func (c *clients) metaResource(m *meta.RESTMapping, u *unstructured.Unstructured) metadata.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.meta.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	return c.meta.Resource(m.Resource)
}

// ref names an object the way kubectl does: kind.group/name.
func ref(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	return kindRef(gvk.GroupKind()) + "/" + u.GetName()
}

func kindRef(gk schema.GroupKind) string {
	k := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		k += "." + gk.Group
	}
	return k
}

// ours reports whether kubectl konnect (or `kubectl apply -k config/...`,
// which sets the label) installed an object.
func ours(labels map[string]string, managers []string) bool {
	if labels[PartOfLabel] == PartOfValue {
		return true
	}
	for _, m := range managers {
		if m == FieldManager {
			return true
		}
	}
	return false
}

// certSecret is the Secret the webhook (or cert-manager) writes: not in the
// manifests, removed by uninstall when the webhook made it.
func certSecret() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	u.SetNamespace(Namespace)
	u.SetName(CertSecretName)
	return u
}

// allObjects is every object any variant installs, plus the certificate
// Secret, each once.
func allObjects() ([]*unstructured.Unstructured, error) {
	seen := map[string]bool{}
	var out []*unstructured.Unstructured
	for _, v := range Variants {
		objs, err := Render(v, "")
		if err != nil {
			return nil, err
		}
		for _, u := range append(objs, certSecret()) {
			k := u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
			if !seen[k] {
				seen[k] = true
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// poll calls cond every interval until it returns true, an error, or ctx
// ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// TimeoutError is a wait that ran out; the plugin exits 124, as timeout(1).
type TimeoutError struct{ msg string }

func (e *TimeoutError) Error() string { return e.msg }

// ExitCode implements the plugin's exit code hook.
func (e *TimeoutError) ExitCode() int { return 124 }

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}
