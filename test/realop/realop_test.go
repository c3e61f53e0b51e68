// Package realop runs kubectl-konnect against the real operators, Kong Gateway Operator 1.6.2 and
// kong-operator 2.1.9 built from ../shared/operators (make operators), on a real API server, with
// the Konnect simulator reached at Konnect's own host names (hack/netns-exec.sh). Where the real
// operator runs, it decides what is correct.
package realop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(testenv.RunInKonnectNetns(func() int { return testenv.RunMain(m) }))
}

// realGround starts a test ground running the profile's real operator; one at a time, as the
// simulator holds 127.0.0.1:443.
func realGround(t *testing.T, p testenv.Profile) *testenv.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env, err := testenv.New(ctx, p, testenv.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", lastLines(env.OperatorLog(), 60))
		}
		_ = env.Stop()
	})
	return env
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "operator log, last lines:\n" + strings.Join(lines, "\n")
}

// konnect runs `kubectl konnect ARGS` through the real kubectl with the plugin first on PATH.
func konnect(t *testing.T, env *testenv.Env, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	return env.Kubectl(ctx, stdin, append([]string{"konnect"}, args...)...)
}

// withPlugin puts the built plugin first on PATH for every kubectl this binary runs.
func withPlugin(t *testing.T) {
	t.Helper()
	dir := testenv.PluginDir(t)
	if !strings.HasPrefix(os.Getenv("PATH"), dir+string(os.PathListSeparator)) {
		t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
}

// waitDeployment waits for the Deployment the operator makes for DataPlane dp ("" for any), with the
// env of its proxy container.
func waitDeployment(t *testing.T, env *testenv.Env, ns, dp string, within time.Duration) (*appsv1.Deployment, map[string]string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var list appsv1.DeploymentList
		require.NoError(t, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
		for i := range list.Items {
			d := &list.Items[i]
			if dp != "" && !ownedBy(d.OwnerReferences, "DataPlane", dp) {
				continue
			}
			vars := proxyEnv(d)
			if vars["KONG_CLUSTER_CONTROL_PLANE"] != "" {
				return d, vars
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Deployment of DataPlane %s/%s with KONG_CLUSTER_CONTROL_PLANE within %s", ns, dp, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ownedBy(refs []metav1.OwnerReference, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name {
			return true
		}
	}
	return false
}

func proxyEnv(d *appsv1.Deployment) map[string]string {
	out := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "proxy" {
			continue
		}
		for _, e := range c.Env {
			out[e.Name] = e.Value
		}
	}
	return out
}

// pluginWrites are the writes the plugin sent Konnect after the first from requests.
func pluginWrites(env *testenv.Env, from int) []string {
	var w []string
	for _, r := range env.Konnect.Requests()[from:] {
		if r.Method != "GET" && r.Method != "HEAD" && strings.HasPrefix(r.UserAgent, "kubectl-konnect") {
			w = append(w, fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status))
		}
	}
	return w
}

// TestRealInit: on each real operator, init (the DataPlane road) reaches a Deployment with the
// control plane's KONG_CLUSTER_* env, without a hand on the cluster; a re-run writes nothing.
func TestRealInit(t *testing.T) {
	withPlugin(t)
	for _, p := range testenv.RealProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := realGround(t, p)
			ns := "real-init"
			require.NoError(t, env.CreateNamespace(context.Background(), ns))
			name := "real-gw"
			start := time.Now()
			out, errOut, err := konnect(t, env, env.Token+"\n", "init", "-n", ns, "--control-plane", name, "--region", "us", "--token-stdin")
			require.NoError(t, err, "init\nstdout:\n%s\nstderr:\n%s", out, errOut)
			_, vars := waitDeployment(t, env, ns, name, time.Minute)
			t.Logf("init to a Deployment with KONG_CLUSTER_*: %s (load %s)", time.Since(start).Round(10*time.Millisecond), loadAverage())
			kcp, ok := env.Konnect.ControlPlaneByName(name)
			require.True(t, ok, "init created no control plane in Konnect")
			host := strings.TrimPrefix(kcp.ControlPlaneEndpoint, "https://")
			require.Equal(t, host+":443", vars["KONG_CLUSTER_CONTROL_PLANE"])
			require.Equal(t, host, vars["KONG_CLUSTER_SERVER_NAME"])
			require.Equal(t, "data_plane", vars["KONG_ROLE"])
			require.Equal(t, "pki", vars["KONG_CLUSTER_MTLS"])
			t.Logf("data-plane certificates registered on the control plane: %d", len(env.Konnect.DPCertificates(kcp.ID)))
			require.Contains(t, out, "kubectl konnect check -n "+ns)
			require.NotContains(t, out+errOut, env.Token, "the token must never be printed")

			requireCheckPasses(t, env, "check", "-n", ns)

			requireReRunWritesNothing(t, env, "init", "-n", ns, "--control-plane", name)
		})
	}
}

