package cert

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// AnnoRegistered says which certificate of the Secret is registered with Konnect: "leaf" (the data
// plane's own certificate, pinned_client_certs) or "ca" (the CA in ca.crt, pki_client_certs).
const AnnoRegistered = "cert.kubectl-konnect.io/registered"

const (
	registeredLeaf = "leaf"
	registeredCA   = "ca"
	// maxNameLen: the Secret's name is also the value of the registration's
	// LabelSecret label, and label values are at most 63 characters (which
	// leaves room for NAME-<fingerprint> in the registration's name).
	maxNameLen = validation.LabelValueMaxLength
)

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
		DryRun:     dryRunNone,
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
	fl.StringVar(&o.DryRun, "dry-run", dryRunNone, `Must be "none", "client", or "server": client prints what would be applied; server has the API server check it without persisting`)
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
	switch o.DryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	case "":
		o.DryRun = dryRunNone
	default:
		return fmt.Errorf(`--dry-run %q is not supported: use "none", "client" or "server"`, o.DryRun)
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

// issuePlan is what Run will write, computed without writing.
type issuePlan struct {
	cp *controlPlane
	// keep is true when the existing certificate stays (idempotent re-run).
	keep bool
	pair *cert.KeyPair
	// registered is the certificate registered with Konnect: the leaf (pinned) or the CA (pki).
	registered *x509.Certificate
	caPEM      []byte

	liveSecret    *unstructured.Unstructured
	secret        *unstructured.Unstructured
	replaceSecret bool // the live Secret has another type: delete, then create
	liveCA        *unstructured.Unstructured
	caSecret      *unstructured.Unstructured // generated CA Secret, nil when none is written
	liveDPCert    *unstructured.Unstructured
	dpCert        *unstructured.Unstructured
	stale         []string // registrations of older certificates of this Secret
	rotation      bool     // a data plane may use the old certificate: register, wait, then swap
	files         *outFiles
}

func (o *IssueOptions) plan(ctx context.Context) (*issuePlan, error) {
	p := &issuePlan{}
	now := o.Now()

	// The Secret first when rotating: it says which control plane.
	if o.Name != "" {
		live, err := o.get(ctx, gvrSecret, o.Name)
		if err != nil {
			return nil, err
		}
		p.liveSecret = live
	}
	if o.Rotate && p.liveSecret == nil {
		return nil, fmt.Errorf("there is no Secret %s/%s to rotate: create it with kubectl konnect cert issue %s --control-plane <control plane>", o.Namespace, o.Name, o.Name)
	}
	cpRef := o.ControlPlane
	if cpRef == "" && p.liveSecret != nil {
		cpRef = p.liveSecret.GetLabels()[LabelControlPlane]
	}
	if cpRef == "" {
		return nil, fmt.Errorf("--control-plane is required: Secret %s/%s does not say which control plane it is for", o.Namespace, o.Name)
	}
	cp, err := o.resolveControlPlane(ctx, cpRef)
	if err != nil {
		return nil, err
	}
	p.cp = cp
	if cp.ClusterType == clusterTypeKIC {
		return nil, fmt.Errorf("KonnectGatewayControlPlane %s/%s is a Kong Ingress Controller control plane (%s): Konnect does not accept data-plane certificates for it; use a control plane of type CLUSTER_TYPE_CONTROL_PLANE",
			cp.Namespace, cp.Name, clusterTypeKIC)
	}
	// KGO 1.x and kong-operator before 2.2 refuse a KongDataPlaneClientCertificate on a group (webhook
	// rule KON1006): the registration would never be programmed and a rotation would wait for it forever.
	if cp.ClusterType == clusterTypeGroup {
		ok, err := o.registersCertsOnGroups(cp.Version)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("KonnectGatewayControlPlane %s/%s is a control plane group (%s): KGO 1.x and kong-operator before 2.2 do not register data-plane certificates on groups (kong-operator 2.2 and later do); "+
				"issue the certificate for each member of the group (spec.members), e.g. kubectl konnect cert issue --control-plane MEMBER -n %s",
				cp.Namespace, cp.Name, clusterTypeGroup, cp.Namespace)
		}
	}
	if o.Name == "" {
		o.Name = DefaultSecretName(cp.Name)
		if len(o.Name) > maxNameLen {
			return nil, fmt.Errorf("the default NAME %q is too long: give a NAME of at most %d characters", o.Name, maxNameLen)
		}
		live, err := o.get(ctx, gvrSecret, o.Name)
		if err != nil {
			return nil, err
		}
		p.liveSecret = live
	}

	// Whose is the Secret, and is its certificate any good?
	var livePair *cert.KeyPair
	var liveErr error
	if live := p.liveSecret; live != nil {
		if err := o.checkOwnership(live, "NAME"); err != nil {
			if !o.Force {
				return nil, err
			}
			o.progress("warning: --force: taking over Secret %s/%s (%v)", o.Namespace, o.Name, err)
		}
		p.replaceSecret = secretType(live) != secretTypeTLS
		data, err := secretData(live)
		if err != nil {
			return nil, err
		}
		livePair, liveErr = cert.ValidatePair(data[keyTLSCert], data[keyTLSKey], o.secretSource(o.Name), now, o.RenewBefore)
		if c := live.GetLabels()[LabelControlPlane]; c != "" && c != cp.Name && !o.Rotate && !o.Force {
			return nil, fmt.Errorf("Secret %s/%s holds the certificate of control plane %q, not %q: choose another NAME, or pass --force to re-issue it for %q",
				o.Namespace, o.Name, c, cp.Name, cp.Name)
		}
	}

	// Keep the current certificate when it is ours, valid, and nothing asks for a new one.
	if p.liveSecret != nil && !o.Rotate && !o.Force && livePair != nil {
		switch {
		case liveErr == nil, errors.Is(liveErr, cert.ErrExpiresSoon):
			if liveErr != nil {
				o.progress("warning: %v", liveErr)
			}
			if err := o.planKeep(p, livePair); err != nil {
				return nil, err
			}
			return p, o.planCommon(ctx, p)
		}
	}
	if liveErr != nil && !o.Rotate && !o.Force {
		return nil, liveErr
	}
	if err := o.planNew(ctx, p, livePair); err != nil {
		return nil, err
	}
	return p, o.planCommon(ctx, p)
}

