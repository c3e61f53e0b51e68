package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The tests of issue 3 (`kubectl konnect cert`), run as users run them: the plugin binary on PATH,
// invoked through the real kubectl, against a real kube-apiserver with each CRD profile, the KGO
// stand-in and the fake Konnect. Fixtures are made with crypto/x509 here, not with pkg/cert, so the
// tests do not lean on the code they test.

var gvkSecret = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

var pathOnce sync.Once

// installPlugin puts the plugin built for the test binary first on PATH, where kubectl finds plugins.
func installPlugin(t *testing.T) {
	t.Helper()
	dir := testenv.PluginDir(t)
	pathOnce.Do(func() { _ = os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH")) })
}

// konnectCLI runs `kubectl konnect ...` in a namespace and returns stdout, stderr and the exit code.
// kubectl takes no flags before a plugin name, so the kubeconfig comes from the environment
// (env.PluginEnv, which also points Konnect calls at the fake); the caller's KUBECONFIG and KUBECTL_KONNECT_*
// are dropped so a developer's cluster is never touched.
func konnectCLI(t *testing.T, env *testenv.Env, stdin, ns string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"konnect"}, append(args, "-n", ns)...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "KUBECTL_KONNECT_") && !strings.HasPrefix(kv, "KONNECT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env.PluginEnv()...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("kubectl konnect %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

func mustKonnect(t *testing.T, env *testenv.Env, ns string, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := konnectCLI(t, env, "", ns, args...)
	require.Equal(t, 0, code, "kubectl konnect %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out, errOut
}

// certControlPlane applies a token Secret, a KonnectAPIAuthConfiguration and KonnectGatewayControlPlane
// "gateway-cp" (Konnect name "cert-<ns>") in the profile's version, with req as further fields of the
// Konnect create request (spec on v1alpha1, spec.createControlPlaneRequest on v1alpha2), waits for the
// stand-in to program it and returns its ID.
func certControlPlane(t *testing.T, env *testenv.Env, ns string, req obj) (konnectName, cpID string) {
	t.Helper()
	konnectName = "cert-" + ns
	cp := controlPlane(env.Profile, "gateway-cp", konnectName, "")
	fields := cp["spec"].(obj)
	if env.Profile.KongOperator2() {
		fields = fields["createControlPlaneRequest"].(obj)
	}
	for k, v := range req {
		fields[k] = v
	}
	env.MustKubectl(t, manifest(t,
		obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta("konnect-token", obj{"labels": obj{"konghq.com/credential": "konnect", "konghq.com/secret": "true"}}),
			"stringData": obj{"token": env.Token}},
		obj{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": meta("konnect-auth"),
			"spec": obj{"type": "secretRef", "secretRef": obj{"name": "konnect-token"}, "serverURL": "us.api.konghq.com"}},
		cp,
	), "apply", "-n", ns, "-f", "-")
	u := env.WaitFor(t, controlPlaneGVK(env.Profile), ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
	id, _, _ := unstructured.NestedString(u.Object, "status", "id")
	require.NotEmpty(t, id)
	return konnectName, id
}

// controlPlaneGVK is KonnectGatewayControlPlane in the version the profile's objects are read in:
// kong-operator 2.x stores v1alpha2 (and converts v1alpha1), so its objects are read as v1alpha2.
func controlPlaneGVK(p testenv.Profile) schema.GroupVersionKind {
	gvk := testenv.GVKControlPlane
	gvk.Version = konnectVersion(p)
	return gvk
}

// konnectNameField is where the profile's control planes keep their Konnect name.
func konnectNameField(p testenv.Profile) string {
	return kgoapi.RequestFieldPath(konnectVersion(p), "name")
}

func fingerprintPEM(t *testing.T, p []byte) string {
	t.Helper()
	b, _ := pem.Decode(p)
	require.NotNil(t, b, "PEM: %q", p)
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}

func secretBytes(t *testing.T, env *testenv.Env, ns, name string) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	require.NoError(t, env.Client.Get(context.Background(), keyOf(ns, name), &s))
	return s.Data
}

// konnectFingerprints are the fingerprints of the certificates the fake Konnect has pinned on cpID.
func konnectFingerprints(t *testing.T, env *testenv.Env, cpID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, c := range env.Konnect.DPCertificates(cpID) {
		out[fingerprintPEM(t, []byte(c.Cert))] = true
	}
	return out
}

func resourceVersion(t *testing.T, env *testenv.Env, gvk schema.GroupVersionKind, ns, name string) string {
	t.Helper()
	u, err := env.Get(context.Background(), gvk, ns, name)
	require.NoError(t, err)
	return u.GetResourceVersion()
}

// snapshot maps "kind/name" to resourceVersion for the Secrets and registrations of a namespace.
func snapshot(t *testing.T, env *testenv.Env, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvk := range []schema.GroupVersionKind{gvkSecret, testenv.GVKDataPlaneClientCert} {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		require.NoError(t, env.Client.List(context.Background(), l, inNamespace(ns)))
		for _, u := range l.Items {
			out[gvk.Kind+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	return out
}

func TestCertIssueIsIdempotentAndRegistersInKonnect(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server and fake Konnect
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			konnectName, cpID := certControlPlane(t, env, ns, nil)

			out, errOut := mustKonnect(t, env, ns, "cert", "issue", "--control-plane", "gateway-cp")
			data := secretBytes(t, env, ns, "gateway-cp-dp-cert")
			fp := fingerprintPEM(t, data["tls.crt"])
			reg := "gateway-cp-dp-cert-" + fp[:10]
			assert.Equal(t, "kongdataplaneclientcertificate.configuration.konghq.com/"+reg+" created\nsecret/gateway-cp-dp-cert created\n", out)
			assert.Contains(t, errOut, "uses pinned_client_certs (from Konnect)")
			assert.NotContains(t, out+errOut, "PRIVATE KEY")
			assert.NotContains(t, out+errOut, env.Token)

			sec, err := env.Get(context.Background(), gvkSecret, ns, "gateway-cp-dp-cert")
			require.NoError(t, err)
			assert.Equal(t, "kubernetes.io/tls", sec.Object["type"])
			assert.Contains(t, managers(sec), "kubectl-konnect", "server-side apply with our field manager")
			u := env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, reg, waitTimeout, testenv.HasCondition("Programmed", "True"))
			ref, _, _ := unstructured.NestedString(u.Object, "spec", "controlPlaneRef", "konnectNamespacedRef", "name")
			assert.Equal(t, "gateway-cp", ref, "the resource name, not the Konnect name %q", konnectName)
			assert.Contains(t, managers(u), "kubectl-konnect")
			assert.True(t, konnectFingerprints(t, env, cpID)[fp], "the certificate is pinned in Konnect")

			// Idempotent: a second run writes nothing; the API server's resourceVersions prove it.
			before := snapshot(t, env, ns)
			out, errOut = mustKonnect(t, env, ns, "cert", "issue", "--control-plane", "gateway-cp")
			assert.Equal(t, before, snapshot(t, env, ns), "no object changed")
			assert.Contains(t, out, "secret/gateway-cp-dp-cert unchanged")
			assert.Contains(t, out, reg+" unchanged")
			assert.Contains(t, errOut, "already holds a valid certificate")
			assert.Contains(t, errOut, "nothing changed")
			assert.Len(t, env.Konnect.DPCertificates(cpID), 1, "registered once")

			// The Konnect name resolves to the resource name, and says so.
			_, errOut = mustKonnect(t, env, ns, "cert", "issue", "second", "--control-plane", konnectName)
			assert.Contains(t, errOut, `is the Konnect name (`+konnectNameField(p)+`) of KonnectGatewayControlPlane `+ns+`/gateway-cp; controlPlaneRef uses its resource name "gateway-cp"`)
		})
	}
}

func TestCertRotateNeverLeavesTheDataPlaneUnregistered(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			_, cpID := certControlPlane(t, env, ns, nil)
			mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp")
			oldFP := fingerprintPEM(t, secretBytes(t, env, ns, "dp")["tls.crt"])
			env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-"+oldFP[:10], waitTimeout, testenv.HasCondition("Programmed", "True"))

			// Watch, while rotating, that whatever certificate the Secret holds is pinned in Konnect.
			var stop atomic.Bool
			var gaps []string
			var checks atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				secretFP := func() string {
					var s corev1.Secret
					if err := env.Client.Get(context.Background(), keyOf(ns, "dp"), &s); err != nil {
						return ""
					}
					return fingerprintPEM(t, s.Data["tls.crt"])
				}
				for !stop.Load() {
					// Secret, Konnect, Secret: a gap only counts when the Secret did not change meanwhile.
					before := secretFP()
					pinned := konnectFingerprints(t, env, cpID)
					if after := secretFP(); before != "" && before == after {
						if !pinned[before] {
							gaps = append(gaps, before[:10]+" at "+time.Now().Format(time.RFC3339Nano))
						}
						checks.Add(1)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			out, errOut := mustKonnect(t, env, ns, "cert", "rotate", "dp")
			stop.Store(true)
			<-done

			newFP := fingerprintPEM(t, secretBytes(t, env, ns, "dp")["tls.crt"])
			require.NotEqual(t, oldFP, newFP)
			assert.Positive(t, checks.Load(), "the watcher ran")
			assert.Empty(t, gaps, "the Secret held a certificate Konnect did not know (%d checks)", checks.Load())
			assert.Contains(t, errOut, "Waiting up to 2m0s for KGO to program")
			assert.Contains(t, out, "dp-"+newFP[:10]+" created")
			assert.Contains(t, out, "secret/dp configured")
			assert.Contains(t, out, "dp-"+oldFP[:10]+" deleted")

			// KGO removes the old certificate from Konnect when its registration goes.
			require.Eventually(t, func() bool {
				fps := konnectFingerprints(t, env, cpID)
				return len(fps) == 1 && fps[newFP]
			}, waitTimeout, 100*time.Millisecond, "Konnect ends with the new certificate only")
			require.Eventually(t, func() bool {
				_, err := env.Get(context.Background(), testenv.GVKDataPlaneClientCert, ns, "dp-"+oldFP[:10])
				return apierrors.IsNotFound(err)
			}, waitTimeout, 100*time.Millisecond, "the old registration is gone")
		})
	}
}

