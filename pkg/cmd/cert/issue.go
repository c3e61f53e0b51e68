// `cert issue` and `cert rotate`: the command, its flags and options, and Run, which plans
// (issue_plan.go), then writes (issue_apply.go) and prints (issue_report.go).

package cert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// maxNameLen: the Secret's name is also the value of the registration's
// dpcert.LabelSecret label, and label values are at most 63 characters (which
// leaves room for NAME-<fingerprint> in the registration's name).
const maxNameLen = validation.LabelValueMaxLength

// IssueOptions are the options of `cert issue` and `cert rotate`.
type IssueOptions struct {
	Clients
	PrintFlags *genericclioptions.PrintFlags

	// Name is the data plane Secret's name; its registrations are named <Name>-<short fingerprint>.
	Name         string
	ControlPlane string
	KeyAlgorithm string
	Curve        string
	KeySize      int
	Validity     time.Duration
	CAValidity   time.Duration
	CommonName   string
	CASecret     string
	CACertFile   string
	CAKeyFile    string
	AuthType     string
	DryRun       string
	OutDir       string
	Force        bool
	KeepOld      bool
	// Wait is how long a rotation waits for KGO to program the new registration before it removes the
	// old one; 0 does not wait.
	Wait        time.Duration
	RenewBefore time.Duration

	// Rotate is set by `cert rotate`: always a new certificate, for an existing Secret.
	Rotate bool
	// flagSet says whether a flag was given; set by the command.
	flagSet func(name string) bool

	keyType cert.KeyType
	printer printers.ResourcePrinter
}

func newIssueOptions(streams genericiooptions.IOStreams) *IssueOptions {
	return &IssueOptions{
		Clients:    Clients{IOStreams: streams},
		PrintFlags: genericclioptions.NewPrintFlags(""),
		DryRun:     kube.DryRunNone,
		flagSet:    func(string) bool { return false },
	}
}

