package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/spf13/cobra"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/check"
	checkcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/check"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The tests of issue 6 (`kubectl konnect check`): the seed workflow in a
// known state on a real kube-apiserver with the KGO stand-in and the fake
// Konnect, then the check's output compared with golden files in
// testdata/check (regenerate with: go test ./test/e2e -run TestCheck -update),
// in both output formats, with the exit code of each. Every case runs on
// every profile (KGO 1.4, KGO 1.6, kong-operator 2.x), with golden files
// per profile: <case>.<profile>.txt and .json.

// -update rewrites the golden files. It is registered here unless another
// file of the package already did (a package-level flag.Bool runs first).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files of the tests")
	}
}

func updateGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkRenewBefore: envtest's webhook certificate lives a week, so the
// tests warn about certificates that expire within 3 days instead of 30.
const checkRenewBefore = "72h"

// checkPair is a data-plane client certificate valid for validity.
func checkPair(t testing.TB, cn string, validity time.Duration) (crtPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// checkSetup shapes the seed workflow of a check test.
type checkSetup struct {
	// token of the KonnectAPIAuthConfiguration; env.Token when empty.
	token string
	// validity of the data plane's certificate (default a year).
	validity time.Duration
	// unregistered registers another certificate than the data plane's.
	unregistered bool
	// extension replaces the KonnectExtension pointing at the control plane
	// (and may add objects it refers to).
	extension func(p testenv.Profile, ns string) []obj
	// dataPlane replaces the DataPlane "dp".
	dataPlane func(p testenv.Profile) obj
	// disconnect keeps the data plane from ever reaching Konnect.
	disconnect bool
	// connected waits until the data plane's node is in Konnect.
	connected bool
	// skipExtension applies no KonnectExtension and no DataPlane: the test
	// applies its own once the control plane is programmed.
	skipExtension bool
}

type seeded struct {
	cpID     string
	endpoint string
}

// seedForCheck applies the seed workflow (without KongService/KongRoute)
// and waits until the stand-in has programmed it, as a user would before
// running the check.
func seedForCheck(t *testing.T, env *testenv.Env, ns string, s checkSetup) seeded {
	t.Helper()
	validity := s.validity
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	crt, key := checkPair(t, "dp", validity)
	registered := crt
	if s.unregistered {
		registered, _ = checkPair(t, "someone-else", validity)
	}
	token := s.token
	if token == "" {
		token = env.Token
	}
	objs := seedBaseFor(env.Profile, token, "check-"+ns, "", registered, key)[:5] // token Secret, auth, control plane, registration, TLS Secret
	objs[4]["stringData"] = obj{"tls.crt": crt, "tls.key": key}
	env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
	cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
	cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-cert", waitTimeout, testenv.HasCondition("Programmed", "True"))
	kcp, ok := env.Konnect.ControlPlaneByName("check-" + ns)
	require.True(t, ok)

	if s.disconnect {
		env.StandIn.Disconnect(ns, "dp")
	}
	if s.skipExtension {
		return seeded{cpID: cpID, endpoint: kcp.ControlPlaneEndpoint}
	}
	ext := []obj{extension(env.Profile, kcp.ControlPlaneEndpoint)}
	if s.extension != nil {
		ext = s.extension(env.Profile, ns)
	}
	dp := dataPlane(env.Profile)
	if s.dataPlane != nil {
		dp = s.dataPlane(env.Profile)
	}
	env.MustKubectl(t, manifest(t, append(ext, dp)...), "apply", "-n", ns, "-f", "-")
	if env.Profile != testenv.KGO14 {
		env.WaitFor(t, testenv.GVKKonnectExtension, ns, "konnect-ext", waitTimeout, testenv.HasCondition("Ready", "True"))
	}
	env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
	if s.connected {
		require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) == 1 }, waitTimeout, 100*time.Millisecond,
			"the data plane never connected to Konnect")
	}
	return seeded{cpID: cpID, endpoint: kcp.ControlPlaneEndpoint}
}