// TestRealInitGateway: on kong-operator 2.1.9, init --gateway (the hybrid Gateway road) reaches a
// Programmed Gateway whose DataPlane Deployment has the control plane's KONG_CLUSTER_* env; a re-run
// writes nothing. The ground plays the kubelet and the load balancer (testenv clusterStandIn), as a
// cluster would.
func TestRealInitGateway(t *testing.T) {
	withPlugin(t)
	env := realGround(t, testenv.KO21Real)
	ns := "real-gateway"
	require.NoError(t, env.CreateNamespace(context.Background(), ns))
	gw := "real-hybrid"
	start := time.Now()
	out, errOut, err := konnect(t, env, env.Token+"\n", "init", "-n", ns, "--gateway", gw, "--region", "us", "--token-stdin")
	require.NoError(t, err, "init --gateway\nstdout:\n%s\nstderr:\n%s", out, errOut)
	_, vars := waitDeployment(t, env, ns, "", time.Minute)
	t.Logf("init --gateway to a Programmed Gateway and a Deployment with KONG_CLUSTER_*: %s (load %s)", time.Since(start).Round(10*time.Millisecond), loadAverage())
	require.Contains(t, out, "Gateway "+ns+"/"+gw+" is Programmed", "stdout:\n%s\nstderr:\n%s", out, errOut)
	kcp, ok := env.Konnect.ControlPlaneByName(gw)
	require.True(t, ok, "kong-operator's control plane exists in Konnect under the Gateway's name (static naming)")
	host := strings.TrimPrefix(kcp.ControlPlaneEndpoint, "https://")
	require.Equal(t, host+":443", vars["KONG_CLUSTER_CONTROL_PLANE"])
	require.NotContains(t, out+errOut, env.Token, "the token must never be printed")

	requireCheckPasses(t, env, "check", "-n", ns, "--gateway", gw)

	requireReRunWritesNothing(t, env, "init", "-n", ns, "--gateway", gw)
}

