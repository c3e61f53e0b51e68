// Package initcmd is `kubectl konnect init`: from an empty namespace to a data plane connected to
// Kong Konnect in one command. It replaces the manual workflow (token Secret, KonnectAPIAuthConfiguration,
// KonnectGatewayControlPlane, data-plane certificate, endpoint lookup, KonnectExtension, DataPlane)
// for the KGO generation the cluster serves, idempotently: a re-run writes nothing when all is in
// place, and finishes the job after an interruption at any step without duplicating anything in the
// cluster or in Konnect.
//
// The data path is Validate (flags only) -> Complete (clients) -> Run: preflight (discovery, token,
// region, organization) -> plan (reads only; the control plane is created, adopted in the cluster, or
// adopted from Konnect) -> RBAC preflight -> apply in order with server-side apply (field manager
// kubectl-konnect), comparing before every write, waiting for KGO where the next step needs its
// answer -> summary.
package initcmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// DefaultImage is the Kong Gateway image of the DataPlane up to kong-operator 2.0 unless --image says
// otherwise; from 2.1 on the release's own (see defaultImages).
const DefaultImage = "kong/kong-gateway:3.9.1.0"

// Steps, in the order init runs them. AfterStep receives these names.
const (
	StepToken        = "token"
	StepAuth         = "auth"
	StepControlPlane = "control-plane"
	StepEndpoint     = "endpoint"
	StepCertificate  = "certificate"
	StepExtension    = "extension"
	StepDataPlane    = "dataplane"
)

// Steps of init --gateway after StepToken and StepAuth; the road ends with StepEndpoint.
const (
	StepGatewayConfiguration = "gateway-configuration"
	StepGatewayClass         = "gateway-class"
	StepGateway              = "gateway"
	StepGatewayProgrammed    = "gateway-programmed"
)

// Steps lists the steps in order.
var Steps = []string{StepToken, StepAuth, StepControlPlane, StepEndpoint, StepCertificate, StepExtension, StepDataPlane}

// GatewaySteps lists the steps of init --gateway in order.
var GatewaySteps = []string{StepToken, StepAuth, StepGatewayConfiguration, StepGatewayClass, StepGateway, StepGatewayProgrammed, StepEndpoint}

// Factory is what init needs from pkg/kube.Factory.
type Factory interface {
	RESTConfig() (*rest.Config, error)
	Namespace() (string, bool, error)
}

// Options of `init`. The exported fields after the flags are filled by Complete unless preset, which
// is how tests and the demo run init in-process.
type Options struct {
	genericiooptions.IOStreams
	PrintFlags *genericclioptions.PrintFlags

	ControlPlane     string
	Gateway          string
	GatewayClass     string
	Listeners        []string
	Adopt            bool
	ClusterType      string
	Region           string
	ServerURL        string
	TokenFile        string
	TokenStdin       bool
	InlineToken      bool
	AuthName         string
	DataPlane        string
	NoDataPlane      bool
	Image            string
	Replicas         int32
	KGOVersion       string
	CertProvisioning string
	DryRun           string
	IncludeSecrets   bool
	Timeout          time.Duration
	AllowOtherRegion bool
	Force            bool

	Namespace string
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	// Metadata reads the KonnectGatewayControlPlane CRD's release annotation (nil: the release comes
	// from discovery alone).
	Metadata   metadata.Interface
	Kubernetes kubernetes.Interface
	// imageGiven: --image was on the command line (an empty one is an error, not the default).
	imageGiven bool
	// KonnectHTTPClient carries every Konnect call; HTTPClientFromEnv when nil.
	KonnectHTTPClient *http.Client
	// Retry is how Konnect 429/5xx are retried; DefaultRetryPolicy when zero.
	Retry  RetryPolicy
	Getenv func(string) string
	Now    func() time.Time
	// Terminal forces the progress style; nil detects a terminal on ErrOut.
	Terminal *bool
	// AfterStep is called after each step is done (tests interrupt init with it).
	AfterStep func(step string)
	// Stats are the figures of the last Run.
	Stats Stats

	token       tokenFlag
	clusterType string
	listeners   []listener
	// certProvisioningGiven: --cert-provisioning was on the command line.
	certProvisioningGiven bool
	printer               printers.ResourcePrinter
	kubeCalls             atomic.Int64
}

// Stats are what a Run cost.
type Stats struct {
	// KubernetesCalls and KonnectCalls count HTTP round trips (a watch counts once).
	KubernetesCalls, KonnectCalls int64
	// Writes counts objects written to the cluster and registrations made in Konnect.
	Writes int
	// Wall is the whole run; Waiting the part spent waiting for KGO.
	Wall, Waiting time.Duration
}