// runCheck runs `kubectl konnect check` in-process through cobra, with the
// fake Konnect's HTTP client injected, and returns stdout, stderr and the
// exit code the binary would have.
func runCheck(t *testing.T, env *testenv.Env, ns string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := &cobra.Command{Use: "konnect", SilenceUsage: true, SilenceErrors: true}
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	o := &checkcmd.Options{IOStreams: streams, KonnectHTTPClient: env.Konnect.HTTPClient()}
	root.AddCommand(checkcmd.NewCommandWithOptions(kube.NewFactory(flags), o))
	root.SetArgs(append([]string{"check", "--kubeconfig", env.Kubeconfig, "-n", ns, "--renew-before", checkRenewBefore}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	var failed *checkcmd.FailedError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &failed):
		return out.String(), errOut.String(), 1
	}
	t.Fatalf("kubectl konnect check %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errOut.String())
	return "", "", -1
}

var (
	reUUID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reHex10    = regexp.MustCompile(`\b[0-9a-f]{10}\b`)
	reDate     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	reDuration = regexp.MustCompile(`\b\d+[dhms]\b`)
	rePort     = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// normalizeCheck replaces what changes from run to run: the namespace,
// IDs, endpoint prefixes and short fingerprints, dates, durations, ports.
func normalizeCheck(s, ns string) string {
	s = strings.ReplaceAll(s, ns, "NAMESPACE")
	s = reUUID.ReplaceAllString(s, "UUID")
	s = reHex10.ReplaceAllString(s, "HEX10")
	s = reDate.ReplaceAllString(s, "DATE")
	s = reDuration.ReplaceAllString(s, "DURATION")
	s = rePort.ReplaceAllString(s, "127.0.0.1:PORT")
	return s
}

// golden compares got with testdata/check/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "check", name)
	if updateGoldens() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file %s missing: run go test ./test/e2e -run TestCheck -update", path)
	require.Equal(t, string(want), got, "output differs from %s (regenerate with -update if the change is intended)", path)
}

// checkBoth runs the check with -o table and -o json, compares both with
// the case's golden files, checks the exit code of each and that the two
// formats agree, and returns the JSON report.
func checkBoth(t *testing.T, env *testenv.Env, ns, name string, wantExit int, args ...string) *check.Report {
	t.Helper()
	table, stderr, code := runCheck(t, env, ns, args...)
	require.Equal(t, wantExit, code, "exit code of -o table\nstdout: %s\nstderr: %s", table, stderr)
	js, stderr, code := runCheck(t, env, ns, append(args, "-o", "json")...)
	require.Equal(t, wantExit, code, "exit code of -o json\nstdout: %s\nstderr: %s", js, stderr)
	for _, out := range []string{table, js} {
		require.NotContains(t, out, env.Token, "the token must never be printed")
	}
	golden(t, name+".txt", normalizeCheck(table, ns))
	golden(t, name+".json", normalizeCheck(js, ns))
	var rep check.Report
	require.NoError(t, json.Unmarshal([]byte(js), &rep))
	require.Equal(t, check.ReportKind, rep.Kind)
	require.Equal(t, wantExit == 1, rep.Failed())
	require.Contains(t, table, check.Verdict(&rep, false), "table and json must agree")
	return &rep
}

// eachProfile runs f as a subtest per profile: the checks' behaviour does
// not depend on the generation, their output does (golden files are per
// profile: name.<profile>.txt and .json).
func eachProfile(t *testing.T, f func(t *testing.T, p testenv.Profile)) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) { f(t, p) })
	}
}

func requireStatus(t *testing.T, rep *check.Report, want map[string]check.Status) {
	t.Helper()
	for id, st := range want {
		got, ok := rep.Find(id)
		require.True(t, ok, "no check %s", id)
		require.Equal(t, st, got.Status, "check %s: %s", id, got.Message)
	}
}

// TestCheckAllGood: the seed workflow, connected, with the webhook
// installed: every check passes (KGO 1.4 reports no KonnectExtension
// status, so that one is skipped), exit code 0.
func TestCheckAllGood(t *testing.T) {
	for _, p := range testenv.Profiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server
			env := testenv.SharedWithWebhook(t, p)
			ns := env.Namespace(t)
			seedForCheck(t, env, ns, checkSetup{connected: true})
			rep := checkBoth(t, env, ns, "all-good."+string(p), 0)
			require.Zero(t, rep.Summary.Fail+rep.Summary.Warn, "all good means no failure and no warning")
			requireStatus(t, rep, map[string]check.Status{
				check.IDDataPlaneConnected: check.Pass, check.IDWebhookDryRun: check.Pass, check.IDExtensionTarget: check.Pass,
			})
		})
	}
}

