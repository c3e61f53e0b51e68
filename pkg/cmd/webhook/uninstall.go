package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// UninstallOptions of `webhook uninstall`.
type UninstallOptions struct {
	genericiooptions.IOStreams
	DryRun        string
	Timeout       time.Duration
	Force         bool
	KeepNamespace bool
}

func newUninstallCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UninstallOptions{IOStreams: streams, DryRun: kube.DryRunNone, Timeout: time.Minute}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the admission webhook: the ValidatingWebhookConfiguration first, then what it called",
		Long: `uninstall deletes the ValidatingWebhookConfiguration first and waits until it is gone, so that
the API server stops calling the webhook before its Deployment, Service, RBAC or certificate go
away: a webhook being removed never blocks or slows a request. Only then does it delete the rest,
in reverse install order, the namespace ` + Namespace + ` last (with --keep-namespace, not at all).

Only objects that kubectl konnect or kubectl apply -k config/... installed are deleted (label
` + PartOfLabel + `=` + PartOfValue + `, or applied by the field manager ` + FieldManager + `); others of the same
names are left in place and reported, unless --force. If the ValidatingWebhookConfiguration
cannot be deleted, nothing else is. Objects already gone are fine: uninstall can be run again.`,
		Example: `  kubectl konnect webhook uninstall

  # What would be deleted, in order
  kubectl konnect webhook uninstall --dry-run=client`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.DryRun, err = kube.ParseDryRun(o.DryRun); err != nil {
				return err
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout %s: give a positive duration such as 1m", o.Timeout)
			}
			return o.Run(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print what would be deleted) or "server" (the API server checks each deletion, nothing is deleted)`)
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the ValidatingWebhookConfiguration to be gone")
	fl.BoolVar(&o.Force, "force", false, "Also delete objects of the same names that kubectl konnect did not install")
	fl.BoolVar(&o.KeepNamespace, "keep-namespace", false, "Leave the namespace "+Namespace+" in place")
	return cmd
}

// Run uninstalls.
func (o *UninstallOptions) Run(ctx context.Context, f Factory) error {
	c, err := newClients(f)
	if err != nil {
		return err
	}
	objs, err := allObjects()
	if err != nil {
		return err
	}
	suffix := kube.DryRunSuffix(o.DryRun)
	for _, u := range uninstallOrder(objs) {
		m, served, err := c.mapping(u)
		if err != nil {
			return err
		}
		if !served {
			continue // say cert-manager's kinds on a cluster without it
		}
		isVWC := u.GetKind() == "ValidatingWebhookConfiguration"
		mr := c.metaResource(m, u)
		live, err := mr.Get(ctx, u.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			fmt.Fprintf(o.Out, "%s not found\n", ref(u))
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", ref(u), err)
		}
		var managers []string
		for _, mf := range live.ManagedFields {
			managers = append(managers, mf.Manager)
		}
		if !o.Force && !ours(live.Labels, managers) {
			if isVWC {
				return fmt.Errorf("%s was not installed by kubectl konnect (no label %s=%s): not deleting it, nor anything it may call; --force deletes it",
					ref(u), PartOfLabel, PartOfValue)
			}
			fmt.Fprintf(o.Out, "%s left in place: not installed by kubectl konnect (--force deletes it)\n", ref(u))
			continue
		}
		if u.GetKind() == "Namespace" && o.KeepNamespace {
			fmt.Fprintf(o.Out, "%s left in place (--keep-namespace)\n", ref(u))
			continue
		}
		if o.DryRun == kube.DryRunClient {
			fmt.Fprintf(o.Out, "%s deleted%s\n", ref(u), suffix)
			continue
		}
		uid := live.UID
		background := metav1.DeletePropagationBackground
		opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &background}
		if o.DryRun == kube.DryRunServer {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		err = mr.Delete(ctx, u.GetName(), opts)
		if apierrors.IsNotFound(err) {
			fmt.Fprintf(o.Out, "%s not found\n", ref(u))
			continue
		}
		if err != nil {
			if isVWC {
				return fmt.Errorf("deleting %s: %w; nothing else was deleted, so the webhook it calls keeps running", ref(u), err)
			}
			return fmt.Errorf("deleting %s: %w", ref(u), err)
		}
		if isVWC && o.DryRun == kube.DryRunNone {
			if err := o.waitGone(ctx, u.GetName(), mr); err != nil {
				return err
			}
			fmt.Fprintf(o.Out, "%s deleted: the API server no longer calls the webhook\n", ref(u))
			continue
		}
		fmt.Fprintf(o.Out, "%s deleted%s\n", ref(u), suffix)
	}
	return nil
}

// waitGone waits until the ValidatingWebhookConfiguration is gone from the
// API (it has no finalizers, so this is quick): only then may the webhook's
// backend go.
func (o *UninstallOptions) waitGone(ctx context.Context, name string, mr metadata.ResourceInterface) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	err := poll(ctx, 100*time.Millisecond, func() (bool, error) {
		_, err := mr.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if isTimeout(err) {
		return &TimeoutError{msg: fmt.Sprintf("ValidatingWebhookConfiguration %s is still there after %s (a finalizer?); nothing else was deleted", name, o.Timeout)}
	}
	if err != nil {
		return fmt.Errorf("waiting for ValidatingWebhookConfiguration %s to be gone: %w; nothing else was deleted", name, err)
	}
	return nil
}
