package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/hack/webhook-rss/fixture"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The fuzz targets of the admission path (issue 8). Both send bodies to the
// handler cmd/webhook serves (admission.WithValidator over webhook.Validator,
// built as webhook.NewManager builds it) over a rules.Store that holds, for
// every rule, the cluster in which the rule fires: the setup documents of
// the kubectl fixtures of test/e2e/testdata/webhook, each fixture in its own
// namespace, stored as the webhook's informers store them (Secrets as
// metadata only, control planes programmed). The object under test of every
// fixture is a seed, so the fuzzer starts from requests that reach every
// rule, on both KGO generations, strict or not.
//
// The property: the handler never panics, always answers HTTP 200 with an
// AdmissionReview, and the answer is either allowed (possibly with
// warnings) or a denial with a 4xx status and a message. Never a 5xx: a
// malformed object gets a clear denial, not an internal error.
//
// Panics are not recovered here (WithRecoverPanic(false)), unlike in the
// server, so that a crasher fails with its stack trace rather than as a 500.

// ruleFixture is one kubectl fixture of test/e2e/testdata/webhook.
type ruleFixture struct {
	file     string
	code     string
	expect   string // deny, warn or deny-strict
	gap      bool   // webhook-gap: the rule cannot fire through the webhook
	delete   bool   // operation: delete: the rule judges the object's DELETE
	profiles []testenv.Profile
	ns       string
	setup    []*unstructured.Unstructured
	obj      *unstructured.Unstructured
	// old is the setup document the object under test replaces (same
	// kind, namespace and name): kubectl's apply of it is an UPDATE, which
	// is what an update rule (Rule.CheckUpdate) judges.
	old *unstructured.Unstructured
}

var (
	fixtureFile   = regexp.MustCompile(`^(KON[0-9]{4})(\.[a-z0-9.-]+)?\.yaml$`)
	fixtureHeader = regexp.MustCompile(`^#\s*([a-z][a-z-]*):\s*(.*)$`)
	fixtureID     = regexp.MustCompile(`KONNECT_ID\(([a-z0-9-]+)\)`)
)

// konnectIDOf is the status.id a programmed control plane gets in the
// fuzz cluster (what the KGO stand-in would set).
func konnectIDOf(ns, name string) string {
	h := uint32(2166136261)
	for _, c := range []byte(ns + "/" + name) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", h, h)
}

// loadRuleFixtures reads every rule fixture of the kubectl tests.
func loadRuleFixtures(t testing.TB) []ruleFixture {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "test", "e2e", "testdata", "webhook")
	files, err := filepath.Glob(filepath.Join(dir, "KON*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule fixtures in %s (%v)", dir, err)
	}
	var out []ruleFixture
	for _, path := range files {
		base := filepath.Base(path)
		m := fixtureFile.FindStringSubmatch(base)
		if m == nil {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fx := ruleFixture{file: base, code: m[1], ns: "fz-" + strings.ToLower(strings.NewReplacer(".", "-").Replace(strings.TrimSuffix(base, ".yaml")))}
		for _, line := range strings.Split(string(b), "\n") {
			h := fixtureHeader.FindStringSubmatch(line)
			if h == nil {
				continue
			}
			switch h[1] {
			case "expect":
				fx.expect = strings.TrimSpace(h[2])
			case "webhook-gap":
				fx.gap = true
			case "operation":
				fx.delete = strings.TrimSpace(h[2]) == "delete"
			case "profiles":
				for _, p := range strings.Split(h[2], ",") {
					fx.profiles = append(fx.profiles, testenv.Profile(strings.TrimSpace(p)))
				}
			}
		}
		text := strings.ReplaceAll(string(b), "NAMESPACE", fx.ns)
		text = strings.ReplaceAll(text, "TOKEN", "kpat_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz")
		text = fixtureID.ReplaceAllStringFunc(text, func(s string) string {
			return konnectIDOf(fx.ns, fixtureID.FindStringSubmatch(s)[1])
		})
		var docs []*unstructured.Unstructured
		for _, doc := range strings.Split(text, "\n---") {
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			m := map[string]any{}
			if err := json.Unmarshal(j, &m); err != nil || len(m) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			if u.GetNamespace() == "" {
				// A namespace the fixture names (NAMESPACE-svc) is kept:
				// cross-namespace rules read it.
				u.SetNamespace(fx.ns)
			}
			u.SetUID(types.UID(konnectIDOf(fx.ns, u.GetKind()+"/"+u.GetName())))
			docs = append(docs, u)
		}
		if len(docs) == 0 {
			t.Fatalf("%s: no documents", base)
		}
		fx.obj = docs[len(docs)-1]
		for _, o := range docs[:len(docs)-1] {
			if o.GroupVersionKind().GroupKind() == fx.obj.GroupVersionKind().GroupKind() &&
				o.GetNamespace() == fx.obj.GetNamespace() && o.GetName() == fx.obj.GetName() {
				fx.old = o
				continue // the store holds the object once: as stored before the update
			}
			fx.setup = append(fx.setup, informerView(o, docs))
		}
		if fx.old != nil {
			fx.setup = append(fx.setup, informerView(fx.old, docs))
		}
		out = append(out, fx)
	}
	return out
}

