package webhook_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	whrules "k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules"
	"sigs.k8s.io/yaml"

	cmdwebhook "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// crdFacts is what a CRD says about its kind: the resource, its scope and
// the versions it serves.
type crdFacts struct {
	Plural     string
	Namespaced bool
	Versions   []string
	File       string
}

// coreFacts are the kinds of the core group the rules read; they have no
// CRD.
var coreFacts = map[schema.GroupKind]crdFacts{
	rules.GKSecret: {Plural: "secrets", Namespaced: true, Versions: []string{"v1"}, File: "(core)"},
}

// profileCRDs reads the CRDs of every test profile: what each profile's
// API server serves, kind by kind.
func profileCRDs(t *testing.T) map[testenv.Profile]map[schema.GroupKind]crdFacts {
	t.Helper()
	out := map[testenv.Profile]map[schema.GroupKind]crdFacts{}
	for _, p := range testenv.Profiles {
		dirs, err := testenv.CRDDirs(p)
		if err != nil {
			t.Fatal(err)
		}
		facts := map[schema.GroupKind]crdFacts{}
		for gk, f := range coreFacts {
			facts[gk] = f
		}
		for _, dir := range dirs {
			// CRDDirs names folders, and single files for the Gateway API
			// CRDs that share their module folder with other manifests.
			files := []string{dir}
			if !strings.HasSuffix(dir, ".yaml") {
				files, err = filepath.Glob(filepath.Join(dir, "*.yaml"))
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				for _, doc := range strings.Split(string(data), "\n---") {
					var crd struct {
						Kind string `json:"kind"`
						Spec struct {
							Group string `json:"group"`
							Names struct {
								Kind   string `json:"kind"`
								Plural string `json:"plural"`
							} `json:"names"`
							Scope    string `json:"scope"`
							Versions []struct {
								Name   string `json:"name"`
								Served bool   `json:"served"`
							} `json:"versions"`
						} `json:"spec"`
					}
					if err := yaml.Unmarshal([]byte(doc), &crd); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
					if crd.Kind != "CustomResourceDefinition" {
						continue
					}
					f := crdFacts{Plural: crd.Spec.Names.Plural, Namespaced: crd.Spec.Scope == "Namespaced", File: file}
					for _, v := range crd.Spec.Versions {
						if v.Served {
							f.Versions = append(f.Versions, v.Name)
						}
					}
					facts[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = f
				}
			}
		}
		out[p] = facts
	}
	return out
}

// shippedWebhookConfigurations are every ValidatingWebhookConfiguration we
// ship: config/base as it is in the repository, and what `kubectl konnect
// webhook install` renders of each kustomization (from the embedded config/).
func shippedWebhookConfigurations(t *testing.T) map[string]*admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	out := map[string]*admissionregistrationv1.ValidatingWebhookConfiguration{}
	var base admissionregistrationv1.ValidatingWebhookConfiguration
	find(t, readManifests(t, "config/base/webhook.yaml"), "ValidatingWebhookConfiguration", "kubectl-konnect-webhook", &base)
	out["config/base/webhook.yaml"] = &base
	for _, v := range cmdwebhook.Variants {
		objs, err := cmdwebhook.Render(v, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			if u.GetKind() != "ValidatingWebhookConfiguration" {
				continue
			}
			vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, vwc); err != nil {
				t.Fatal(err)
			}
			out["webhook install (config/"+string(v)+")"] = vwc
		}
	}
	return out
}

// sends reports whether the API server would call a webhook of vwc for op
// on an object of gvk (resource gvr) in namespace ns ("" for a
// cluster-scoped kind): the rule matching is the API server's own
// (k8s.io/apiserver's rules.Matcher); the namespace selector is evaluated
// against the namespace's kubernetes.io/metadata.name label, and, as in
// the API server, never skips a cluster-scoped object.
func sends(t *testing.T, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, gvk schema.GroupVersionKind, gvr schema.GroupVersionResource, ns string, op admission.Operation) bool {
	t.Helper()
	attr := admission.NewAttributesRecord(&unstructured.Unstructured{}, nil, gvk, ns, "x", gvr, "", op, nil, false, nil)
	for _, wh := range vwc.Webhooks {
		if ns != "" && wh.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
			if err != nil {
				t.Fatalf("webhook %s: namespaceSelector: %v", wh.Name, err)
			}
			if !sel.Matches(labels.Set{"kubernetes.io/metadata.name": ns}) {
				continue
			}
		}
		if wh.ObjectSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(wh.ObjectSelector)
			if err != nil {
				t.Fatalf("webhook %s: objectSelector: %v", wh.Name, err)
			}
			if !sel.Matches(labels.Set{}) {
				continue
			}
		}
		for _, r := range wh.Rules {
			m := whrules.Matcher{Rule: r, Attr: attr}
			if m.Matches() {
				return true
			}
		}
	}
	return false
}

