package cert

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
)

// ListOptions are the options of `cert list`.
type ListOptions struct {
	Clients

	Output       string
	ControlPlane string
	// Konnect asks the Konnect API whether each certificate is registered (when a token is readable).
	Konnect bool
}

// Konnect states of a listed certificate.
const (
	KonnectRegistered    = "registered"
	KonnectNotRegistered = "not-registered"
	KonnectUnknown       = "unknown"
	KonnectNotChecked    = "not-checked"
)

// ListItem is one certificate in `cert list`; -o json/yaml prints these, a stable shape.
type ListItem struct {
	// Secret is the kubernetes.io/tls Secret holding the certificate and key, if any.
	Secret string `json:"secret,omitempty"`
	// Registration is the KongDataPlaneClientCertificate registering it (or its CA), if any.
	Registration string `json:"registration,omitempty"`
	// Registers is "certificate" (pinned) or "ca" (pki) when there is a registration.
	Registers    string `json:"registers,omitempty"`
	ControlPlane string `json:"controlPlane,omitempty"`
	// Fingerprint is the SHA-256 of the certificate (the Secret's leaf, else the registered one).
	Fingerprint string    `json:"fingerprint"`
	CommonName  string    `json:"commonName"`
	KeyType     string    `json:"keyType"`
	NotAfter    time.Time `json:"notAfter"`
	Expired     bool      `json:"expired"`
	// Programmed is the registration's Programmed condition status (True, False, Unknown).
	Programmed string `json:"programmed,omitempty"`
	// Konnect is registered, not-registered, unknown (Konnect could not be asked) or not-checked.
	Konnect       string `json:"konnect"`
	KonnectDetail string `json:"konnectDetail,omitempty"`
	// Problem is set when the Secret's content is broken (key mismatch, unparsable).
	Problem string `json:"problem,omitempty"`
}

// ListResult is the -o json/yaml document.
type ListResult struct {
	Namespace string     `json:"namespace"`
	Items     []ListItem `json:"items"`
}

