// Package dpcert holds the Kubernetes objects of a data-plane certificate: the kubernetes.io/tls Secret
// with its key pair, the Secret of a CA generated for it, and the KongDataPlaneClientCertificate that
// registers it with a control plane; their names, labels and annotations; and reading them back.
//
// `kubectl konnect cert` and `kubectl konnect init` both build their objects with these functions, so
// that a certificate made by one command is found, listed and rotated by the others. The crypto
// (keys, issuing, PEM, fingerprints) is pkg/cert's, which knows nothing of Kubernetes.
package dpcert

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

// FieldManager is the server-side apply field manager of every write; a Secret written by another
// manager is not ours (see ForeignOwner).
const FieldManager = "kubectl-konnect"

// Labels and annotations on the objects we write. The managed-by label is how we tell our Secrets from
// foreign ones; the others tie a KongDataPlaneClientCertificate and a CA Secret to the data plane Secret.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelSecret       = "cert.kubectl-konnect.io/secret"
	LabelControlPlane = "cert.kubectl-konnect.io/control-plane"
	LabelRole         = "cert.kubectl-konnect.io/role"
	AnnoFingerprint   = "cert.kubectl-konnect.io/fingerprint"
	AnnoCASecret      = "cert.kubectl-konnect.io/ca-secret"
	// AnnoRegistered says which certificate of the Secret is registered with Konnect: "leaf" (the data
	// plane's own certificate, pinned_client_certs) or "ca" (the CA in ca.crt, pki_client_certs).
	AnnoRegistered = "cert.kubectl-konnect.io/registered"

	// ManagedByValue is the value of LabelManagedBy on our objects.
	ManagedByValue = "kubectl-konnect"
	// RoleDataPlane and RoleCA are the values of LabelRole: a data-plane Secret, or a generated CA's.
	RoleDataPlane = "dataplane"
	RoleCA        = "ca"
	// RegisteredLeaf and RegisteredCA are the values of AnnoRegistered.
	RegisteredLeaf = "leaf"
	RegisteredCA   = "ca"

	// SecretTypeTLS is the type of the Secrets; KeyTLSCert, KeyTLSKey and KeyCACert are their keys.
	SecretTypeTLS = "kubernetes.io/tls"
	KeyTLSCert    = "tls.crt"
	KeyTLSKey     = "tls.key"
	KeyCACert     = "ca.crt"
	// KindDPCert is the kind of the registration.
	KindDPCert = "KongDataPlaneClientCertificate"
)

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
	data := map[string][]byte{KeyTLSCert: c.Pair.CertPEM, KeyTLSKey: c.Pair.KeyPEM}
	anno := map[string]string{AnnoFingerprint: cert.Fingerprint(c.Pair.Cert), AnnoRegistered: RegisteredLeaf}
	if len(c.CAPEM) > 0 {
		data[KeyCACert] = c.CAPEM
	}
	if c.Registered != nil && !c.Registered.Equal(c.Pair.Cert) {
		anno[AnnoRegistered] = RegisteredCA
	}
	if c.CASecret != "" {
		anno[AnnoCASecret] = c.CASecret
	}
	labels := kgoapi.DataPlaneCertSecretLabels()
	labels[LabelManagedBy], labels[LabelRole], labels[LabelControlPlane] = ManagedByValue, RoleDataPlane, controlPlane
	return newSecret(ns, name, labels, anno, data)
}

// CASecret is the Secret of a CA generated for the data-plane Secret secret (see CASecretName).
func CASecret(ns, secret string, ca *cert.KeyPair) *unstructured.Unstructured {
	return newSecret(ns, CASecretName(secret), map[string]string{
		LabelManagedBy: ManagedByValue, LabelRole: RoleCA, LabelSecret: secret,
	}, map[string]string{AnnoFingerprint: ca.Fingerprint()}, map[string][]byte{KeyTLSCert: ca.CertPEM, KeyTLSKey: ca.KeyPEM})
}

// Registration is the KongDataPlaneClientCertificate registering registered, the certificate of
// Secret secret (or its CA), with the control plane resource controlPlane.
func Registration(ns, secret, controlPlane string, registered *x509.Certificate) *unstructured.Unstructured {
	return newDPCert(ns, RegistrationName(secret, registered), controlPlane, string(cert.EncodeCertsPEM(registered)), map[string]string{
		LabelManagedBy: ManagedByValue, LabelSecret: secret, LabelControlPlane: controlPlane,
	})
}

