package cert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// What other verbs (`kubectl konnect init`) share with `cert issue`: the names, labels and shapes of
// the objects holding a data-plane certificate, so that a certificate made by one command is found,
// listed and rotated by the others. `cert issue` builds its own objects with these functions too.

// DataPlaneCert is a data-plane certificate as `cert issue` keeps it: a key pair in a kubernetes.io/tls
// Secret, and the certificate registered with the control plane.
type DataPlaneCert struct {
	// Pair is the data plane's certificate (chain) and key; Pair.CertPEM and Pair.KeyPEM are stored.
	Pair *cert.KeyPair
	// CAPEM is the CA certificate kept in ca.crt (pki_client_certs), if any.
	CAPEM []byte
	// Registered is what Konnect knows: Pair.Cert (pinned_client_certs) or the CA (pki_client_certs).
	Registered *x509.Certificate
	// CASecret names the Secret holding a CA generated for this certificate, if any.
	CASecret string
}

// DefaultSecretName is the Secret `cert issue` uses when no NAME is given.
func DefaultSecretName(controlPlane string) string { return controlPlane + "-dp-cert" }

// CASecretName is the Secret of the CA generated for the data-plane Secret secret.
func CASecretName(secret string) string { return secret + "-ca" }

// RegistrationName is the KongDataPlaneClientCertificate registering cert for the Secret secret.
func RegistrationName(secret string, registered *x509.Certificate) string {
	return secret + "-" + cert.ShortFingerprint(registered)
}

// DataPlaneCertSecret is the kubernetes.io/tls Secret holding c, for the control plane resource
// controlPlane.
func DataPlaneCertSecret(ns, name, controlPlane string, c DataPlaneCert) *unstructured.Unstructured {
	data := map[string][]byte{keyTLSCert: c.Pair.CertPEM, keyTLSKey: c.Pair.KeyPEM}
	anno := map[string]string{AnnoFingerprint: cert.Fingerprint(c.Pair.Cert), AnnoRegistered: registeredLeaf}
	if len(c.CAPEM) > 0 {
		data[keyCACert] = c.CAPEM
	}
	if c.Registered != nil && !c.Registered.Equal(c.Pair.Cert) {
		anno[AnnoRegistered] = registeredCA
	}
	if c.CASecret != "" {
		anno[AnnoCASecret] = c.CASecret
	}
	return newSecret(ns, name, map[string]string{
		LabelManagedBy: managedByValue, LabelRole: roleDataPlane, LabelControlPlane: controlPlane,
	}, anno, data)
}

// CASecret is the Secret of a CA generated for the data-plane Secret secret (see CASecretName).
func CASecret(ns, secret string, ca *cert.KeyPair) *unstructured.Unstructured {
	return newSecret(ns, CASecretName(secret), map[string]string{
		LabelManagedBy: managedByValue, LabelRole: roleCA, LabelSecret: secret,
	}, map[string]string{AnnoFingerprint: ca.Fingerprint()}, map[string][]byte{keyTLSCert: ca.CertPEM, keyTLSKey: ca.KeyPEM})
}

// Registration is the KongDataPlaneClientCertificate registering registered, the certificate of
// Secret secret (or its CA), with the control plane resource controlPlane.
func Registration(ns, secret, controlPlane string, registered *x509.Certificate) *unstructured.Unstructured {
	return newDPCert(ns, RegistrationName(secret, registered), controlPlane, string(cert.EncodeCertsPEM(registered)), map[string]string{
		LabelManagedBy: managedByValue, LabelSecret: secret, LabelControlPlane: controlPlane,
	})
}

// ReadDataPlaneCertSecret reads a Secret written by `cert issue` (or DataPlaneCertSecret): the key pair,
// checked at now, and what is registered for it. An error wrapping cert.ErrExpiresSoon comes with a
// usable certificate.
func ReadDataPlaneCertSecret(u *unstructured.Unstructured, now time.Time, renewBefore time.Duration) (DataPlaneCert, error) {
	data, err := secretData(u)
	if err != nil {
		return DataPlaneCert{}, err
	}
	fix := fmt.Sprintf("run kubectl konnect cert rotate %s -n %s", u.GetName(), u.GetNamespace())
	src := cert.Source{
		Cert:  fmt.Sprintf("Secret %s/%s key %s", u.GetNamespace(), u.GetName(), keyTLSCert),
		Key:   fmt.Sprintf("Secret %s/%s key %s", u.GetNamespace(), u.GetName(), keyTLSKey),
		Fixes: map[error]string{cert.ErrExpired: fix, cert.ErrKeyMismatch: fix, cert.ErrInvalid: fix, cert.ErrExpiresSoon: fix + " before then"},
	}
	pair, err := cert.ValidatePair(data[keyTLSCert], data[keyTLSKey], src, now, renewBefore)
	if pair == nil || (err != nil && !errors.Is(err, cert.ErrExpiresSoon)) {
		return DataPlaneCert{}, err
	}
	c := DataPlaneCert{Pair: pair, CAPEM: data[keyCACert], Registered: pair.Cert, CASecret: u.GetAnnotations()[AnnoCASecret]}
	if u.GetAnnotations()[AnnoRegistered] == registeredCA {
		cas, cerr := cert.DecodeCertsPEM(data[keyCACert])
		if cerr != nil {
			return DataPlaneCert{}, fmt.Errorf("Secret %s/%s key %s: %v: %s", u.GetNamespace(), u.GetName(), keyCACert, cerr, fix)
		}
		c.Registered = cas[0]
	}
	return c, err
}

// ForeignOwner describes who owns a Secret kubectl-konnect did not create, or "" when it is ours.
func ForeignOwner(u *unstructured.Unstructured) string { return foreignOwner(u) }
