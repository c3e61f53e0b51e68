package e2e

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestInitGatewayRefusedWithoutHybridGateways (issue 16, Must show 3): on a
// release without hybrid Gateways (KGO 1.x, kong-operator 2.0), `init
// --gateway` refuses through kubectl before it calls Konnect or writes
// anything, and says why.
func TestInitGatewayRefusedWithoutHybridGateways(t *testing.T) {
	bin := initPluginDir(t)
	want := map[testenv.Profile]string{
		testenv.KGO14: "KGO 1.4",
		testenv.KGO16: "KGO 1.5/1.6",
		testenv.KO20:  "kong-operator 2.0",
	}
	for _, p := range testenv.Profiles {
		release, ok := want[p]
		if !ok {
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}
			ns := env.Namespace(t)
			reqs := len(env.Konnect.Requests())
			res := cli.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--gateway", "demo", "--region", "us")
			t.Logf("%s", res)
			require.Equal(t, 1, res.code, "%s", res)
			for _, s := range []string{
				"--gateway demo: the cluster serves the CRDs of " + release,
				"needs kong-operator 2.1 or later",
				"Nothing was written",
				"leave --gateway out to connect a DataPlane",
			} {
				require.Contains(t, res.stderr, s)
			}
			require.NotContains(t, res.stdout+res.stderr, env.Token)
			require.Empty(t, initSnapshot(t, env, ns), "nothing may be written")
			require.Equal(t, reqs, len(env.Konnect.Requests()), "no Konnect call before the refusal")
		})
	}
}

var (
	gvkGateway              = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}
	gvkGatewayClass         = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GatewayClass"}
	gvkHTTPRoute            = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	gvkGatewayConfiguration = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v2beta1", Kind: "GatewayConfiguration"}
	gvkControlPlaneV1alpha2 = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha2", Kind: "KonnectGatewayControlPlane"}
)

// gatewayProfiles are the releases with hybrid Gateways in the test ground.
var gatewayProfiles = []testenv.Profile{testenv.KO22, testenv.KO23}

// gatewaySnapshot maps "Kind/name" to the resourceVersion of what init
// --gateway writes: the token Secret, the auth, the GatewayConfiguration,
// the Gateway and the (cluster-wide) GatewayClass.
func gatewaySnapshot(t *testing.T, env *testenv.Env, ns, class string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvk := range []schema.GroupVersionKind{{Version: "v1", Kind: "Secret"}, testenv.GVKAuth, gvkGatewayConfiguration, gvkGateway} {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns)))
		for _, u := range l.Items {
			out[gvk.Kind+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	c, err := env.Get(context.Background(), gvkGatewayClass, "", class)
	require.NoError(t, err)
	out["GatewayClass/"+class] = c.GetResourceVersion()
	return out
}

// settledGatewaySnapshot waits until the stand-in has stopped writing the
// Gateway's status (it counts attached routes now and then).
func settledGatewaySnapshot(t *testing.T, env *testenv.Env, ns, class string) map[string]string {
	t.Helper()
	var last map[string]string
	require.Eventually(t, func() bool {
		now := gatewaySnapshot(t, env, ns, class)
		same := reflect.DeepEqual(now, last)
		last = now
		return same
	}, waitTimeout, 3*time.Second)
	return last
}

// gatewayControlPlaneOf is the KonnectGatewayControlPlane kong-operator
// made for the Gateway: owned by it.
func gatewayControlPlaneOf(t *testing.T, env *testenv.Env, ns string, gw *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvkControlPlaneV1alpha2.GroupVersion().WithKind("KonnectGatewayControlPlaneList"))
	require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns), client.MatchingLabels{"gateway-operator.konghq.com/managed-by": "gateway"}))
	for i := range l.Items {
		for _, ref := range l.Items[i].GetOwnerReferences() {
			if ref.UID == gw.GetUID() {
				return &l.Items[i]
			}
		}
	}
	t.Fatalf("no KonnectGatewayControlPlane owned by Gateway %s/%s", ns, gw.GetName())
	return nil
}