// checkOwnership refuses a Secret that is not a kubernetes.io/tls Secret managed by us.
func (o *IssueOptions) checkOwnership(live *unstructured.Unstructured, flag string) error {
	where := fmt.Sprintf("Secret %s/%s", live.GetNamespace(), live.GetName())
	if t := secretType(live); t != secretTypeTLS {
		return fmt.Errorf("%s exists with type %s, not %s: choose another %s, or pass --force to replace it", where, t, secretTypeTLS, flag)
	}
	if owner := foreignOwner(live); owner != "" {
		return fmt.Errorf("%s belongs to %s, not kubectl-konnect: choose another %s, or pass --force to take it over", where, owner, flag)
	}
	return nil
}

// foreignOwner describes who owns a Secret we did not create, or "" when it is ours.
func foreignOwner(u *unstructured.Unstructured) string {
	var owners []string
	for _, ref := range u.GetOwnerReferences() {
		owners = append(owners, fmt.Sprintf("%s %s", ref.Kind, ref.Name))
	}
	if len(owners) > 0 {
		return "its owner " + strings.Join(owners, ", ")
	}
	if m := u.GetLabels()[LabelManagedBy]; m == managedByValue {
		return ""
	} else if m != "" {
		return fmt.Sprintf("%s (label %s)", m, LabelManagedBy)
	}
	var managers []string
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != FieldManager {
			managers = append(managers, mf.Manager)
		}
	}
	if len(managers) > 0 {
		return "field manager " + strings.Join(managers, ", ")
	}
	return "someone else (it has no " + LabelManagedBy + "=" + managedByValue + " label)"
}

func (o *IssueOptions) secretSource(name string) cert.Source {
	fix := fmt.Sprintf("run kubectl konnect cert rotate %s -n %s", name, o.Namespace)
	return cert.Source{
		Cert: fmt.Sprintf("Secret %s/%s key %s", o.Namespace, name, keyTLSCert),
		Key:  fmt.Sprintf("Secret %s/%s key %s", o.Namespace, name, keyTLSKey),
		Fixes: map[error]string{
			cert.ErrExpired:     fix,
			cert.ErrKeyMismatch: fix,
			cert.ErrInvalid:     fix,
			cert.ErrNotYetValid: "check this machine's clock, or " + fix,
			cert.ErrExpiresSoon: fix + " before then",
		},
	}
}