// TestShippedWebhookConfigurationSendsEveryJudgedKindAtItsScope: every kind
// a rule judges (rules.ValidatedKinds) reaches the webhook on CREATE and
// UPDATE, in every version and at the scope its CRD declares, on every
// profile that serves it, from every configuration we ship. A kind no
// profile serves fails too: its scope would be unknown.
func TestShippedWebhookConfigurationSendsEveryJudgedKindAtItsScope(t *testing.T) {
	crds := profileCRDs(t)
	vwcs := shippedWebhookConfigurations(t)
	names := make([]string, 0, len(vwcs))
	for n := range vwcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, gk := range rules.ValidatedKinds() {
		served := false
		for _, p := range testenv.Profiles {
			f, ok := crds[p][gk]
			if !ok {
				continue
			}
			served = true
			ns := ""
			if f.Namespaced {
				ns = "kong"
			}
			for _, v := range f.Versions {
				gvk, gvr := gk.WithVersion(v), schema.GroupVersionResource{Group: gk.Group, Version: v, Resource: f.Plural}
				for _, name := range names {
					for _, op := range []admission.Operation{admission.Create, admission.Update} {
						if !sends(t, vwcs[name], gvk, gvr, ns, op) {
							t.Errorf("%s: %s %s (resource %s, namespaced %v per %s) on profile %s is not sent to the webhook: the rules judging it never run",
								name, op, gvk, f.Plural, f.Namespaced, filepath.Base(f.File), p)
						}
					}
				}
			}
		}
		if !served {
			t.Errorf("no profile's CRDs define %s, which the rules judge: its scope is unknown", gk)
		}
	}
}

// TestShippedRBACWatchesEveryLookupKindAtItsScope: the webhook caches every
// kind the rules look up (rules.LookupKinds) across all namespaces, or
// cluster-wide for a cluster-scoped kind: only a ClusterRole grants either,
// for the resource name the CRD declares. (Lookup kinds that no rule judges,
// Secrets above all, are deliberately not sent to the webhook: it watches
// them, and Secrets as metadata only.)
func TestShippedRBACWatchesEveryLookupKindAtItsScope(t *testing.T) {
	crds := profileCRDs(t)
	var role rbacv1.ClusterRole
	find(t, readManifests(t, "config/base/rbac.yaml"), "ClusterRole", "kubectl-konnect-webhook", &role)
	grants := func(group, resource, verb string) bool {
		for _, r := range role.Rules {
			if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
				(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) &&
				(slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) && len(r.ResourceNames) == 0 {
				return true
			}
		}
		return false
	}
	for _, gk := range rules.LookupKinds() {
		served := false
		for _, p := range testenv.Profiles {
			f, ok := crds[p][gk]
			if !ok {
				continue
			}
			served = true
			for _, verb := range []string{"list", "watch"} {
				if !grants(gk.Group, f.Plural, verb) {
					t.Errorf("config/base/rbac.yaml: ClusterRole kubectl-konnect-webhook does not grant %s on %s.%s (profile %s): the webhook cannot cache %s", verb, f.Plural, gk.Group, p, gk.Kind)
				}
			}
		}
		if !served {
			t.Errorf("no profile's CRDs define %s, which the rules look up", gk)
		}
	}
}

// TestRulesKnowTheScopeOfEveryKindTheyRead: rules.Namespaced (which lint
// uses to default namespaces, and rules to resolve references) agrees with
// every profile's CRDs.
func TestRulesKnowTheScopeOfEveryKindTheyRead(t *testing.T) {
	crds := profileCRDs(t)
	kinds := append(rules.ValidatedKinds(), rules.LookupKinds()...)
	kinds = append(kinds, rules.GKKongClusterPlugin)
	for _, gk := range kinds {
		for _, p := range testenv.Profiles {
			if f, ok := crds[p][gk]; ok && f.Namespaced != rules.Namespaced(gk) {
				t.Errorf("%s: rules.Namespaced says %v, the CRD of profile %s (%s) says %v", gk, rules.Namespaced(gk), p, filepath.Base(f.File), f.Namespaced)
			}
		}
	}
}
