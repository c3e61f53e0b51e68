package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/migrate"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// kindOrder applies what others refer to first, as a user applying files in
// order would, so that the only findings left would be real ones.
func kindOrder(o obj) int {
	u := &unstructured.Unstructured{Object: o}
	switch u.GetKind() {
	case "Secret":
		return 0
	case "KonnectAPIAuthConfiguration":
		return 1
	case "KonnectGatewayControlPlane":
		for _, f := range [][]string{{"spec", "cluster_type"}, {"spec", "createControlPlaneRequest", "cluster_type"}} {
			if ct, _, _ := unstructured.NestedString(o, f...); ct == "CLUSTER_TYPE_CONTROL_PLANE_GROUP" {
				return 3
			}
		}
		return 2
	}
	return 4
}

// TestWebhookAdmitsKGOSamplesWithoutWarnings applies Kong's own sample
// manifests (kubernetes-configuration v1.5.3 config/samples, the
// self-contained ones) through the webhook with kubectl: admitted, no
// warning. On ko-2.0 they are first migrated as `kubectl konnect migrate -o
// yaml` does (their control planes become v1alpha2). KGO's DataPlane sample
// names an extension that does not exist; pkg/rules pins what the rules say
// about it.
func TestWebhookAdmitsKGOSamplesWithoutWarnings(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(), "pkg", "rules", "testdata", "kgo-samples")
	for _, p := range []testenv.Profile{testenv.KGO16, testenv.KO20} {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.SharedWithWebhook(t, p)
			for _, f := range []string{
				"konnect_apiauth_configuration.yaml",
				"konnect_gateway_controlplane.yaml",
				"konnect_gateway_controlplane_mirror.yaml",
				"konnect_kongservice.yaml",
				"konnect_kongconsumer.yaml",
			} {
				t.Run(f, func(t *testing.T) {
					ns := env.Namespace(t)
					b, err := os.ReadFile(filepath.Join(dir, f))
					require.NoError(t, err)
					var objs []obj
					for _, doc := range strings.Split(string(b), "\n---") {
						o := obj{}
						require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
						if len(o) == 0 {
							continue
						}
						unstructured.RemoveNestedField(o, "metadata", "namespace") // into the test's namespace
						objs = append(objs, o)
					}
					if p.KongOperator2() {
						objs = migrateObjs(t, ns, objs)
					}
					sort.SliceStable(objs, func(i, j int) bool { return kindOrder(objs[i]) < kindOrder(objs[j]) })
					stderr := applyOneByOne(t, env, ns, objs...)
					// KGO 1.x's token Secret has no konghq.com/secret=true, so kong-operator 2.x cannot
					// read it (KON1509): a true finding on 2.x, which migrate does not fix yet.
					allowed := ""
					if p.KongOperator2() && f == "konnect_apiauth_configuration.yaml" {
						allowed = "[KON1509]"
						require.Contains(t, stderr, allowed, "the KGO 1.x sample's token Secret on kong-operator 2.x")
					}
					for _, line := range strings.Split(stderr, "\n") {
						if strings.Contains(line, "Warning") && (allowed == "" || !strings.Contains(line, allowed)) {
							t.Errorf("Kong's sample %s must pass with no other warning: %s", f, line)
						}
					}
					// Stop the stand-in from retrying the samples' made-up tokens.
					_, _, _ = env.Kubectl(context.Background(), manifest(t, objs...), "delete", "-n", ns, "--wait=false", "-f", "-", "--ignore-not-found")
				})
			}
		})
	}
}

// migrateObjs replaces the objects that `kubectl konnect migrate` changes by
// what it writes (pkg/migrate.Plan, offline).
func migrateObjs(t *testing.T, ns string, objs []obj) []obj {
	t.Helper()
	in := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		in[i] = &unstructured.Unstructured{Object: o}
	}
	res := migrate.Plan(context.Background(), migrate.Input{Objects: in, Namespace: ns})
	require.Empty(t, res.Unresolved)
	out := make([]obj, len(objs))
	for i, o := range in {
		out[i] = o.Object
		for _, c := range res.Changes {
			if c.Old != nil && c.Old.GroupVersionKind().GroupKind() == o.GroupVersionKind().GroupKind() && c.Old.GetName() == o.GetName() {
				out[i] = c.New.Object
			}
		}
	}
	return out
}