func TestCertIssueOnAPKIControlPlaneRegistersAGeneratedCA(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			_, cpID := certControlPlane(t, env, ns, obj{"auth_type": "pki_client_certs"})

			_, errOut := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp")
			assert.Contains(t, errOut, `uses pki_client_certs (from Konnect): registering the CA "dp-ca"`)
			ca := secretBytes(t, env, ns, "dp-ca")
			caFP := fingerprintPEM(t, ca["tls.crt"])
			env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-"+caFP[:10], waitTimeout, testenv.HasCondition("Programmed", "True"))
			assert.Equal(t, map[string]bool{caFP: true}, konnectFingerprints(t, env, cpID), "Konnect trusts the CA")
			verifyClientCert(t, secretBytes(t, env, ns, "dp")["tls.crt"], ca["tls.crt"])

			// Rotating the data plane's certificate leaves the CA and its registration alone.
			before := snapshot(t, env, ns)
			out, _ := mustKonnect(t, env, ns, "cert", "rotate", "dp")
			assert.Contains(t, out, "secret/dp configured")
			after := snapshot(t, env, ns)
			assert.Equal(t, before["Secret/dp-ca"], after["Secret/dp-ca"])
			assert.Equal(t, before["KongDataPlaneClientCertificate/dp-"+caFP[:10]], after["KongDataPlaneClientCertificate/dp-"+caFP[:10]])
			assert.NotEqual(t, before["Secret/dp"], after["Secret/dp"])
			verifyClientCert(t, secretBytes(t, env, ns, "dp")["tls.crt"], ca["tls.crt"])
			assert.Equal(t, map[string]bool{caFP: true}, konnectFingerprints(t, env, cpID))
		})
	}
}

