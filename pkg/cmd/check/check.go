// Package check is `kubectl konnect check`: whether everything from the
// Konnect token to the data plane's connection works, and why not. The
// checks themselves are pkg/check's catalogue.
package check

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/check"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// Factory is what the command needs from pkg/kube.Factory.
type Factory interface {
	RESTConfig() (*rest.Config, error)
	Namespace() (string, bool, error)
}

// Options of `check`.
type Options struct {
	genericiooptions.IOStreams

	Namespace    string
	DataPlane    string
	ControlPlane string
	Gateway      string
	Output       string
	Wait         time.Duration
	CheckTimeout time.Duration
	MaxPingAge   time.Duration
	RenewBefore  time.Duration

	// KonnectHTTPClient carries every Konnect API call; when nil, the
	// default transport, or KUBECTL_KONNECT_CONNECT_TO /
	// KUBECTL_KONNECT_CA_FILE when set (konnect.HTTPClientFromEnv).
	KonnectHTTPClient *http.Client
	// Clients are filled from the factory by Complete unless preset.
	Clients check.Clients
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Color forces colour on or off; by default only on a terminal without NO_COLOR.
	Color *bool
}

// FailedError is returned when a check failed: the report is printed, the
// exit code is 1 whatever the output format.
type FailedError struct{ Failed, Total int }

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d checks failed", e.Failed, e.Total)
}

const example = `  # Check the only DataPlane of namespace kong, from the token to its connection to Konnect
  kubectl konnect check -n kong

  # Check one data plane, waiting up to 2 minutes for states that settle (programming, connecting)
  kubectl konnect check -n kong --dataplane dp --wait 2m

  # Check the hybrid Gateway kong of namespace kong (kong-operator 2.1+), its control plane, data plane and HTTPRoutes
  kubectl konnect check -n kong --gateway kong --wait 2m

  # Machine-readable, for CI: exit code 1 on any failure
  kubectl konnect check -n kong -o json | jq '.categories[].checks[] | select(.status != "pass")'`

// NewCommand builds `check`.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return NewCommandWithOptions(f, &Options{IOStreams: streams})
}

// NewCommandWithOptions builds `check` over preset options (tests inject a
// Konnect HTTP client or a clock).
func NewCommandWithOptions(f Factory, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [--dataplane NAME | --gateway NAME]",
		Short: "Check that a data plane really reached Konnect, and everything on the way: KGO, token, control plane, certificate, extension, webhook",
		Long: `Check runs, in order, the checks of each category: KGO installed and its generation (KGO 1.4,
KGO 1.5/1.6, or kong-operator 2.x, whose v1alpha2 objects are read as such); the Konnect
token (readable, valid, region); the control plane (Programmed, endpoint, cluster type); the data
plane's certificate (Secret, expiry, registered in Konnect); the KonnectExtension (right group,
pointing at the control plane, Ready); the DataPlane (Ready, and connected: a node in Konnect's
nodes list with a recent last_ping); and the admission webhook (installed, serving, certificate,
a server-side dry run of a valid and an invalid object).

With --gateway NAME, a hybrid Gateway of kong-operator 2.1+ is checked instead: the Gateway, its
GatewayClass and GatewayConfiguration (which makes it hybrid, and may name a KonnectAPIAuthConfiguration
of another namespace through a KongReferenceGrant), Programmed; then the checks above against the
KonnectGatewayControlPlane, KonnectExtension and DataPlane kong-operator made for it; and the
HTTPRoutes attached to it (accepted, and programmed in Konnect as KongRoutes and KongServices).

Every check that does not pass comes with a hint and a link. Results go to stdout, progress to
stderr. The exit code is 1 when a check failed, whatever the output format; warnings exit 0.
The Konnect token is never printed.`,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.DataPlane, "dataplane", o.DataPlane, "DataPlane to check. Default: the only one in the namespace.")
	fl.StringVar(&o.ControlPlane, "control-plane", o.ControlPlane, "KonnectGatewayControlPlane (resource name). Default: the only one in the namespace, or the one the data plane's KonnectExtension refers to.")
	fl.StringVar(&o.Gateway, "gateway", o.Gateway, "Check the hybrid Gateway NAME (kong-operator 2.1+): Gateway → GatewayClass → GatewayConfiguration → auth → its control plane, extension, data plane and HTTPRoutes. Not with --dataplane or --control-plane.")
	fl.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table or json.")
	fl.DurationVar(&o.Wait, "wait", o.Wait, "Retry checks whose state may still settle (programming, connecting) for up to this long, e.g. 2m. 0 checks once.")
	fl.DurationVar(&o.CheckTimeout, "check-timeout", 10*time.Second, "Time limit of each check.")
	fl.DurationVar(&o.MaxPingAge, "max-ping-age", 2*time.Minute, "How recent a data plane node's last ping to Konnect must be.")
	fl.DurationVar(&o.RenewBefore, "renew-before", 30*24*time.Hour, "Warn when the data plane's or the webhook's certificate expires within this long.")
	return cmd
}