// NewIssueCommand builds `cert issue`.
func NewIssueCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := newIssueOptions(streams)
	cmd := &cobra.Command{
		Use:   "issue [NAME] --control-plane CONTROL_PLANE",
		Short: "Create a data-plane certificate, its kubernetes.io/tls Secret and its KongDataPlaneClientCertificate",
		Long: `Generate a key and a data-plane client certificate in Go (no openssl), store them in a
kubernetes.io/tls Secret NAME (default: <control plane>-dp-cert) and register the certificate with the
control plane as a KongDataPlaneClientCertificate named NAME-<fingerprint>, whose controlPlaneRef names
the KonnectGatewayControlPlane resource.

The control plane's auth type decides what is registered: with pinned_client_certs (Konnect's default)
the certificate itself; with pki_client_certs a CA (--ca-secret, --ca-cert-file, or one generated in
Secret NAME-ca) whose signed certificates the data planes present. The auth type is read from Konnect
when the control plane's token is readable, else from spec.auth_type (spec.createControlPlaneRequest.auth_type
in konnect.konghq.com/v1alpha2, kong-operator 2.x); --auth-type overrides it.

Re-running with a valid certificate changes nothing and says so. Use "cert rotate" (or --force) for a
new certificate: the new one is registered and programmed before the old registration is removed.

With -o the objects are printed, including the Secret with its private key: that is what -o asks for
(e.g. --dry-run=client -o yaml | kubeseal). Without -o no key is ever printed.`,
		Example: `  # A certificate for the data planes of control plane "gw-cp"
  kubectl konnect cert issue --control-plane gw-cp -n kong

  # RSA, 90 days, and the files for other tools
  kubectl konnect cert issue dp-east --control-plane gw-cp --key-type rsa --key-size 3072 --validity 90d --out-dir ./certs

  # What would be applied, without applying it
  kubectl konnect cert issue --control-plane gw-cp --dry-run=client -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.flagSet = func(n string) bool { return cmd.Flags().Changed(n) }
			if len(args) == 1 {
				o.Name = args[0]
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(f); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (o *IssueOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&o.ControlPlane, "control-plane", "", "KonnectGatewayControlPlane resource name (its Konnect name is resolved too)")
	fl.StringVar(&o.KeyAlgorithm, "key-type", "ecdsa", "Key algorithm: ecdsa or rsa")
	fl.StringVar(&o.Curve, "curve", "P-256", "ECDSA curve: P-256 or P-384")
	fl.IntVar(&o.KeySize, "key-size", 2048, "RSA key size: 2048, 3072 or 4096")
	fl.Var(newDurationValue(cert.DefaultValidity, &o.Validity), "validity", "How long the certificate is valid, e.g. 1y, 90d, 720h")
	fl.Var(newDurationValue(5*year, &o.CAValidity), "ca-validity", "How long a generated CA is valid (pki_client_certs)")
	fl.StringVar(&o.CommonName, "common-name", "", "Subject common name (default: NAME, or the current certificate's on rotate)")
	fl.StringVar(&o.CASecret, "ca-secret", "", "Secret in the namespace holding a CA (tls.crt, tls.key) to sign with")
	fl.StringVar(&o.CACertFile, "ca-cert-file", "", "PEM file with a CA certificate to sign with (with --ca-key-file)")
	fl.StringVar(&o.CAKeyFile, "ca-key-file", "", "PEM file with the private key of --ca-cert-file")
	fl.StringVar(&o.AuthType, "auth-type", "", "pinned_client_certs or pki_client_certs (default: ask Konnect, else the control plane's auth_type)")
	fl.StringVar(&o.DryRun, "dry-run", kube.DryRunNone, `Must be "none", "client", or "server": client prints what would be applied; server has the API server check it without persisting`)
	fl.StringVar(&o.OutDir, "out-dir", "", "Also write tls.crt and tls.key (mode 0600) to this directory")
	fl.BoolVar(&o.Force, "force", false, "Issue a new certificate even if a valid one exists, and take over a Secret of another type or owner")
	fl.BoolVar(&o.KeepOld, "keep-old", false, "On rotation, keep the old registration (remove it later with kubectl delete)")
	fl.DurationVar(&o.Wait, "wait", 2*time.Minute, "On rotation, how long to wait for KGO to program the new registration before the old one is removed (0: do not wait)")
	fl.Var(newDurationValue(defaultRenewBefore, &o.RenewBefore), "renew-before", "Warn when the current certificate expires within this time")
	o.PrintFlags.AddFlags(cmd)
}

// Validate checks the flags on their own, without the cluster. Each error names the flag to fix.
func (o *IssueOptions) Validate() error {
	if o.Name != "" {
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			return fmt.Errorf("NAME %q is not a valid Secret name: %s", o.Name, strings.Join(errs, "; "))
		}
		if len(o.Name) > maxNameLen {
			return fmt.Errorf("NAME %q is %d characters long: use at most %d, because NAME is also a label value", o.Name, len(o.Name), maxNameLen)
		}
	}
	if o.Rotate && o.Name == "" {
		return errors.New("NAME is required: the Secret whose certificate to rotate (see kubectl konnect cert list)")
	}
	if !o.Rotate && o.ControlPlane == "" {
		return errors.New("--control-plane is required: the KonnectGatewayControlPlane the data planes connect to (kubectl get konnectgatewaycontrolplanes)")
	}
	kt, err := keyTypeFromFlags(o.KeyAlgorithm, o.Curve, o.KeySize, o.flagSet("curve"), o.flagSet("key-size"))
	if err != nil {
		return err
	}
	o.keyType = kt
	if o.Validity < time.Hour {
		return fmt.Errorf("--validity %s is too short: use at least 1h (default 1y)", o.Validity)
	}
	if o.CAValidity < o.Validity {
		return fmt.Errorf("--ca-validity %s is shorter than --validity %s: a CA must outlive the certificates it signs", formatLifetime(o.CAValidity), formatLifetime(o.Validity))
	}
	if o.CASecret != "" && (o.CACertFile != "" || o.CAKeyFile != "") {
		return errors.New("--ca-secret and --ca-cert-file/--ca-key-file both name a CA: use one")
	}
	if (o.CACertFile == "") != (o.CAKeyFile == "") {
		return errors.New("--ca-cert-file and --ca-key-file go together: give both")
	}
	if o.AuthType, err = normalizeAuthType(o.AuthType); err != nil {
		return err
	}
	if o.DryRun, err = kube.ParseDryRun(o.DryRun); err != nil {
		return err
	}
	if o.Wait < 0 {
		return fmt.Errorf("--wait %s is negative: use 0 not to wait", o.Wait)
	}
	if *o.PrintFlags.OutputFormat != "" {
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return fmt.Errorf("-o %q: %w", *o.PrintFlags.OutputFormat, err)
		}
		o.printer = p
	}
	return nil
}

// Complete connects to the cluster.
func (o *IssueOptions) Complete(f Factory) error { return o.Clients.Complete(f) }

// Run issues or rotates the certificate. Everything is read, checked and generated first; only then
// does anything get written, so a bad input leaves the cluster untouched.
func (o *IssueOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p, err := o.plan(ctx)
	if err != nil {
		return err
	}
	return o.execute(ctx, p)
}
