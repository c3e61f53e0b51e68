// The plan phase of `cert issue` and `cert rotate`: read the Secret, the control plane and the
// registrations, check them, and generate the certificate (and CA), all without writing.

package cert

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
)

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
		cpRef = p.liveSecret.GetLabels()[dpcert.LabelControlPlane]
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
		o.Name = dpcert.DefaultSecretName(cp.Name)
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
		p.replaceSecret = secretType(live) != dpcert.SecretTypeTLS
		data, err := dpcert.SecretData(live)
		if err != nil {
			return nil, err
		}
		livePair, liveErr = cert.ValidatePair(data[dpcert.KeyTLSCert], data[dpcert.KeyTLSKey], o.secretSource(o.Name), now, o.RenewBefore)
		if c := live.GetLabels()[dpcert.LabelControlPlane]; c != "" && c != cp.Name && !o.Rotate && !o.Force {
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
	if t := secretType(live); t != dpcert.SecretTypeTLS {
		return fmt.Errorf("%s exists with type %s, not %s: choose another %s, or pass --force to replace it", where, t, dpcert.SecretTypeTLS, flag)
	}
	if owner := dpcert.ForeignOwner(live); owner != "" {
		return fmt.Errorf("%s belongs to %s, not kubectl-konnect: choose another %s, or pass --force to take it over", where, owner, flag)
	}
	return nil
}

func (o *IssueOptions) secretSource(name string) cert.Source {
	fix := fmt.Sprintf("run kubectl konnect cert rotate %s -n %s", name, o.Namespace)
	return cert.Source{
		Cert: fmt.Sprintf("Secret %s/%s key %s", o.Namespace, name, dpcert.KeyTLSCert),
		Key:  fmt.Sprintf("Secret %s/%s key %s", o.Namespace, name, dpcert.KeyTLSKey),
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
	data, _ := dpcert.SecretData(live)
	p.registered = pair.Cert
	p.caPEM = data[dpcert.KeyCACert]
	if live.GetAnnotations()[dpcert.AnnoRegistered] == dpcert.RegisteredCA {
		cas, err := cert.DecodeCertsPEM(data[dpcert.KeyCACert])
		if err != nil {
			return fmt.Errorf("Secret %s/%s key %s: %v: run kubectl konnect cert rotate %s -n %s", o.Namespace, o.Name, dpcert.KeyCACert, err, o.Name, o.Namespace)
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
	p.secret = o.desiredSecret(p, data[dpcert.KeyTLSCert], data[dpcert.KeyTLSKey], live.GetAnnotations()[dpcert.AnnoCASecret])
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
		data, err := dpcert.SecretData(u)
		if err != nil {
			return nil, "", err
		}
		src := cert.Source{
			Cert: fmt.Sprintf("--ca-secret %s/%s key %s", o.Namespace, o.CASecret, dpcert.KeyTLSCert),
			Key:  fmt.Sprintf("--ca-secret %s/%s key %s", o.Namespace, o.CASecret, dpcert.KeyTLSKey),
			Fixes: map[error]string{
				cert.ErrExpired:     "renew the CA, or leave out --ca-secret to generate a new one",
				cert.ErrKeyMismatch: "put the CA's own key in tls.key",
				cert.ErrNotCA:       "point --ca-secret at a CA (basicConstraints CA:TRUE, keyUsage keyCertSign), or leave it out to generate one",
			},
		}
		ca, err := cert.ValidateCA(data[dpcert.KeyTLSCert], data[dpcert.KeyTLSKey], src, now)
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
	name := dpcert.CASecretName(o.Name)
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
		} else if data, err := dpcert.SecretData(live); err == nil {
			ca, err := cert.ValidateCA(data[dpcert.KeyTLSCert], data[dpcert.KeyTLSKey], cert.Source{}, now)
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
	p.caSecret = dpcert.CASecret(o.Namespace, o.Name, ca)
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
	return dpcert.DataPlaneCertSecret(o.Namespace, o.Name, p.cp.Name, dpcert.DataPlaneCert{Pair: &pair, CAPEM: p.caPEM, Registered: p.registered, CASecret: caSecret})
}

// planCommon plans the registration, finds stale ones and prepares --out-dir.
func (o *IssueOptions) planCommon(ctx context.Context, p *issuePlan) error {
	p.dpCert = dpcert.Registration(o.Namespace, o.Name, p.cp.Name, p.registered)
	name := p.dpCert.GetName()
	live, err := o.get(ctx, gvrDPCert, name)
	if err != nil {
		return err
	}
	if live != nil && live.GetLabels()[dpcert.LabelSecret] != o.Name {
		if !o.Force {
			return fmt.Errorf("KongDataPlaneClientCertificate %s/%s exists but is not the registration of Secret %s (label %s): delete it or pass --force",
				o.Namespace, name, o.Name, dpcert.LabelSecret)
		}
	}
	p.liveDPCert = live
	others, err := o.list(ctx, gvrDPCert, dpcert.LabelSecret+"="+o.Name)
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
