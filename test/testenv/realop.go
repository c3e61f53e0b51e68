package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The real profiles run the operator itself, built from ../shared/operators (make operators), where
// the stand-in runs otherwise: the real operator decides what is correct.
const (
	// KGO16Real is Kong Gateway Operator 1.6.2 with the CRDs it installs
	// (kubernetes-configuration v1.4.0, its go.mod) and Gateway API v1.3.0.
	KGO16Real Profile = "kgo-1.6-real"
	// KO21Real is kong-operator 2.1.9 with its CRDs (test/crds/ko-v2.1.9), Gateway API v1.4.1,
	// and its own conversion webhook wired into the CRDs as its install wires it.
	KO21Real Profile = "ko-2.1-real"
)

// RealProfiles are the profiles that run a real operator.
var RealProfiles = []Profile{KGO16Real, KO21Real}

// Real says whether the profile runs a real operator instead of the stand-in.
func (p Profile) Real() bool { return p == KGO16Real || p == KO21Real }

// EnvNetns is set inside the namespaces hack/netns-exec.sh makes: Konnect's API hosts resolve to
// 127.0.0.1 there, where the simulator listens on 443, so the operators reach it unpatched.
const EnvNetns = "KUBECTL_KONNECT_TEST_NETNS"

// OperatorsDir is where `make operators` puts the operator binaries (OPERATORS_BIN overrides).
func OperatorsDir() string {
	if d := os.Getenv("OPERATORS_BIN"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "bin", "operators")
}

// operatorBinary is the binary of the profile's operator.
func operatorBinary(p Profile) string {
	if p == KO21Real {
		return filepath.Join(OperatorsDir(), "kong-operator-2.1.9")
	}
	return filepath.Join(OperatorsDir(), "kgo-1.6.2")
}

// MissingOperators names the operator binaries that are not built, or "" when all are.
func MissingOperators() string {
	var missing []string
	for _, p := range RealProfiles {
		if _, err := os.Stat(operatorBinary(p)); err != nil {
			missing = append(missing, operatorBinary(p))
		}
	}
	return strings.Join(missing, ", ")
}

// PrepareRealProfiles fetches what the real profiles read from the module cache, before the
// tests move into a network namespace that has no route out.
func PrepareRealProfiles() error {
	for _, p := range RealProfiles {
		if _, err := CRDDirs(p); err != nil {
			return err
		}
	}
	return nil
}

// RunInKonnectNetns runs the tests of m inside hack/netns-exec.sh (re-executing the test binary
// there) unless they already run there; it returns the exit code. The operators need no change:
// inside, us.api.konghq.com and its siblings are the simulator.
func RunInKonnectNetns(run func() int) int {
	if os.Getenv(EnvNetns) == "1" {
		return run()
	}
	if m := MissingOperators(); m != "" {
		// A clone without ../shared runs every other suite; .ci/run requires these.
		fmt.Fprintf(os.Stderr, "real-operator suites not run: build the operators from ../shared/operators with make operators (missing %s)\n", m)
		return 0
	}
	if err := PrepareRealProfiles(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "netns-exec.sh"), append([]string{os.Args[0]}, os.Args[1:]...)...)
	// No network inside: modules come from the cache only.
	cmd.Env = append(os.Environ(), EnvNetns+"=1", "GOPROXY=off", "GOFLAGS=-mod=mod")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// realOperator is a running operator process.
type realOperator struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

const (
	operatorNamespace = "kong-system"
	// clusterCASecret is the CA kong-operator's Helm chart creates for the operator
	// (charts/kong-operator templates: a kubernetes.io/tls Secret labelled konghq.com/secret=internal).
	clusterCASecret = "kong-operator-ca"
	operatorProbe   = "127.0.0.1:18081"
	operatorWebhook = "127.0.0.1:9443"
)