// planKeep keeps the Secret's certificate and makes sure it is registered.
func (o *IssueOptions) planKeep(p *issuePlan, pair *cert.KeyPair) error {
	p.keep = true
	p.pair = pair
	live := p.liveSecret
	data, _ := secretData(live)
	p.registered = pair.Cert
	p.caPEM = data[keyCACert]
	if live.GetAnnotations()[AnnoRegistered] == registeredCA {
		cas, err := cert.DecodeCertsPEM(data[keyCACert])
		if err != nil {
			return fmt.Errorf("Secret %s/%s key %s: %v: run kubectl konnect cert rotate %s -n %s", o.Namespace, o.Name, keyCACert, err, o.Name, o.Namespace)
		}
		p.registered = cas[0]
	}
	// Flags asking for something else than what exists are not applied silently.
	if o.flagSet("key-type") || o.flagSet("curve") || o.flagSet("key-size") {
		if have := pair.KeyType(); have != o.keyType {
			o.progress("note: the current certificate has a %s key, not %s; kubectl konnect cert rotate %s --key-type ... makes a new one", have, o.keyType, o.Name)
		}
	}
	if o.CommonName != "" && o.CommonName != pair.Cert.Subject.CommonName {
		o.progress("note: the current certificate's common name is %q, not %q; kubectl konnect cert rotate %s --common-name %s makes a new one", pair.Cert.Subject.CommonName, o.CommonName, o.Name, o.CommonName)
	}
	p.secret = o.desiredSecret(p, data[keyTLSCert], data[keyTLSKey], live.GetAnnotations()[AnnoCASecret])
	return nil
}

// planNew generates a new certificate (and CA when needed).
func (o *IssueOptions) planNew(ctx context.Context, p *issuePlan, old *cert.KeyPair) error {
	now := o.Now()
	kt, cn := o.keyType, o.CommonName
	if old != nil {
		if !o.flagSet("key-type") && !o.flagSet("curve") && !o.flagSet("key-size") {
			if _, err := cert.ParseKeyType(string(old.KeyType())); err == nil {
				kt = old.KeyType()
			}
		}
		if cn == "" {
			cn = old.Cert.Subject.CommonName
		}
	}
	if cn == "" {
		cn = o.Name
	}
	tmpl := cert.Template{CommonName: cn, Validity: o.Validity, KeyType: kt, Now: now}
	p.rotation = p.liveSecret != nil

	// Which auth type, and so what to register?
	authType, why := o.AuthType, "from --auth-type"
	if authType == "" {
		sdk, sdkErr := o.konnectFor(ctx, p.cp)
		authType, why = o.authTypeOf(ctx, p.cp, sdk, sdkErr)
	}

	ca, caSecretName, err := o.planCA(ctx, p, authType, kt)
	if err != nil {
		return err
	}
	if ca == nil {
		pair, err := cert.IssueSelfSigned(tmpl)
		if err != nil {
			return err
		}
		p.pair, p.registered = pair, pair.Cert
		o.progress("Control plane %s/%s uses %s (%s): registering the self-signed certificate itself.", p.cp.Namespace, p.cp.Name, authType, why)
	} else {
		pair, err := cert.IssueSigned(tmpl, ca)
		if err != nil {
			var fe *cert.FieldError
			if errors.As(err, &fe) && errors.Is(err, cert.ErrOutlivesCA) {
				return fmt.Errorf("--validity %s: %s: shorten --validity or use a CA that expires later", formatLifetime(o.Validity), fe.Problem)
			}
			return err
		}
		p.pair = pair
		p.caPEM = cert.EncodeCertsPEM(ca.Cert)
		if authType == authTypePKI {
			p.registered = ca.Cert
			o.progress("Control plane %s/%s uses %s (%s): registering the CA %q; data planes present certificates it signed.", p.cp.Namespace, p.cp.Name, authType, why, ca.Cert.Subject.CommonName)
		} else {
			p.registered = pair.Cert
			o.progress("Control plane %s/%s uses %s (%s): registering the certificate itself; Konnect does not use the CA in this mode.", p.cp.Namespace, p.cp.Name, authType, why)
		}
	}
	p.secret = o.desiredSecret(p, p.pair.CertPEM, p.pair.KeyPEM, caSecretName)
	return nil
}