// TestCertOnAControlPlaneGroupOnKO22: kong-operator 2.2 and later register data-plane certificates on
// control plane groups (not 2.0 and 2.1: KON1006), so `cert issue` and `cert rotate` work on one; the
// stand-in programs the registrations and Konnect ends with the current certificate pinned on the group.
func TestCertOnAControlPlaneGroupOnKO22(t *testing.T) {
	installPlugin(t)
	env := testenv.Shared(t, testenv.KO22)
	ns := env.Namespace(t)
	_, cpID := certControlPlane(t, env, ns, obj{"cluster_type": "CLUSTER_TYPE_CONTROL_PLANE_GROUP"})

	out, errOut := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp")
	fp := fingerprintPEM(t, secretBytes(t, env, ns, "dp")["tls.crt"])
	assert.Equal(t, "kongdataplaneclientcertificate.configuration.konghq.com/dp-"+fp[:10]+" created\nsecret/dp created\n", out, errOut)
	env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-"+fp[:10], waitTimeout, testenv.HasCondition("Programmed", "True"))
	assert.Equal(t, map[string]bool{fp: true}, konnectFingerprints(t, env, cpID), "pinned on the group")

	out, errOut = mustKonnect(t, env, ns, "cert", "rotate", "dp")
	newFP := fingerprintPEM(t, secretBytes(t, env, ns, "dp")["tls.crt"])
	assert.Contains(t, out, "dp-"+newFP[:10]+" created", errOut)
	assert.Contains(t, out, "dp-"+fp[:10]+" deleted")
	require.Eventually(t, func() bool {
		fps := konnectFingerprints(t, env, cpID)
		return len(fps) == 1 && fps[newFP]
	}, waitTimeout, 100*time.Millisecond, "Konnect ends with the new certificate only")
}

