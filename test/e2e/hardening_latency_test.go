package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubectl-konnect/kubectl-konnect/hack/webhook-rss/fixture"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The latency the webhook may add (issue 8): at most 1.2x to kubectl
// apply, and at most 2 ms to the API call itself.
const (
	hardMaxApplyRatio = 1.2
	hardMaxAddedAPI   = 2 * time.Millisecond
)

var gvrKongService = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongservices"}

// TestHardeningApplyLatency measures what the webhook adds to applying a
// KongService: on one API server (its own, with the webhook of
// config/base served in-process), the ValidatingWebhookConfiguration is
// deleted and re-created between phases, the arms in balanced orders, so
// that drift in the machine's load falls on all of them.
// Each phase applies distinct KongServices on an existing control plane,
// each both with the real kubectl (client-side apply, a new process each
// time) and with a server-side apply through client-go, which is the
// API-level figure: kubectl's own start-up dominates its wall time. Before
// a phase is measured, a server-side dry run of a KongService on a KIC
// control plane proves the webhook is (or is not) being called.
//
// Two floors share the configuration (rules, matchConditions, failure
// policy) with ours, pointed elsewhere: a controller-runtime webhook that
// admits everything, served as ours is (hack/webhook-rss/fixture: same TLS
// options, same handler plumbing), and a bare net/http one that reads the
// review's uid and answers (fixture.StartBare). The bare one is what any
// webhook costs on this API server and machine: the API server's call.
//
// Each profile runs twice: on envtest's etcd, which does not sync its log
// to disk, and on etcd as a real install runs it (testenv.DurableEtcd).
//
// Asserted: the kubectl ratio (the target, 1.2x) and the absolute
// time added to the API call (2 ms). The API-level ratio is reported, not
// asserted: its base is 3-5 ms (envtest's etcd on loopback), so a
// sub-millisecond webhook call, stretched by CPU contention on a shared
// machine, moves it around 1.2x (docs/HARDENING.md).
func TestHardeningApplyLatency(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		for _, e := range []struct {
			name    string
			durable bool
		}{{"envtest-etcd", false}, {"durable-etcd", true}} {
			t.Run(string(p)+"/"+e.name, func(t *testing.T) { applyLatency(t, p, e.durable) })
		}
	}
}

