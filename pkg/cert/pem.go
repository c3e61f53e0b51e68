package cert

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// EncodeCertsPEM encodes certificates as consecutive PEM CERTIFICATE blocks.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// EncodeKeyPEM encodes a private key as a PKCS#8 PEM PRIVATE KEY block, which Kong and Go read for
// every key type.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DecodeCertsPEM parses every CERTIFICATE block of data, in order. Other blocks are an error, so a key
// pasted into a certificate field is caught rather than ignored.
func DecodeCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(data)
	if len(rest) == 0 {
		return nil, errors.New("it is empty")
	}
	for len(rest) > 0 {
		block, r := pem.Decode(rest)
		if block == nil {
			if len(certs) == 0 {
				return nil, errors.New("it holds no PEM block (expected -----BEGIN CERTIFICATE-----)")
			}
			return nil, fmt.Errorf("it holds text that is not PEM after certificate %d", len(certs))
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("block %d is a %q, not a CERTIFICATE", len(certs)+1, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d is not valid X.509: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
		rest = bytes.TrimSpace(r)
	}
	return certs, nil
}

// DecodeKeyPEM parses one private key in PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY") form. Encrypted keys are refused.
func DecodeKeyPEM(data []byte) (crypto.Signer, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("it is empty")
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("it holds no PEM block (expected -----BEGIN PRIVATE KEY-----)")
	}
	if _, encrypted := block.Headers["DEK-Info"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("the key is encrypted: decrypt it first (Kong cannot use an encrypted key)")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("it holds a %q block, not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("the %s block does not parse: %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return signer, nil
}

// Fingerprint is the SHA-256 of the certificate's DER encoding, as 64 lowercase hex characters.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// ShortFingerprint is the first 10 hex characters of Fingerprint: enough to tell certificates of one
// data plane apart in a resource name or a table.
func ShortFingerprint(c *x509.Certificate) string { return Fingerprint(c)[:10] }

// FingerprintOfPEM is the Fingerprint of the first certificate in data.
func FingerprintOfPEM(data []byte) (string, error) {
	certs, err := DecodeCertsPEM(data)
	if err != nil {
		return "", err
	}
	return Fingerprint(certs[0]), nil
}
