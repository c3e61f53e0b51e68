// Package cert generates and checks data-plane client certificates for Kong Konnect in pure Go
// (crypto/x509, no openssl): keys, self-signed certificates for pinned_client_certs, a CA and
// CA-signed certificates for pki_client_certs, PEM encoding, fingerprints, and the validation of
// an existing kubernetes.io/tls Secret or CA, with errors that name the field and the fix.
package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
)

// KeyType is a key algorithm and size, spelled as in BenchmarkIssue and `cert list`.
type KeyType string

// The key types we generate. ECDSA P-256 is the default: small, fast, and accepted by Kong and Konnect.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"

	DefaultKeyType = ECDSAP256
)

// KeyTypes lists every supported key type, default first.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// ParseKeyType accepts one of KeyTypes (case-insensitive).
func ParseKeyType(s string) (KeyType, error) {
	for _, kt := range KeyTypes {
		if strings.EqualFold(s, string(kt)) {
			return kt, nil
		}
	}
	return "", fmt.Errorf("key type %q is not supported: use one of %s", s, joinKeyTypes())
}

func joinKeyTypes() string {
	s := make([]string, len(KeyTypes))
	for i, kt := range KeyTypes {
		s[i] = string(kt)
	}
	return strings.Join(s, ", ")
}

// IsRSA says whether the key type is an RSA one (which also needs KeyEncipherment).
func (k KeyType) IsRSA() bool { return strings.HasPrefix(string(k), "rsa-") }

// GenerateKey creates a new private key of type k.
func GenerateKey(k KeyType) (crypto.Signer, error) {
	switch k {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("key type %q is not supported: use one of %s", k, joinKeyTypes())
}

// KeyTypeOf names the type of a public key, or describes it when we would not generate it
// (e.g. "rsa-1024", "ed25519"), so listings can show any certificate.
func KeyTypeOf(pub crypto.PublicKey) KeyType {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		return KeyType("ecdsa-" + strings.ToLower(strings.ReplaceAll(p.Curve.Params().Name, "-", "")))
	case *rsa.PublicKey:
		return KeyType(fmt.Sprintf("rsa-%d", p.N.BitLen()))
	case ed25519.PublicKey:
		return "ed25519"
	}
	return "unknown"
}