// NewOptions returns Options with the flag defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{
		IOStreams:        streams,
		PrintFlags:       genericclioptions.NewPrintFlags(""),
		ClusterType:      "hybrid",
		AuthName:         "konnect-auth",
		Replicas:         1,
		CertProvisioning: "manual",
		DryRun:           kube.DryRunNone,
		Timeout:          5 * time.Minute,
		Getenv:           os.Getenv,
	}
}

// NewCommand builds `init`.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "init --control-plane NAME [--region REGION]",
		Short: "Connect this namespace to Konnect: auth, control plane, certificate, KonnectExtension and DataPlane",
		Long: `Set up everything a KGO-managed data plane needs to connect to a Kong Konnect control plane, in one
idempotent command:

  1. the Konnect token in a Secret (label konghq.com/credential=konnect) and a KonnectAPIAuthConfiguration
     (type secretRef), after checking the token with Konnect (GET /v3/organizations/me);
  2. the control plane: a KonnectGatewayControlPlane that KGO creates in Konnect, or one that exists
     already (in the cluster, by resource name or Konnect name; or, with --adopt, in Konnect);
  3. a data-plane certificate (as "kubectl konnect cert issue" makes it) registered with the control plane;
  4. the control plane's endpoint, read from the Konnect API;
  5. the KonnectExtension of the KGO generation the cluster serves (KGO 1.4: gateway-operator.konghq.com
     with the endpoint's konnectID, region and host; KGO 1.5/1.6: konnect.konghq.com/v1alpha1 referring
     to the control plane; kong-operator 2.x: konnect.konghq.com/v1alpha2, with a v1alpha2
     KonnectGatewayControlPlane);
  6. a DataPlane using it.

Nothing is written before the token, the region, the control plane and your RBAC permissions check out.
Re-running writes nothing when all is in place, and finishes the job after an interruption at any step.
The token is read from KONNECT_TOKEN, --token-file or --token-stdin, never from the command line; on a
re-run it is read from the Secret of the first run.`,
		Example: `  # Everything, for a new control plane in the EU region
  KONNECT_TOKEN=kpat_... kubectl konnect init --control-plane prod-gw --region eu -n kong

  # Use a control plane that exists in Konnect already
  kubectl konnect init --control-plane "Shared Gateway" --adopt --region us --token-file ~/.konnect-token -n kong

  # Render for Git (token Secret left out unless --include-secrets), or ask the API server
  kubectl konnect init --control-plane prod-gw --region eu --token-stdin --dry-run=client -o yaml < token.txt
  kubectl konnect init --control-plane prod-gw --region eu --dry-run=server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.imageGiven = cmd.Flags().Changed("image")
			o.certProvisioningGiven = cmd.Flags().Changed("cert-provisioning")
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(f); err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return o.Run(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.ControlPlane, "control-plane", "", "Control plane: the Konnect name of a new one, or an existing KonnectGatewayControlPlane (resource name or Konnect name)")
	fl.StringVar(&o.Gateway, "gateway", "", "Connect a Gateway API Gateway of this name to Konnect (kong-operator 2.1 or later: hybrid Gateway) instead of a DataPlane")
	fl.StringVar(&o.GatewayClass, "gateway-class", "", "With --gateway: name of the GatewayClass (default konnect-<namespace>-<gateway>)")
	fl.StringArrayVar(&o.Listeners, "listener", nil, "With --gateway: a listener [NAME=]PROTOCOL:PORT[:TLS_SECRET], repeatable (default http:80)")
	fl.BoolVar(&o.Adopt, "adopt", false, "Use the control plane of that name that exists in Konnect (KGO 1.5+ and kong-operator 2.x: mirrored with source: Mirror)")
	fl.StringVar(&o.ClusterType, "cluster-type", o.ClusterType, "Cluster type of a new control plane: hybrid, kic or group (data planes need hybrid)")
	fl.StringVar(&o.Region, "region", "", "Konnect region, two lowercase letters: us, eu, au, me, in, sg or a newer geo (default: the region of an existing KonnectAPIAuthConfiguration, else your Konnect user's home region)")
	fl.StringVar(&o.ServerURL, "server-url", "", "Konnect regional API URL, e.g. https://eu.api.konghq.com or a custom domain (instead of --region)")
	fl.StringVar(&o.TokenFile, "token-file", "", "File holding the Konnect token (kpat_... or spat_...)")
	fl.BoolVar(&o.TokenStdin, "token-stdin", false, "Read the Konnect token from standard input")
	fl.Var(&o.token, "token", "Not accepted: use KONNECT_TOKEN, --token-file or --token-stdin")
	_ = fl.MarkHidden("token")
	// The known geos complete --region; any two-letter region is accepted (pkg/konnect/region).
	_ = cmd.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(region.KnownGeos, cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVar(&o.InlineToken, "inline-token", false, "Store the token inline in the KonnectAPIAuthConfiguration instead of a Secret (readable by anyone who can read that resource)")
	fl.StringVar(&o.AuthName, "auth-name", o.AuthName, "Name of the KonnectAPIAuthConfiguration; its token Secret is <name>-token")
	fl.StringVar(&o.DataPlane, "dataplane", "", "Name of the DataPlane (default: the control plane's resource name)")
	fl.BoolVar(&o.NoDataPlane, "no-dataplane", false, "Set up auth and control plane only: no certificate, KonnectExtension or DataPlane")
	fl.StringVar(&o.Image, "image", o.Image, "Kong Gateway image of the DataPlane's proxy container (default: by operator release, "+DefaultImage+" up to kong-operator 2.0, then the Kong Gateway the release defaults to: kong/kong-gateway:3.13 on 2.1, 3.14 on 2.2, 3.15 on 2.3)")
	fl.Int32Var(&o.Replicas, "replicas", o.Replicas, "Replicas of the DataPlane")
	fl.StringVar(&o.KGOVersion, "kgo-version", "", "Override the operator release read from the cluster's CRDs: "+rules.ReleaseVersions+"; 2.x is the kong-operator 2 release the cluster runs")
	fl.StringVar(&o.CertProvisioning, "cert-provisioning", o.CertProvisioning, "manual: init makes and registers the certificate; automatic: KGO does (KGO 1.5+)")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print what would be applied) or "server" (the API server checks every object, nothing is persisted)`)
	fl.BoolVar(&o.IncludeSecrets, "include-secrets", false, "With -o: also print the Secrets (the Konnect token, the data plane's private key)")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long init may take, waits for KGO included")
	fl.BoolVar(&o.AllowOtherRegion, "allow-other-region", false, "Create the control plane in --region even though your Konnect user's home region is another")
	fl.BoolVar(&o.Force, "force", false, "Take over objects of the same names that kubectl konnect did not create")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Validate checks the flags alone, without the cluster or Konnect. Each error names the flag to fix.
