package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// A GitOps folder is applied in an order of the tool's choosing, and each
// reference may arrive before its target. The webhook must deny none of a
// valid folder's objects in any order (without --strict), and once all of
// them are in, it must find nothing.

// gitopsFolder is a valid folder in the profile's API versions, one object
// per file: the seed workflow's objects plus one of every Konnect entity the
// rules judge. No name collides with a Konnect name. The KongVault is
// cluster-scoped, so its name carries the namespace.
func gitopsFolder(t *testing.T, p testenv.Profile, token, ns string) []obj {
	t.Helper()
	crt, key := selfSignedPair(t, "dp")
	base := seedBaseFor(p, token, "gitops-"+ns, "", crt, key)
	cp := cpRef("gateway-cp")
	ks := func(group, kind, name string) obj { return obj{"group": group, "kind": kind, "name": name} }
	objs := append(base,
		obj{"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin", "metadata": meta("rate-limit"),
			"plugin": "rate-limiting", "config": obj{"minute": 5, "policy": "local"}},
		obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongPluginBinding", "metadata": meta("echo-rate-limit"),
			"spec": obj{"controlPlaneRef": cp, "pluginRef": obj{"kind": "KongPlugin", "name": "rate-limit"},
				"targets": obj{"serviceRef": ks("configuration.konghq.com", "KongService", "echo")}}},
		obj{"apiVersion": "configuration.konghq.com/v1beta1", "kind": "KongConsumerGroup", "metadata": meta("gold"),
			"spec": obj{"name": "gold", "controlPlaneRef": cp}},
		obj{"apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer", "metadata": meta("alice"),
			"username": "alice", "consumerGroups": []any{"gold"}, "spec": obj{"controlPlaneRef": cp}},
		obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongKeySet", "metadata": meta("signing"),
			"spec": obj{"name": "signing", "controlPlaneRef": cp}},
		obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongKey", "metadata": meta("signing-1"),
			"spec": obj{"kid": "signing-1", "jwk": `{"kid":"signing-1","kty":"RSA"}`, "controlPlaneRef": cp,
				"keySetRef": obj{"type": "namespacedRef", "namespacedRef": obj{"name": "signing"}}}},
		obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongVault", "metadata": meta("env-" + ns),
			"spec": obj{"backend": "env", "prefix": "env-" + ns, "controlPlaneRef": obj{"type": "konnectNamespacedRef",
				"konnectNamespacedRef": obj{"name": "gateway-cp", "namespace": ns}}}},
		// The endpoint is the folder's: on KGO 1.4 its prefix is what the
		// user dug out of Konnect once; no rule compares it with Konnect.
		extension(p, "https://b89939e7f0.us.cp0.konghq.com"),
		dataPlane(p),
	)
	if p.Generation().ReferenceGrants() {
		// From kong-operator 2.1 a cluster-scoped KongVault reaches a
		// namespaced control plane only with a grant in its namespace whose
		// from.namespace is "" (controller/konnect/reconciler_controlplaneref.go,
		// ensureKongReferenceGrant; the grant CRD's rule requires "" for
		// KongVault). A valid folder carries it.
		objs = append(objs, obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongReferenceGrant",
			"metadata": meta("vault-to-gateway-cp"),
			"spec": obj{"from": []any{obj{"group": "configuration.konghq.com", "kind": "KongVault", "namespace": ""}},
				"to": []any{obj{"group": "konnect.konghq.com", "kind": "KonnectGatewayControlPlane", "name": "gateway-cp"}}}})
	}
	return objs
}

// fileName is the object's file in the folder: kubectl apply -f DIR reads
// files in lexical order.
func fileName(o obj) string {
	u := &unstructured.Unstructured{Object: o}
	return strings.ToLower(u.GetKind()) + "-" + u.GetName() + ".yaml"
}

// argoKindRank is Argo CD's kind order (gitops-engine pkg/sync/sync_tasks.go,
// kindOrder, after Helm's kind sorter): the built-in kinds it lists come
// first; every other kind, custom resources included, ranks last, and ties
// are broken by name.
func argoKindRank(kind string) int {
	order := []string{"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
		"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
		"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
		"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
		"Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService"}
	if i := slices.Index(order, kind); i >= 0 {
		return i
	}
	return len(order)
}

// applyOrder is one way a tool applies the folder: batches, each one
// `kubectl apply` call.
type applyOrder struct {
	name    string
	batches func(objs []obj) [][]obj
}

func oneByOne(objs []obj) [][]obj {
	out := make([][]obj, len(objs))
	for i, o := range objs {
		out[i] = []obj{o}
	}
	return out
}

func byFileName(objs []obj) []obj {
	out := slices.Clone(objs)
	sort.SliceStable(out, func(i, j int) bool { return fileName(out[i]) < fileName(out[j]) })
	return out
}

// kindWaves puts each kind in a sync wave of its own, the waves in Argo
// CD's kind order (custom resource kinds, which Argo does not rank, by kind
// name): a wave's objects go together in one apply, as Argo applies a wave
// at once.
func kindWaves(objs []obj) [][]obj {
	byKind := map[string][]obj{}
	var kinds []string
	for _, o := range objs {
		k := (&unstructured.Unstructured{Object: o}).GetKind()
		if _, ok := byKind[k]; !ok {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], o)
	}
	sort.SliceStable(kinds, func(i, j int) bool {
		if ri, rj := argoKindRank(kinds[i]), argoKindRank(kinds[j]); ri != rj {
			return ri < rj
		}
		return kinds[i] < kinds[j]
	})
	out := make([][]obj, len(kinds))
	for i, k := range kinds {
		out[i] = byKind[k]
	}
	return out
}