// verifyClientCert checks that the first certificate of chainPEM is a client certificate caPEM signed.
func verifyClientCert(t *testing.T, chainPEM, caPEM []byte) {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	b, _ := pem.Decode(chainPEM)
	require.NotNil(t, b)
	leaf, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
}

func TestCertListShowsKonnectRegistration(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			_, cpID := certControlPlane(t, env, ns, nil)
			mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp")
			fp := fingerprintPEM(t, secretBytes(t, env, ns, "dp")["tls.crt"])
			env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-"+fp[:10], waitTimeout, testenv.HasCondition("Programmed", "True"))
			// A registration made by hand that Konnect has not got: KGO is told nothing here.
			crt, _ := selfSignedPair(t, "by-hand")
			env.MustKubectl(t, manifest(t, obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongDataPlaneClientCertificate",
				"metadata": meta("by-hand"), "spec": obj{"controlPlaneRef": cpRef("missing-cp"), "cert": crt}}), "apply", "-n", ns, "-f", "-")

			out, errOut := mustKonnect(t, env, ns, "cert", "list", "-o", "json")
			var res struct {
				Items []struct {
					Secret, Registration, ControlPlane, Fingerprint, Programmed, Konnect, KeyType string
					NotAfter                                                                      time.Time
				}
			}
			require.NoError(t, json.Unmarshal([]byte(out), &res), out)
			require.Len(t, res.Items, 2, out)
			it := res.Items[0]
			assert.Equal(t, "dp", it.Secret)
			assert.Equal(t, "dp-"+fp[:10], it.Registration)
			assert.Equal(t, "gateway-cp", it.ControlPlane)
			assert.Equal(t, fp, it.Fingerprint)
			assert.Equal(t, "True", it.Programmed)
			assert.Equal(t, "registered", it.Konnect)
			assert.Equal(t, "ecdsa-p256", it.KeyType)
			assert.WithinDuration(t, time.Now().AddDate(0, 0, 365), it.NotAfter, time.Hour)
			assert.Equal(t, "by-hand", res.Items[1].Registration)
			assert.Equal(t, "unknown", res.Items[1].Konnect)
			assert.Contains(t, errOut, "not checked in Konnect for control plane missing-cp")
			assert.True(t, konnectFingerprints(t, env, cpID)[fp])

			table, _ := mustKonnect(t, env, ns, "cert", "list")
			assert.Regexp(t, `(?m)^dp\s+dp-`+fp[:10]+`\s+gateway-cp\s+`+fp[:16]+`\s+ecdsa-p256\s+\S+ \(36[45]d\)\s+True\s+registered$`, table)
		})
	}
}