// informerView is obj as the webhook's informers store it once KGO has
// acted: Secrets as metadata only (their type and data never reach the
// webhook), control planes programmed with a Konnect ID, and a Mirror with
// the cluster type of the control plane it mirrors (among docs) in
// status.clusterType, as kong-operator 2.x records it.
func informerView(obj *unstructured.Unstructured, docs []*unstructured.Unstructured) *unstructured.Unstructured {
	o := obj.DeepCopy()
	switch o.GroupVersionKind().GroupKind() {
	case rules.GKSecret:
		m := &unstructured.Unstructured{Object: map[string]any{}}
		m.SetGroupVersionKind(o.GroupVersionKind())
		m.SetName(o.GetName())
		m.SetNamespace(o.GetNamespace())
		m.SetUID(o.GetUID())
		m.SetLabels(o.GetLabels())
		return m
	case rules.GKKonnectGatewayControlPlane:
		_ = unstructured.SetNestedField(o.Object, konnectIDOf(o.GetNamespace(), o.GetName()), "status", "id")
		if id, _, _ := unstructured.NestedString(o.Object, "spec", "mirror", "konnect", "id"); id != "" {
			for _, d := range docs {
				if d.GetKind() == o.GetKind() && konnectIDOf(d.GetNamespace(), d.GetName()) == id {
					ct, _, _ := unstructured.NestedString(d.Object, "spec", "createControlPlaneRequest", "cluster_type")
					if ct == "" {
						ct, _, _ = unstructured.NestedString(d.Object, "spec", "cluster_type")
					}
					if ct == "" {
						ct = "CLUSTER_TYPE_CONTROL_PLANE"
					}
					_ = unstructured.SetNestedField(o.Object, ct, "status", "clusterType")
				}
			}
		}
	}
	return o
}

// fuzzCluster is the handler of each generation and mode over the fixtures'
// clusters.
type fuzzCluster struct {
	fixtures []ruleFixture
	// handlers[gen][strict]
	handlers map[rules.Generation]map[bool]http.Handler
}

var (
	fuzzOnce sync.Once
	fuzzCl   *fuzzCluster
)

// fuzzGenerations are the generations of the fuzz cluster, by profile.
var fuzzGenerations = map[testenv.Profile]rules.Generation{
	testenv.KGO14: rules.GenerationKGO14,
	testenv.KGO16: rules.GenerationKGO15Plus,
	testenv.KO20:  rules.GenerationKO20,
	testenv.KO22:  rules.GenerationKO22,
	testenv.KO23:  rules.GenerationKO23,
}

// fixtureGeneration is the generation a fixture's seed is sent to: that of
// its first known profile.
func fixtureGeneration(fx ruleFixture) (rules.Generation, bool) {
	for _, p := range fx.profiles {
		if g, ok := fuzzGenerations[p]; ok {
			return g, true
		}
	}
	return "", false
}