// NewListCommand builds `cert list`.
func NewListCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{Clients: Clients{IOStreams: streams}, Konnect: true}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List data-plane certificates: fingerprints, expiry, control plane, and whether Konnect knows them",
		Long: `List the data-plane certificates of the namespace: the kubernetes.io/tls Secrets made by
"cert issue" (and any TLS Secret whose certificate is registered), and every
KongDataPlaneClientCertificate. For each: SHA-256 fingerprint, expiry, control plane, whether KGO
programmed the registration, and whether the certificate is registered in Konnect, asked through the
Konnect API with the control plane's KonnectAPIAuthConfiguration token when it is readable.`,
		Example: `  kubectl konnect cert list -n kong
  kubectl konnect cert list --control-plane gw-cp -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(f); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml. Default: a table.")
	cmd.Flags().StringVar(&o.ControlPlane, "control-plane", "", "Only certificates of this KonnectGatewayControlPlane (resource name)")
	cmd.Flags().BoolVar(&o.Konnect, "konnect", true, "Ask the Konnect API whether each certificate is registered")
	return cmd
}

// Validate checks the flags.
func (o *ListOptions) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use json or yaml, or leave it out for a table", o.Output)
}

// Complete connects to the cluster.
func (o *ListOptions) Complete(f Factory) error { return o.Clients.Complete(f) }

// Run lists and prints.
func (o *ListOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	items, err := o.Items(ctx)
	if err != nil {
		return err
	}
	res := ListResult{Namespace: o.Namespace, Items: items}
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.out(), string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(res)
		if err != nil {
			return err
		}
		_, err = o.out().Write(b)
		return err
	}
	if len(items) == 0 {
		o.progress("No data-plane certificates in namespace %s.", o.Namespace)
		return nil
	}
	now := o.Now()
	tw := tabwriter.NewWriter(o.out(), 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tREGISTRATION\tCONTROL PLANE\tFINGERPRINT\tKEY\tEXPIRES\tPROGRAMMED\tKONNECT")
	for _, it := range items {
		expires := it.NotAfter.UTC().Format("2006-01-02") + " (" + cert.HumanDuration(it.NotAfter.Sub(now)) + ")"
		if it.Expired {
			expires = "EXPIRED " + it.NotAfter.UTC().Format("2006-01-02")
		}
		konnect := it.Konnect
		if it.Registers == "ca" && it.Konnect == KonnectRegistered {
			konnect += " (CA)"
		}
		if it.Problem != "" {
			konnect += " BROKEN: " + it.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(it.Secret), orDash(it.Registration), orDash(it.ControlPlane),
			it.Fingerprint[:min(16, len(it.Fingerprint))], it.KeyType, expires, orDash(it.Programmed), konnect)
	}
	return tw.Flush()
}

// registration is a KongDataPlaneClientCertificate as listed.
type registration struct {
	obj          *unstructured.Unstructured
	cert         *x509.Certificate
	fingerprint  string
	controlPlane string
	used         bool
}

// Items computes the listing.
func (o *ListOptions) Items(ctx context.Context) ([]ListItem, error) {
	now := o.Now()
	regsRaw, err := o.list(ctx, gvrDPCert, "")
	if err != nil {
		return nil, err
	}
	var regs []*registration
	for i := range regsRaw {
		u := &regsRaw[i]
		r := &registration{obj: u, controlPlane: str(u, "spec", "controlPlaneRef", "konnectNamespacedRef", "name")}
		if certs, err := cert.DecodeCertsPEM([]byte(str(u, "spec", "cert"))); err == nil {
			r.cert, r.fingerprint = certs[0], cert.Fingerprint(certs[0])
		}
		if o.ControlPlane != "" && r.controlPlane != o.ControlPlane {
			continue
		}
		regs = append(regs, r)
	}
	byFP := map[string][]*registration{}
	for _, r := range regs {
		if r.fingerprint != "" {
			byFP[r.fingerprint] = append(byFP[r.fingerprint], r)
		}
	}

	secrets, err := o.Dynamic.Resource(gvrSecret).Namespace(o.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=" + dpcert.SecretTypeTLS})
	if err != nil {
		return nil, fmt.Errorf("listing kubernetes.io/tls Secrets in namespace %s: %w", o.Namespace, err)
	}
	var items []ListItem
	for i := range secrets.Items {
		u := &secrets.Items[i]
		ours := u.GetLabels()[dpcert.LabelManagedBy] == dpcert.ManagedByValue
		if u.GetLabels()[dpcert.LabelRole] == dpcert.RoleCA {
			continue // a CA Secret of ours: its registration shows on the data-plane Secret's row
		}
		data, err := dpcert.SecretData(u)
		if err != nil {
			continue
		}
		pair, perr := cert.ValidatePair(data[dpcert.KeyTLSCert], data[dpcert.KeyTLSKey], cert.Source{}, now, 0)
		var leaf *x509.Certificate
		switch {
		case pair != nil:
			leaf = pair.Cert
		default:
			if certs, err := cert.DecodeCertsPEM(data[dpcert.KeyTLSCert]); err == nil {
				leaf = certs[0]
			}
		}
		if leaf == nil {
			if ours {
				items = append(items, ListItem{Secret: u.GetName(), ControlPlane: u.GetLabels()[dpcert.LabelControlPlane], Konnect: KonnectNotChecked, Problem: perr.Error()})
			}
			continue
		}
		// The registrations that make this certificate trusted: of the leaf, or of a CA in ca.crt.
		fp := cert.Fingerprint(leaf)
		matched := byFP[fp]
		registers := "certificate"
		if len(matched) == 0 {
			if cas, err := cert.DecodeCertsPEM(data[dpcert.KeyCACert]); err == nil {
				matched = byFP[cert.Fingerprint(cas[0])]
				registers = "ca"
			}
		}
		if !ours && len(matched) == 0 {
			continue // some other TLS Secret (an ingress certificate, say)
		}
		base := ListItem{
			Secret: u.GetName(), Fingerprint: fp, CommonName: leaf.Subject.CommonName, KeyType: string(cert.KeyTypeOf(leaf.PublicKey)),
			NotAfter: leaf.NotAfter.UTC(), Expired: !now.Before(leaf.NotAfter), ControlPlane: u.GetLabels()[dpcert.LabelControlPlane],
		}
		if perr != nil && !errorsIsExpiry(perr) {
			base.Problem = perr.Error()
		}
		if o.ControlPlane != "" && len(matched) == 0 && base.ControlPlane != o.ControlPlane {
			continue
		}
		if len(matched) == 0 {
			items = append(items, base)
			continue
		}
		for _, r := range matched {
			it := base
			r.used = true
			it.Registration, it.Registers, it.ControlPlane = r.obj.GetName(), registers, r.controlPlane
			it.Programmed, _, _ = conditionStatus(r.obj, programmedType)
			items = append(items, it)
		}
	}
	for _, r := range regs {
		if r.used {
			continue
		}
		it := ListItem{Registration: r.obj.GetName(), Registers: "certificate", ControlPlane: r.controlPlane}
		it.Programmed, _, _ = conditionStatus(r.obj, programmedType)
		if r.cert != nil {
			it.Fingerprint, it.CommonName, it.KeyType = r.fingerprint, r.cert.Subject.CommonName, string(cert.KeyTypeOf(r.cert.PublicKey))
			it.NotAfter, it.Expired = r.cert.NotAfter.UTC(), !now.Before(r.cert.NotAfter)
			if r.cert.IsCA {
				it.Registers = "ca"
			}
		} else {
			it.Problem = "spec.cert is not a PEM certificate"
		}
		items = append(items, it)
	}
	o.checkKonnect(ctx, items, byFPRegistered(regs))
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.Secret != b.Secret {
			if a.Secret == "" || b.Secret == "" {
				return b.Secret == "" // rows with a Secret first
			}
			return a.Secret < b.Secret
		}
		return a.Registration < b.Registration
	})
	return items, nil
}

func errorsIsExpiry(err error) bool {
	return errors.Is(err, cert.ErrExpired) || errors.Is(err, cert.ErrNotYetValid)
}

// byFPRegistered maps a registration name to the fingerprint it registers.
func byFPRegistered(regs []*registration) map[string]string {
	out := map[string]string{}
	for _, r := range regs {
		out[r.obj.GetName()] = r.fingerprint
	}
	return out
}

// checkKonnect fills the Konnect column, one API call per control plane.
func (o *ListOptions) checkKonnect(ctx context.Context, items []ListItem, regFP map[string]string) {
	type cpState struct {
		registered map[string]bool
		why        string
	}
	cache := map[string]*cpState{}
	state := func(name string) *cpState {
		if s, ok := cache[name]; ok {
			return s
		}
		s := &cpState{}
		cache[name] = s
		gvr, err := o.controlPlaneGVR()
		var u *unstructured.Unstructured
		if err == nil {
			u, err = o.get(ctx, gvr, name)
		}
		switch {
		case err != nil:
			s.why = err.Error()
		case u == nil:
			s.why = fmt.Sprintf("KonnectGatewayControlPlane %s/%s does not exist", o.Namespace, name)
		default:
			cp := toControlPlane(u)
			if cp.ID == "" {
				s.why = fmt.Sprintf("KonnectGatewayControlPlane %s/%s has no status.id yet (not programmed by KGO)", o.Namespace, name)
				break
			}
			sdk, err := o.konnectFor(ctx, cp)
			if err != nil {
				s.why = err.Error()
				break
			}
			if s.registered, err = registeredInKonnect(ctx, sdk, cp.ID); err != nil {
				s.why = "the Konnect API answered: " + err.Error()
			}
		}
		if s.why != "" {
			o.progress("note: not checked in Konnect for control plane %s: %s", name, s.why)
		}
		return s
	}
	for i := range items {
		it := &items[i]
		switch {
		case !o.Konnect:
			it.Konnect = KonnectNotChecked
			continue
		case it.ControlPlane == "":
			it.Konnect, it.KonnectDetail = KonnectUnknown, "no control plane"
			continue
		}
		s := state(it.ControlPlane)
		if s.registered == nil {
			it.Konnect, it.KonnectDetail = KonnectUnknown, s.why
			continue
		}
		it.Konnect = KonnectNotRegistered
		if s.registered[it.Fingerprint] || (it.Registration != "" && s.registered[regFP[it.Registration]]) {
			it.Konnect = KonnectRegistered
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