// TestCheckWebhookMissing: the same workflow on a cluster without the
// webhook: the webhook checks warn, the rest passes, exit code 0.
func TestCheckWebhookMissing(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		seedForCheck(t, env, ns, checkSetup{connected: true})
		rep := checkBoth(t, env, ns, "webhook-missing."+string(p), 0)
		requireStatus(t, rep, map[string]check.Status{
			check.IDWebhookInstalled: check.Warn, check.IDWebhookDryRun: check.Skip, check.IDDataPlaneConnected: check.Pass,
		})
		require.Equal(t, 1, rep.Summary.Warn)
	})
}

// TestCheckNeverConnected: everything is in order and the DataPlane is
// Ready, but the data plane never reached Konnect: the trap the check
// exists for. Exit code 1.
func TestCheckNeverConnected(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		seedForCheck(t, env, ns, checkSetup{disconnect: true})
		rep := checkBoth(t, env, ns, "never-connected."+string(p), 1)
		requireStatus(t, rep, map[string]check.Status{
			check.IDDataPlaneReady: check.Pass, check.IDCertificateRegistered: check.Pass, check.IDDataPlaneConnected: check.Fail,
		})
		require.Equal(t, 1, rep.Summary.Fail)
	})
}

// TestCheckStaleLastPing: the data plane connected once, then stopped
// pinging 10 minutes ago.
func TestCheckStaleLastPing(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		s := seedForCheck(t, env, ns, checkSetup{connected: true})
		env.StandIn.Disconnect(ns, "dp")
		n := env.Konnect.Nodes(s.cpID)[0]
		n.LastPing = time.Now().Add(-10 * time.Minute)
		env.Konnect.RegisterNode(s.cpID, n)

		rep := checkBoth(t, env, ns, "stale-last-ping."+string(p), 1, "--max-ping-age", "2m")
		requireStatus(t, rep, map[string]check.Status{check.IDDataPlaneConnected: check.Fail})
		got, _ := rep.Find(check.IDDataPlaneConnected)
		require.Contains(t, got.Message, "dp-0 last pinged 10m ago")
		// A generous --max-ping-age accepts the same node.
		_, _, code := runCheck(t, env, ns, "--max-ping-age", "1h")
		require.Equal(t, 0, code)
	})
}

// TestCheckCertificateNotRegistered: the data plane's certificate is not
// the one registered on the control plane, so Konnect refuses it.
func TestCheckCertificateNotRegistered(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		seedForCheck(t, env, ns, checkSetup{unregistered: true})
		rep := checkBoth(t, env, ns, "certificate-not-registered."+string(p), 1)
		requireStatus(t, rep, map[string]check.Status{
			check.IDCertificateSecret: check.Pass, check.IDCertificateRegistered: check.Fail, check.IDDataPlaneConnected: check.Fail,
		})
	})
}