// TestInitGateway (issue 16, Must show 1): `kubectl konnect init --gateway`
// through kubectl on kong-operator 2.2 and 2.3, from an empty namespace to a
// Programmed Gateway whose control plane exists in Konnect; a re-run writes
// nothing; the render of --dry-run=client -o yaml is what the real run
// applied.
func TestInitGateway(t *testing.T) {
	bin := initPluginDir(t)
	for _, p := range gatewayProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}
			ns := env.Namespace(t)
			gw := "gw-" + ns // static naming: the Konnect name too, unique in the shared fake Konnect
			class := initcmd.GatewayClassName(ns, gw)
			tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}

			render := cli.mustRun(t, ns, tokenEnv, "", "init", "--gateway", gw, "--region", "us", "--dry-run=client", "-o", "yaml")
			g, err := env.Get(context.Background(), gvkGateway, ns, gw)
			require.True(t, apierrors.IsNotFound(err), "a dry run writes nothing: %v", err)
			for _, kind := range []string{"kind: KonnectAPIAuthConfiguration", "kind: GatewayConfiguration", "kind: GatewayClass", "kind: Gateway\n"} {
				require.Contains(t, render.stdout, kind)
			}

			res := cli.mustRun(t, ns, tokenEnv, "", "init", "--gateway", gw, "--region", "us")
			t.Logf("first run:\n%s", res)
			require.NotContains(t, res.stdout+res.stderr, env.Token, "the token must never be printed")
			for _, want := range []string{
				"secret/konnect-auth-token created",
				"konnectapiauthconfiguration.konnect.konghq.com/konnect-auth created",
				"gatewayconfiguration.gateway-operator.konghq.com/" + gw + " created",
				"gatewayclass.gateway.networking.k8s.io/" + class + " created",
				"gateway.gateway.networking.k8s.io/" + gw + " created",
				"Gateway " + ns + "/" + gw + " is Programmed",
				"kind: HTTPRoute",
				"kubectl konnect check --gateway " + gw + " -n " + ns,
			} {
				require.Contains(t, res.stdout, want)
			}
			require.Contains(t, res.stderr, "Gateway "+gw+" programmed by kong-operator")

			g, err = env.Get(context.Background(), gvkGateway, ns, gw)
			require.NoError(t, err)
			require.Equal(t, "True", conditionOf(g, "Programmed"), "the Gateway is Programmed")
			cp := gatewayControlPlaneOf(t, env, ns, g)
			require.Equal(t, "True", conditionOf(cp, "Programmed"))
			id, _, _ := unstructured.NestedString(cp.Object, "status", "id")
			kcp, ok := env.Konnect.ControlPlaneByName(gw)
			require.True(t, ok, "kong-operator's control plane exists in Konnect under the Gateway's name")
			require.Equal(t, kcp.ID, id)
			require.Contains(t, res.stdout, kcp.ControlPlaneEndpoint)
			initWaitConnected(t, env, id)

			// The render applied by kubectl is the same end state: nothing changes.
			env.MustKubectl(t, render.stdout, "apply", "-n", ns, "-f", "-")

			before := settledGatewaySnapshot(t, env, ns, class)
			reqs := len(env.Konnect.Requests())
			res = cli.mustRun(t, ns, nil, "", "init", "--gateway", gw)
			t.Logf("re-run:\n%s", res)
			require.Equal(t, before, gatewaySnapshot(t, env, ns, class), "a re-run must not write anything")
			require.Empty(t, initKonnectWrites(env, reqs), "a re-run must not write to Konnect")
			require.Contains(t, res.stdout, "nothing was written")
			require.NotContains(t, res.stdout, " created")
		})
	}
}

