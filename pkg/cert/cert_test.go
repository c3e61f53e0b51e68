package cert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// keyTypesForTests are the fast key types; RSA 3072/4096 are covered by the benchmark and one test.
var keyTypesForTests = []KeyType{ECDSAP256, ECDSAP384, RSA2048}

func TestIssueSelfSignedMakesAClientCertificateKonnectCanPin(t *testing.T) {
	for _, kt := range keyTypesForTests {
		t.Run(string(kt), func(t *testing.T) {
			kp, err := IssueSelfSigned(Template{CommonName: "dp-1", KeyType: kt, Now: now})
			require.NoError(t, err)
			c := kp.Cert
			assert.Equal(t, "dp-1", c.Subject.CommonName)
			assert.Equal(t, kt, kp.KeyType())
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
			assert.NotZero(t, c.KeyUsage&x509.KeyUsageDigitalSignature, "digitalSignature is needed for TLS client auth")
			assert.Equal(t, kt.IsRSA(), c.KeyUsage&x509.KeyUsageKeyEncipherment != 0, "keyEncipherment only for RSA")
			assert.False(t, c.IsCA)
			assert.True(t, c.BasicConstraintsValid)
			assert.Equal(t, now.Add(-5*time.Minute), c.NotBefore, "backdated for clock skew")
			assert.Equal(t, now.Add(DefaultValidity), c.NotAfter, "one year by default")
			assert.Equal(t, 1, c.SerialNumber.Sign(), "serial is positive")
			require.NoError(t, c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature), "self-signed")

			// The PEM round-trips and the key matches.
			back, err := ValidatePair(kp.CertPEM, kp.KeyPEM, Source{}, now, 0)
			require.NoError(t, err)
			assert.Equal(t, kp.Fingerprint(), back.Fingerprint())
			block, _ := pem.Decode(kp.KeyPEM)
			assert.Equal(t, "PRIVATE KEY", block.Type, "PKCS#8")
		})
	}
}

func TestIssueSelfSignedHonoursValidityAndGivesFreshSerials(t *testing.T) {
	a, err := IssueSelfSigned(Template{CommonName: "x", Validity: 30 * 24 * time.Hour, Now: now})
	require.NoError(t, err)
	b, err := IssueSelfSigned(Template{CommonName: "x", Validity: 30 * 24 * time.Hour, Now: now})
	require.NoError(t, err)
	assert.Equal(t, now.Add(30*24*time.Hour), a.Cert.NotAfter)
	assert.NotEqual(t, a.Cert.SerialNumber, b.Cert.SerialNumber)
	assert.NotEqual(t, a.Fingerprint(), b.Fingerprint())
	assert.Equal(t, ECDSAP256, a.KeyType(), "default key type")
}