// ReadDataPlaneCertSecret reads a Secret written by `cert issue` (or DataPlaneCertSecret): the key pair,
// checked at now, and what is registered for it. An error wrapping cert.ErrExpiresSoon comes with a
// usable certificate.
func ReadDataPlaneCertSecret(u *unstructured.Unstructured, now time.Time, renewBefore time.Duration) (DataPlaneCert, error) {
	data, err := SecretData(u)
	if err != nil {
		return DataPlaneCert{}, err
	}
	fix := fmt.Sprintf("run kubectl konnect cert rotate %s -n %s", u.GetName(), u.GetNamespace())
	src := cert.Source{
		Cert:  fmt.Sprintf("Secret %s/%s key %s", u.GetNamespace(), u.GetName(), KeyTLSCert),
		Key:   fmt.Sprintf("Secret %s/%s key %s", u.GetNamespace(), u.GetName(), KeyTLSKey),
		Fixes: map[error]string{cert.ErrExpired: fix, cert.ErrKeyMismatch: fix, cert.ErrInvalid: fix, cert.ErrExpiresSoon: fix + " before then"},
	}
	pair, err := cert.ValidatePair(data[KeyTLSCert], data[KeyTLSKey], src, now, renewBefore)
	if pair == nil || (err != nil && !errors.Is(err, cert.ErrExpiresSoon)) {
		return DataPlaneCert{}, err
	}
	c := DataPlaneCert{Pair: pair, CAPEM: data[KeyCACert], Registered: pair.Cert, CASecret: u.GetAnnotations()[AnnoCASecret]}
	if u.GetAnnotations()[AnnoRegistered] == RegisteredCA {
		cas, cerr := cert.DecodeCertsPEM(data[KeyCACert])
		if cerr != nil {
			return DataPlaneCert{}, fmt.Errorf("Secret %s/%s key %s: %v: %s", u.GetNamespace(), u.GetName(), KeyCACert, cerr, fix)
		}
		c.Registered = cas[0]
	}
	return c, err
}

// ForeignOwner describes who owns a Secret kubectl-konnect did not create, or "" when it is ours.
func ForeignOwner(u *unstructured.Unstructured) string {
	var owners []string
	for _, ref := range u.GetOwnerReferences() {
		owners = append(owners, fmt.Sprintf("%s %s", ref.Kind, ref.Name))
	}
	if len(owners) > 0 {
		return "its owner " + strings.Join(owners, ", ")
	}
	if m := u.GetLabels()[LabelManagedBy]; m == ManagedByValue {
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
	return "someone else (it has no " + LabelManagedBy + "=" + ManagedByValue + " label)"
}

// SecretData decodes the base64 data of an unstructured Secret.
func SecretData(u *unstructured.Unstructured) (map[string][]byte, error) {
	raw, _, err := unstructured.NestedStringMap(u.Object, "data")
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: data: %w", u.GetNamespace(), u.GetName(), err)
	}
	out := make(map[string][]byte, len(raw))
	for k, v := range raw {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("Secret %s/%s: data.%s is not base64: %w", u.GetNamespace(), u.GetName(), k, err)
		}
		out[k] = b
	}
	return out, nil
}

// newSecret builds the desired kubernetes.io/tls Secret.
func newSecret(ns, name string, labels, annotations map[string]string, data map[string][]byte) *unstructured.Unstructured {
	enc := map[string]any{}
	for k, v := range data {
		enc[k] = base64.StdEncoding.EncodeToString(v)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"type":       SecretTypeTLS,
		"data":       enc,
	}}
	u.SetLabels(labels)
	if len(annotations) > 0 {
		u.SetAnnotations(annotations)
	}
	return u
}

// newDPCert builds the desired KongDataPlaneClientCertificate; controlPlaneRef names the
// KonnectGatewayControlPlane *resource*, never its Konnect name.
func newDPCert(ns, name, controlPlane, certPEM string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "configuration.konghq.com/v1alpha1",
		"kind":       KindDPCert,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"controlPlaneRef": map[string]any{
				"type":                 "konnectNamespacedRef",
				"konnectNamespacedRef": map[string]any{"name": controlPlane},
			},
			"cert": certPEM,
		},
	}}
	u.SetLabels(labels)
	return u
}
