package cert

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"time"
)

// Kinds of validation errors; match with errors.Is on a *FieldError.
var (
	ErrInvalid     = errors.New("invalid")
	ErrKeyMismatch = errors.New("key does not match certificate")
	ErrExpired     = errors.New("certificate expired")
	ErrNotYetValid = errors.New("certificate not yet valid")
	ErrExpiresSoon = errors.New("certificate expires soon")
	ErrNotCA       = errors.New("certificate is not a CA")
	ErrOutlivesCA  = errors.New("certificate would outlive its CA")
)

// FieldError is a problem with one field, and how to fix it.
type FieldError struct {
	// Field names where the bad value is, e.g. `Secret default/dp key tls.crt`.
	Field string
	// Problem says what is wrong.
	Problem string
	// Fix says what to do about it.
	Fix string
	// Kind is one of the Err* values.
	Kind error
}

func (e *FieldError) Error() string {
	if e.Fix == "" {
		return e.Field + ": " + e.Problem
	}
	return e.Field + ": " + e.Problem + ": " + e.Fix
}

// Unwrap lets errors.Is match Kind.
func (e *FieldError) Unwrap() error { return e.Kind }

// Source names the certificate and key fields in errors and, optionally, the fix to suggest per kind
// of error, so a command can say "run `kubectl konnect cert rotate dp`" instead of the generic advice.
type Source struct {
	// Cert names the certificate field; "tls.crt" when empty.
	Cert string
	// Key names the key field; "tls.key" when empty.
	Key string
	// Fixes overrides the suggested fix for a kind (ErrExpired, ErrKeyMismatch, ...).
	Fixes map[error]string
}

func (s Source) certField() string { return orDefault(s.Cert, "tls.crt") }
func (s Source) keyField() string  { return orDefault(s.Key, "tls.key") }

func (s Source) fix(kind error, def string) string {
	if f, ok := s.Fixes[kind]; ok {
		return f
	}
	return def
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

const renewFix = "issue a new certificate and key"

// ParsePair parses a certificate (chain) and its private key and checks that they belong together.
func ParsePair(certPEM, keyPEM []byte, src Source) (*KeyPair, error) {
	certs, err := DecodeCertsPEM(certPEM)
	if err != nil {
		return nil, &FieldError{Field: src.certField(), Kind: ErrInvalid, Problem: "not a PEM certificate: " + err.Error(),
			Fix: src.fix(ErrInvalid, "put the PEM certificate there, or "+renewFix)}
	}
	key, err := DecodeKeyPEM(keyPEM)
	if err != nil {
		return nil, &FieldError{Field: src.keyField(), Kind: ErrInvalid, Problem: "not a PEM private key: " + err.Error(),
			Fix: src.fix(ErrInvalid, "put the certificate's PEM private key there, or "+renewFix)}
	}
	kp := &KeyPair{Cert: certs[0], Chain: certs[1:], Key: key, CertPEM: certPEM, KeyPEM: keyPEM}
	if !publicKeysEqual(key.Public(), certs[0].PublicKey) {
		return kp, &FieldError{Field: src.keyField(), Kind: ErrKeyMismatch,
			Problem: fmt.Sprintf("the %s key does not belong to the certificate in %s (%s key, fingerprint %s)",
				KeyTypeOf(key.Public()), src.certField(), KeyTypeOf(certs[0].PublicKey), ShortFingerprint(certs[0])),
			Fix: src.fix(ErrKeyMismatch, "put the matching key there, or "+renewFix)}
	}
	return kp, nil
}

// ValidatePair parses a certificate and key (see ParsePair) and checks the certificate's validity at now.
// A certificate that expires within renewBefore gives an ErrExpiresSoon error, which callers usually
// report as a warning. The key pair is returned whenever it parsed, even with an error, so callers can
// still show its fingerprint.
func ValidatePair(certPEM, keyPEM []byte, src Source, now time.Time, renewBefore time.Duration) (*KeyPair, error) {
	kp, err := ParsePair(certPEM, keyPEM, src)
	if err != nil {
		return kp, err
	}
	return kp, checkTime(kp.Cert, src, now, renewBefore)
}

func checkTime(c *x509.Certificate, src Source, now time.Time, renewBefore time.Duration) error {
	switch {
	case now.Before(c.NotBefore):
		return &FieldError{Field: src.certField(), Kind: ErrNotYetValid,
			Problem: "the certificate is not valid before " + c.NotBefore.UTC().Format(time.RFC3339),
			Fix:     src.fix(ErrNotYetValid, "check this machine's clock, or "+renewFix)}
	case !now.Before(c.NotAfter):
		return &FieldError{Field: src.certField(), Kind: ErrExpired,
			Problem: "the certificate expired at " + c.NotAfter.UTC().Format(time.RFC3339),
			Fix:     src.fix(ErrExpired, renewFix)}
	case renewBefore > 0 && now.Add(renewBefore).After(c.NotAfter):
		return &FieldError{Field: src.certField(), Kind: ErrExpiresSoon,
			Problem: fmt.Sprintf("the certificate expires at %s, in %s", c.NotAfter.UTC().Format(time.RFC3339), HumanDuration(c.NotAfter.Sub(now))),
			Fix:     src.fix(ErrExpiresSoon, "rotate it before then")}
	}
	return nil
}

// ValidateCA parses a CA certificate and key and checks that the certificate is a CA that may sign
// certificates, that the key is its key, and that it is valid at now.
func ValidateCA(certPEM, keyPEM []byte, src Source, now time.Time) (*KeyPair, error) {
	kp, err := ParsePair(certPEM, keyPEM, src)
	if err != nil {
		return kp, err
	}
	c := kp.Cert
	if !c.BasicConstraintsValid || !c.IsCA {
		return kp, &FieldError{Field: src.certField(), Kind: ErrNotCA,
			Problem: fmt.Sprintf("the certificate %q is not a CA (basicConstraints CA:TRUE is missing)", c.Subject.CommonName),
			Fix:     src.fix(ErrNotCA, "use a CA certificate, or let a CA be generated")}
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return kp, &FieldError{Field: src.certField(), Kind: ErrNotCA,
			Problem: fmt.Sprintf("the CA certificate %q may not sign certificates (keyUsage keyCertSign is missing)", c.Subject.CommonName),
			Fix:     src.fix(ErrNotCA, "use a CA certificate with keyUsage keyCertSign, or let a CA be generated")}
	}
	return kp, checkTime(c, src, now, 0)
}

// VerifyChain checks that leaf was signed by ca and may be used as a client certificate.
func VerifyChain(leaf, ca *x509.Certificate, now time.Time) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// HumanDuration renders a duration in the largest sensible unit: "364d", "23h", "5m".
func HumanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		// time.Time.Sub saturates: -math.MinInt64 would stay negative.
		d = -max(d, -math.MaxInt64)
	}
	var s string
	switch {
	case d >= 48*time.Hour:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	default:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	}
	if neg {
		return "-" + s
	}
	return s
}