func TestIssueRejectsBadTemplates(t *testing.T) {
	tests := []struct {
		name string
		tmpl Template
		want string
	}{
		{"empty common name", Template{}, "common name is empty"},
		{"negative validity", Template{CommonName: "x", Validity: -time.Hour}, "validity -1h0m0s is negative"},
		{"unknown key type", Template{CommonName: "x", KeyType: "dsa-1024"}, `key type "dsa-1024" is not supported: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, issue := range map[string]func(Template) (*KeyPair, error){"self-signed": IssueSelfSigned, "CA": IssueCA} {
				_, err := issue(tt.tmpl)
				require.Error(t, err, name)
				assert.Contains(t, err.Error(), tt.want, name)
			}
		})
	}
}

func TestIssueCAAndSignedLeafVerifyAsClientCertificates(t *testing.T) {
	for _, kt := range keyTypesForTests {
		t.Run(string(kt), func(t *testing.T) {
			ca, err := IssueCA(Template{CommonName: "dp-ca", KeyType: kt, Validity: 3 * DefaultValidity, Now: now})
			require.NoError(t, err)
			assert.True(t, ca.Cert.IsCA)
			assert.True(t, ca.Cert.MaxPathLenZero, "the CA signs leaves only")
			assert.NotZero(t, ca.Cert.KeyUsage&x509.KeyUsageCertSign)
			_, err = ValidateCA(ca.CertPEM, ca.KeyPEM, Source{}, now)
			require.NoError(t, err)

			leaf, err := IssueSigned(Template{CommonName: "dp-1", KeyType: kt, Now: now}, ca)
			require.NoError(t, err)
			assert.False(t, leaf.Cert.IsCA)
			require.NoError(t, VerifyChain(leaf.Cert, ca.Cert, now))
			require.Len(t, leaf.Chain, 1)
			assert.Equal(t, ca.Fingerprint(), Fingerprint(leaf.Chain[0]))

			// tls.crt carries leaf then CA, and parses back the same way.
			back, err := ValidatePair(leaf.CertPEM, leaf.KeyPEM, Source{}, now, 0)
			require.NoError(t, err)
			assert.Equal(t, leaf.Fingerprint(), back.Fingerprint())
			require.Len(t, back.Chain, 1)
			assert.Equal(t, ca.Fingerprint(), Fingerprint(back.Chain[0]))
		})
	}
}

func TestIssueSignedRefusesALeafThatOutlivesItsCA(t *testing.T) {
	ca, err := IssueCA(Template{CommonName: "dp-ca", Validity: 30 * 24 * time.Hour, Now: now})
	require.NoError(t, err)
	_, err = IssueSigned(Template{CommonName: "dp-1", Now: now}, ca)
	require.ErrorIs(t, err, ErrOutlivesCA)
	assert.Contains(t, err.Error(), "validity: the certificate would be valid until 2027-11-26T12:00:00Z, after its CA expires (2026-12-26T12:00:00Z): shorten the validity or use a CA that expires later")

	_, err = IssueSigned(Template{CommonName: "dp-1", Now: now}, nil)
	require.ErrorContains(t, err, "no CA to sign with")
}

func TestLargeRSAKeysWork(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA 3072/4096 key generation is slow")
	}
	for _, kt := range []KeyType{RSA3072, RSA4096} {
		kp, err := IssueSelfSigned(Template{CommonName: "big", KeyType: kt, Now: now})
		require.NoError(t, err)
		assert.Equal(t, kt, kp.KeyType())
	}
}

func TestParseKeyType(t *testing.T) {
	for _, kt := range KeyTypes {
		got, err := ParseKeyType(strings.ToUpper(string(kt)))
		require.NoError(t, err)
		assert.Equal(t, kt, got)
	}
	_, err := ParseKeyType("rsa-1024")
	require.EqualError(t, err, `key type "rsa-1024" is not supported: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096`)
}

func TestKeyTypeOfNamesKeysWeDoNotGenerate(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	assert.Equal(t, KeyType("rsa-1024"), KeyTypeOf(&small.PublicKey))
	assert.Equal(t, KeyType("ecdsa-p521"), KeyTypeOf(&p521.PublicKey))
	assert.Equal(t, KeyType("unknown"), KeyTypeOf("nope"))
}

func TestFingerprintIsSHA256OfDER(t *testing.T) {
	kp, err := IssueSelfSigned(Template{CommonName: "fp", Now: now})
	require.NoError(t, err)
	sum := sha256.Sum256(kp.Cert.Raw)
	assert.Equal(t, hex.EncodeToString(sum[:]), kp.Fingerprint())
	assert.Len(t, kp.Fingerprint(), 64)
	assert.Equal(t, kp.Fingerprint()[:10], ShortFingerprint(kp.Cert))
	fp, err := FingerprintOfPEM(kp.CertPEM)
	require.NoError(t, err)
	assert.Equal(t, kp.Fingerprint(), fp)
	_, err = FingerprintOfPEM([]byte("junk"))
	require.Error(t, err)
}

func TestDecodeKeyPEMReadsEveryCommonEncoding(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pkcs8, err := EncodeKeyPEM(ec)
	require.NoError(t, err)

	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"PKCS#8", pkcs8, ""},
		{"SEC 1 EC", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), ""},
		{"PKCS#1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), ""},
		{"empty", []byte("  \n"), "it is empty"},
		{"not PEM", []byte("hello"), "it holds no PEM block"},
		{"encrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "the key is encrypted"},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}), "the key is encrypted"},
		{"a certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), `it holds a "CERTIFICATE" block, not a private key`},
		{"corrupt", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "the PRIVATE KEY block does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := DecodeKeyPEM(tt.pem)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, k.Public())
		})
	}
}

func TestDecodeCertsPEMRefusesWhatIsNotACertificate(t *testing.T) {
	kp, err := IssueSelfSigned(Template{CommonName: "x", Now: now})
	require.NoError(t, err)
	tests := []struct {
		name    string
		pem     []byte
		want    int
		wantErr string
	}{
		{"one", kp.CertPEM, 1, ""},
		{"two", append(append([]byte{}, kp.CertPEM...), kp.CertPEM...), 2, ""},
		{"empty", nil, 0, "it is empty"},
		{"not PEM", []byte("MIIB..."), 0, "it holds no PEM block (expected -----BEGIN CERTIFICATE-----)"},
		{"a key", kp.KeyPEM, 0, `block 1 is a "PRIVATE KEY", not a CERTIFICATE`},
		{"trailing junk", append(append([]byte{}, kp.CertPEM...), "junk"...), 0, "text that is not PEM after certificate 1"},
		{"corrupt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), 0, "certificate 1 is not valid X.509"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := DecodeCertsPEM(tt.pem)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, certs, tt.want)
		})
	}
}

func TestValidatePairNamesTheFieldAndTheFix(t *testing.T) {
	good, err := IssueSelfSigned(Template{CommonName: "dp", Now: now})
	require.NoError(t, err)
	other, err := IssueSelfSigned(Template{CommonName: "dp", Now: now})
	require.NoError(t, err)
	expired, err := IssueSelfSigned(Template{CommonName: "dp", Validity: 24 * time.Hour, Now: now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	future, err := IssueSelfSigned(Template{CommonName: "dp", Now: now.Add(time.Hour)})
	require.NoError(t, err)
	soon, err := IssueSelfSigned(Template{CommonName: "dp", Validity: 10 * 24 * time.Hour, Now: now})
	require.NoError(t, err)

	src := Source{Cert: "Secret ns/dp key tls.crt", Key: "Secret ns/dp key tls.key",
		Fixes: map[error]string{ErrExpired: "run `kubectl konnect cert rotate dp`"}}
	tests := []struct {
		name      string
		crt, key  []byte
		src       Source
		kind      error
		want      string
		keepsPair bool
	}{
		{name: "valid", crt: good.CertPEM, key: good.KeyPEM, keepsPair: true},
		{name: "key of another certificate", crt: good.CertPEM, key: other.KeyPEM, kind: ErrKeyMismatch, keepsPair: true,
			want: "tls.key: the ecdsa-p256 key does not belong to the certificate in tls.crt (ecdsa-p256 key, fingerprint " + ShortFingerprint(good.Cert) + "): put the matching key there, or issue a new certificate and key"},
		{name: "expired, with the command's own fix", crt: expired.CertPEM, key: expired.KeyPEM, src: src, kind: ErrExpired, keepsPair: true,
			want: "Secret ns/dp key tls.crt: the certificate expired at 2026-11-25T12:00:00Z: run `kubectl konnect cert rotate dp`"},
		{name: "not yet valid", crt: future.CertPEM, key: future.KeyPEM, kind: ErrNotYetValid, keepsPair: true,
			want: "tls.crt: the certificate is not valid before 2026-11-26T12:55:00Z: check this machine's clock, or issue a new certificate and key"},
		{name: "expires within the renewal window", crt: soon.CertPEM, key: soon.KeyPEM, kind: ErrExpiresSoon, keepsPair: true,
			want: "tls.crt: the certificate expires at 2026-12-06T12:00:00Z, in 10d: rotate it before then"},
		{name: "certificate missing", crt: nil, key: good.KeyPEM, src: src, kind: ErrInvalid,
			want: "Secret ns/dp key tls.crt: not a PEM certificate: it is empty: put the PEM certificate there, or issue a new certificate and key"},
		{name: "key missing", crt: good.CertPEM, key: nil, kind: ErrInvalid,
			want: "tls.key: not a PEM private key: it is empty: put the certificate's PEM private key there, or issue a new certificate and key"},
		{name: "certificate and key swapped", crt: good.KeyPEM, key: good.CertPEM, kind: ErrInvalid,
			want: `tls.crt: not a PEM certificate: block 1 is a "PRIVATE KEY", not a CERTIFICATE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := ValidatePair(tt.crt, tt.key, tt.src, now, 30*24*time.Hour)
			if tt.kind == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.kind)
				assert.Contains(t, err.Error(), tt.want)
				var fe *FieldError
				require.True(t, errors.As(err, &fe))
				assert.NotEmpty(t, fe.Fix, "every error suggests a fix")
			}
			assert.Equal(t, tt.keepsPair, kp != nil)
		})
	}
}