func applyLatency(t *testing.T, p testenv.Profile, durableEtcd bool) {
	ctx := context.Background()
	start := time.Now()
	env, err := testenv.New(ctx, p, testenv.Options{WithWebhook: true, NoStandIn: true, DurableEtcd: durableEtcd})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	t.Logf("API server %s with the webhook up in %s", env.ServerVersion, time.Since(start).Round(time.Millisecond))
	ns := env.Namespace(t)
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)

	for _, cp := range []struct{ name, clusterType string }{{"cp", ""}, {"kic", rules.ClusterTypeKIC}} {
		u := &unstructured.Unstructured{Object: controlPlane(p, cp.name, ns+"-"+cp.name, cp.clusterType)}
		u.SetNamespace(ns)
		require.NoError(t, env.Client.Create(ctx, u))
		env.WaitForWebhookCache(t, rules.GKKonnectGatewayControlPlane, ns, cp.name)
	}

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "kubectl-konnect-webhook"}, vwc))
	saved := vwc.DeepCopy()
	saved.ObjectMeta = metav1.ObjectMeta{Name: vwc.Name, Labels: vwc.Labels, Annotations: vwc.Annotations}

	// probe: is the webhook called? A dry-run KongService on the KIC
	// control plane is denied by it, and only by it.
	probe := func() bool {
		u := &unstructured.Unstructured{Object: hardKongService(ns, "probe", "kic")}
		_, err := dyn.Resource(gvrKongService).Namespace(ns).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && !apierrors.IsInvalid(err) {
			t.Fatalf("probe: %v", err)
		}
		return err != nil
	}
	floor, err := fixture.StartValidator(floorValidator{}, t.TempDir(), 1)
	require.NoError(t, err)
	t.Cleanup(floor.Stop)
	bare, err := fixture.StartBare("probe")
	require.NoError(t, err)
	t.Cleanup(bare.Stop)
	pointedAt := func(s *fixture.Server) *admissionregistrationv1.ValidatingWebhookConfiguration {
		c := saved.DeepCopy()
		for i := range c.Webhooks {
			c.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &s.URL, CABundle: s.CAPEM}
		}
		return c
	}
	configurations := map[string]*admissionregistrationv1.ValidatingWebhookConfiguration{
		armWebhook: saved, armFloor: pointedAt(floor), armBare: pointedAt(bare),
	}

	var switches []time.Duration
	state := armWebhook
	setArm := func(want string) {
		t.Helper()
		if state != armNone {
			require.NoError(t, env.Client.Delete(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: saved.Name}}))
			t0 := time.Now()
			require.Eventually(t, func() bool { return !probe() }, 30*time.Second, 20*time.Millisecond,
				"the API server did not stop calling the %s within 30 s", state)
			switches = append(switches, time.Since(t0))
		}
		if want != armNone {
			require.NoError(t, env.Client.Create(ctx, configurations[want].DeepCopy()))
			t0 := time.Now()
			require.Eventually(t, probe, 30*time.Second, 20*time.Millisecond,
				"the API server did not start calling the %s within 30 s", want)
			switches = append(switches, time.Since(t0))
		}
		state = want
	}
	require.True(t, probe(), "the webhook must be registered at start")

	n := 0
	applyKubectl := func() time.Duration {
		n++
		m := manifest(t, hardKongService(ns, fmt.Sprintf("svc-k-%d", n), "cp"))
		t0 := time.Now()
		_, errOut, err := env.Kubectl(ctx, m, "apply", "-n", ns, "-f", "-")
		d := time.Since(t0)
		require.NoError(t, err, errOut)
		require.NotContains(t, errOut, "Warning", "a valid KongService passes with no warning")
		return d
	}
	applySSA := func() time.Duration {
		n++
		name := fmt.Sprintf("svc-a-%d", n)
		u := &unstructured.Unstructured{Object: hardKongService(ns, name, "cp")}
		t0 := time.Now()
		_, err := dyn.Resource(gvrKongService).Namespace(ns).Apply(ctx, name, u, metav1.ApplyOptions{FieldManager: "hardening", Force: true})
		d := time.Since(t0)
		require.NoError(t, err)
		return d
	}
	// Warm up: kubectl's discovery cache, connections, code paths.
	applyKubectl()
	for range 10 {
		applySSA()
	}

	// A balanced Latin square of the four arms and its mirror: each arm
	// stands in each place twice and follows each other arm equally often,
	// so that drift in the machine's load falls on all.
	arms := []string{armWebhook, armFloor, armBare, armNone}
	var orders [][]string
	for _, row := range [][]int{{0, 1, 3, 2}, {1, 2, 0, 3}, {2, 3, 1, 0}, {3, 0, 2, 1}} {
		order := make([]string, len(row))
		for i, a := range row {
			order[i] = arms[a]
		}
		mirror := slices.Clone(order)
		slices.Reverse(mirror)
		orders = append(orders, order, mirror)
	}
	const kubectlPerPhase, ssaPerKubectl = 4, 10 // 8 phases an arm: 320 server-side applies, 32 kubectl
	lat := map[string]map[string][]time.Duration{armWebhook: {}, armFloor: {}, armBare: {}, armNone: {}}
	for _, order := range orders {
		for _, want := range order {
			if want != state {
				setArm(want)
			}
			applySSA() // the API server's first call after a switch opens a connection
			for range kubectlPerPhase {
				lat[state]["kubectl"] = append(lat[state]["kubectl"], applyKubectl())
				for range ssaPerKubectl {
					lat[state]["ssa"] = append(lat[state]["ssa"], applySSA())
				}
			}
		}
	}
	if state != armWebhook {
		setArm(armWebhook)
	}

	etcdKind := "envtest's etcd (no fsync)"
	if durableEtcd {
		etcdKind = "durable etcd (fsync, as a real install)"
	}
	t.Logf("HARDENING apply on %s", etcdKind)
	for _, kind := range []string{"ssa", "kubectl"} {
		with, without := hardSummarize(lat[armWebhook][kind]), hardSummarize(lat[armNone][kind])
		ratio := float64(with.median) / float64(without.median)
		added := with.median - without.median
		for _, arm := range arms {
			t.Logf("HARDENING apply %-7s %-18s %s", kind, arm+":", hardSummarize(lat[arm][kind]))
		}
		t.Logf("HARDENING apply %-7s ratio of medians %.3f, of means %.3f, of p90 %.3f (added %.2f ms at the median)", kind, ratio,
			float64(with.mean)/float64(without.mean), float64(with.p90)/float64(without.p90), float64(added)/1e6)
		for _, floorArm := range []string{armFloor, armBare} {
			f := hardSummarize(lat[floorArm][kind])
			t.Logf("HARDENING apply %-7s %s/none: ratio of medians %.3f (added %.2f ms); webhook/%s: %.3f", kind, floorArm,
				float64(f.median)/float64(without.median), float64(f.median-without.median)/1e6, floorArm, float64(with.median)/float64(f.median))
		}
		switch {
		case kind == "kubectl" && ratio > hardMaxApplyRatio:
			t.Errorf("kubectl apply is %.2fx slower with the webhook at the median, want <= %.1fx", ratio, hardMaxApplyRatio)
		case kind == "ssa" && added > hardMaxAddedAPI:
			t.Errorf("the webhook adds %s to an API-level apply at the median, want <= %s", added, hardMaxAddedAPI)
		}
	}
	t.Logf("HARDENING webhook handler time (controller-runtime histogram): %s", hardHandlerHistogram(t))
	t.Logf("HARDENING registering/removing the configuration took effect in %s; load average %s", hardSummarize(switches), hardLoadAvg())
}

