package e2e

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestHardeningWebhookFollowsTheClusterAfterWatchInterruptions runs the
// webhook (pkg/webhook.NewManager) against the API server through a proxy
// that cuts every connection, as an API server restart or a partition
// does. While cut, control planes are deleted and created; once restored,
// the informers re-list and re-watch, and the webhook's answers must follow
// the cluster: a KongService on a KIC control plane is denied (KON1001)
// exactly when that control plane exists, and the cache holds exactly the
// control planes the API server has, at their resource versions. Then the
// proxy flaps (five cuts of a second, with changes between), and again
// the answers must converge; afterwards, new changes are followed at
// informer speed.
//
// During a cut the webhook answers from what it last saw (stale, never an
// error): that is logged, not asserted.
func TestHardeningWebhookFollowsTheClusterAfterWatchInterruptions(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) { webhookFollowsTheClusterAfterWatchInterruptions(t, p) })
	}
}

func webhookFollowsTheClusterAfterWatchInterruptions(t *testing.T, p testenv.Profile) {
	env := testenv.Shared(t, p)
	ns := env.Namespace(t)
	ctx := context.Background()
	host, err := url.Parse(env.Config.Host)
	require.NoError(t, err)
	proxy := newHardCutProxy(t, host.Host)
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = "https://" + proxy.addr
	wh := startHardWebhook(t, cfg)

	kic := map[string]bool{} // the control planes that exist, KIC or not
	create := func(name string, isKIC bool) {
		t.Helper()
		ct := ""
		if isKIC {
			ct = rules.ClusterTypeKIC
		}
		u := &unstructured.Unstructured{Object: controlPlane(p, name, ns+"-"+name, ct)}
		u.SetNamespace(ns)
		require.NoError(t, env.Client.Create(ctx, u))
		kic[name] = isKIC
	}
	remove := func(name string) {
		t.Helper()
		u := &unstructured.Unstructured{Object: controlPlane(p, name, "", "")}
		u.SetNamespace(ns)
		require.NoError(t, env.Client.Delete(ctx, u))
		delete(kic, name)
	}
	// everAsked: every control plane name a test step used, so that the
	// answers about deleted ones are checked too.
	everAsked := map[string]bool{}
	// mismatches lists the answers that do not follow the cluster, and
	// whether the cache differs from the API server.
	mismatches := func() []string {
		var bad []string
		var names []string
		for n := range everAsked {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := wh.review(t, ns, hardKongService(ns, "svc-on-"+n, n))
			isKIC, exists := kic[n]
			if wantDeny := exists && isKIC; v.has("KON1001") != wantDeny || v.Allowed == wantDeny {
				bad = append(bad, fmt.Sprintf("control plane %s (exists %v, KIC %v): %s", n, exists, isKIC, v))
			}
		}
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(env.Served(testenv.GVKControlPlane).GroupVersion().WithKind("KonnectGatewayControlPlaneList"))
		require.NoError(t, env.Client.List(ctx, l, client.InNamespace(ns)))
		api := map[string]string{}
		for _, u := range l.Items {
			api[u.GetName()] = u.GetResourceVersion()
		}
		cached := map[string]string{}
		for _, u := range wh.cache.List(rules.GKKonnectGatewayControlPlane, ns) {
			cached[u.GetName()] = u.GetResourceVersion()
		}
		if fmt.Sprint(api) != fmt.Sprint(cached) {
			bad = append(bad, fmt.Sprintf("cache %v, API server %v", cached, api))
		}
		return bad
	}
	converge := func(what string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		var last []string
		for time.Since(start) < within {
			if last = mismatches(); len(last) == 0 {
				t.Logf("%s: the webhook follows the cluster after %s", what, time.Since(start).Round(time.Millisecond))
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the webhook does not follow the cluster after %s:\n%s", what, within, strings.Join(last, "\n"))
		return 0
	}
	use := func(names ...string) {
		for _, n := range names {
			everAsked[n] = true
		}
	}

	create("kic-a", true)
	create("hybrid-a", false)
	use("kic-a", "hybrid-a", "kic-b", "hybrid-b", "never")
	converge("before any cut", 15*time.Second)

	// A long cut: 10 s, with changes in the middle.
	proxy.setCut(true)
	remove("kic-a")
	create("kic-b", true)
	create("hybrid-b", false)
	time.Sleep(time.Second)
	t.Logf("during the cut (stale answers expected): %s", strings.Join(mismatches(), "; "))
	time.Sleep(9 * time.Second)
	proxy.setCut(false)
	long := converge("after a 10 s cut", 90*time.Second)

	// Flapping: five cuts of a second, a change in each.
	for i := range 5 {
		proxy.setCut(true)
		name := fmt.Sprintf("kic-flap-%d", i)
		create(name, true)
		use(name)
		if i > 0 {
			remove(fmt.Sprintf("kic-flap-%d", i-1))
		}
		time.Sleep(time.Second)
		proxy.setCut(false)
		time.Sleep(time.Second)
	}
	flap := converge("after five 1 s cuts", 90*time.Second)

	// After the interruptions, changes are followed at informer speed.
	create("kic-after", true)
	use("kic-after")
	remove("kic-b")
	after := converge("a change after the interruptions", 10*time.Second)
	t.Logf("HARDENING watch: converged %s after a 10 s cut, %s after flapping, %s for a later change (%d cuts)",
		long.Round(time.Millisecond), flap.Round(time.Millisecond), after.Round(time.Millisecond), proxy.cuts)
}
