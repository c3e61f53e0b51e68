package webhook_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

const systemNS = "kubectl-konnect-system"

// asServiceAccount is a clientset that acts as the webhook's ServiceAccount
// (impersonated), so tests see what its RBAC allows.
func asServiceAccount(t testing.TB, e *testenv.Env, ns, name string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func adminClientset(t testing.TB, e *testenv.Env) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(e.Config)
	// The test breaks a Secret on purpose; the API server's warning about
	// it is expected.
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func getObj(t testing.TB, e *testenv.Env, ns, name string, obj client.Object) {
	t.Helper()
	if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("%T %s/%s after kubectl apply -k config/default: %v", obj, ns, name, err)
	}
}

func parseCert(t testing.TB, what string, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate: %q", what, data)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return c
}

// verifyServing checks that tls.crt is an ECDSA P-256 serving certificate
// for dnsName that verifies against ca.crt at the given time.
func verifyServing(t testing.TB, data map[string][]byte, dnsName string, at time.Time) (ca, leaf *x509.Certificate) {
	t.Helper()
	ca = parseCert(t, "ca.crt", data["ca.crt"])
	leaf = parseCert(t, "tls.crt", data["tls.crt"])
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: dnsName, Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("tls.crt does not verify against ca.crt for %s: %v", dnsName, err)
	}
	for what, c := range map[string]*x509.Certificate{"ca.crt": ca, "tls.crt": leaf} {
		if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("%s: want an ECDSA P-256 key, got %T", what, c.PublicKey)
		}
	}
	return ca, leaf
}

// filesMatch checks that dir holds the Secret's serving pair and CA.
func filesMatch(t testing.TB, dir string, data map[string][]byte) {
	t.Helper()
	for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
		got, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatalf("cert dir: %v", err)
		}
		if !bytes.Equal(got, data[k]) {
			t.Errorf("cert dir %s differs from the Secret's %s", k, k)
		}
	}
}