// Complete fills the namespace and the clients from the factory. It runs
// in RunE only, so --help never reads the kubeconfig.
func (o *Options) Complete(f Factory) error {
	if o.Namespace == "" {
		ns, _, err := f.Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		o.Namespace = ns
	}
	if o.Clients.Kube == nil || o.Clients.Dynamic == nil || o.Clients.Discovery == nil {
		cfg, err := f.RESTConfig()
		if err != nil {
			return err
		}
		cfg = rest.CopyConfig(cfg)
		// Deprecation warnings of KGO's CRDs are not ours to print.
		cfg.WarningHandler = rest.NoWarnings{}
		if o.Clients.Kube == nil {
			if o.Clients.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
				return err
			}
		}
		if o.Clients.Dynamic == nil {
			if o.Clients.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
				return err
			}
		}
		if o.Clients.Metadata == nil {
			if o.Clients.Metadata, err = metadata.NewForConfig(cfg); err != nil {
				return err
			}
		}
		if o.Clients.Discovery == nil {
			// Uncached: the check must see the CRDs installed now.
			if o.Clients.Discovery, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
				return err
			}
		}
	}
	if o.Clients.KonnectHTTPClient == nil {
		hc := o.KonnectHTTPClient
		if hc == nil {
			var err error
			if hc, err = konnect.HTTPClientFromEnv(); err != nil {
				return err
			}
		}
		o.Clients.KonnectHTTPClient = hc
	}
	return nil
}

// Validate checks the flags; each error names the flag that fixes it.
func (o *Options) Validate() error {
	switch o.Output {
	case "", "table", "json":
	default:
		return fmt.Errorf("--output %q is not supported: use table or json", o.Output)
	}
	if o.Gateway != "" && (o.DataPlane != "" || o.ControlPlane != "") {
		return fmt.Errorf("--gateway cannot be combined with --dataplane or --control-plane: the Gateway's own DataPlane and KonnectGatewayControlPlane are checked")
	}
	if o.Wait < 0 {
		return fmt.Errorf("--wait %s: must not be negative", o.Wait)
	}
	if o.CheckTimeout <= 0 {
		return fmt.Errorf("--check-timeout %s: must be positive", o.CheckTimeout)
	}
	if o.MaxPingAge <= 0 {
		return fmt.Errorf("--max-ping-age %s: must be positive", o.MaxPingAge)
	}
	if o.RenewBefore <= 0 {
		return fmt.Errorf("--renew-before %s: must be positive", o.RenewBefore)
	}
	return nil
}

// Run runs the checks, prints the report and returns a *FailedError when a
// check failed.
func (o *Options) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := check.Options{
		Namespace: o.Namespace, DataPlane: o.DataPlane, ControlPlane: o.ControlPlane, Gateway: o.Gateway,
		MaxPingAge: o.MaxPingAge, RenewBefore: o.RenewBefore, Now: o.Now,
	}
	env := check.NewEnv(opts, o.Clients)
	rep := check.Run(ctx, env, check.CatalogueFor(opts), check.RunOptions{
		CheckTimeout: o.CheckTimeout,
		Wait:         o.Wait,
		Progress: func(format string, args ...any) {
			fmt.Fprintf(o.ErrOut, format+"\n", args...)
		},
	})
	var err error
	if o.Output == "json" {
		err = check.WriteJSON(o.Out, rep)
	} else {
		color := check.UseColor(o.Out)
		if o.Color != nil {
			color = *o.Color
		}
		err = check.WriteTable(o.Out, rep, check.TableOptions{Color: color})
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return &FailedError{Failed: rep.Summary.Fail, Total: rep.Summary.Pass + rep.Summary.Warn + rep.Summary.Fail + rep.Summary.Skip}
	}
	return nil
}