// planCA returns the CA to sign with, or nil for a self-signed certificate, and the name of the Secret
// holding it (empty for files).
func (o *IssueOptions) planCA(ctx context.Context, p *issuePlan, authType string, kt cert.KeyType) (*cert.KeyPair, string, error) {
	now := o.Now()
	switch {
	case o.CASecret != "":
		u, err := o.get(ctx, gvrSecret, o.CASecret)
		if err != nil {
			return nil, "", err
		}
		if u == nil {
			return nil, "", fmt.Errorf("--ca-secret %s: there is no Secret %s/%s: create it (tls.crt and tls.key of the CA) or leave out --ca-secret to generate a CA", o.CASecret, o.Namespace, o.CASecret)
		}
		data, err := secretData(u)
		if err != nil {
			return nil, "", err
		}
		src := cert.Source{
			Cert: fmt.Sprintf("--ca-secret %s/%s key %s", o.Namespace, o.CASecret, keyTLSCert),
			Key:  fmt.Sprintf("--ca-secret %s/%s key %s", o.Namespace, o.CASecret, keyTLSKey),
			Fixes: map[error]string{
				cert.ErrExpired:     "renew the CA, or leave out --ca-secret to generate a new one",
				cert.ErrKeyMismatch: "put the CA's own key in tls.key",
				cert.ErrNotCA:       "point --ca-secret at a CA (basicConstraints CA:TRUE, keyUsage keyCertSign), or leave it out to generate one",
			},
		}
		ca, err := cert.ValidateCA(data[keyTLSCert], data[keyTLSKey], src, now)
		return ca, o.CASecret, err
	case o.CACertFile != "":
		crt, err := os.ReadFile(o.CACertFile)
		if err != nil {
			return nil, "", fmt.Errorf("--ca-cert-file: %w: give a readable PEM file", err)
		}
		key, err := os.ReadFile(o.CAKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("--ca-key-file: %w: give a readable PEM file", err)
		}
		src := cert.Source{
			Cert: "--ca-cert-file " + o.CACertFile,
			Key:  "--ca-key-file " + o.CAKeyFile,
			Fixes: map[error]string{
				cert.ErrExpired:     "renew the CA, or leave out --ca-cert-file to generate a new one",
				cert.ErrKeyMismatch: "give the CA's own key in --ca-key-file",
				cert.ErrNotCA:       "give a CA certificate (basicConstraints CA:TRUE, keyUsage keyCertSign), or leave out --ca-cert-file to generate one",
			},
		}
		ca, err := cert.ValidateCA(crt, key, src, now)
		return ca, "", err
	case authType != authTypePKI:
		return nil, "", nil
	}

	// pki_client_certs without a CA of the user's: our own CA Secret NAME-ca, reused while it is valid
	// long enough for the new certificate.
	name := CASecretName(o.Name)
	live, err := o.get(ctx, gvrSecret, name)
	if err != nil {
		return nil, "", err
	}
	p.liveCA = live
	if live != nil {
		if err := o.checkOwnership(live, "NAME"); err != nil {
			if !o.Force {
				return nil, "", fmt.Errorf("the CA Secret: %w", err)
			}
		} else if data, err := secretData(live); err == nil {
			ca, err := cert.ValidateCA(data[keyTLSCert], data[keyTLSKey], cert.Source{}, now)
			if err == nil && !now.Add(o.Validity).After(ca.Cert.NotAfter) {
				return ca, name, nil
			}
			o.progress("note: the CA in Secret %s/%s cannot sign a certificate valid for %s (%v); generating a new CA", o.Namespace, name, formatLifetime(o.Validity), errOrExpiry(err, ca))
		}
	}
	ca, err := cert.IssueCA(cert.Template{CommonName: o.Name + "-ca", Validity: o.CAValidity, KeyType: kt, Now: now})
	if err != nil {
		return nil, "", err
	}
	p.caSecret = CASecret(o.Namespace, o.Name, ca)
	return ca, name, nil
}

func errOrExpiry(err error, ca *cert.KeyPair) string {
	if err != nil {
		return err.Error()
	}
	return "it expires at " + ca.Cert.NotAfter.UTC().Format(time.RFC3339)
}

func (o *IssueOptions) desiredSecret(p *issuePlan, crt, key []byte, caSecret string) *unstructured.Unstructured {
	pair := *p.pair
	pair.CertPEM, pair.KeyPEM = crt, key
	return DataPlaneCertSecret(o.Namespace, o.Name, p.cp.Name, DataPlaneCert{Pair: &pair, CAPEM: p.caPEM, Registered: p.registered, CASecret: caSecret})
}

