package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// InstallOptions of `webhook install`.
type InstallOptions struct {
	genericiooptions.IOStreams
	CertManager bool
	Image       string
	DryRun      string
	Output      string
	Wait        bool
	Timeout     time.Duration
}

func newInstallCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InstallOptions{IOStreams: streams, DryRun: kube.DryRunNone, Timeout: 5 * time.Minute}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the admission webhook (config/default, or config/cert-manager) with server-side apply",
		Long: `install applies the webhook's manifests, embedded in this binary: config/default (self-managed
certificates: the webhook creates its CA and serving certificate in a Secret and sets the
caBundle itself; no cert-manager, nothing to prepare) or, with --cert-manager, config/cert-manager.
Objects go in dependency order, the ValidatingWebhookConfiguration last, with server-side apply
(field manager ` + FieldManager + `). Running it again changes nothing that is up to date; it never
clears the caBundle the webhook set.

The webhook has failurePolicy Ignore: until a replica is ready, and whenever none is, requests
are admitted unchecked. --wait waits until the API server can call it (caBundle set, a ready
endpoint behind the Service).`,
		Example: `  # Install, and wait until the API server calls the webhook
  kubectl konnect webhook install --wait

  # Print the manifests instead (for GitOps), touching nothing
  kubectl konnect webhook install --dry-run=client -o yaml > kubectl-konnect-webhook.yaml

  # With cert-manager issuing the serving certificate
  kubectl konnect webhook install --cert-manager`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.DryRun, err = kube.ParseDryRun(o.DryRun); err != nil {
				return err
			}
			switch o.Output {
			case "", "yaml", "json":
			default:
				return fmt.Errorf("-o %q is not supported: use yaml or json", o.Output)
			}
			if o.Wait && o.DryRun != kube.DryRunNone {
				return errors.New("--wait waits for a real install: drop it with --dry-run")
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout %s: give a positive duration such as 5m", o.Timeout)
			}
			return o.Run(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.CertManager, "cert-manager", false, "Let cert-manager issue the serving certificate (config/cert-manager; needs cert-manager installed)")
	fl.StringVar(&o.Image, "image", DefaultImage(), "Webhook image")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print what would be applied, touching nothing) or "server" (the API server checks every object, nothing is persisted)`)
	fl.StringVarP(&o.Output, "output", "o", "", "Print the objects: yaml or json (with --dry-run=client: the manifests, ready for kubectl apply -f)")
	fl.BoolVar(&o.Wait, "wait", false, "Wait until the API server can call the webhook")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --wait waits")
	return cmd
}

func (o *InstallOptions) variant() Variant {
	if o.CertManager {
		return CertManager
	}
	return SelfManaged
}

// Run installs.
func (o *InstallOptions) Run(ctx context.Context, f Factory) error {
	objs, err := Render(o.variant(), o.Image)
	if err != nil {
		return err
	}
	if o.DryRun == kube.DryRunClient {
		if o.Output != "" {
			return printObjects(o.Out, objs, o.Output)
		}
		for _, u := range objs {
			fmt.Fprintf(o.Out, "%s applied%s\n", ref(u), kube.DryRunSuffix(o.DryRun))
		}
		return nil
	}
	c, err := newClients(f)
	if err != nil {
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if o.DryRun == kube.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	suffix := kube.DryRunSuffix(o.DryRun)
	nsMissing := false
	var applied []*unstructured.Unstructured
	for _, u := range objs {
		m, served, err := c.mapping(u)
		if err != nil {
			return err
		}
		if !served {
			hint := ""
			if u.GroupVersionKind().Group == "cert-manager.io" {
				hint = ": is cert-manager installed? Without it, install without --cert-manager (self-managed certificates)"
			}
			return fmt.Errorf("%s: the cluster does not serve %s%s", ref(u), u.GroupVersionKind(), hint)
		}
		ri := c.resource(m, u)
		if nsMissing && u.GetNamespace() == Namespace {
			fmt.Fprintf(o.Out, "%s not checked%s: the namespace %s does not exist yet\n", ref(u), suffix, Namespace)
			continue
		}
		live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			live = nil
		} else if err != nil {
			return fmt.Errorf("reading %s: %w", ref(u), err)
		}
		got, err := ri.Apply(ctx, u.GetName(), u, opts)
		if err != nil {
			return fmt.Errorf("applying %s: %w", ref(u), err)
		}
		op := "configured"
		switch {
		case live == nil:
			op = "created"
		case live.GetResourceVersion() == got.GetResourceVersion():
			op = "unchanged"
		}
		fmt.Fprintf(o.Out, "%s %s%s\n", ref(u), op, suffix)
		if o.DryRun == kube.DryRunServer && u.GetKind() == "Namespace" && live == nil {
			nsMissing = true // nothing can be checked in a namespace that is not there
		}
		applied = append(applied, got)
	}
	if o.Output != "" {
		return printObjects(o.Out, applied, o.Output)
	}
	if o.DryRun != kube.DryRunNone {
		return nil
	}
	if !o.Wait {
		fmt.Fprintln(o.ErrOut, "The API server calls the webhook once a replica is ready and the caBundle is set: kubectl konnect webhook status, or install with --wait.")
		return nil
	}
	return waitReady(ctx, c, o.ErrOut, o.Timeout)
}

// waitReady waits until the API server can call the webhook, reporting each
// change of state on w.
func waitReady(ctx context.Context, c *clients, w io.Writer, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	var st *Status
	err := poll(ctx, time.Second, func() (bool, error) {
		var err error
		if st, err = c.GetStatus(ctx); err != nil {
			return false, err
		}
		if now := st.readiness(); now != last {
			fmt.Fprintf(w, "Waiting for the webhook: %s\n", now)
			last = now
		}
		return st.Ready(), nil
	})
	if isTimeout(err) {
		state := "unknown"
		if st != nil {
			state = st.readiness()
		}
		return &TimeoutError{msg: fmt.Sprintf("the webhook is not ready after %s (%s): kubectl konnect webhook status, and the Deployment's pods in %s", timeout, state, Namespace)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Webhook ready: %s.\n", st.readiness())
	return nil
}

// printObjects writes objects as multi-document YAML or a JSON v1 List,
// without server-side bookkeeping.
func printObjects(w io.Writer, objs []*unstructured.Unstructured, format string) error {
	items := make([]any, 0, len(objs))
	for _, u := range objs {
		c := u.DeepCopy()
		c.SetManagedFields(nil)
		items = append(items, c.Object)
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	for i, it := range items {
		b, err := yaml.Marshal(it)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