// The four arms of the apply-latency measurement.
const (
	armWebhook = "webhook"
	armFloor   = "admit-all webhook"
	armBare    = "bare webhook"
	armNone    = "no webhook"
)

// floorValidator admits everything but the measurement's probe, which it
// refuses as ours does (422 Invalid), so that one probe tells whether the
// API server calls the configuration, whichever server it points at.
type floorValidator struct{ fixture.AdmitAll }

func (floorValidator) ValidateCreate(_ context.Context, u *unstructured.Unstructured) (admission.Warnings, error) {
	if u.GetName() == "probe" {
		return nil, apierrors.NewInvalid(u.GroupVersionKind().GroupKind(), u.GetName(), field.ErrorList{field.Forbidden(field.NewPath("metadata", "name"), "the latency probe")})
	}
	return nil, nil
}

// hardHandlerHistogram summarizes controller-runtime's admission latency
// histogram (decade buckets) of this process's webhook.
func hardHandlerHistogram(t *testing.T) string {
	t.Helper()
	mfs, err := ctrlmetrics.Registry.Gather()
	require.NoError(t, err)
	var bounds []float64
	var counts []uint64
	var total uint64
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_webhook_latency_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for i, b := range m.GetHistogram().GetBucket() {
				if len(bounds) <= i {
					bounds, counts = append(bounds, b.GetUpperBound()), append(counts, 0)
				}
				counts[i] += b.GetCumulativeCount()
			}
			total += m.GetHistogram().GetSampleCount()
		}
	}
	if total == 0 {
		return "no samples"
	}
	var parts []string
	for i, b := range bounds {
		if b >= 1e-5 && b <= 1.1 {
			parts = append(parts, fmt.Sprintf("<=%s %.1f%%", time.Duration(math.Round(b*float64(time.Second))), 100*float64(counts[i])/float64(total)))
		}
	}
	return fmt.Sprintf("%d requests; %s", total, strings.Join(parts, ", "))
}

// hardLoadAvg is the machine's 1-minute load average.
func hardLoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Fields(string(b))[0]
}