func TestKubectlApplyDefaultThenSelfManagedCertsSetTheCABundle(t *testing.T) {
	e := sharedEnv(t)
	ctx := context.Background()
	out, errOut, err := e.Kubectl(ctx, "", "apply", "-k", filepath.Join(testenv.RepoRoot(), "config", "default"))
	if err != nil {
		t.Fatalf("kubectl apply -k config/default: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	t.Logf("kubectl apply -k config/default:\n%s%s", out, errOut)
	for _, want := range []string{
		"namespace/kubectl-konnect-system", "serviceaccount/kubectl-konnect-webhook",
		"role.rbac.authorization.k8s.io/kubectl-konnect-webhook-certs",
		"clusterrole.rbac.authorization.k8s.io/kubectl-konnect-webhook ",
		"clusterrole.rbac.authorization.k8s.io/kubectl-konnect-webhook-cabundle",
		"rolebinding.rbac.authorization.k8s.io/kubectl-konnect-webhook-certs",
		"clusterrolebinding.rbac.authorization.k8s.io/kubectl-konnect-webhook ",
		"clusterrolebinding.rbac.authorization.k8s.io/kubectl-konnect-webhook-cabundle",
		"service/kubectl-konnect-webhook", "deployment.apps/kubectl-konnect-webhook",
		"poddisruptionbudget.policy/kubectl-konnect-webhook",
		"validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply output does not mention %q", strings.TrimSpace(want))
		}
	}

	getObj(t, e, "", systemNS, &corev1.Namespace{})
	getObj(t, e, systemNS, "kubectl-konnect-webhook", &corev1.ServiceAccount{})
	getObj(t, e, systemNS, "kubectl-konnect-webhook-certs", &rbacv1.Role{})
	getObj(t, e, systemNS, "kubectl-konnect-webhook-certs", &rbacv1.RoleBinding{})
	getObj(t, e, "", "kubectl-konnect-webhook", &rbacv1.ClusterRole{})
	getObj(t, e, "", "kubectl-konnect-webhook", &rbacv1.ClusterRoleBinding{})
	getObj(t, e, "", "kubectl-konnect-webhook-cabundle", &rbacv1.ClusterRole{})
	getObj(t, e, "", "kubectl-konnect-webhook-cabundle", &rbacv1.ClusterRoleBinding{})
	var svc corev1.Service
	getObj(t, e, systemNS, "kubectl-konnect-webhook", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("Service ports: want 443, got %+v", svc.Spec.Ports)
	}
	var d appsv1.Deployment
	getObj(t, e, systemNS, "kubectl-konnect-webhook", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas: want 2, got %v", d.Spec.Replicas)
	}
	if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--self-managed-certs") {
		t.Errorf("Deployment args: want --self-managed-certs, got %v", args)
	}
	var pdb policyv1.PodDisruptionBudget
	getObj(t, e, systemNS, "kubectl-konnect-webhook", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PDB minAvailable: want 1, got %v", pdb.Spec.MinAvailable)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	getObj(t, e, "", "kubectl-konnect-webhook", &vwc)
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("ValidatingWebhookConfiguration: want 1 webhook, got %d", len(vwc.Webhooks))
	}
	wh := vwc.Webhooks[0]
	if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("sideEffects: want None, got %v", wh.SideEffects)
	}
	if wh.MatchPolicy == nil || *wh.MatchPolicy != admissionregistrationv1.Equivalent {
		t.Errorf("matchPolicy: want Equivalent, got %v", wh.MatchPolicy)
	}
	if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds != 5 {
		t.Errorf("timeoutSeconds: want 5, got %v", wh.TimeoutSeconds)
	}
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy: want Ignore, got %v", wh.FailurePolicy)
	}
	if !slices.Equal(wh.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("admissionReviewVersions: want [v1], got %v", wh.AdmissionReviewVersions)
	}
	if s := wh.NamespaceSelector; s == nil || len(s.MatchExpressions) != 1 || s.MatchExpressions[0].Key != "kubernetes.io/metadata.name" ||
		s.MatchExpressions[0].Operator != metav1.LabelSelectorOpNotIn || !slices.Equal(s.MatchExpressions[0].Values, []string{"kube-system", systemNS}) {
		t.Errorf("namespaceSelector: want kubernetes.io/metadata.name NotIn [kube-system %s], got %+v", systemNS, wh.NamespaceSelector)
	}
	if len(wh.ClientConfig.CABundle) != 0 {
		t.Errorf("caBundle before the webhook ran: want empty, got %d bytes", len(wh.ClientConfig.CABundle))
	}

	// First replica, with only the RBAC the manifests grant.
	sa := asServiceAccount(t, e, systemNS, "kubectl-konnect-webhook")
	dir := t.TempDir()
	sc, err := webhook.NewSelfCerts(sa, webhook.SelfCertOptions{Namespace: systemNS, CertDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Ensure(ctx)
	if err != nil {
		t.Fatalf("first Ensure as the webhook's ServiceAccount: %v", err)
	}
	if res.Secret != "created" || !res.FilesWritten || !res.CABundlePatched {
		t.Errorf("first Ensure: want the Secret created, files written and caBundle patched, got %+v", res)
	}
	admin := adminClientset(t, e)
	sec, err := admin.CoreV1().Secrets(systemNS).Get(ctx, webhook.DefaultCertSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Secret %s: %v", webhook.DefaultCertSecretName, err)
	}
	if sec.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type: want %s, got %s", corev1.SecretTypeTLS, sec.Type)
	}
	ca, leaf := verifyServing(t, sec.Data, "kubectl-konnect-webhook.kubectl-konnect-system.svc", time.Now())
	if !ca.IsCA {
		t.Error("ca.crt is not a CA")
	}
	if left := time.Until(leaf.NotAfter); left < 89*24*time.Hour || left > 91*24*time.Hour {
		t.Errorf("serving certificate lifetime: want 90 days, got %s left", left)
	}
	filesMatch(t, dir, sec.Data)
	vwc2, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "kubectl-konnect-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vwc2.Webhooks[0].ClientConfig.CABundle, sec.Data["ca.crt"]) {
		t.Errorf("caBundle does not equal the Secret's ca.crt:\n%s\nvs\n%s", vwc2.Webhooks[0].ClientConfig.CABundle, sec.Data["ca.crt"])
	}

	// A second run, and a second replica with an empty folder, change
	// nothing in the cluster.
	res, err = sc.Ensure(ctx)
	if err != nil || res.Changed() {
		t.Errorf("second Ensure: want no change, got %+v, %v", res, err)
	}
	dir2 := t.TempDir()
	sc2, err := webhook.NewSelfCerts(sa, webhook.SelfCertOptions{Namespace: systemNS, CertDir: dir2})
	if err != nil {
		t.Fatal(err)
	}
	res, err = sc2.Ensure(ctx)
	if err != nil || res.Secret != "" || res.CABundlePatched || !res.FilesWritten {
		t.Errorf("second replica: want only its files written, got %+v, %v", res, err)
	}
	filesMatch(t, dir2, sec.Data)
	sec2, err := admin.CoreV1().Secrets(systemNS).Get(ctx, webhook.DefaultCertSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc3, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "kubectl-konnect-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec2.ResourceVersion != sec.ResourceVersion || vwc3.ResourceVersion != vwc2.ResourceVersion {
		t.Errorf("second run changed the cluster: Secret resourceVersion %s -> %s, ValidatingWebhookConfiguration %s -> %s",
			sec.ResourceVersion, sec2.ResourceVersion, vwc2.ResourceVersion, vwc3.ResourceVersion)
	}

	// Re-applying the manifests keeps the caBundle (kubectl apply's
	// three-way merge leaves fields it never set).
	if out, errOut, err := e.Kubectl(ctx, "", "apply", "-k", filepath.Join(testenv.RepoRoot(), "config", "default")); err != nil {
		t.Fatalf("second kubectl apply -k config/default: %v\n%s%s", err, out, errOut)
	}
	if res, err := sc.Ensure(ctx); err != nil || res.Changed() {
		t.Errorf("Ensure after re-applying the manifests: want no change, got %+v, %v", res, err)
	}

	// The RBAC grants no more than that.
	if _, err := admin.CoreV1().Secrets(systemNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CoreV1().Secrets(systemNS).Get(ctx, "someone-elses", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the webhook's ServiceAccount reading another Secret: want Forbidden, got %v", err)
	}
	if _, err := sa.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the webhook's ServiceAccount creating a Secret outside its namespace: want Forbidden, got %v", err)
	}
	if _, err := sa.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the webhook's ServiceAccount listing webhook configurations: want Forbidden, got %v", err)
	}
}