// startOperator starts the profile's operator against the ground as its Helm chart runs it: the
// cluster CA Secret, the Konnect and data plane controllers, and on kong-operator 2.x its conversion
// webhook, wired into the CRDs with a URL instead of the chart's Service.
func (e *Env) startOperator(ctx context.Context, dirs []string) error {
	if os.Getenv(EnvNetns) != "1" {
		return fmt.Errorf("profile %s runs the real operator, which reaches Konnect at *.api.konghq.com: run the tests through testenv.RunInKonnectNetns", e.Profile)
	}
	dir := filepath.Dir(e.Kubeconfig)
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return err
	}
	// SEC1 "EC PRIVATE KEY": KGO 1.6.2's DataPlane controller refuses a PKCS#8 key ("unsupported
	// key type: PRIVATE KEY") when it signs with the cluster CA.
	// Valid for years, as the chart's: the operator caps the certificates it signs at its expiry.
	caCrt, caKey, err := selfSignedCA("Kong Operator CA", 10*365*24*time.Hour)
	if err != nil {
		return err
	}
	caSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: clusterCASecret, Namespace: operatorNamespace, Labels: map[string]string{"konghq.com/secret": "internal"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: caCrt, corev1.TLSPrivateKeyKey: caKey},
	}
	if err := e.Client.Create(ctx, caSecret); err != nil {
		return err
	}
	args := []string{
		"--no-leader-election",
		"--enable-controller-konnect",
		"--enable-controller-controlplane=true",
		"--enable-controller-dataplane=true",
		"--anonymous-reports=false",
		"--cluster-ca-secret-namespace", operatorNamespace,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", operatorProbe,
	}
	tmp := filepath.Join(dir, "operator-tmp")
	var webhookCA []byte
	if e.Profile == KO21Real {
		// controller-runtime's webhook server reads $TMPDIR/k8s-webhook-server/serving-certs.
		certDir := filepath.Join(tmp, "k8s-webhook-server", "serving-certs")
		if webhookCA, err = writeServingCert(certDir); err != nil {
			return err
		}
		args = append(args, "--enable-conversion-webhook=true", "--enable-validating-webhook=false")
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "operator.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(operatorBinary(e.Profile), args...)
	// KUBECONFIG, not --kubeconfig: KGO 1.6.2 has no such flag.
	cmd.Env = append(cleanEnv(), "KUBECONFIG="+e.Kubeconfig, "SSL_CERT_FILE="+e.KonnectCAFile, "POD_NAMESPACE="+operatorNamespace, "POD_NAME=kong-operator", "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	op := &realOperator{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { op.done <- cmd.Wait(); logf.Close() }()
	e.operator = op
	if err := op.waitReady(ctx); err != nil {
		return err
	}
	if webhookCA != nil {
		if err := e.wireOperatorConversion(ctx, dirs, webhookCA); err != nil {
			return fmt.Errorf("%w\n%s", err, op.tail())
		}
	}
	return nil
}

// waitReady waits for the operator's readiness probe.
func (op *realOperator) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-op.done:
			op.done <- err
			return fmt.Errorf("the operator exited: %v\n%s", err, op.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		res, err := http.Get("http://" + operatorProbe + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the operator was not ready within 2 minutes\n%s", op.tail())
}

// tail is the end of the operator's log, for failures.
func (op *realOperator) tail() string {
	b, _ := os.ReadFile(op.log)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return "operator log (" + op.log + "):\n" + string(b)
}

// Log is the real operator's log so far ("" on a stand-in profile).
func (e *Env) OperatorLog() string {
	if e.operator == nil {
		return ""
	}
	b, _ := os.ReadFile(e.operator.log)
	return string(b)
}

func (op *realOperator) stop() error {
	_ = op.cmd.Process.Signal(os.Interrupt)
	select {
	case <-op.done:
	case <-time.After(15 * time.Second):
		_ = op.cmd.Process.Kill()
		<-op.done
	}
	return nil
}

// wireOperatorConversion applies kong-operator's conversion patches (patches/ beside its CRDs) with
// the operator's own webhook as the client, then waits until a conversion goes through.
func (e *Env) wireOperatorConversion(ctx context.Context, dirs []string, caPEM []byte) error {
	sch := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(sch); err != nil {
		return err
	}
	cl, err := client.New(e.Config, client.Options{Scheme: sch})
	if err != nil {
		return err
	}
	patches, _ := filepath.Glob(filepath.Join(dirs[0], "patches", "zz_generated_conversion_webhook_*.yaml"))
	if len(patches) == 0 {
		return fmt.Errorf("%s: no conversion patches", dirs[0])
	}
	for _, f := range patches {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var patch apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &patch); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		conv := patch.Spec.Conversion
		if conv == nil || conv.Webhook == nil || conv.Webhook.ClientConfig == nil || conv.Webhook.ClientConfig.Service == nil {
			return fmt.Errorf("%s: no webhook conversion", f)
		}
		url := "https://" + operatorWebhook + ptrOr(conv.Webhook.ClientConfig.Service.Path, "/convert")
		conv.Webhook.ClientConfig = &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := cl.Get(ctx, client.ObjectKey{Name: patch.Name}, crd); err != nil {
				return err
			}
			crd.Spec.Conversion = conv
			return cl.Update(ctx, crd)
		}); err != nil {
			return fmt.Errorf("wiring the conversion of %s: %w", patch.Name, err)
		}
	}
	// The API server swaps a CRD's storage asynchronously: a dry-run create in the old version
	// goes through once the webhook is called.
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1",
		"kind":       "KonnectGatewayControlPlane",
		"metadata":   map[string]any{"name": "conversion-probe", "namespace": "default"},
		"spec":       map[string]any{"name": "probe", "konnect": map[string]any{"authRef": map[string]any{"name": "probe"}}},
	}}
	deadline := time.Now().Add(time.Minute)
	for {
		err := cl.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the operator's conversion webhook never converted a v1alpha1 KonnectGatewayControlPlane: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ptrOr(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// writeServingCert writes a self-signed serving certificate for 127.0.0.1 as tls.crt and tls.key
// in dir and returns it as the CA bundle.
func writeServingCert(dir string) ([]byte, error) {
	crt, key, err := selfSignedCA("kong-operator-webhook", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600); err != nil {
		return nil, err
	}
	return bytes.Clone(crt), os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600)
}

// selfSignedCA is a P-256 CA certificate, also valid for serving 127.0.0.1 and localhost, with its
// key in SEC1 form.
func selfSignedCA(cn string, validity time.Duration) (crtPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	crtPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	_, err = tls.X509KeyPair(crtPEM, keyPEM)
	return crtPEM, keyPEM, err
}