func conditionOf(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// TestInitGatewayResumesAndAdopts: the Gateway road of init interrupted
// after each of its steps is finished by a re-run, with one control plane in
// Konnect and a re-run after that writing nothing; and --adopt attaches a
// Gateway to a control plane that exists in Konnect (GatewayConfiguration
// spec.konnect.source: Mirror), which kong-operator mirrors without creating
// one.
func TestInitGatewayResumesAndAdopts(t *testing.T) {
	env := testenv.Shared(t, testenv.KO23)
	gatewayInit := func(ctx context.Context, ns, gw string, mutate func(o *initcmd.Options)) (*initcmd.Options, string, error) {
		o, out, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
			o.Gateway = gw
			if mutate != nil {
				mutate(o)
			}
		})
		err := o.Run(ctx)
		return o, errOut.String() + out.String(), err
	}
	for _, step := range initcmd.GatewaySteps {
		t.Run("after_"+step, func(t *testing.T) {
			ns := env.Namespace(t)
			gw := "gw-" + ns
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, out, err := gatewayInit(ctx, ns, gw, func(o *initcmd.Options) {
				o.AfterStep = func(s string) {
					if s == step {
						cancel()
					}
				}
			})
			if step != initcmd.StepEndpoint {
				var ie *initcmd.InterruptedError
				require.ErrorAs(t, err, &ie, "%s", out)
				require.Contains(t, err.Error(), "re-run the same command to finish")
			}
			_, out, err = gatewayInit(context.Background(), ns, gw, nil)
			require.NoError(t, err, "%s", out)
			n := 0
			for _, c := range env.Konnect.ControlPlanes() {
				if c.Name == gw {
					n++
				}
			}
			require.Equal(t, 1, n, "exactly one control plane named %q in Konnect", gw)
			o, out, err := gatewayInit(context.Background(), ns, gw, nil)
			require.NoError(t, err, "%s", out)
			require.Zero(t, o.Stats.Writes, "a converged re-run writes nothing:\n%s", out)
		})
	}

	t.Run("Adopt", func(t *testing.T) {
		ns := env.Namespace(t)
		gw := "gw-" + ns
		shared := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "Shared " + ns})
		before := len(env.Konnect.ControlPlanes())
		_, out, err := gatewayInit(context.Background(), ns, gw, func(o *initcmd.Options) {
			o.Adopt, o.ControlPlane = true, shared.Name
		})
		require.NoError(t, err, "%s", out)
		require.Contains(t, out, "Adopting Konnect control plane")
		cfg, err := env.Get(context.Background(), gvkGatewayConfiguration, ns, gw)
		require.NoError(t, err)
		require.Equal(t, "Mirror", mustNested(t, cfg, "spec", "konnect", "source"))
		require.Equal(t, shared.ID, mustNested(t, cfg, "spec", "konnect", "mirror", "konnect", "id"))
		g, err := env.Get(context.Background(), gvkGateway, ns, gw)
		require.NoError(t, err)
		cp := gatewayControlPlaneOf(t, env, ns, g)
		require.Equal(t, shared.ID, mustNested(t, cp, "status", "id"))
		require.Equal(t, before, len(env.Konnect.ControlPlanes()), "a mirror creates no control plane in Konnect")
		initWaitConnected(t, env, shared.ID)

		// Without --adopt, the same Gateway would change its Konnect settings: refused.
		_, _, err = gatewayInit(context.Background(), ns, gw, nil)
		require.ErrorContains(t, err, "spec.konnect.source Mirror")
	})

	t.Run("NameClash", func(t *testing.T) {
		ns := env.Namespace(t)
		gw := "gw-" + ns
		env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: gw})
		_, _, err := gatewayInit(context.Background(), ns, gw, nil)
		require.ErrorContains(t, err, "name clash: Konnect already has a control plane named "+`"`+gw+`"`)
		require.ErrorContains(t, err, "--adopt --control-plane")
		_, err = env.Get(context.Background(), gvkGateway, ns, gw)
		require.True(t, apierrors.IsNotFound(err), "nothing written before the refusal")
	})
}