// planCommon plans the registration, finds stale ones and prepares --out-dir.
func (o *IssueOptions) planCommon(ctx context.Context, p *issuePlan) error {
	p.dpCert = Registration(o.Namespace, o.Name, p.cp.Name, p.registered)
	name := p.dpCert.GetName()
	live, err := o.get(ctx, gvrDPCert, name)
	if err != nil {
		return err
	}
	if live != nil && live.GetLabels()[LabelSecret] != o.Name {
		if !o.Force {
			return fmt.Errorf("KongDataPlaneClientCertificate %s/%s exists but is not the registration of Secret %s (label %s): delete it or pass --force",
				o.Namespace, name, o.Name, LabelSecret)
		}
	}
	p.liveDPCert = live
	others, err := o.list(ctx, gvrDPCert, LabelSecret+"="+o.Name)
	if err != nil {
		return err
	}
	for _, u := range others {
		if u.GetName() != name {
			p.stale = append(p.stale, u.GetName())
		}
	}
	if o.OutDir != "" {
		files, err := prepareOutDir(o.OutDir, p.secret, o.Force)
		if err != nil {
			return err
		}
		p.files = files
	}
	return nil
}

// result is one line of the human output, and the object for -o.
type result struct {
	resource string
	name     string
	op       string
	obj      *unstructured.Unstructured
}

