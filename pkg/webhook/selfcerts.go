package webhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// Names config/ gives the webhook's objects; the defaults of SelfCertOptions.
const (
	DefaultCertSecretName    = "kubectl-konnect-webhook-tls"
	DefaultServiceName       = "kubectl-konnect-webhook"
	DefaultWebhookConfigName = "kubectl-konnect-webhook"
)

// Keys of the self-managed certificate Secret (a kubernetes.io/tls Secret
// with the CA next to the serving pair). ca.key stays in the Secret so that
// any replica can renew the serving certificate under the same CA, which
// keeps the caBundle unchanged across renewals.
const (
	SecretKeyCACert = "ca.crt"
	SecretKeyCAKey  = "ca.key"
)

// Lifetimes of self-managed certificates. The serving certificate is
// renewed when less than RenewBefore (30 days) is left: at two thirds of its
// 90-day lifetime, as cert-manager does by default. The CA lives ten years
// and is renewed the same way; a new CA changes the caBundle.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultCertValidity = 90 * 24 * time.Hour
	DefaultRenewBefore  = 30 * 24 * time.Hour
	// DefaultCheckInterval is how often a running webhook re-reads the
	// Secret and the caBundle: two GETs, cheap enough to notice within a
	// minute a renewal by the other replica or a caBundle wiped by a tool
	// that replaced the ValidatingWebhookConfiguration.
	DefaultCheckInterval = time.Minute
)

// backdate sets NotBefore in the past so that an API server whose clock is
// slightly behind accepts a fresh certificate.
const backdate = 5 * time.Minute

// SelfCertOptions configure SelfCerts.
type SelfCertOptions struct {
	// Namespace of the webhook: of the Secret and the Service. Required.
	Namespace string
	// SecretName holds the CA and the serving pair (DefaultCertSecretName).
	SecretName string
	// ServiceName is the Service the API server calls; the certificate is
	// for <service>.<namespace>.svc (DefaultServiceName).
	ServiceName string
	// WebhookConfigName is the ValidatingWebhookConfiguration whose
	// webhooks that call ServiceName get the CA as caBundle
	// (DefaultWebhookConfigName).
	WebhookConfigName string
	// CertDir receives tls.crt, tls.key and ca.crt; the webhook server
	// serves from it and reloads the files when they change. Required.
	CertDir string
	// Lifetimes; the Default* constants when zero.
	CAValidity    time.Duration
	CertValidity  time.Duration
	RenewBefore   time.Duration
	CheckInterval time.Duration
	// Now is the clock (time.Now when nil); tests move it forward.
	Now    func() time.Time
	Logger logr.Logger
}

// SelfCerts gives the webhook a certificate with no files to prepare and no
// cert-manager: it keeps a CA and a serving certificate in a Secret, writes
// them to the server's certificate folder and sets the
// ValidatingWebhookConfiguration's caBundle to the CA.
//
// Replicas share the Secret. Whoever finds it missing creates it; a replica
// that loses the race (AlreadyExists) or a renewal race (Conflict) re-reads
// the Secret and uses what the winner wrote, so all replicas serve
// certificates of the same CA.
//
// SelfCerts is a manager Runnable (Start) that re-checks every
// CheckInterval. The webhook server reads its certificate once when it
// starts, so call Prepare before starting the manager.
type SelfCerts struct {
	client kubernetes.Interface
	opts   SelfCertOptions
}

var _ manager.Runnable = (*SelfCerts)(nil)
var _ manager.LeaderElectionRunnable = (*SelfCerts)(nil)