// requireReRunWritesNothing re-runs init (the token from the Secret the first run stored): nothing is
// written to the cluster or to Konnect, and the simulator saw no spec violation.
func requireReRunWritesNothing(t *testing.T, env *testenv.Env, args ...string) {
	t.Helper()
	reqs := len(env.Konnect.Requests())
	out, errOut, err := konnect(t, env, "", args...)
	require.NoError(t, err, "re-run\nstdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "nothing was written", "re-run\nstdout:\n%s\nstderr:\n%s", out, errOut)
	require.Empty(t, pluginWrites(env, reqs), "a re-run must not write to Konnect")
	require.NoError(t, env.Konnect.ViolationsError())
}

// TestRealOperatorCannotSeeUnlabelledSecrets: kong-operator 2.1.9 reads only Secrets labelled
// konghq.com/secret=true. What it says of a token Secret without the label is what the stand-in
// says; lint (KON1509) and check name the Secret and the label; the command check prints fixes it.
func TestRealOperatorCannotSeeUnlabelledSecrets(t *testing.T) {
	withPlugin(t)
	env := realGround(t, testenv.KO21Real)
	ns := "real-unlabelled"
	ctx := context.Background()
	require.NoError(t, env.CreateNamespace(ctx, ns))
	objs := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: konnect-token, namespace: %[1]s, labels: {konghq.com/credential: konnect}}
stringData: {token: %[2]s}
---
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: konnect-auth, namespace: %[1]s}
spec: {type: secretRef, secretRef: {name: konnect-token}, serverURL: us.api.konghq.com}
---
apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata: {name: cp, namespace: %[1]s}
spec: {createControlPlaneRequest: {name: real-unlabelled}, konnect: {authRef: {name: konnect-auth}}}
`, ns, env.Token)
	env.MustKubectl(t, objs, "apply", "-f", "-")

	auth := env.WaitFor(t, testenv.GVKAuth, ns, "konnect-auth", time.Minute, testenv.HasCondition("APIAuthValid", "False"))
	_, reason, msg := testenv.Condition(auth, "APIAuthValid")
	// The stand-in's text (test/kgostandin getSecret, tokenOf) is the real operator's.
	require.Equal(t, "Invalid", reason)
	require.Equal(t, fmt.Sprintf("failed to get Secret %s/konnect-token: Secret \"konnect-token\" not found", ns), msg)

	out, errOut, err := konnect(t, env, objs, "lint", "--cluster", "-n", ns, "-o", "json", "-f", "-")
	_ = err // lint exits non-zero on findings
	require.Contains(t, out, "KON1509", "lint --cluster\nstdout:\n%s\nstderr:\n%s", out, errOut)

	var found bool
	for _, r := range runCheck(t, env, "check", "-n", ns) {
		if r.ID != "auth-token" {
			continue
		}
		found = true
		require.Equal(t, "fail", r.Status, "%+v", r)
		require.Contains(t, r.Message, "lacks the label konghq.com/secret=true")
		require.Contains(t, r.Message, "APIAuthValid=False Invalid: failed to get Secret")
		require.Contains(t, r.Hint, "kubectl label secret konnect-token -n "+ns+" konghq.com/secret=true")
	}
	require.True(t, found, "check reported no auth-token result")

	// The fix check prints: the operator then sees the Secret and programs the control plane.
	env.MustKubectl(t, "", "label", "secret", "konnect-token", "-n", ns, "konghq.com/secret=true")
	env.WaitFor(t, testenv.GVKAuth, ns, "konnect-auth", time.Minute, testenv.HasCondition("APIAuthValid", "True"))
	env.WaitFor(t, testenv.GVKControlPlane, ns, "cp", time.Minute, testenv.HasCondition("Programmed", "True"))
	require.NoError(t, env.Konnect.ViolationsError())
}

// TestRealOperatorsCallKonnectCalmly: with the objects init writes, each real operator's calls to
// the simulator break no spec rule and name no unknown route, and after its first minute no
// identical request (method, path and query) comes more than 10 times in any minute.
func TestRealOperatorsCallKonnectCalmly(t *testing.T) {
	withPlugin(t)
	const soak = 130 * time.Second
	for _, p := range testenv.RealProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := realGround(t, p)
			ns := "real-calm"
			require.NoError(t, env.CreateNamespace(context.Background(), ns))
			start := time.Now()
			out, errOut, err := konnect(t, env, env.Token+"\n", "init", "-n", ns, "--control-plane", "calm", "--region", "us", "--token-stdin")
			require.NoError(t, err, "init\nstdout:\n%s\nstderr:\n%s", out, errOut)
			time.Sleep(time.Until(start.Add(soak)))
			require.NoError(t, env.Konnect.ViolationsError(), "spec violations or unknown routes")
			worst, key := busiestMinute(env.Konnect.Requests(), start.Add(time.Minute))
			t.Logf("busiest identical operator request after the first minute: %d in a minute (%s)", worst, key)
			require.LessOrEqual(t, worst, 10, "%s repeats %d times in a minute", key, worst)
		})
	}
}

// busiestMinute is the largest number of identical operator requests within any 60 s after from.
func busiestMinute(reqs []konnecttest.RequestRecord, from time.Time) (int, string) {
	byKey := map[string][]time.Time{}
	for _, r := range reqs {
		if r.At.Before(from) || strings.HasPrefix(r.UserAgent, "kubectl-konnect") {
			continue
		}
		k := r.Method + " " + r.Path + "?" + r.Query
		byKey[k] = append(byKey[k], r.At)
	}
	worst, worstKey := 0, "none"
	for k, ts := range byKey {
		lo := 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= time.Minute {
				lo++
			}
			if n := hi - lo + 1; n > worst {
				worst, worstKey = n, k
			}
		}
	}
	return worst, worstKey
}

// checkResult is one result of check -o json.
type checkResult struct{ ID, Status, Message, Hint string }

// runCheck runs kubectl konnect check ARGS -o json and returns its results.
func runCheck(t *testing.T, env *testenv.Env, args ...string) []checkResult {
	t.Helper()
	out, errOut, _ := konnect(t, env, "", append(args, "-o", "json")...)
	var rep struct {
		Categories []struct{ Checks []checkResult }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "check -o json\nstdout:\n%s\nstderr:\n%s", out, errOut)
	var all []checkResult
	for _, c := range rep.Categories {
		all = append(all, c.Checks...)
	}
	return all
}

// groundExemptions are the check results a pass on the real operator may differ by, each for a
// reason of the ground's, not the product's.
var groundExemptions = map[string]struct {
	status, reason string
}{
	// This ground runs the operator without kubectl-konnect's webhook (the webhook suites run it).
	"webhook-installed":   {"warn", "no kubectl-konnect webhook in the real-operator ground"},
	"webhook-serving":     {"skip", "no kubectl-konnect webhook in the real-operator ground"},
	"webhook-certificate": {"skip", "no kubectl-konnect webhook in the real-operator ground"},
	"webhook-dry-run":     {"skip", "no kubectl-konnect webhook in the real-operator ground"},
}

// operatorDuplicate is the warning check gives when the operator itself registered the data
// plane's certificate twice: KGO 1.6.2 and kong-operator 2.1.9 do now and then (their
// KongDataPlaneClientCertificate or KonnectExtension reconciles race), and check is right to say
// so; no write of ours causes it.
func operatorDuplicate(r checkResult) bool {
	return r.ID == "certificate-registered" && r.Status == "warn" && strings.Contains(r.Message, "(an orphaned duplicate registration)")
}

// requireCheckPasses: every check passes on the real operator, with the ground's data plane
// registered as a node (--wait lets the node's first ping arrive), but for groundExemptions and
// the operator's own duplicate registration.
func requireCheckPasses(t *testing.T, env *testenv.Env, args ...string) {
	t.Helper()
	var bad []string
	for _, r := range runCheck(t, env, append(args, "--wait", "60s")...) {
		if ex, ok := groundExemptions[r.ID]; ok && ex.status == r.Status {
			continue
		}
		if operatorDuplicate(r) {
			t.Logf("the operator registered the certificate twice; check says: %s", r.Message)
			continue
		}
		if r.Status != "pass" {
			bad = append(bad, fmt.Sprintf("%s %s: %s (hint: %s)", r.Status, r.ID, r.Message, r.Hint))
		}
	}
	require.Empty(t, bad, "kubectl konnect %s on the real operator", strings.Join(args, " "))
}

// loadAverage is the 1-minute load average, written beside every timing.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