func (o *IssueOptions) execute(ctx context.Context, p *issuePlan) (err error) {
	secretChanged := !upToDate(p.liveSecret, p.secret) || p.replaceSecret
	caChanged := p.caSecret != nil && !upToDate(p.liveCA, p.caSecret)
	dpCertChanged := !upToDate(p.liveDPCert, p.dpCert)
	removeStale := !p.keep && !o.KeepOld
	nothing := !secretChanged && !caChanged && !dpCertChanged && (len(p.stale) == 0 || !removeStale)

	suffix := ""
	switch o.DryRun {
	case dryRunClient:
		suffix = " (dry run)"
	case dryRunServer:
		suffix = " (server dry run)"
	}
	serverDryRun := o.DryRun == dryRunServer

	if p.files != nil {
		defer func() { p.files.finish(err == nil && o.DryRun == dryRunNone) }()
	}

	var results []result
	op := func(live *unstructured.Unstructured, changed bool) string {
		switch {
		case !changed:
			return "unchanged"
		case live == nil:
			return "created"
		}
		return "configured"
	}
	add := func(resource string, live, desired, got *unstructured.Unstructured, changed bool) {
		obj := got
		if obj == nil {
			obj = live
		}
		if obj == nil || (changed && o.DryRun == dryRunClient) {
			obj = desired
		}
		results = append(results, result{resource: resource, name: desired.GetName(), op: op(live, changed) + suffix, obj: obj})
	}

	if nothing {
		if p.caSecret != nil {
			add("secret", p.liveCA, p.caSecret, nil, false)
		}
		add("secret", p.liveSecret, p.secret, nil, false)
		add(dpCertResource, p.liveDPCert, p.dpCert, nil, false)
		o.progress("Secret %s/%s already holds a valid certificate (fingerprint %s, expires %s, in %s), registered as KongDataPlaneClientCertificate %s: nothing changed. For a new one: kubectl konnect cert rotate %s -n %s",
			o.Namespace, o.Name, cert.ShortFingerprint(p.pair.Cert), p.pair.Cert.NotAfter.UTC().Format(time.RFC3339),
			cert.HumanDuration(p.pair.Cert.NotAfter.Sub(o.Now())), p.dpCert.GetName(), o.Name, o.Namespace)
		o.reportStale(p)
		return o.print(results)
	}

	if o.DryRun == dryRunClient {
		if p.caSecret != nil {
			add("secret", p.liveCA, p.caSecret, nil, caChanged)
		}
		add(dpCertResource, p.liveDPCert, p.dpCert, nil, dpCertChanged)
		add("secret", p.liveSecret, p.secret, nil, secretChanged)
		if removeStale {
			for _, s := range p.stale {
				results = append(results, result{resource: dpCertResource, name: s, op: "deleted" + suffix})
			}
		}
		o.describe(p)
		return o.print(results)
	}

	// Preflight: the API server checks every object (CRD schema, CEL, admission) before the first
	// real write. A Secret whose type changes cannot be checked this way (type is immutable).
	if !serverDryRun {
		if caChanged {
			if _, err := o.apply(ctx, gvrSecret, p.caSecret, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
		if dpCertChanged {
			if _, err := o.apply(ctx, gvrDPCert, p.dpCert, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
		if secretChanged && !p.replaceSecret {
			if _, err := o.apply(ctx, gvrSecret, p.secret, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
	}

	var undo []func()
	defer func() {
		if err != nil && !serverDryRun {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	rollbackDelete := func(gvr schema.GroupVersionResource, name string) func() {
		return func() {
			if derr := o.delete(context.WithoutCancel(ctx), gvr, name, false); derr != nil {
				o.progress("warning: rolling back: %v", derr)
			} else {
				o.progress("Rolled back: deleted %s %s/%s", gvr.Resource, o.Namespace, name)
			}
		}
	}

	if p.caSecret != nil {
		var got *unstructured.Unstructured
		if caChanged {
			if got, err = o.apply(ctx, gvrSecret, p.caSecret, serverDryRun); err != nil {
				return err
			}
			if p.liveCA == nil {
				undo = append(undo, rollbackDelete(gvrSecret, p.caSecret.GetName()))
			}
		}
		add("secret", p.liveCA, p.caSecret, got, caChanged)
	}

	var gotDPCert *unstructured.Unstructured
	if dpCertChanged {
		if gotDPCert, err = o.apply(ctx, gvrDPCert, p.dpCert, serverDryRun); err != nil {
			return err
		}
		if p.liveDPCert == nil {
			undo = append(undo, rollbackDelete(gvrDPCert, p.dpCert.GetName()))
		}
	}
	add(dpCertResource, p.liveDPCert, p.dpCert, gotDPCert, dpCertChanged)

	// A rotation swaps the Secret only once the new registration is programmed, so the data plane is
	// never left with a certificate Konnect does not know.
	if p.rotation && dpCertChanged && !serverDryRun {
		if o.Wait > 0 {
			o.progress("Waiting up to %s for KGO to program KongDataPlaneClientCertificate %s/%s ...", o.Wait, o.Namespace, p.dpCert.GetName())
			if err = o.waitProgrammed(ctx, p.dpCert.GetName()); err != nil {
				return err
			}
		} else {
			o.progress("warning: --wait=0: not waiting for KGO to program the new registration before switching the Secret")
		}
	}

	var gotSecret *unstructured.Unstructured
	if secretChanged {
		if p.replaceSecret {
			if err = o.delete(ctx, gvrSecret, o.Name, serverDryRun); err != nil {
				return err
			}
			o.progress("Replaced Secret %s/%s of type %s (--force)", o.Namespace, o.Name, secretType(p.liveSecret))
		}
		if gotSecret, err = o.apply(ctx, gvrSecret, p.secret, serverDryRun); err != nil {
			return err
		}
	}
	add("secret", p.liveSecret, p.secret, gotSecret, secretChanged)
	undo = nil // the Secret is in place: from here on, failures are reported, not rolled back

	if removeStale {
		for _, s := range p.stale {
			if derr := o.delete(ctx, gvrDPCert, s, serverDryRun); derr != nil {
				err = fmt.Errorf("the new certificate is in place, but the old registration was not removed: %w; remove it with: kubectl delete kongdataplaneclientcertificate %s -n %s", derr, s, o.Namespace)
				continue
			}
			results = append(results, result{resource: dpCertResource, name: s, op: "deleted" + suffix})
		}
	} else if !p.keep {
		o.reportStale(p)
	}
	o.describe(p)
	if perr := o.print(results); perr != nil && err == nil {
		err = perr
	}
	return err
}

const dpCertResource = "kongdataplaneclientcertificate.configuration.konghq.com"

func (o *IssueOptions) describe(p *issuePlan) {
	if p.keep {
		return
	}
	c := p.pair.Cert
	o.progress("Secret %s/%s: %s certificate CN=%s, fingerprint %s, valid until %s; registered with control plane %s as KongDataPlaneClientCertificate %s.",
		o.Namespace, o.Name, p.pair.KeyType(), c.Subject.CommonName, cert.ShortFingerprint(c), c.NotAfter.UTC().Format(time.RFC3339), p.cp.Name, p.dpCert.GetName())
	if *o.PrintFlags.OutputFormat != "" && *o.PrintFlags.OutputFormat != "name" {
		o.progress("note: the output holds the private key of Secret %s/%s", o.Namespace, o.Name)
	}
}

func (o *IssueOptions) reportStale(p *issuePlan) {
	for _, s := range p.stale {
		o.progress("note: KongDataPlaneClientCertificate %s/%s registers an older certificate of Secret %s; remove it once no data plane uses it: kubectl delete kongdataplaneclientcertificate %s -n %s",
			o.Namespace, s, o.Name, s, o.Namespace)
	}
}

// print writes the results: kubectl-style lines, or the objects with -o.
func (o *IssueOptions) print(results []result) error {
	if o.printer == nil {
		for _, r := range results {
			if _, err := fmt.Fprintf(o.out(), "%s/%s %s\n", r.resource, r.name, r.op); err != nil {
				return err
			}
		}
		return nil
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
	for _, r := range results {
		if r.obj == nil {
			continue
		}
		obj := r.obj.DeepCopy()
		obj.SetManagedFields(nil)
		list.Items = append(list.Items, *obj)
	}
	return o.printer.PrintObj(list, o.out())
}

// waitProgrammed polls the registration until KGO sets Programmed=True. On timeout the error carries
// exit code 124 and the last condition KGO reported.
func (o *IssueOptions) waitProgrammed(ctx context.Context, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.Wait, true, func(ctx context.Context) (bool, error) {
		u, err := o.get(ctx, gvrDPCert, name)
		if err != nil || u == nil {
			return false, err
		}
		s, reason, msg := conditionStatus(u, programmedType)
		if s == "" {
			return false, nil
		}
		last = "Programmed=" + s
		if reason != "" {
			last += " reason " + reason
		}
		if msg != "" {
			last += ": " + msg
		}
		return s == "True", nil
	})
	if err == nil {
		return nil
	}
	if last == "" {
		last = "no status yet"
	}
	return &TimeoutError{Err: fmt.Errorf("KongDataPlaneClientCertificate %s/%s was not programmed within %s (%s): is KGO running with the Konnect controllers? The old certificate stays in place and the new registration is removed; retry with a longer --wait",
		o.Namespace, name, o.Wait, last)}
}

// TimeoutError is a timeout; its exit code is 124, as for timeout(1).
type TimeoutError struct{ Err error }

func (e *TimeoutError) Error() string { return e.Err.Error() }
func (e *TimeoutError) Unwrap() error { return e.Err }

// ExitCode is 124.
func (e *TimeoutError) ExitCode() int { return 124 }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// outFiles writes --out-dir files to temporary names first, renamed only when everything succeeded.
type outFiles struct {
	dir   string
	items []outFile
}

type outFile struct {
	tmp, final string
}

func prepareOutDir(dir string, secret *unstructured.Unstructured, force bool) (*outFiles, error) {
	data, err := secretData(secret)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--out-dir %s: %w: give a directory you can write to", dir, err)
	}
	f := &outFiles{dir: dir}
	for _, k := range []struct {
		name string
		mode os.FileMode
	}{{keyTLSCert, 0o644}, {keyTLSKey, 0o600}, {keyCACert, 0o644}} {
		content, ok := data[k.name]
		if !ok {
			continue
		}
		final := filepath.Join(dir, k.name)
		if old, err := os.ReadFile(final); err == nil && string(old) != string(content) && !force {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir: %s exists with other content: move it away, or pass --force to overwrite it", final)
		}
		tmp, err := os.CreateTemp(dir, "."+k.name+".*")
		if err != nil {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir %s: %w: give a directory you can write to", dir, err)
		}
		f.items = append(f.items, outFile{tmp: tmp.Name(), final: final})
		if err := tmp.Chmod(k.mode); err == nil {
			_, err = tmp.Write(content)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir: writing %s: %w", final, err)
		}
	}
	return f, nil
}

// finish renames the files into place (ok) or removes them.
func (f *outFiles) finish(ok bool) {
	for _, it := range f.items {
		if ok {
			if err := os.Rename(it.tmp, it.final); err == nil {
				continue
			}
		}
		_ = os.Remove(it.tmp)
	}
	f.items = nil
}