func TestCertDryRunPrintsAndWritesNothing(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			certControlPlane(t, env, ns, nil)
			before := snapshot(t, env, ns)

			out, errOut := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp", "--dry-run=client", "-o", "yaml")
			assert.Equal(t, before, snapshot(t, env, ns), "client dry run writes nothing")
			assert.Contains(t, out, "kind: List")
			assert.Contains(t, out, "kind: KongDataPlaneClientCertificate")
			assert.Contains(t, out, "type: kubernetes.io/tls")
			assert.Contains(t, errOut, "the output holds the private key")

			srvOut, _ := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp", "--dry-run=server", "-o", "json")
			assert.Equal(t, before, snapshot(t, env, ns), "server dry run persists nothing")
			assert.Contains(t, srvOut, `"creationTimestamp"`, "the API server's answer is printed")

			human, _ := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp", "--dry-run=client")
			assert.Contains(t, human, "secret/dp created (dry run)")
			assert.NotContains(t, human, "PRIVATE KEY")

			// The client dry run is a manifest kubectl can apply; the plugin then finds it up to date.
			env.MustKubectl(t, out, "apply", "-n", ns, "-f", "-")
			after := snapshot(t, env, ns)
			reissue, errOut := mustKonnect(t, env, ns, "cert", "issue", "dp", "--control-plane", "gateway-cp")
			assert.Contains(t, reissue, "secret/dp unchanged")
			assert.Contains(t, errOut, "nothing changed")
			for k, v := range after {
				if strings.HasPrefix(k, "Secret/") {
					assert.Equal(t, v, snapshot(t, env, ns)[k], k)
				}
			}
		})
	}
}