func (o *Options) Validate() error {
	if o.token.given {
		return errTokenFlag
	}
	if o.Gateway != "" {
		if err := o.validateGateway(); err != nil {
			return err
		}
	} else if strings.TrimSpace(o.ControlPlane) == "" {
		return errors.New("--control-plane is required: the Konnect name of the control plane to create or use (e.g. --control-plane prod-gw)")
	}
	if _, err := resourceNameFor(o.ControlPlane); err != nil && o.Gateway == "" {
		return err
	}
	switch strings.ToLower(o.ClusterType) {
	case "", "hybrid", strings.ToLower(clusterTypeHybrid):
		o.clusterType = clusterTypeHybrid
	case "kic", strings.ToLower(clusterTypeKIC):
		o.clusterType = clusterTypeKIC
	case "group", strings.ToLower(clusterTypeGroup):
		o.clusterType = clusterTypeGroup
	default:
		return fmt.Errorf("--cluster-type %q is not supported: use hybrid (default), kic or group", o.ClusterType)
	}
	if o.clusterType != clusterTypeHybrid && !o.NoDataPlane {
		return clusterTypeError(o.ControlPlane, o.clusterType, "--cluster-type "+o.ClusterType)
	}
	if o.Region != "" && o.ServerURL != "" {
		return errors.New("--region and --server-url both choose the Konnect API: give one")
	}
	if o.Region != "" {
		if _, err := parseRegion(o.Region); err != nil {
			return err
		}
	}
	if o.ServerURL != "" {
		if _, err := parseServerURL(o.ServerURL, "--server-url"); err != nil {
			return err
		}
	}
	if errs := validation.IsDNS1123Subdomain(o.AuthName); len(errs) > 0 || len(o.AuthName) > 200 {
		return fmt.Errorf("--auth-name %q is not a valid resource name: %s", o.AuthName, strings.Join(errs, "; "))
	}
	if o.DataPlane != "" {
		if errs := validation.IsDNS1123Label(o.DataPlane); len(errs) > 0 {
			return fmt.Errorf("--dataplane %q is not a valid DataPlane name: %s", o.DataPlane, strings.Join(errs, "; "))
		}
	}
	if o.Replicas < 0 {
		return fmt.Errorf("--replicas %d is negative: use 1 or more (0 stops the data plane)", o.Replicas)
	}
	if o.imageGiven && strings.TrimSpace(o.Image) == "" {
		return errors.New("--image is empty: give a Kong Gateway image such as " + DefaultImage)
	}
	switch strings.ToLower(o.CertProvisioning) {
	case "manual", "automatic":
		o.CertProvisioning = strings.ToLower(o.CertProvisioning)
	default:
		return fmt.Errorf("--cert-provisioning %q is not supported: use manual (default) or automatic", o.CertProvisioning)
	}
	var err error
	if o.DryRun, err = kube.ParseDryRun(o.DryRun); err != nil {
		return err
	}
	if o.IncludeSecrets && (o.PrintFlags == nil || *o.PrintFlags.OutputFormat == "") {
		return errors.New("--include-secrets only matters with -o: add -o yaml (and usually --dry-run=client)")
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: give a positive duration such as 5m", o.Timeout)
	}
	if o.PrintFlags != nil && *o.PrintFlags.OutputFormat != "" {
		switch *o.PrintFlags.OutputFormat {
		case "yaml", "json", "name":
		default:
			return fmt.Errorf("-o %q is not supported: use yaml, json or name", *o.PrintFlags.OutputFormat)
		}
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return fmt.Errorf("-o %q: %w", *o.PrintFlags.OutputFormat, err)
		}
		o.printer = p
	}
	return nil
}

