package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	webhookcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/webhook"
)

var chartDir = filepath.Join(".", WebhookChart)

// chartOnlyLabels are the labels Helm charts conventionally add and
// kustomize's config/ has no counterpart for.
var chartOnlyLabels = []string{"app.kubernetes.io/managed-by", "helm.sh/chart"}

// The chart with its defaults carries exactly the objects of config/default
// (certificates: self-managed) and of config/cert-manager (certificates:
// cert-manager), field by field. The comparison is generic: a change to
// config/ (a rule, a flag, an RBAC verb, a new object) fails here until the
// chart's templates say the same.
func TestChartMatchesConfig(t *testing.T) {
	for mode, variant := range map[string]webhookcmd.Variant{"self-managed": webhookcmd.SelfManaged, "cert-manager": webhookcmd.CertManager} {
		t.Run(mode, func(t *testing.T) {
			want, err := webhookcmd.Render(variant, "")
			require.NoError(t, err)
			got, err := Render(chartDir, "konnect", webhookcmd.Namespace, map[string]any{"certificates": map[string]any{"mode": mode}})
			require.NoError(t, err)

			wantByKey := map[string]*unstructured.Unstructured{}
			for _, u := range want {
				// helm install --create-namespace makes the release's
				// namespace; a chart that also templates it fails to
				// install into an existing one.
				if u.GetKind() == "Namespace" && u.GetName() == webhookcmd.Namespace {
					continue
				}
				wantByKey[key(u)] = u
			}
			gotByKey := map[string]*unstructured.Unstructured{}
			for _, u := range got {
				labels := u.GetLabels()
				for _, l := range chartOnlyLabels {
					require.Contains(t, labels, l, "%s: Helm's usual labels", key(u))
					delete(labels, l)
				}
				if len(labels) == 0 {
					labels = nil // SetLabels drops the field only for nil, as config/ has none
				}
				u.SetLabels(labels)
				gotByKey[key(u)] = u
			}
			require.Equal(t, sortedKeys(wantByKey), sortedKeys(gotByKey), "the chart and config/%s install different objects", variant)
			for k, w := range wantByKey {
				require.Equal(t, toYAML(t, w), toYAML(t, gotByKey[k]), "%s differs between config/%s (expected) and the chart (actual)", k, variant)
			}
		})
	}
}

// `helm lint --strict` passes with the defaults and with every value set.
func TestChartLint(t *testing.T) {
	require.NoError(t, Lint(chartDir, nil))
	require.NoError(t, Lint(chartDir, allValues()))
}

// The chart's appVersion is the release config/ pins the image to: one
// release, one image, whichever way it is installed.
func TestChartAppVersionIsConfigsImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	require.NoError(t, err)
	var meta struct{ AppVersion string }
	require.NoError(t, yaml.Unmarshal(b, &meta))
	objs, err := webhookcmd.Render(webhookcmd.SelfManaged, "")
	require.NoError(t, err)
	require.Equal(t, webhookcmd.ImageRepository+":"+meta.AppVersion, containerOf(t, objs)["image"])
}

func allValues() map[string]any {
	return map[string]any{
		"replicas":            3,
		"image":               map[string]any{"repository": "registry.example/webhook", "digest": "sha256:" + strings.Repeat("ab", 32), "pullPolicy": "IfNotPresent"},
		"resources":           map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "96Mi"}, "limits": map[string]any{"memory": "256Mi"}},
		"failurePolicy":       "Fail",
		"namespaceSelector":   map[string]any{"matchLabels": map[string]any{"konnect": "on"}},
		"strict":              true,
		"certificates":        map[string]any{"mode": "cert-manager"},
		"podDisruptionBudget": map[string]any{"enabled": false},
		"nodeSelector":        map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":         []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}},
		"podSecurityContext":  map[string]any{"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532},
	}
}

// Every value reaches the object it is about.
func TestChartValues(t *testing.T) {
	objs, err := Render(chartDir, "konnect", "webhooks", allValues())
	require.NoError(t, err)
	byKind := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		byKind[u.GetKind()] = u
		if u.GetNamespace() != "" {
			require.Equal(t, "webhooks", u.GetNamespace(), key(u))
		}
	}
	require.NotContains(t, byKind, "PodDisruptionBudget")
	require.NotContains(t, byKind, "Role", "cert-manager needs no Secret access")
	require.Contains(t, byKind, "Certificate")

	dep := byKind["Deployment"].Object
	replicas, _, _ := unstructured.NestedInt64(dep, "spec", "replicas")
	require.Equal(t, int64(3), replicas)
	ns, _, _ := unstructured.NestedStringMap(dep, "spec", "template", "spec", "nodeSelector")
	require.Equal(t, map[string]string{"kubernetes.io/os": "linux"}, ns)
	tol, _, _ := unstructured.NestedSlice(dep, "spec", "template", "spec", "tolerations")
	require.Len(t, tol, 1)
	psc, _, _ := unstructured.NestedMap(dep, "spec", "template", "spec", "securityContext")
	require.Equal(t, int64(65532), psc["fsGroup"])
	c := containerOf(t, objs)
	require.Equal(t, "registry.example/webhook@sha256:"+strings.Repeat("ab", 32), c["image"])
	require.Equal(t, "IfNotPresent", c["imagePullPolicy"])
	require.Contains(t, c["args"], "--strict")
	require.NotContains(t, c["args"], "--self-managed-certs")
	lim, _, _ := unstructured.NestedString(c, "resources", "limits", "memory")
	require.Equal(t, "256Mi", lim)

	wh, _, _ := unstructured.NestedSlice(byKind["ValidatingWebhookConfiguration"].Object, "webhooks")
	w := wh[0].(map[string]any)
	require.Equal(t, "Fail", w["failurePolicy"])
	require.Equal(t, map[string]any{"matchLabels": map[string]any{"konnect": "on"}}, w["namespaceSelector"])
	require.Equal(t, "webhooks", w["clientConfig"].(map[string]any)["service"].(map[string]any)["namespace"])
	require.Equal(t, "webhooks/kubectl-konnect-webhook", byKind["ValidatingWebhookConfiguration"].GetAnnotations()["cert-manager.io/inject-ca-from"])

	// Defaults in another namespace: the selector skips that namespace.
	objs, err = Render(chartDir, "konnect", "webhooks", nil)
	require.NoError(t, err)
	for _, u := range objs {
		if u.GetKind() == "ValidatingWebhookConfiguration" {
			vals, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
			sel := vals[0].(map[string]any)["namespaceSelector"].(map[string]any)["matchExpressions"].([]any)[0].(map[string]any)["values"]
			require.Equal(t, []any{"kube-system", "webhooks"}, sel)
		}
	}

	_, err = Render(chartDir, "konnect", "webhooks", map[string]any{"certificates": map[string]any{"mode": "vault"}})
	require.ErrorContains(t, err, `certificates.mode "vault": use self-managed or cert-manager`)
}

func containerOf(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			require.Len(t, cs, 1)
			return cs[0].(map[string]any)
		}
	}
	t.Fatal("no Deployment")
	return nil
}

func key(u *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", u.GetObjectKind().GroupVersionKind(), u.GetNamespace(), u.GetName())
}

func sortedKeys(m map[string]*unstructured.Unstructured) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func toYAML(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	b, err := yaml.Marshal(u.Object)
	require.NoError(t, err)
	return string(b)
}
