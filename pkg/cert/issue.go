package cert

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// DefaultValidity is one year: long enough not to be a chore, short enough that rotation is practised.
// Konnect does not cap the validity of pinned or PKI data-plane certificates.
const DefaultValidity = 365 * 24 * time.Hour

// clockSkew backdates NotBefore so a data plane whose clock runs slightly behind accepts the certificate.
const clockSkew = 5 * time.Minute

// Template describes a certificate to issue. Zero values get defaults.
type Template struct {
	// CommonName is the subject CN. Required.
	CommonName string
	// Validity is how long the certificate is valid from Now; DefaultValidity when zero.
	Validity time.Duration
	// KeyType is the algorithm of the new key; DefaultKeyType when empty.
	KeyType KeyType
	// Now is the issuance time; time.Now when zero. NotBefore is Now minus five minutes of clock skew.
	Now time.Time
}

func (t Template) withDefaults() (Template, error) {
	if t.CommonName == "" {
		return t, errors.New("the common name is empty: set one (e.g. the data plane's name)")
	}
	if t.Validity == 0 {
		t.Validity = DefaultValidity
	}
	if t.Validity < 0 {
		return t, fmt.Errorf("validity %s is negative: use a positive duration such as 8760h (one year)", t.Validity)
	}
	if t.KeyType == "" {
		t.KeyType = DefaultKeyType
	}
	if t.Now.IsZero() {
		t.Now = time.Now()
	}
	t.Now = t.Now.UTC().Truncate(time.Second)
	return t, nil
}

// KeyPair is a certificate with its private key, parsed and PEM-encoded.
type KeyPair struct {
	// Cert is the leaf: the first certificate of CertPEM.
	Cert *x509.Certificate
	// Chain holds the certificates after the leaf in CertPEM (intermediates, CA), if any.
	Chain []*x509.Certificate
	Key   crypto.Signer
	// CertPEM is the leaf, then Chain, as PEM CERTIFICATE blocks.
	CertPEM []byte
	// KeyPEM is the key as a PKCS#8 PEM PRIVATE KEY block (or as it was read).
	KeyPEM []byte
}

// Fingerprint is the SHA-256 fingerprint of the leaf.
func (kp *KeyPair) Fingerprint() string { return Fingerprint(kp.Cert) }

// KeyType is the type of the leaf's key.
func (kp *KeyPair) KeyType() KeyType { return KeyTypeOf(kp.Cert.PublicKey) }

// IssueSelfSigned creates a key and a self-signed client certificate for it, as Konnect's
// pinned_client_certs auth type wants: the certificate itself is registered with the control plane.
func IssueSelfSigned(t Template) (*KeyPair, error) {
	t, err := t.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := GenerateKey(t.KeyType)
	if err != nil {
		return nil, err
	}
	tmpl, err := leafTemplate(t)
	if err != nil {
		return nil, err
	}
	return sign(tmpl, tmpl, key.Public(), key, key)
}

// IssueCA creates a key and a self-signed CA certificate that can only sign leaf certificates
// (path length 0), as Konnect's pki_client_certs auth type wants: the CA is registered with the
// control plane and data planes present certificates it signed.
func IssueCA(t Template) (*KeyPair, error) {
	t, err := t.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := GenerateKey(t.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: t.CommonName},
		NotBefore:             t.Now.Add(-clockSkew),
		NotAfter:              t.Now.Add(t.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	return sign(tmpl, tmpl, key.Public(), key, key)
}

// IssueSigned creates a key and a client certificate for it signed by ca (for pki_client_certs).
// The certificate must not outlive the CA. CertPEM holds the leaf followed by the CA certificate,
// so a data plane presents the whole chain.
func IssueSigned(t Template, ca *KeyPair) (*KeyPair, error) {
	t, err := t.withDefaults()
	if err != nil {
		return nil, err
	}
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("no CA to sign with: give a CA certificate and its key")
	}
	if end := t.Now.Add(t.Validity); end.After(ca.Cert.NotAfter) {
		return nil, &FieldError{Field: "validity", Kind: ErrOutlivesCA,
			Problem: fmt.Sprintf("the certificate would be valid until %s, after its CA expires (%s)", end.Format(time.RFC3339), ca.Cert.NotAfter.UTC().Format(time.RFC3339)),
			Fix:     "shorten the validity or use a CA that expires later"}
	}
	key, err := GenerateKey(t.KeyType)
	if err != nil {
		return nil, err
	}
	tmpl, err := leafTemplate(t)
	if err != nil {
		return nil, err
	}
	kp, err := sign(tmpl, ca.Cert, key.Public(), ca.Key, key)
	if err != nil {
		return nil, err
	}
	kp.Chain = []*x509.Certificate{ca.Cert}
	kp.CertPEM = append(kp.CertPEM, EncodeCertsPEM(ca.Cert)...)
	return kp, nil
}

func leafTemplate(t Template) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if t.KeyType.IsRSA() {
		usage |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: t.CommonName},
		NotBefore:             t.Now.Add(-clockSkew),
		NotAfter:              t.Now.Add(t.Validity),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer, key crypto.Signer) (*KeyPair, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("creating the certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the new certificate: %w", err)
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: c, Key: key, CertPEM: EncodeCertsPEM(c), KeyPEM: keyPEM}, nil
}

// newSerial is a random positive 127-bit serial number, as RFC 5280 recommends.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