// NewSelfCerts checks opts and fills in the defaults.
func NewSelfCerts(client kubernetes.Interface, opts SelfCertOptions) (*SelfCerts, error) {
	if opts.Namespace == "" {
		return nil, errors.New("self-managed certificates need the webhook's namespace: set --namespace or the POD_NAMESPACE environment variable")
	}
	if opts.CertDir == "" {
		return nil, errors.New("self-managed certificates need a folder to write them to: set --cert-dir")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.SecretName, DefaultCertSecretName)
	def(&opts.ServiceName, DefaultServiceName)
	def(&opts.WebhookConfigName, DefaultWebhookConfigName)
	defd := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defd(&opts.CAValidity, DefaultCAValidity)
	defd(&opts.CertValidity, DefaultCertValidity)
	defd(&opts.RenewBefore, DefaultRenewBefore)
	defd(&opts.CheckInterval, DefaultCheckInterval)
	if opts.RenewBefore >= opts.CertValidity || opts.RenewBefore >= opts.CAValidity {
		return nil, fmt.Errorf("renewing %s before expiry needs longer lifetimes than CA %s and certificate %s", opts.RenewBefore, opts.CAValidity, opts.CertValidity)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	return &SelfCerts{client: client, opts: opts}, nil
}

// DNSName is the name the API server dials: <service>.<namespace>.svc.
func (s *SelfCerts) DNSName() string {
	return s.opts.ServiceName + "." + s.opts.Namespace + ".svc"
}

// EnsureResult says what Ensure changed.
type EnsureResult struct {
	// Secret is "created", "renewed: <reason>" or "" (used as it was).
	Secret string
	// FilesWritten: the files in CertDir changed.
	FilesWritten bool
	// CABundlePatched: at least one webhook's caBundle was set.
	CABundlePatched bool
}

// Changed reports whether Ensure changed anything.
func (r EnsureResult) Changed() bool {
	return r.Secret != "" || r.FilesWritten || r.CABundlePatched
}

// Ensure makes the Secret hold a valid CA and serving certificate (creating
// or renewing them), writes them to CertDir and sets the caBundle. It is
// idempotent: with nothing to do, it only reads.
func (s *SelfCerts) Ensure(ctx context.Context) (EnsureResult, error) {
	res, b, err := s.ensureFiles(ctx)
	if err != nil {
		return res, err
	}
	res.CABundlePatched, err = s.ensureCABundle(ctx, b.caPEM)
	return res, err
}

// Prepare runs Ensure until the certificate files are in CertDir, retrying
// with backoff until ctx ends: the webhook server cannot start without
// them. A caBundle that could not be set yet (say the
// ValidatingWebhookConfiguration is not applied yet) is only logged: Start
// keeps trying.
func (s *SelfCerts) Prepare(ctx context.Context) error {
	delay := time.Second
	for {
		res, b, err := s.ensureFiles(ctx)
		if err == nil {
			s.logResult(res)
			patched, perr := s.ensureCABundle(ctx, b.caPEM)
			if perr != nil {
				s.opts.Logger.Error(perr, "caBundle not set yet; retrying in the background")
			} else if patched {
				s.opts.Logger.Info("set the caBundle", "validatingWebhookConfiguration", s.opts.WebhookConfigName)
			}
			return nil
		}
		s.opts.Logger.Error(err, "preparing the serving certificate", "retryIn", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("preparing the serving certificate: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
}

// Start implements manager.Runnable: Ensure now and every CheckInterval
// (sooner after an error) until ctx ends. Errors are logged, never fatal: the
// server keeps serving the certificate it has.
func (s *SelfCerts) Start(ctx context.Context) error {
	delay := time.Second
	for {
		res, err := s.Ensure(ctx)
		wait := s.opts.CheckInterval
		if err != nil {
			s.opts.Logger.Error(err, "self-managed certificates", "retryIn", delay)
			wait = min(delay, wait)
			delay = min(2*delay, s.opts.CheckInterval)
		} else {
			delay = time.Second
		}
		s.logResult(res)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica keeps its own files current.
func (s *SelfCerts) NeedLeaderElection() bool { return false }

func (s *SelfCerts) logResult(res EnsureResult) {
	if !res.Changed() {
		return
	}
	s.opts.Logger.Info("self-managed certificates", "secret", s.opts.Namespace+"/"+s.opts.SecretName,
		"secretChange", res.Secret, "filesWritten", res.FilesWritten, "caBundlePatched", res.CABundlePatched)
}

func (s *SelfCerts) ensureFiles(ctx context.Context) (EnsureResult, *bundle, error) {
	var res EnsureResult
	b, change, err := s.ensureSecret(ctx)
	if err != nil {
		return res, nil, err
	}
	res.Secret = change
	res.FilesWritten, err = writeCertFiles(s.opts.CertDir, b)
	if err != nil {
		return res, nil, fmt.Errorf("writing the certificate to %s: %w", s.opts.CertDir, err)
	}
	return res, b, nil
}

// bundle is the content of the Secret: a CA and a serving pair it signed.
type bundle struct {
	caPEM, caKeyPEM, certPEM, keyPEM []byte
	ca                               *x509.Certificate
	caKey                            crypto.Signer
}

func (b *bundle) data() map[string][]byte {
	return map[string][]byte{
		SecretKeyCACert:         b.caPEM,
		SecretKeyCAKey:          b.caKeyPEM,
		corev1.TLSCertKey:       b.certPEM,
		corev1.TLSPrivateKeyKey: b.keyPEM,
	}
}

// ensureSecret returns a valid bundle from the Secret, creating or renewing
// it when needed; change says what it did.
func (s *SelfCerts) ensureSecret(ctx context.Context) (b *bundle, change string, err error) {
	secrets := s.client.CoreV1().Secrets(s.opts.Namespace)
	for attempt := 0; attempt < 5; attempt++ {
		sec, err := secrets.Get(ctx, s.opts.SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			b, err := s.issue(nil)
			if err != nil {
				return nil, "", err
			}
			sec = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{
					Name:      s.opts.SecretName,
					Namespace: s.opts.Namespace,
					Labels: map[string]string{
						"app.kubernetes.io/name":       DefaultServiceName,
						"app.kubernetes.io/part-of":    "kubectl-konnect",
						"app.kubernetes.io/managed-by": "kubectl-konnect-webhook",
					},
				},
				Type: corev1.SecretTypeTLS,
				Data: b.data(),
			}
			if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				continue // another replica was first: use its certificate
			} else if err != nil {
				return nil, "", fmt.Errorf("creating Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
			}
			return b, "created", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
		}
		cur, ca, why := s.check(sec.Data)
		if why == "" {
			return cur, "", nil
		}
		nb, err := s.issue(ca)
		if err != nil {
			return nil, "", err
		}
		sec = sec.DeepCopy()
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		for k, v := range nb.data() {
			sec.Data[k] = v
		}
		if _, err := secrets.Update(ctx, sec, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
			continue // another replica renewed it: use its certificate
		} else if err != nil {
			return nil, "", fmt.Errorf("renewing the certificate in Secret %s/%s (%s): %w", s.opts.Namespace, s.opts.SecretName, why, err)
		}
		return nb, "renewed: " + why, nil
	}
	return nil, "", fmt.Errorf("the Secret %s/%s kept changing under us; will retry", s.opts.Namespace, s.opts.SecretName)
}

// check parses and validates the Secret's data. It returns the bundle when
// it can be served as is; otherwise why it cannot, and the CA when that is
// still good for signing a new serving certificate.
func (s *SelfCerts) check(data map[string][]byte) (b *bundle, usableCA *bundle, why string) {
	now := s.opts.Now()
	ca, caKey, why := parsePair(data[SecretKeyCACert], data[SecretKeyCAKey])
	switch {
	case why != "":
		return nil, nil, "CA: " + why
	case !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, nil, "CA: the certificate in " + SecretKeyCACert + " is not a CA"
	case now.Before(ca.NotBefore):
		return nil, nil, "CA: not valid before " + ca.NotBefore.UTC().Format(time.RFC3339)
	case ca.NotAfter.Sub(now) < s.opts.RenewBefore:
		return nil, nil, "CA: expires " + ca.NotAfter.UTC().Format(time.RFC3339)
	}
	caOnly := &bundle{caPEM: data[SecretKeyCACert], caKeyPEM: data[SecretKeyCAKey], ca: ca, caKey: caKey}
	leaf, _, why := parsePair(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey])
	if why != "" {
		return nil, caOnly, "serving certificate: " + why
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{
		DNSName:     s.DNSName(),
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, caOnly, "serving certificate: " + err.Error()
	}
	if leaf.NotAfter.Sub(now) < s.opts.RenewBefore {
		return nil, caOnly, "serving certificate: expires " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	caOnly.certPEM, caOnly.keyPEM = data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey]
	return caOnly, caOnly, ""
}

// parsePair parses one certificate and its key; why says what is wrong.
func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, string) {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, nil, "missing"
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, nil, err.Error()
	}
	certs, err := cert.DecodeCertsPEM(certPEM)
	if err != nil {
		return nil, nil, err.Error()
	}
	key, err := cert.DecodeKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, err.Error()
	}
	return certs[0], key, ""
}

// issue makes a serving certificate for DNSName signed by ca, or by a new CA
// when ca is nil. Keys are ECDSA P-256.
func (s *SelfCerts) issue(ca *bundle) (*bundle, error) {
	now := s.opts.Now().UTC().Truncate(time.Second)
	if ca == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "kubectl-konnect-webhook-ca", Organization: []string{"kubectl-konnect"}},
			NotBefore:             now.Add(-backdate),
			NotAfter:              now.Add(s.opts.CAValidity),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
			MaxPathLen:            0,
			MaxPathLenZero:        true,
		}
		caPEM, caKeyPEM, c, err := sign(tmpl, tmpl, key, key)
		if err != nil {
			return nil, fmt.Errorf("creating the webhook CA: %w", err)
		}
		ca = &bundle{caPEM: caPEM, caKeyPEM: caKeyPEM, ca: c, caKey: key}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(s.opts.CertValidity)
	if notAfter.After(ca.ca.NotAfter) {
		notAfter = ca.ca.NotAfter
	}
	svc, ns := s.opts.ServiceName, s.opts.Namespace
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: s.DNSName()},
		DNSNames:              []string{s.DNSName(), s.DNSName() + ".cluster.local", svc + "." + ns, svc},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	certPEM, keyPEM, _, err := sign(tmpl, ca.ca, key, ca.caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the serving certificate: %w", err)
	}
	return &bundle{caPEM: ca.caPEM, caKeyPEM: ca.caKeyPEM, ca: ca.ca, caKey: ca.caKey, certPEM: certPEM, keyPEM: keyPEM}, nil
}

func sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, signer crypto.Signer) (certPEM, keyPEM []byte, c *x509.Certificate, err error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, nil, err
	}
	if c, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	if keyPEM, err = cert.EncodeKeyPEM(key); err != nil {
		return nil, nil, nil, err
	}
	return cert.EncodeCertsPEM(c), keyPEM, c, nil
}

// serial is a random positive 127-bit serial number (RFC 5280).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

// writeCertFiles writes ca.crt, tls.key and tls.crt into dir, each
// atomically (a temporary file renamed over the old one) and only when its
// content changed. The key goes before the certificate: the server's
// certificate watcher re-reads the pair on each change and keeps serving
// the old pair until the two match.
func writeCertFiles(dir string, b *bundle) (changed bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{SecretKeyCACert, b.caPEM}, {corev1.TLSPrivateKeyKey, b.keyPEM}, {corev1.TLSCertKey, b.certPEM}} {
		path := filepath.Join(dir, f.name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, f.data) {
			continue
		}
		if err := writeFileAtomic(path, f.data); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ensureCABundle sets caBundle on every webhook of the configuration that
// calls our Service, when it differs. The JSON patch tests each webhook's
// name first, so a concurrent reordering makes it fail instead of patching
// another webhook.
func (s *SelfCerts) ensureCABundle(ctx context.Context, caPEM []byte) (bool, error) {
	vwcs := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwc, err := vwcs.Get(ctx, s.opts.WebhookConfigName, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading ValidatingWebhookConfiguration %s to set its caBundle: %w", s.opts.WebhookConfigName, err)
	}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	var ops []op
	ours := 0
	for i, wh := range vwc.Webhooks {
		svc := wh.ClientConfig.Service
		if svc == nil || svc.Name != s.opts.ServiceName || svc.Namespace != s.opts.Namespace {
			continue
		}
		ours++
		if bytes.Equal(wh.ClientConfig.CABundle, caPEM) {
			continue
		}
		ops = append(ops,
			op{Op: "test", Path: fmt.Sprintf("/webhooks/%d/name", i), Value: wh.Name},
			op{Op: "add", Path: fmt.Sprintf("/webhooks/%d/clientConfig/caBundle", i), Value: caPEM}, // []byte: base64 in JSON
		)
	}
	if ours == 0 {
		return false, fmt.Errorf("no webhook of ValidatingWebhookConfiguration %s calls Service %s/%s: check --service-name and --namespace", s.opts.WebhookConfigName, s.opts.Namespace, s.opts.ServiceName)
	}
	if len(ops) == 0 {
		return false, nil
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return false, err
	}
	if _, err := vwcs.Patch(ctx, s.opts.WebhookConfigName, types.JSONPatchType, body, metav1.PatchOptions{FieldManager: "kubectl-konnect-webhook"}); err != nil {
		return false, fmt.Errorf("setting the caBundle of ValidatingWebhookConfiguration %s: %w", s.opts.WebhookConfigName, err)
	}
	return true, nil
}