func newFuzzCluster(t testing.TB) *fuzzCluster {
	t.Helper()
	fuzzOnce.Do(func() {
		c := &fuzzCluster{fixtures: loadRuleFixtures(t), handlers: map[rules.Generation]map[bool]http.Handler{}}
		for _, gen := range []rules.Generation{rules.GenerationKGO14, rules.GenerationKGO15Plus, rules.GenerationKO20, rules.GenerationKO22, rules.GenerationKO23} {
			store := rules.NewStore(gen)
			store.Track(rules.LookupKinds()...)
			// The benchmark's cluster too, so lookups also search a crowd.
			for i := range 300 {
				store.Add(fixture.ClusterObject(i))
			}
			for _, fx := range c.fixtures {
				for _, p := range fx.profiles {
					if fuzzGenerations[p] == gen {
						for _, o := range fx.setup {
							store.Add(o)
						}
						break
					}
				}
			}
			c.handlers[gen] = map[bool]http.Handler{}
			for _, strict := range []bool{false, true} {
				// As webhook.NewManager registers it, without panic recovery.
				c.handlers[gen][strict] = admission.WithValidator[*unstructured.Unstructured](k8sruntime.NewScheme(),
					&webhook.Validator{Lookup: store, Options: rules.Options{Strict: strict}}).WithRecoverPanic(false)
			}
		}
		fuzzCl = c
	})
	if fuzzCl == nil {
		t.Fatal("building the fuzz cluster failed earlier")
	}
	return fuzzCl
}

// selector bits of the fuzz targets: the generation (KGO 1.5+ unless a
// bit says otherwise; the newest bit set wins), strict mode, and CREATE or UPDATE.
const (
	selKGO14  = 1 << 0
	selStrict = 1 << 1
	selUpdate = 1 << 2
	selKO20   = 1 << 3
	selKO22   = 1 << 4
	selKO23   = 1 << 5
)

func (c *fuzzCluster) handler(sel uint8) http.Handler {
	gen := rules.GenerationKGO15Plus
	switch {
	case sel&selKO23 != 0:
		gen = rules.GenerationKO23
	case sel&selKO22 != 0:
		gen = rules.GenerationKO22
	case sel&selKO20 != 0:
		gen = rules.GenerationKO20
	case sel&selKGO14 != 0:
		gen = rules.GenerationKGO14
	}
	return c.handlers[gen][sel&selStrict != 0]
}

// admissionResult is what the handler answered.
type admissionResult struct {
	status int
	body   []byte
	review admissionv1.AdmissionReview
}

func serveReview(h http.Handler, body []byte) admissionResult {
	req := httptest.NewRequest(http.MethodPost, webhook.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := admissionResult{status: rec.Code, body: rec.Body.Bytes()}
	_ = json.Unmarshal(res.body, &res.review)
	return res
}

// checkAnswer asserts the property shared by both fuzz targets.
func checkAnswer(t *testing.T, res admissionResult, wantUID types.UID) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200: %s", res.status, res.body)
	}
	resp := res.review.Response
	if resp == nil {
		t.Fatalf("the answer is not an AdmissionReview with a response: %s", res.body)
	}
	if wantUID != "" && resp.UID != wantUID {
		t.Fatalf("response UID %q, want the request's %q: %s", resp.UID, wantUID, res.body)
	}
	code := int32(http.StatusOK)
	if resp.Result != nil && resp.Result.Code != 0 {
		code = resp.Result.Code
	}
	switch {
	case code >= 500:
		t.Fatalf("internal error (%d) for a review: %s", code, res.body)
	case resp.Allowed && code != http.StatusOK:
		t.Fatalf("allowed with status %d: %s", code, res.body)
	case !resp.Allowed && (code < 400 || code > 499):
		t.Fatalf("denied with status %d, want 4xx: %s", code, res.body)
	case !resp.Allowed && strings.TrimSpace(resp.Result.Message) == "":
		t.Fatalf("denied without a message: %s", res.body)
	}
	for _, w := range resp.Warnings {
		if strings.TrimSpace(w) == "" {
			t.Fatalf("empty warning: %s", res.body)
		}
	}
}

const fuzzUID = types.UID("0f6b1d2e-8c1a-4d8e-9f3b-5b2f6c7d8e9f")