// TestCheckExtensionPointsAtAnotherControlPlane: the KonnectExtension names
// another Konnect control plane (KGO 1.4: its endpoint prefix; KGO 1.6: its
// ID; kong-operator 2.x, which takes konnectNamespacedRef only: a Mirror of
// it), where the certificate is not registered.
func TestCheckExtensionPointsAtAnotherControlPlane(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		other := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "other-" + ns})
		ext := func(p testenv.Profile, ns string) []obj {
			switch p {
			case testenv.KGO14:
				return []obj{extension(p, other.ControlPlaneEndpoint)}
			case testenv.KO20, testenv.KO22, testenv.KO23:
				mirror := kgoapi.NewMirrorControlPlane(kgoapi.V1Alpha2, "", "other-"+ns, other.ID, "konnect-auth")
				ext := extension(p, "")
				ext["spec"].(obj)["konnect"] = obj{"controlPlane": obj{"ref": cpRef("other-" + ns)}}
				return []obj{mirror.Object, ext}
			}
			return []obj{{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectExtension", "metadata": meta("konnect-ext"),
				"spec": obj{
					"konnect": obj{
						"controlPlane":  obj{"ref": obj{"type": "konnectID", "konnectID": other.ID}},
						"configuration": obj{"authRef": obj{"name": "konnect-auth"}},
					},
					"clientAuth": obj{"certificateSecret": obj{"provisioning": "Manual", "secretRef": obj{"name": "dp-tls"}}},
				}}}
		}
		seedForCheck(t, env, ns, checkSetup{extension: ext})
		var args []string
		if p.KongOperator2() {
			// Two control planes: the one the data plane should use is named.
			args = []string{"--control-plane", "gateway-cp"}
		}
		rep := checkBoth(t, env, ns, "extension-other-control-plane."+string(p), 1, args...)
		requireStatus(t, rep, map[string]check.Status{check.IDExtensionTarget: check.Fail, check.IDDataPlaneConnected: check.Fail})
		got, _ := rep.Find(check.IDExtensionTarget)
		require.Contains(t, got.Message, "other-"+ns)
	})
}

// TestCheckDataPlaneNamesTheIgnoredGroup: the KonnectExtension is right,
// but the DataPlane names it without a group, which defaults to
// gateway-operator.konghq.com: KGO >= 1.5 ignores that group, kong-operator
// 2.x does not even serve it. The DataPlane is Ready and never connects;
// the check names the group to set. (On KGO 1.4 the default group is the
// right one, and the API server refuses a DataPlane that names the
// konnect.konghq.com one: the slip cannot be made there.)
func TestCheckDataPlaneNamesTheIgnoredGroup(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		dp := func(p testenv.Profile) obj {
			d := dataPlane(p)
			ref := d["spec"].(obj)["extensions"].([]any)[0].(obj)
			if p == testenv.KGO14 {
				ref["group"] = "konnect.konghq.com"
			} else {
				delete(ref, "group")
			}
			return d
		}
		if p == testenv.KGO14 {
			_, stderr, err := env.Kubectl(context.Background(), manifest(t, dp(p)), "apply", "-n", ns, "-f", "-")
			require.Error(t, err)
			require.Contains(t, stderr, `The DataPlane "dp" is invalid`)
			require.Contains(t, stderr, "Extension not allowed for DataPlane")
			return
		}
		seedForCheck(t, env, ns, checkSetup{dataPlane: dp})
		rep := checkBoth(t, env, ns, "dataplane-ignored-group."+string(p), 1)
		requireStatus(t, rep, map[string]check.Status{
			check.IDExtensionFound: check.Fail, check.IDDataPlaneReady: check.Pass, check.IDDataPlaneConnected: check.Fail,
		})
		got, _ := rep.Find(check.IDExtensionFound)
		require.Contains(t, got.Message, "of group gateway-operator.konghq.com")
		require.Contains(t, got.Hint, "Set group: konnect.konghq.com in spec.extensions of DataPlane dp, where konnect.konghq.com/"+
			konnectVersion(p)+" KonnectExtension konnect-ext exists")
	})
}

// TestCheckTokenRevoked: the token was revoked in Konnect after the setup
// worked. Checks that need Konnect are skipped, not failed twice. (With
// the webhook, as TestCheckThroughKubectl, which shares the golden files.)
func TestCheckTokenRevoked(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.SharedWithWebhook(t, p)
		ns := env.Namespace(t)
		token := env.Konnect.IssueToken()
		seedForCheck(t, env, ns, checkSetup{token: token, connected: true})
		env.Konnect.RevokeToken(token)
		rep := checkBoth(t, env, ns, "token-revoked."+string(p), 1)
		requireStatus(t, rep, map[string]check.Status{
			check.IDAuthToken: check.Pass, check.IDAuthTokenValid: check.Fail,
			check.IDControlPlaneEndpoint: check.Skip, check.IDDataPlaneConnected: check.Skip,
		})
		js, _, _ := runCheck(t, env, ns, "-o", "json")
		require.NotContains(t, js, token, "the token must never be printed")
	})
}

