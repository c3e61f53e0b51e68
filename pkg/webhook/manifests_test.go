package webhook_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// manifest is one document of a multi-document YAML stream.
type manifest struct {
	Kind, Name string
	Raw        []byte
}

func splitManifests(t testing.TB, data []byte) []manifest {
	t.Helper()
	var out []manifest
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("parsing a manifest: %v\n%s", err, doc)
		}
		if head.Kind != "" {
			out = append(out, manifest{Kind: head.Kind, Name: head.Metadata.Name, Raw: doc})
		}
	}
	return out
}

func readManifests(t testing.TB, path string) []manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	return splitManifests(t, data)
}

// find decodes the manifest of that kind and name into out.
func find(t testing.TB, ms []manifest, kind, name string, out any) {
	t.Helper()
	for _, m := range ms {
		if m.Kind == kind && m.Name == name {
			if err := yaml.UnmarshalStrict(m.Raw, out); err != nil {
				t.Fatalf("decoding %s %s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s %s among the manifests", kind, name)
}

// resourceOf is the plural resource of a kind the rules look up: the
// lower-cased kind plus "s" (Secret is core "secrets"), "es" after an s
// (GatewayClass).
func resourceOf(gk schema.GroupKind) string {
	k := strings.ToLower(gk.Kind)
	if strings.HasSuffix(k, "s") {
		return k + "es"
	}
	return k + "s"
}

func TestBaseRBACReadsExactlyTheKindsTheRulesLookUp(t *testing.T) {
	var role rbacv1.ClusterRole
	find(t, readManifests(t, "config/base/rbac.yaml"), "ClusterRole", "kubectl-konnect-webhook", &role)
	var got []string
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %v grants %q; the webhook only reads (get, list, watch)", r, v)
			}
		}
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %v: unexpected resourceNames or nonResourceURLs", r)
		}
		if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch") {
			t.Errorf("rule %v: an informer needs list and watch", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				got = append(got, g+"/"+res)
			}
		}
	}
	var want []string
	for _, gk := range rules.LookupKinds() {
		want = append(want, gk.Group+"/"+resourceOf(gk))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("config/base/rbac.yaml grants read access to\n  %v\nbut the rules look up (rules.LookupKinds)\n  %v", got, want)
	}
}

func TestBaseWebhookConfigurationSendsExactlyTheValidatedKinds(t *testing.T) {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	find(t, readManifests(t, "config/base/webhook.yaml"), "ValidatingWebhookConfiguration", "kubectl-konnect-webhook", &vwc)
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("want one webhook, got %d", len(vwc.Webhooks))
	}
	wh := vwc.Webhooks[0]
	if !equality.Semantic.DeepEqual(wh.Rules, webhook.Rules()) {
		gotY, _ := yaml.Marshal(wh.Rules)
		wantY, _ := yaml.Marshal(webhook.Rules())
		t.Errorf("config/base/webhook.yaml rules differ from pkg/webhook.Rules(); want\n%s\ngot\n%s", wantY, gotY)
	}
	if !equality.Semantic.DeepEqual(wh.MatchConditions, webhook.MatchConditions()) {
		gotY, _ := yaml.Marshal(wh.MatchConditions)
		wantY, _ := yaml.Marshal(webhook.MatchConditions())
		t.Errorf("config/base/webhook.yaml matchConditions differ from pkg/webhook.MatchConditions(); want\n%s\ngot\n%s", wantY, gotY)
	}
	if wh.ClientConfig.Service == nil || wh.ClientConfig.Service.Path == nil || *wh.ClientConfig.Service.Path != webhook.Path {
		t.Errorf("clientConfig.service.path: want %s, got %+v", webhook.Path, wh.ClientConfig.Service)
	}
}

// kustomize renders an overlay with the machine's kubectl.
func kustomize(t testing.TB, dir string) []manifest {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not on PATH")
	}
	cmd := exec.Command("kubectl", "kustomize", filepath.Join(testenv.RepoRoot(), dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return splitManifests(t, out)
}

func certsVolume(t testing.TB, d *appsv1.Deployment) (mountReadOnly bool, vol string) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/certs" {
			mountReadOnly = m.ReadOnly
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == m.Name {
					switch {
					case v.Secret != nil:
						return mountReadOnly, "secret:" + v.Secret.SecretName
					case v.EmptyDir != nil:
						return mountReadOnly, "emptyDir"
					}
					return mountReadOnly, fmt.Sprintf("%+v", v.VolumeSource)
				}
			}
		}
	}
	t.Fatalf("no volume mounted at /certs in %+v", c.VolumeMounts)
	return false, ""
}