// reviewBody wraps raw objects into an AdmissionReview v1 body; nil when
// they are not JSON (the body target covers that case).
func reviewBody(obj, old []byte, update bool) []byte {
	if !json.Valid(obj) || (update && !json.Valid(old)) {
		return nil
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(obj, &meta)
	gv, _ := schema.ParseGroupVersion(meta.APIVersion)
	op := admissionv1.Create
	if update {
		op = admissionv1.Update
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       fuzzUID,
			Kind:      metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: meta.Kind},
			Resource:  metav1.GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: strings.ToLower(meta.Kind) + "s"},
			Name:      meta.Metadata.Name,
			Namespace: meta.Metadata.Namespace,
			Operation: op,
			Object:    k8sruntime.RawExtension{Raw: obj},
		},
	}
	if update {
		ar.Request.OldObject = k8sruntime.RawExtension{Raw: old}
	}
	b, err := json.Marshal(ar)
	if err != nil {
		return nil
	}
	return b
}

// deleteReviewBody is the AdmissionReview of a DELETE of obj: the API
// server sends the object being deleted as oldObject, and no object.
func deleteReviewBody(obj []byte) []byte {
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(reviewBody(obj, nil, false), &ar); err != nil {
		return nil
	}
	ar.Request.Operation = admissionv1.Delete
	ar.Request.OldObject = ar.Request.Object
	ar.Request.Object = k8sruntime.RawExtension{}
	b, err := json.Marshal(ar)
	if err != nil {
		return nil
	}
	return b
}