// buildCheckPlugin is the plugin built once for the test binary.
func buildCheckPlugin(t *testing.T) string { return testenv.PluginDir(t) }

// kubectlKonnectCheck runs `kubectl konnect check` through the real kubectl
// and the built plugin; Konnect calls reach the fake through
// env.PluginEnv (KUBECTL_KONNECT_CONNECT_TO, KUBECTL_KONNECT_CA_FILE).
func kubectlKonnectCheck(t *testing.T, env *testenv.Env, dir, ns string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"konnect", "check", "-n", ns, "--renew-before", checkRenewBefore}, args...)...)
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "KUBECONFIG="), strings.HasPrefix(kv, "KUBECTL_KONNECT_"), strings.HasPrefix(kv, "KONNECT_"):
		case strings.HasPrefix(kv, "PATH="):
			cmd.Env = append(cmd.Env, "PATH="+dir+string(os.PathListSeparator)+strings.TrimPrefix(kv, "PATH="))
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env.PluginEnv()...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &ee):
		return out.String(), errOut.String(), ee.ExitCode()
	}
	t.Fatalf("kubectl konnect check: %v", err)
	return "", "", -1
}

// TestCheckThroughKubectl runs the built plugin through kubectl: right
// after the workflow is applied, `--wait` retries the checks whose state
// settles (programming, connecting) and the output is the all-good golden
// file; then, with the token revoked, the token-revoked golden file, exit
// code 1 in both formats.
func TestCheckThroughKubectl(t *testing.T) {
	dir := buildCheckPlugin(t)
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.SharedWithWebhook(t, p)
		ns := env.Namespace(t)
		token := env.Konnect.IssueToken()
		crt, key := checkPair(t, "dp", 365*24*time.Hour)
		objs := seedBaseFor(p, token, "check-"+ns, "", crt, key)[:5]
		env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
		// From KGO 1.5 on the extension refers to the control plane by name,
		// so everything is applied at once; KGO 1.4's needs the endpoint,
		// which is known once the control plane is programmed.
		endpoint := ""
		if p == testenv.KGO14 {
			env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			kcp, ok := env.Konnect.ControlPlaneByName("check-" + ns)
			require.True(t, ok)
			endpoint = kcp.ControlPlaneEndpoint
		}
		env.MustKubectl(t, manifest(t, extension(p, endpoint), dataPlane(p)), "apply", "-n", ns, "-f", "-")

		out, stderr, code := kubectlKonnectCheck(t, env, dir, ns, "--wait", "90s")
		require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, stderr)
		require.NotContains(t, out, token)
		golden(t, "all-good."+string(p)+".txt", normalizeCheck(out, ns))
		out, stderr, code = kubectlKonnectCheck(t, env, dir, ns, "-o", "json")
		require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, stderr)
		golden(t, "all-good."+string(p)+".json", normalizeCheck(out, ns))

		env.Konnect.RevokeToken(token)
		for _, format := range []string{"table", "json"} {
			out, stderr, code := kubectlKonnectCheck(t, env, dir, ns, "-o", format)
			require.Equal(t, 1, code, "-o %s\nstdout: %s\nstderr: %s", format, out, stderr)
			require.Contains(t, stderr, "checks failed", "-o %s", format)
			require.NotContains(t, out+stderr, token)
			ext := map[string]string{"table": ".txt", "json": ".json"}[format]
			golden(t, "token-revoked."+string(p)+ext, normalizeCheck(out, ns))
		}
	})
}

// TestCheckCertificateExpiringSoon: a data plane certificate that expires
// within --renew-before warns, and warnings exit 0.
func TestCheckCertificateExpiringSoon(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		seedForCheck(t, env, ns, checkSetup{validity: 48 * time.Hour, connected: true})
		rep := checkBoth(t, env, ns, "certificate-expiring."+string(p), 0)
		requireStatus(t, rep, map[string]check.Status{check.IDCertificateExpiry: check.Warn, check.IDDataPlaneConnected: check.Pass})
	})
}

