package cert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fuzz targets of PEM and certificate parsing (issue 8): certificates
// and keys come from files, flags and Secrets that users wrote, and from
// Konnect's answers. The property: no panic, and every failure is an error
// that says what is wrong (for the pair functions, a *FieldError with a
// field, a problem, a fix and one of the Err* kinds).

// fuzzSeedPairs are real PEM pairs of every shape the commands read: a
// self-signed ECDSA leaf, an RSA one, a CA, a CA-signed leaf with its
// chain, a mismatched pair, and keys in PKCS#1, SEC 1 and PKCS#8 (Ed25519)
// form.
func fuzzSeedPairs(f *testing.F) [][2][]byte {
	f.Helper()
	ec, err := IssueSelfSigned(Template{CommonName: "dp", Now: now})
	if err != nil {
		f.Fatal(err)
	}
	rsaPair, err := IssueSelfSigned(Template{CommonName: "dp-rsa", KeyType: RSA2048, Now: now})
	if err != nil {
		f.Fatal(err)
	}
	ca, err := IssueCA(Template{CommonName: "ca", Now: now})
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := IssueSigned(Template{CommonName: "leaf", Now: now, Validity: 24 * time.Hour}, ca)
	if err != nil {
		f.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec.Key.(*ecdsa.PrivateKey))
	if err != nil {
		f.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaPair.Key.(*rsa.PrivateKey))
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	edPEM, err := EncodeKeyPEM(edKey)
	if err != nil {
		f.Fatal(err)
	}
	return [][2][]byte{
		{ec.CertPEM, ec.KeyPEM},
		{ec.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})},
		{rsaPair.CertPEM, rsaPair.KeyPEM},
		{rsaPair.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1})},
		{ca.CertPEM, ca.KeyPEM},
		{leaf.CertPEM, leaf.KeyPEM},
		{ec.CertPEM, rsaPair.KeyPEM},
		{ec.CertPEM, edPEM},
		{ec.KeyPEM, ec.CertPEM},
		{[]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END PRIVATE KEY-----\n")},
	}
}

// FuzzDecodeCertsPEM: a decoded chain re-encodes to the same certificates.
func FuzzDecodeCertsPEM(f *testing.F) {
	for _, p := range fuzzSeedPairs(f) {
		f.Add(p[0])
		f.Add(append(append([]byte{}, p[0]...), p[1]...))
	}
	f.Add([]byte(""))
	f.Add([]byte("not pem"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := DecodeCertsPEM(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			if certs != nil {
				t.Fatalf("certificates returned with an error: %v", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificate and no error")
		}
		again, err := DecodeCertsPEM(EncodeCertsPEM(certs...))
		if err != nil {
			t.Fatalf("re-encoded chain does not decode: %v", err)
		}
		if len(again) != len(certs) {
			t.Fatalf("re-encoded chain has %d certificates, want %d", len(again), len(certs))
		}
		for i := range certs {
			if !bytes.Equal(again[i].Raw, certs[i].Raw) {
				t.Fatalf("certificate %d changed when re-encoded", i)
			}
			if len(Fingerprint(certs[i])) != 64 || ShortFingerprint(certs[i]) != Fingerprint(certs[i])[:10] {
				t.Fatalf("bad fingerprint %q", Fingerprint(certs[i]))
			}
		}
		if fp, err := FingerprintOfPEM(data); err != nil || fp != Fingerprint(certs[0]) {
			t.Fatalf("FingerprintOfPEM: %q, %v; want the first certificate's", fp, err)
		}
	})
}

// FuzzDecodeKeyPEM: a decoded key re-encodes (PKCS#8) to the same key.
func FuzzDecodeKeyPEM(f *testing.F) {
	for _, p := range fuzzSeedPairs(f) {
		f.Add(p[1])
	}
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := DecodeKeyPEM(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		_ = KeyTypeOf(key.Public())
		enc, err := EncodeKeyPEM(key)
		if err != nil {
			return // a key Go reads but will not write as PKCS#8
		}
		again, err := DecodeKeyPEM(enc)
		if err != nil {
			t.Fatalf("re-encoded key does not decode: %v", err)
		}
		if !publicKeysEqual(again.Public(), key.Public()) {
			t.Fatal("re-encoded key differs")
		}
	})
}

var errKinds = []error{ErrInvalid, ErrKeyMismatch, ErrExpired, ErrNotYetValid, ErrExpiresSoon, ErrNotCA, ErrOutlivesCA}

// checkFieldError: every failure of the pair functions is a *FieldError
// that names the field, the problem and the fix, of a known kind.
func checkFieldError(t *testing.T, what string, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: %T is not a *FieldError: %v", what, err, err)
	}
	if fe.Field == "" || strings.TrimSpace(fe.Problem) == "" || strings.TrimSpace(fe.Fix) == "" {
		t.Fatalf("%s: incomplete error %+v", what, fe)
	}
	for _, k := range errKinds {
		if errors.Is(err, k) {
			return
		}
	}
	t.Fatalf("%s: unknown kind %v", what, fe.Kind)
}

// FuzzParsePair covers ParsePair, ValidatePair (at any instant and renewal
// window), ValidateCA and VerifyChain.
func FuzzParsePair(f *testing.F) {
	for _, p := range fuzzSeedPairs(f) {
		f.Add(p[0], p[1], now.Unix(), int64(30*24*time.Hour))
		f.Add(p[0], p[1], now.Add(2*365*24*time.Hour).Unix(), int64(0))
	}
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte, at int64, renewBefore int64) {
		when := time.Unix(at, 0)
		src := Source{Cert: "spec.cert", Key: "spec.key", Fixes: map[error]string{ErrExpired: "rotate it"}}
		kp, err := ParsePair(certPEM, keyPEM, src)
		if err != nil {
			checkFieldError(t, "ParsePair", err)
			if errors.Is(err, ErrKeyMismatch) && (kp == nil || kp.Cert == nil) {
				t.Fatal("a key mismatch must still return the parsed pair")
			}
		} else if kp == nil || kp.Cert == nil || kp.Key == nil {
			t.Fatal("ParsePair: no pair and no error")
		}
		if kp, err := ValidatePair(certPEM, keyPEM, src, when, time.Duration(renewBefore)); err != nil {
			checkFieldError(t, "ValidatePair", err)
		} else if kp == nil {
			t.Fatal("ValidatePair: no pair and no error")
		}
		ca, err := ValidateCA(certPEM, keyPEM, src, when)
		if err != nil {
			checkFieldError(t, "ValidateCA", err)
			return
		}
		if !ca.Cert.IsCA {
			t.Fatal("ValidateCA accepted a certificate that is not a CA")
		}
		for _, c := range ca.Chain {
			_ = VerifyChain(c, ca.Cert, when)
		}
		_ = VerifyChain(ca.Cert, ca.Cert, when)
	})
}

// FuzzHumanDuration: a number and one unit, negative exactly when the
// duration is (time.Time.Sub saturates, so any int64 can come in).
func FuzzHumanDuration(f *testing.F) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 365 * 24 * time.Hour, -time.Hour, 1<<63 - 1} {
		f.Add(int64(d))
	}
	f.Fuzz(func(t *testing.T, d int64) {
		s := HumanDuration(time.Duration(d))
		if !humanDuration.MatchString(s) || strings.HasPrefix(s, "-") != (d < 0) {
			t.Fatalf("HumanDuration(%d) = %q", d, s)
		}
	})
}

var humanDuration = regexp.MustCompile(`^-?[0-9]+[dhms]$`)