func TestDefaultOverlayRunsWithSelfManagedCertificates(t *testing.T) {
	ms := kustomize(t, "config/default")
	var d appsv1.Deployment
	find(t, ms, "Deployment", "kubectl-konnect-webhook", &d)
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--self-managed-certs") || !slices.Contains(c.Args, "--cert-dir=/certs") {
		t.Errorf("args: want --self-managed-certs and --cert-dir=/certs, got %v", c.Args)
	}
	var podNS bool
	for _, e := range c.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			podNS = true
		}
	}
	if !podNS {
		t.Errorf("env: want POD_NAMESPACE from the downward API (metadata.namespace), got %+v", c.Env)
	}
	if ro, vol := certsVolume(t, &d); vol != "emptyDir" || ro {
		t.Errorf("/certs: want a writable emptyDir, got %s (readOnly %v)", vol, ro)
	}

	var role rbacv1.Role
	find(t, ms, "Role", "kubectl-konnect-webhook-certs", &role)
	if role.Namespace != "kubectl-konnect-system" {
		t.Errorf("Role namespace: want kubectl-konnect-system, got %q", role.Namespace)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{webhook.DefaultCertSecretName}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
	}
	if !equality.Semantic.DeepEqual(role.Rules, want) {
		t.Errorf("Role rules: want %+v, got %+v", want, role.Rules)
	}
	var cr rbacv1.ClusterRole
	find(t, ms, "ClusterRole", "kubectl-konnect-webhook-cabundle", &cr)
	wantCR := []rbacv1.PolicyRule{{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"},
		ResourceNames: []string{webhook.DefaultWebhookConfigName}, Verbs: []string{"get", "patch"}}}
	if !equality.Semantic.DeepEqual(cr.Rules, wantCR) {
		t.Errorf("ClusterRole rules: want %+v, got %+v", wantCR, cr.Rules)
	}
	var rb rbacv1.RoleBinding
	find(t, ms, "RoleBinding", "kubectl-konnect-webhook-certs", &rb)
	var crb rbacv1.ClusterRoleBinding
	find(t, ms, "ClusterRoleBinding", "kubectl-konnect-webhook-cabundle", &crb)
	for _, s := range append(rb.Subjects, crb.Subjects...) {
		if s.Kind != "ServiceAccount" || s.Name != d.Spec.Template.Spec.ServiceAccountName || s.Namespace != "kubectl-konnect-system" {
			t.Errorf("binding subject %+v is not the webhook's ServiceAccount", s)
		}
	}
	for _, m := range ms {
		if m.Kind == "Secret" || m.Kind == "Certificate" {
			t.Errorf("config/default must not ship a %s (%s): the webhook makes its own", m.Kind, m.Name)
		}
	}
}

func TestCertManagerOverlayMountsTheCertManagerSecret(t *testing.T) {
	ms := kustomize(t, "config/cert-manager")
	var d appsv1.Deployment
	find(t, ms, "Deployment", "kubectl-konnect-webhook", &d)
	if slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--self-managed-certs") {
		t.Errorf("cert-manager overlay runs with --self-managed-certs: %v", d.Spec.Template.Spec.Containers[0].Args)
	}
	if _, vol := certsVolume(t, &d); vol != "secret:"+webhook.DefaultCertSecretName {
		t.Errorf("/certs: want Secret %s, got %s", webhook.DefaultCertSecretName, vol)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	find(t, ms, "ValidatingWebhookConfiguration", "kubectl-konnect-webhook", &vwc)
	if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != "kubectl-konnect-system/kubectl-konnect-webhook" {
		t.Errorf("cert-manager.io/inject-ca-from: got %q", got)
	}
	var found bool
	for _, m := range ms {
		found = found || (m.Kind == "Certificate" && m.Name == "kubectl-konnect-webhook")
	}
	if !found {
		t.Error("no cert-manager Certificate kubectl-konnect-webhook")
	}
}