func TestCertBadInputsFailClearlyAndWriteNothing(t *testing.T) {
	installPlugin(t)
	expiredCA := caPair(t, "expired-ca", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	goodCA := caPair(t, "good-ca", time.Now().Add(-time.Hour), time.Now().Add(5*365*24*time.Hour))
	otherKey := caPair(t, "other", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)).key
	mismatchedCA := pemPair{crt: goodCA.crt, key: otherKey}
	leafCrt, leafKey := selfSignedPair(t, "not-a-ca")
	dir := t.TempDir()

	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			certControlPlane(t, env, ns, nil)
			other := env.Namespace(t)
			env.MustKubectl(t, manifest(t, controlPlane(p, "east-cp", "east-"+other, "")), "apply", "-n", other, "-f", "-")
			env.MustKubectl(t, "", "create", "configmap", "owner", "-n", ns)
			ownerUID := strings.TrimSpace(env.MustKubectl(t, "", "get", "configmap", "owner", "-n", ns, "-o", "jsonpath={.metadata.uid}"))
			tls := func(name string, pp pemPair, extraMeta obj) obj {
				return obj{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": meta(name, extraMeta),
					"stringData": obj{"tls.crt": pp.crt, "tls.key": pp.key}}
			}
			env.MustKubectl(t, manifest(t,
				obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta("opaque"), "stringData": obj{"password": "x"}},
				tls("owned", pemPair{crt: leafCrt, key: leafKey}, obj{"ownerReferences": []any{obj{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": ownerUID}}}),
				tls("expired-ca", expiredCA, nil),
				tls("mismatched-ca", mismatchedCA, nil),
				tls("leaf-not-ca", pemPair{crt: leafCrt, key: leafKey}, nil),
			), "apply", "-n", ns, "-f", "-")
			keyFile := filepath.Join(dir, string(p)+"-ca.key")
			require.NoError(t, os.WriteFile(keyFile, []byte(goodCA.key), 0o600))

			tests := []struct {
				name string
				args []string
				want []string
			}{
				{"unknown control plane", []string{"cert", "issue", "dp", "--control-plane", "gateway-cpp"},
					[]string{`no KonnectGatewayControlPlane in namespace "` + ns + `" has that resource name or Konnect name (` + konnectNameField(p) + `); did you mean "gateway-cp"?`}},
				{"control plane of another namespace", []string{"cert", "issue", "dp", "--control-plane", "east-cp"},
					[]string{"KonnectGatewayControlPlane " + other + "/east-cp is in namespace", "controlPlaneRef cannot cross namespaces: run with -n " + other}},
				{"Secret of another type", []string{"cert", "issue", "opaque", "--control-plane", "gateway-cp"},
					[]string{"Secret " + ns + "/opaque exists with type Opaque, not kubernetes.io/tls: choose another NAME, or pass --force to replace it"}},
				{"Secret with a foreign owner", []string{"cert", "issue", "owned", "--control-plane", "gateway-cp"},
					[]string{"Secret " + ns + "/owned belongs to its owner ConfigMap owner, not kubectl-konnect: choose another NAME, or pass --force to take it over"}},
				{"expired CA", []string{"cert", "issue", "dp", "--control-plane", "gateway-cp", "--ca-secret", "expired-ca"},
					[]string{"--ca-secret " + ns + "/expired-ca key tls.crt: the certificate expired at", "renew the CA"}},
				{"mismatched CA", []string{"cert", "issue", "dp", "--control-plane", "gateway-cp", "--ca-secret", "mismatched-ca"},
					[]string{"--ca-secret " + ns + "/mismatched-ca key tls.key: the ecdsa-p256 key does not belong to the certificate", "put the CA's own key in tls.key"}},
				{"a CA that is not a CA", []string{"cert", "issue", "dp", "--control-plane", "gateway-cp", "--ca-secret", "leaf-not-ca"},
					[]string{`the certificate "not-a-ca" is not a CA`}},
				{"unreadable CA file", []string{"cert", "issue", "dp", "--control-plane", "gateway-cp", "--ca-cert-file", filepath.Join(dir, "missing.crt"), "--ca-key-file", keyFile},
					[]string{"--ca-cert-file: open " + filepath.Join(dir, "missing.crt") + ": no such file or directory: give a readable PEM file"}},
				{"CA file that is a folder", []string{"cert", "issue", "dp", "--control-plane", "gateway-cp", "--ca-cert-file", dir, "--ca-key-file", keyFile},
					[]string{"--ca-cert-file: read " + dir + ": is a directory"}},
				{"rotate of a missing Secret", []string{"cert", "rotate", "nope"},
					[]string{"there is no Secret " + ns + "/nope to rotate: create it with kubectl konnect cert issue nope"}},
			}
			before := snapshot(t, env, ns)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					out, errOut, code := konnectCLI(t, env, "", ns, tt.args...)
					t.Logf("stderr: %s", errOut)
					assert.Equal(t, 1, code, "stdout: %s\nstderr: %s", out, errOut)
					for _, w := range tt.want {
						assert.Contains(t, errOut, w)
					}
					assert.Empty(t, out, "no result on stdout")
					assert.Equal(t, before, snapshot(t, env, ns), "nothing written")
				})
			}
		})
	}
}

func managers(u *unstructured.Unstructured) []string {
	var m []string
	for _, f := range u.GetManagedFields() {
		m = append(m, f.Manager)
	}
	return m
}

type pemPair struct{ crt, key string }

// caPair makes a CA certificate and key (PKCS#8) with crypto/x509.
func caPair(t *testing.T, cn string, notBefore, notAfter time.Time) pemPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pemPair{
		crt: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

func inNamespace(ns string) client.InNamespace { return client.InNamespace(ns) }