// Complete builds the clients from the factory: every kubeconfig flag (--context, --as, ...) reaches
// them. Called from RunE only, so --help never reads the kubeconfig.
func (o *Options) Complete(f Factory) error {
	if o.Namespace == "" {
		ns, _, err := f.Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		o.Namespace = ns
	}
	if o.Dynamic != nil && o.Discovery != nil && o.Kubernetes != nil {
		return nil
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return err
	}
	return o.CompleteFromConfig(cfg, o.Namespace)
}

// CompleteFromConfig builds the Kubernetes clients from cfg, counting their round trips.
func (o *Options) CompleteFromConfig(cfg *rest.Config, namespace string) error {
	if namespace != "" {
		o.Namespace = namespace
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = version.UserAgent()
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	counter := &o.kubeCalls
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return countingTransport{base: rt, n: counter}
	}
	var err error
	if o.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	if o.Discovery, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return err
	}
	if o.Metadata, err = metadata.NewForConfig(cfg); err != nil {
		return err
	}
	o.Kubernetes, err = kubernetes.NewForConfig(cfg)
	return err
}

type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.base.RoundTrip(r)
}

func (o *Options) konnectHTTPClient() (*http.Client, error) {
	if o.KonnectHTTPClient != nil {
		return o.KonnectHTTPClient, nil
	}
	return konnect.HTTPClientFromEnv()
}

func (o *Options) warnf(format string, args ...any) {
	if o.ErrOut != nil {
		fmt.Fprintf(o.ErrOut, "%s %s\n", markWarn, fmt.Sprintf(format, args...))
	}
}

// clusterTypeError explains why init does not build a data plane for a KIC or group control plane.
func clusterTypeError(name, clusterType, where string) error {
	switch clusterType {
	case clusterTypeKIC:
		return fmt.Errorf("control plane %q (%s) is a Kong Ingress Controller control plane (%s): its configuration comes from Kong Ingress Controller, "+
			"and Konnect accepts neither data-plane certificates nor KGO data planes for it, so init will not build a DataPlane against it. "+
			"Use a hybrid control plane (CLUSTER_TYPE_CONTROL_PLANE, the default for a new one: e.g. --control-plane %s-hybrid), "+
			"or pass --no-dataplane to set up only the auth and the control plane", name, where, clusterTypeKIC, name)
	case clusterTypeGroup:
		return fmt.Errorf("control plane %q (%s) is a control plane group (%s): KGO does not attach a DataPlane's KonnectExtension to a group, "+
			"so init will not build a DataPlane against it. Point init at a hybrid control plane (CLUSTER_TYPE_CONTROL_PLANE), "+
			"or pass --no-dataplane to set up only the auth and the control plane", name, where, clusterTypeGroup)
	}
	return nil
}