var applyOrders = []applyOrder{
	{"sorted", func(objs []obj) [][]obj { return oneByOne(byFileName(objs)) }},
	{"reversed", func(objs []obj) [][]obj {
		s := byFileName(objs)
		slices.Reverse(s)
		return oneByOne(s)
	}},
	{"shuffled", func(objs []obj) [][]obj {
		s := byFileName(objs)
		rand.New(rand.NewSource(20)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return oneByOne(s)
	}},
	{"argo-kind-waves", kindWaves},
	{"argo-kind-waves-reversed", func(objs []obj) [][]obj {
		w := kindWaves(objs)
		slices.Reverse(w)
		return w
	}},
}

// TestWebhookGitOpsFolderInAnyOrder applies a valid folder through the
// webhook with the real kubectl, in every order above, each in a namespace
// of its own, back to back as GitOps tools do (no waiting for the webhook's
// cache: a target it has not seen yet is a missing target). No apply may be
// denied; warnings are allowed while targets are missing. Once everything
// is in, every object is judged again (kubectl replace --dry-run=server, an
// UPDATE through admission that stores nothing) and must draw no warning.
// Then the seed's slip, a certificate naming the control plane's Konnect
// name, is still denied, with its did-you-mean and the way out.
func TestWebhookGitOpsFolderInAnyOrder(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server
			env := testenv.SharedWithWebhook(t, p)
			start := time.Now()
			t.Cleanup(func() { t.Logf("%s: every order in %s", p, time.Since(start).Round(time.Millisecond)) })
			for _, order := range applyOrders {
				t.Run(order.name, func(t *testing.T) {
					t.Parallel()
					ns := env.Namespace(t)
					objs := gitopsFolder(t, p, env.Token, ns)
					batches := order.batches(objs)
					applied := 0
					var warnings []string
					for _, b := range batches {
						out, errOut, err := env.Kubectl(context.Background(), manifest(t, b...), "apply", "-n", ns, "-f", "-")
						require.NoError(t, err, "order %s, apply %d: the webhook must deny nothing of a valid folder\nstdout: %s\nstderr: %s", order.name, applied+1, out, errOut)
						applied += len(b)
						for _, l := range strings.Split(errOut, "\n") {
							if strings.HasPrefix(l, "Warning: ") {
								warnings = append(warnings, l)
							}
						}
					}
					require.Equal(t, len(objs), applied)
					for _, w := range warnings {
						require.Regexp(t, `\[KON(1004|1102|1204|1302|1402|1504|1604|1701|1801|1901|1903)\]`, w, "only missing targets, a grant not yet applied or one applied before its target may warn on the way")
					}
					t.Logf("%s: %d applies, %d warnings on the way", order.name, len(batches), len(warnings))
					t.Cleanup(func() {
						_, _, _ = env.Kubectl(context.Background(), "", "delete", "kongvault.configuration.konghq.com", "env-"+ns, "--wait=false", "--ignore-not-found")
					})

					for _, o := range objs {
						u := &unstructured.Unstructured{Object: o}
						where := ns
						if u.GetKind() == "KongVault" {
							where = ""
						}
						env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), where, u.GetName())
					}
					// kubectl replace reads, then writes with that resourceVersion: the KGO
					// stand-in's own writes (finalizers, status) can win the race, so a
					// Conflict is retried as a GitOps tool would.
					var out, errOut string
					var err error
					for try := 0; try < 5; try++ {
						out, errOut, err = env.Kubectl(context.Background(), manifest(t, objs...), "replace", "--dry-run=server", "-n", ns, "-f", "-")
						if err == nil || !strings.Contains(errOut, "Conflict") {
							break
						}
						time.Sleep(500 * time.Millisecond)
					}
					require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
					require.NotContains(t, errOut, "Warning", "once the folder is in, the webhook finds nothing\n%s", out)
					require.Equal(t, len(objs), strings.Count(out, "(server dry run)"), out)

					if order.name != "sorted" {
						return
					}
					// The seed's slip: a reference to the Konnect name of an
					// existing control plane is denied in any order.
					slip := obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongDataPlaneClientCertificate", "metadata": meta("slip-cert"),
						"spec": obj{"controlPlaneRef": cpRef("gitops-" + ns), "cert": objs[3]["spec"].(obj)["cert"]}}
					out, errOut, err = env.Kubectl(context.Background(), manifest(t, slip), "apply", "-n", ns, "-f", "-")
					require.Error(t, err, "the seed's slip must be denied; stdout: %s", out)
					require.Equal(t, 1, exitCode(err))
					require.Contains(t, errOut, `The KongDataPlaneClientCertificate "slip-cert" is invalid`)
					require.Contains(t, errOut, fmt.Sprintf("[KON1003] KonnectGatewayControlPlane %s/gitops-%s not found, but KonnectGatewayControlPlane %s/gateway-cp is named %q in Konnect: did you mean gateway-cp?", ns, ns, ns, "gitops-"+ns))
					require.Contains(t, errOut, fmt.Sprintf("If a KonnectGatewayControlPlane named gitops-%s is on its way (later in the same apply, or in another file of a GitOps folder), apply it first, or apply again once it exists: GitOps tools retry", ns))
				})
			}
		})
	}
}