// renewalFixture is a namespace with a ValidatingWebhookConfiguration of
// two webhooks: one calling our Service, one calling someone else's.
type renewalFixture struct {
	ns, vwc string
	admin   kubernetes.Interface
}

func newRenewalFixture(t *testing.T, e *testenv.Env) *renewalFixture {
	t.Helper()
	ctx := context.Background()
	f := &renewalFixture{ns: "selfcerts-" + rand.String(5), vwc: "selfcerts-" + rand.String(5), admin: adminClientset(t, e)}
	if err := e.CreateNamespace(ctx, f.ns); err != nil {
		t.Fatal(err)
	}
	none := admissionregistrationv1.SideEffectClassNone
	ignore := admissionregistrationv1.Ignore
	path := "/validate"
	mk := func(name, ns string, caBundle []byte) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:                    name,
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: ns, Name: webhook.DefaultServiceName, Path: &path},
				CABundle: caBundle,
			},
			// Matches nothing the tests create.
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"example.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
			}},
		}
	}
	_, err := f.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: f.vwc},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			mk("other.example.com", "elsewhere", []byte("not ours")),
			mk("ours.example.com", f.ns, nil),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), f.vwc, metav1.DeleteOptions{})
	})
	return f
}

func (f *renewalFixture) selfCerts(t testing.TB, now time.Time, dir string) *webhook.SelfCerts {
	t.Helper()
	sc, err := webhook.NewSelfCerts(f.admin, webhook.SelfCertOptions{
		Namespace: f.ns, WebhookConfigName: f.vwc, CertDir: dir,
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func (f *renewalFixture) state(t testing.TB) (data map[string][]byte, ours, other []byte) {
	t.Helper()
	ctx := context.Background()
	sec, err := f.admin.CoreV1().Secrets(f.ns).Get(ctx, webhook.DefaultCertSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := f.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, f.vwc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sec.Data, vwc.Webhooks[1].ClientConfig.CABundle, vwc.Webhooks[0].ClientConfig.CABundle
}

func TestSelfManagedCertsRenewBeforeExpiry(t *testing.T) {
	e := sharedEnv(t)
	f := newRenewalFixture(t, e)
	ctx := context.Background()
	dir := t.TempDir()
	dnsName := webhook.DefaultServiceName + "." + f.ns + ".svc"
	now := time.Now()

	if _, err := f.selfCerts(t, now, dir).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	data0, ours, other := f.state(t)
	ca0, leaf0 := verifyServing(t, data0, dnsName, now)
	if !bytes.Equal(ours, data0["ca.crt"]) || string(other) != "not ours" {
		t.Fatalf("caBundle: want ours set to ca.crt and the other webhook's untouched, got ours=%q other=%q", ours, other)
	}

	// 59 days on, 31 left: nothing to do.
	if res, err := f.selfCerts(t, now.Add(59*24*time.Hour), dir).Ensure(ctx); err != nil || res.Changed() {
		t.Errorf("59 days on: want no change, got %+v, %v", res, err)
	}

	// 61 days on, 29 left: a new serving certificate from the same CA; the
	// caBundle stays.
	at := now.Add(61 * 24 * time.Hour)
	res, err := f.selfCerts(t, at, dir).Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Secret, "renewed: serving certificate: expires") || !res.FilesWritten || res.CABundlePatched {
		t.Errorf("61 days on: want the serving certificate renewed and written, caBundle untouched; got %+v", res)
	}
	data1, ours1, _ := f.state(t)
	ca1, leaf1 := verifyServing(t, data1, dnsName, at)
	if !ca1.Equal(ca0) || !bytes.Equal(ours1, ours) {
		t.Error("renewing the serving certificate changed the CA")
	}
	if leaf1.Equal(leaf0) || !leaf1.NotAfter.After(leaf0.NotAfter) {
		t.Errorf("serving certificate not renewed: %s -> %s", leaf0.NotAfter, leaf1.NotAfter)
	}
	filesMatch(t, dir, data1)

	// A serving certificate that does not verify (say, edited by hand) is
	// replaced under the same CA.
	sec, err := f.admin.CoreV1().Secrets(f.ns).Get(ctx, webhook.DefaultCertSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["tls.crt"] = sec.Data["ca.crt"]
	if _, err := f.admin.CoreV1().Secrets(f.ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := f.selfCerts(t, at, dir).Ensure(ctx); err != nil || !strings.HasPrefix(res.Secret, "renewed: serving certificate") || res.CABundlePatched {
		t.Errorf("broken tls.crt: want it reissued under the same CA, got %+v, %v", res, err)
	}
	data2, _, _ := f.state(t)
	if ca2, _ := verifyServing(t, data2, dnsName, at); !ca2.Equal(ca0) {
		t.Error("reissuing a broken serving certificate changed the CA")
	}

	// Near the CA's end: a new CA, a new serving certificate, and the
	// caBundle follows; the other webhook keeps its own.
	at = ca0.NotAfter.Add(-29 * 24 * time.Hour)
	res, err = f.selfCerts(t, at, dir).Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Secret, "renewed: CA: expires") || !res.CABundlePatched || !res.FilesWritten {
		t.Errorf("29 days before the CA expires: want a new CA and caBundle, got %+v", res)
	}
	data3, ours3, other3 := f.state(t)
	ca3, _ := verifyServing(t, data3, dnsName, at)
	if ca3.Equal(ca0) || !bytes.Equal(ours3, data3["ca.crt"]) || string(other3) != "not ours" {
		t.Errorf("after CA renewal: want a new CA in our caBundle only; same CA %v, ours matches %v, other %q",
			ca3.Equal(ca0), bytes.Equal(ours3, data3["ca.crt"]), other3)
	}
	filesMatch(t, dir, data3)
}

func TestSelfManagedCertsReplicasRacingAgreeOnOneCertificate(t *testing.T) {
	e := sharedEnv(t)
	f := newRenewalFixture(t, e)
	ctx := context.Background()
	const replicas = 4
	now := time.Now()
	dirs := make([]string, replicas)
	results := make([]webhook.EnsureResult, replicas)
	errs := make([]error, replicas)

	race := func(at time.Time) {
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range replicas {
			if dirs[i] == "" {
				dirs[i] = t.TempDir()
			}
			sc := f.selfCerts(t, at, dirs[i])
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				results[i], errs[i] = sc.Ensure(ctx)
			}()
		}
		start.Done()
		done.Wait()
	}
	count := func(prefix string) (n int) {
		for i := range replicas {
			if errs[i] != nil {
				t.Errorf("replica %d: %v", i, errs[i])
			}
			if strings.HasPrefix(results[i].Secret, prefix) {
				n++
			}
		}
		return n
	}

	race(now)
	if n := count("created"); n != 1 {
		t.Errorf("first start: want exactly one replica to create the Secret, got %d: %+v", n, results)
	}
	data, ours, _ := f.state(t)
	for i := range replicas {
		filesMatch(t, dirs[i], data)
	}
	if !bytes.Equal(ours, data["ca.crt"]) {
		t.Error("caBundle is not the Secret's CA")
	}

	// All due for renewal at once: one renews, the others use its work.
	race(now.Add(61 * 24 * time.Hour))
	if n := count("renewed"); n != 1 {
		t.Errorf("renewal: want exactly one replica to renew, got %d: %+v", n, results)
	}
	data2, _, _ := f.state(t)
	if bytes.Equal(data2["tls.crt"], data["tls.crt"]) {
		t.Error("renewal race: the serving certificate was not renewed")
	}
	for i := range replicas {
		filesMatch(t, dirs[i], data2)
	}
}

// writeAtomically writes files the way SelfCerts does (a temporary file
// renamed over the old one), key first.
func writeAtomically(t testing.TB, dir string, files ...[2]string) {
	t.Helper()
	for _, f := range files {
		tmp := filepath.Join(dir, "."+f[0]+".tmp")
		if err := os.WriteFile(tmp, []byte(f[1]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, f[0])); err != nil {
			t.Fatal(err)
		}
	}
}

// kubeletSwap publishes files the way the kubelet updates a Secret volume
// (cert-manager's case): a new timestamped folder, the ..data symlink
// swapped to it atomically, the old folder removed; tls.crt and tls.key are
// symlinks through ..data.
func kubeletSwap(t testing.TB, dir string, gen int, certPEM, keyPEM []byte) {
	t.Helper()
	ts := fmt.Sprintf("..gen_%d", gen)
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, ts, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls.key", "tls.crt"} {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join("..data", name) {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link+".tmp"); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link+".tmp", link); err != nil {
			t.Fatal(err)
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServerReloadsARotatedCertificateWithoutRestart(t *testing.T) {
	e := sharedEnv(t)
	ca := newTestCA(t)
	dir := t.TempDir()
	certPEM, keyPEM := ca.serving(t, "first")
	writeAtomically(t, dir, [2]string{"tls.key", string(keyPEM)}, [2]string{"tls.crt", string(certPEM)})

	port := freePort(t)
	mgr, _, err := webhook.NewManager(e.Config, webhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("manager did not stop within a minute")
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// waitServed polls handshakes until the server presents the
	// certificate with common name cn; the watcher reacts to file events
	// at once and polls every 10 s.
	waitServed := func(cn string) {
		t.Helper()
		start := time.Now()
		var last string
		for time.Since(start) < 30*time.Second {
			select {
			case err := <-stopped:
				t.Fatalf("manager stopped: %v", err)
			default:
			}
			c, err := servedCert(addr, ca.pool)
			if err == nil && c.Subject.CommonName == cn {
				t.Logf("serving %q after %s", cn, time.Since(start).Round(time.Millisecond))
				return
			}
			if err != nil {
				last = err.Error()
			} else {
				last = "serving " + c.Subject.CommonName
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("want the server to present %q within 30 s; last: %s", cn, last)
	}
	waitServed("first")

	// As SelfCerts writes into its emptyDir.
	certPEM, keyPEM = ca.serving(t, "second")
	writeAtomically(t, dir, [2]string{"tls.key", string(keyPEM)}, [2]string{"tls.crt", string(certPEM)})
	waitServed("second")

	// As the kubelet updates a cert-manager Secret volume: first the switch
	// to symlinks, then a swap of ..data.
	certPEM, keyPEM = ca.serving(t, "third")
	kubeletSwap(t, dir, 3, certPEM, keyPEM)
	waitServed("third")
	certPEM, keyPEM = ca.serving(t, "fourth")
	kubeletSwap(t, dir, 4, certPEM, keyPEM)
	waitServed("fourth")
}
