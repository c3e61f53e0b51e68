package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestWebhookMatchConditions proves on a real kube-apiserver that the
// matchConditions of config/base (pkg/webhook.MatchConditions) keep the API
// server from calling the webhook for updates that change nothing the rules
// read (finalizers, labels, annotations; anything on an object being
// deleted), and that it still calls it for creates and for changes of
// spec, or of a KongConsumer's top-level consumerGroups. Then it counts the
// calls that one `kubectl konnect init` and the KGO stand-in's
// reconciliation cause, with the conditions and without them.
//
// Calls are counted on the webhook's side (testenv.WebhookCalls, before the
// handler). An admission call is synchronous, so once a write has returned
// the call it caused has been counted.
func TestWebhookMatchConditions(t *testing.T) {
	ctx := context.Background()
	calls := &testenv.WebhookCalls{}
	env, err := testenv.New(ctx, testenv.KGO16, testenv.Options{WithWebhook: true, WebhookCalls: calls})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ns := env.Namespace(t)

	obj := func(gvk, name string, body map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: body}
		u.SetAPIVersion(gvk)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	patch := func(u *unstructured.Unstructured, p string) {
		t.Helper()
		target := &unstructured.Unstructured{}
		target.SetGroupVersionKind(u.GroupVersionKind())
		target.SetNamespace(u.GetNamespace())
		target.SetName(u.GetName())
		require.NoError(t, env.Client.Patch(ctx, target, client.RawPatch(types.MergePatchType, []byte(p))), "patch %s", p)
	}
	count := func(u *unstructured.Unstructured) int { return len(calls.Of(u.GetKind(), ns, u.GetName())) }

	// The configuration takes effect shortly after the API server starts:
	// wait until a create reaches the webhook.
	kongService := func(name string) *unstructured.Unstructured {
		return obj("configuration.konghq.com/v1alpha1", name, map[string]any{"kind": "KongService", "spec": map[string]any{
			"host": "orders.internal", "port": int64(8080),
			"controlPlaneRef": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": "no-such-cp"}},
		}})
	}
	var warmErr error
	require.Eventually(t, func() bool {
		warm := kongService("warm-up")
		warmErr = env.Client.Create(ctx, warm, client.DryRunAll)
		return count(warm) > 0
	}, 30*time.Second, 50*time.Millisecond, "the API server never called the webhook (last dry run: %v)", &warmErr)

	svc := kongService("probe")
	require.NoError(t, env.Client.Create(ctx, svc))
	require.Equal(t, 1, count(svc), "a create reaches the webhook")

	for _, skipped := range []struct{ what, patch string }{
		{"a finalizer added", `{"metadata":{"finalizers":["example.com/hold"]}}`},
		{"an annotation", `{"metadata":{"annotations":{"example.com/note":"x"}}}`},
		{"a label", `{"metadata":{"labels":{"team":"orders"}}}`},
	} {
		patch(svc, skipped.patch)
		require.Equal(t, 1, count(svc), "an update that changes only %s must not reach the webhook", skipped.what)
	}
	patch(svc, `{"spec":{"port":9090}}`)
	// The API server admits a patch again each time it retries it after a
	// conflict (the stand-in writes this KongService's status meanwhile),
	// so a spec change may be counted more than once.
	afterSpec := count(svc)
	require.GreaterOrEqual(t, afterSpec, 2, "a spec change reaches the webhook")
	// Deleting: the API server sets deletionTimestamp (no UPDATE is
	// admitted for that, and DELETE is not registered); the finalizer's
	// removal is an update of an object being deleted.
	require.NoError(t, env.Client.Delete(ctx, svc))
	patch(svc, `{"metadata":{"finalizers":null}}`)
	require.Equal(t, afterSpec, count(svc), "removing the last finalizer of an object being deleted must not reach the webhook")

	// A kind whose rules read a top-level field besides spec.
	consumer := obj("configuration.konghq.com/v1", "buyer", map[string]any{"kind": "KongConsumer", "username": "buyer"})
	require.NoError(t, env.Client.Create(ctx, consumer))
	patch(consumer, `{"metadata":{"labels":{"tier":"gold"}}}`)
	require.Equal(t, 1, count(consumer), "a label change of a KongConsumer must not reach the webhook")
	patch(consumer, `{"consumerGroups":["gold"]}`)
	require.GreaterOrEqual(t, count(consumer), 2, "a change of a KongConsumer's consumerGroups reaches the webhook")

	// The calls of `kubectl konnect init` and the stand-in's
	// reconciliation, until the data plane is connected and the calls have
	// stopped for 3 s.
	cli := initCLI{env: env, binDir: initPluginDir(t)}
	initCalls := func(ns string) []testenv.WebhookCall {
		t.Helper()
		name := "calls-" + ns
		cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us")
		initWaitConnected(t, env, initCPID(t, env, ns, name))
		n, still := -1, time.Now()
		for time.Since(still) < 3*time.Second {
			if c := len(calls.In(ns)); c != n {
				n, still = c, time.Now()
			}
			time.Sleep(100 * time.Millisecond)
		}
		return calls.In(ns)
	}
	withConditions := initCalls(env.Namespace(t))

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "kubectl-konnect-webhook"}, vwc))
	require.NotEmpty(t, vwc.Webhooks[0].MatchConditions, "config/base registers matchConditions")
	vwc.Webhooks[0].MatchConditions = nil
	require.NoError(t, env.Client.Update(ctx, vwc))
	// Until the API server has the new configuration, a label change is
	// still skipped.
	before := count(consumer)
	i := 0
	require.Eventually(t, func() bool {
		i++
		patch(consumer, `{"metadata":{"labels":{"probe":"`+time.Now().Format("150405.000000")+`"}}}`)
		return count(consumer) > before
	}, 30*time.Second, 50*time.Millisecond, "without matchConditions a label change must reach the webhook")
	withoutConditions := initCalls(env.Namespace(t))

	t.Logf("MATCHCONDITIONS init + reconciliation, with the conditions: %d webhook calls (%s)", len(withConditions), testenv.Summary(withConditions))
	t.Logf("MATCHCONDITIONS init + reconciliation, without them:        %d webhook calls (%s)", len(withoutConditions), testenv.Summary(withoutConditions))
	require.Less(t, len(withConditions), len(withoutConditions), "the conditions must spare the webhook some calls")
}