func TestValidateCANamesTheFieldAndTheFix(t *testing.T) {
	ca, err := IssueCA(Template{CommonName: "ca", Now: now})
	require.NoError(t, err)
	otherCA, err := IssueCA(Template{CommonName: "ca", Now: now})
	require.NoError(t, err)
	expiredCA, err := IssueCA(Template{CommonName: "old-ca", Validity: time.Hour, Now: now.Add(-2 * time.Hour)})
	require.NoError(t, err)
	leaf, err := IssueSelfSigned(Template{CommonName: "leaf", Now: now})
	require.NoError(t, err)
	noSign := caWithoutCertSign(t)

	src := Source{Cert: "--ca-secret ns/ca key tls.crt", Key: "--ca-secret ns/ca key tls.key"}
	tests := []struct {
		name     string
		crt, key []byte
		kind     error
		want     string
	}{
		{"valid", ca.CertPEM, ca.KeyPEM, nil, ""},
		{"expired", expiredCA.CertPEM, expiredCA.KeyPEM, ErrExpired, "--ca-secret ns/ca key tls.crt: the certificate expired at 2026-11-26T11:00:00Z: issue a new certificate and key"},
		{"a leaf, not a CA", leaf.CertPEM, leaf.KeyPEM, ErrNotCA, `--ca-secret ns/ca key tls.crt: the certificate "leaf" is not a CA (basicConstraints CA:TRUE is missing): use a CA certificate, or let a CA be generated`},
		{"a CA that may not sign", noSign.CertPEM, noSign.KeyPEM, ErrNotCA, `the CA certificate "no-sign" may not sign certificates (keyUsage keyCertSign is missing)`},
		{"key of another CA", ca.CertPEM, otherCA.KeyPEM, ErrKeyMismatch, "--ca-secret ns/ca key tls.key: the ecdsa-p256 key does not belong to the certificate in --ca-secret ns/ca key tls.crt"},
		{"garbage", []byte("x"), ca.KeyPEM, ErrInvalid, "--ca-secret ns/ca key tls.crt: not a PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateCA(tt.crt, tt.key, src, now)
			if tt.kind == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestVerifyChainRejectsALeafOfAnotherCA(t *testing.T) {
	ca, err := IssueCA(Template{CommonName: "ca", Now: now})
	require.NoError(t, err)
	other, err := IssueCA(Template{CommonName: "ca2", Now: now})
	require.NoError(t, err)
	leaf, err := IssueSigned(Template{CommonName: "dp", Validity: time.Hour, Now: now}, ca)
	require.NoError(t, err)
	require.NoError(t, VerifyChain(leaf.Cert, ca.Cert, now))
	require.Error(t, VerifyChain(leaf.Cert, other.Cert, now))
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		365 * 24 * time.Hour: "365d",
		47 * time.Hour:       "47h",
		90 * time.Minute:     "1h",
		5 * time.Minute:      "5m",
		3 * time.Second:      "3s",
		-72 * time.Hour:      "-3d",
	} {
		assert.Equal(t, want, HumanDuration(d), d.String())
	}
}

func caWithoutCertSign(t *testing.T) *KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "no-sign"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyPEM, err := EncodeKeyPEM(key)
	require.NoError(t, err)
	return &KeyPair{Cert: c, Key: key, CertPEM: EncodeCertsPEM(c), KeyPEM: keyPEM}
}

// BenchmarkIssue measures key generation plus a self-signed certificate, per key type.
func BenchmarkIssue(b *testing.B) {
	for _, kt := range KeyTypes {
		b.Run(string(kt), func(b *testing.B) {
			for b.Loop() {
				if _, err := IssueSelfSigned(Template{CommonName: "bench", KeyType: kt}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