// TestCheckDataPlaneSelection: with two DataPlanes, the check asks for
// --dataplane instead of guessing, and checks the one it is given.
func TestCheckDataPlaneSelection(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		seedForCheck(t, env, ns, checkSetup{connected: true})
		other := dataPlane(env.Profile)
		other["metadata"] = meta("dp-unconnected")
		env.StandIn.Disconnect(ns, "dp-unconnected")
		env.MustKubectl(t, manifest(t, other), "apply", "-n", ns, "-f", "-")
		env.WaitFor(t, testenv.GVKDataPlane, ns, "dp-unconnected", waitTimeout, testenv.HasCondition("Ready", "True"))

		for _, format := range []string{"table", "json"} {
			out, _, code := runCheck(t, env, ns, "-o", format)
			require.Equal(t, 1, code, out)
			require.Contains(t, out, "2 DataPlanes in namespace "+ns+" (dp, dp-unconnected)")
			require.Contains(t, out, "Pick one with --dataplane NAME.")
		}
		out, _, code := runCheck(t, env, ns, "--dataplane", "dp")
		require.Equal(t, 0, code, out)
		require.Contains(t, out, "Namespace "+ns+", DataPlane dp,")
		out, _, code = runCheck(t, env, ns, "--dataplane", "dp-unconnected", "-o", "json")
		require.Equal(t, 1, code, out)
		var rep check.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		requireStatus(t, &rep, map[string]check.Status{check.IDDataPlaneFound: check.Pass, check.IDDataPlaneConnected: check.Fail})
		out, _, code = runCheck(t, env, ns, "--dataplane", "nope")
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "DataPlane nope not found in namespace "+ns)
	})
}

// TestCheckMirrorControlPlane: the control plane was made in Konnect, and a
// Mirror KonnectGatewayControlPlane (spec.source Mirror, KGO >= 1.5 and
// kong-operator 2.x; KGO 1.4's CRDs have no Mirror) brings it into the
// cluster; the data plane attaches to the mirror and connects. Every check
// passes, the control plane is named as the mirror of its Konnect ID.
func TestCheckMirrorControlPlane(t *testing.T) {
	for _, p := range []testenv.Profile{testenv.KGO16, testenv.KO20} {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			kcp := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "made-in-konnect-" + ns})
			crt, key := checkPair(t, "dp", 365*24*time.Hour)
			base := seedBaseFor(p, env.Token, "unused", "", crt, key)
			version := kgoapi.V1Alpha1
			if p.KongOperator2() {
				version = kgoapi.V1Alpha2
			}
			mirror := kgoapi.NewMirrorControlPlane(version, "", "gateway-cp", kcp.ID, "konnect-auth").Object
			// token Secret, auth, the mirror, registration, TLS Secret.
			env.MustKubectl(t, manifest(t, base[0], base[1], mirror, base[3], base[4]), "apply", "-n", ns, "-f", "-")
			env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
			env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, "dp-cert", waitTimeout, testenv.HasCondition("Programmed", "True"))
			env.MustKubectl(t, manifest(t, extension(p, ""), dataPlane(p)), "apply", "-n", ns, "-f", "-")
			env.WaitFor(t, testenv.GVKKonnectExtension, ns, "konnect-ext", waitTimeout, testenv.HasCondition("Ready", "True"))
			env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
			require.Eventually(t, func() bool { return len(env.Konnect.Nodes(kcp.ID)) == 1 }, waitTimeout, 100*time.Millisecond,
				"the data plane never connected to Konnect")

			rep := checkBoth(t, env, ns, "mirror."+string(p), 0)
			require.Zero(t, rep.Summary.Fail)
			require.Equal(t, 1, rep.Summary.Warn, "only the webhook, which is not installed here")
			requireStatus(t, rep, map[string]check.Status{
				check.IDControlPlaneFound: check.Pass, check.IDExtensionTarget: check.Pass, check.IDCertificateRegistered: check.Pass,
				check.IDDataPlaneConnected: check.Pass, check.IDWebhookInstalled: check.Warn,
			})
			got, _ := rep.Find(check.IDControlPlaneFound)
			require.Equal(t, "gateway-cp (konnect.konghq.com/"+version+", mirror of Konnect control plane "+kcp.ID+", KonnectAPIAuthConfiguration konnect-auth)", got.Message)
		})
	}
}