func mustJSON(t testing.TB, u *unstructured.Unstructured) []byte {
	t.Helper()
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedSelector is the selector under which a fixture's rule fires.
func seedSelector(fx ruleFixture) uint8 {
	var sel uint8
	switch gen, _ := fixtureGeneration(fx); gen {
	case rules.GenerationKGO14:
		sel |= selKGO14
	case rules.GenerationKO20:
		sel |= selKO20
	case rules.GenerationKO22:
		sel |= selKO22
	case rules.GenerationKO23:
		sel |= selKO23
	}
	if fx.expect == "deny-strict" {
		sel |= selStrict
	}
	return sel
}

// FuzzAdmissionObject sends well-formed AdmissionReviews (CREATE, or UPDATE
// from old) whose objects are the fuzzer's.
func FuzzAdmissionObject(f *testing.F) {
	c := newFuzzCluster(f)
	for _, fx := range c.fixtures {
		obj := mustJSON(f, fx.obj)
		sel := seedSelector(fx)
		f.Add(obj, []byte(`{}`), sel)
		// The same object updated from itself: every denial becomes a warning.
		f.Add(obj, obj, sel|selUpdate)
		if fx.old != nil {
			// The update the fixture makes: what an update rule judges.
			f.Add(obj, mustJSON(f, fx.old), sel|selUpdate)
		}
	}
	for _, r := range fixture.Reviews() {
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(r.Body, &ar); err != nil {
			f.Fatal(err)
		}
		f.Add(ar.Request.Object.Raw, []byte(`{}`), uint8(0))
	}
	f.Add([]byte(`{"apiVersion":"configuration.konghq.com/v1alpha1","kind":"KongService","metadata":{"name":"x","namespace":"fz-kon1001","deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"controlPlaneRef":{"type":"konnectNamespacedRef","konnectNamespacedRef":{"name":"kic-cp"}}}}`), []byte(`{}`), uint8(selUpdate))
	f.Add([]byte(`{"apiVersion":"konnect.konghq.com/v1alpha1","kind":"KonnectExtension","metadata":{"name":5},"spec":{"konnect":{"controlPlane":{"ref":[]}}}}`), []byte(`null`), uint8(selUpdate))
	f.Add([]byte(`{"apiVersion":"gateway-operator.konghq.com/v1beta1","kind":"DataPlane","metadata":{"namespace":"ns-0"},"spec":{"extensions":[null,1,{"kind":"KonnectExtension"}]}}`), []byte(`[]`), uint8(selKGO14|selStrict))
	f.Fuzz(func(t *testing.T, obj, old []byte, sel uint8) {
		body := reviewBody(obj, old, sel&selUpdate != 0)
		if body == nil {
			return
		}
		checkAnswer(t, serveReview(c.handler(sel), body), fuzzUID)
	})
}

// FuzzAdmissionReview sends the fuzzer's bytes as the request body: any
// AdmissionReview, v1 or v1beta1, or none at all.
func FuzzAdmissionReview(f *testing.F) {
	c := newFuzzCluster(f)
	for _, fx := range c.fixtures {
		f.Add(reviewBody(mustJSON(f, fx.obj), nil, false), seedSelector(fx))
	}
	for _, r := range fixture.Reviews() {
		f.Add(r.Body, uint8(0))
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE","oldObject":{"apiVersion":"v1","kind":"Secret"}}}`), uint8(0))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CONNECT"}}`), uint8(0))
	f.Add([]byte(`{"request":{"uid":"u","operation":"CREATE","object":null}}`), uint8(0))
	f.Add([]byte(`{"request":{"operation":"UPDATE","object":{"kind":"KongRoute","apiVersion":"configuration.konghq.com/v1alpha1"},"oldObject":"x"}}`), uint8(0))
	f.Add([]byte(`{}`), uint8(0))
	f.Add([]byte(`[`), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		checkAnswer(t, serveReview(c.handler(sel), body), "")
	})
}

// TestFuzzSeedsReachEveryRule: the seeds of the fuzz targets, sent through
// the handler, fire every rule the webhook can evaluate (and, for the
// webhook-gap fixtures, still not the rule), so the fuzzer starts from
// every rule.
func TestFuzzSeedsReachEveryRule(t *testing.T) {
	c := newFuzzCluster(t)
	reached := map[string]bool{}
	for _, fx := range c.fixtures {
		t.Run(fx.file, func(t *testing.T) {
			if _, ok := fixtureGeneration(fx); !ok {
				t.Fatalf("profiles %v: none is in fuzzGenerations; add the new profile there", fx.profiles)
			}
			sel := seedSelector(fx)
			body := reviewBody(mustJSON(t, fx.obj), nil, false)
			if fx.old != nil {
				body = reviewBody(mustJSON(t, fx.obj), mustJSON(t, fx.old), true)
			}
			if fx.delete {
				body = deleteReviewBody(mustJSON(t, fx.obj))
			}
			res := serveReview(c.handler(sel), body)
			checkAnswer(t, res, fuzzUID)
			resp := res.review.Response
			tag := "[" + fx.code + "]"
			msg := ""
			if resp.Result != nil {
				msg = resp.Result.Message
			}
			warned := strings.Contains(strings.Join(resp.Warnings, "\n"), tag)
			denied := !resp.Allowed && strings.Contains(msg, tag)
			switch {
			case fx.gap:
				if warned || denied {
					t.Errorf("%s is a webhook-gap fixture, but the webhook reported it: %s", fx.code, res.body)
				}
				return
			case fx.expect == "silent":
				// A valid neighbour: admitted without the code.
				if warned || !resp.Allowed {
					t.Errorf("%s is a valid neighbour of %s, but the webhook reported it: %s", fx.file, fx.code, res.body)
				}
				return
			case fx.expect == "warn" && !warned:
				t.Errorf("want a %s warning, got %s", fx.code, res.body)
			case fx.expect != "warn" && !denied:
				t.Errorf("want a %s denial, got %s", fx.code, res.body)
			}
			if fx.expect == "deny-strict" {
				// Without strict, the same request is a warning.
				res := serveReview(c.handler(sel&^selStrict), reviewBody(mustJSON(t, fx.obj), nil, false))
				if !res.review.Response.Allowed || !strings.Contains(strings.Join(res.review.Response.Warnings, "\n"), tag) {
					t.Errorf("want a %s warning without strict, got %s", fx.code, res.body)
				}
			}
			reached[fx.code] = true
		})
	}
	for _, r := range rules.Catalogue() {
		if !reached[r.Code] && !r.NeedsSecretKeys {
			t.Errorf("no fuzz seed fires %s", r.Code)
		}
	}
}
