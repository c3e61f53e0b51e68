package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedGround{}
)

// sharedGround is a shared test ground, started once; ready closes when
// env or err is set. Tests of different profiles start theirs at once.
type sharedGround struct {
	ready chan struct{}
	env   *Env
	err   error
}

// Shared returns the test ground of profile p for this test binary, starting
// it on first use; StopAll (from TestMain) stops it. Tests get their own
// namespace from Namespace and must not run in parallel with tests that
// inject Konnect faults.
func Shared(t testing.TB, p Profile) *Env {
	t.Helper()
	return shared1(t, string(p), p, Options{})
}

// SharedWithWebhook is like Shared, with our validating webhook installed
// and served in-process (a separate API server: the webhook judges every
// namespace).
func SharedWithWebhook(t testing.TB, p Profile) *Env {
	t.Helper()
	return shared1(t, string(p)+"+webhook", p, Options{WithWebhook: true})
}

// SharedWithWebhookStrict is SharedWithWebhook with the webhook in strict
// mode (rules.Options.Strict): a reference to an object that does not exist
// is denied instead of warned about.
func SharedWithWebhookStrict(t testing.TB, p Profile) *Env {
	t.Helper()
	return shared1(t, string(p)+"+webhook-strict", p, Options{WithWebhook: true, WebhookRules: rules.Options{Strict: true}})
}

func shared1(t testing.TB, key string, p Profile, opts Options) *Env {
	t.Helper()
	sharedMu.Lock()
	g, ok := shared[key]
	if !ok {
		stopIdleGrounds(maxIdleGrounds - 1)
		g = &sharedGround{ready: make(chan struct{})}
		shared[key] = g
	}
	sharedUse[key]++ // from here on the ground is in use: never stopped as idle
	sharedMu.Unlock()
	t.Cleanup(func() {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		sharedUse[key]--
		sharedLastUse[key] = time.Now()
	})
	if !ok {
		start := time.Now()
		g.env, g.err = New(context.Background(), p, opts)
		close(g.ready)
		if g.err == nil {
			t.Logf("%s test ground (kube-apiserver %s) up in %s", key, g.env.ServerVersion, time.Since(start).Round(time.Millisecond))
		}
	}
	<-g.ready
	if g.err != nil {
		t.Fatalf("starting the %s test ground: %v", key, g.err)
	}
	return g.env
}

// maxIdleGrounds is how many shared test grounds may wait, unused, for a
// later test. An idle kube-apiserver and etcd still cost CPU (watch caches,
// leases, the stand-in's resyncs), and with three grounds a profile the
// idle ones slowed the end of the run by a third; five keeps every profile's
// plain ground for the suites that return to it.
const maxIdleGrounds = 5

var (
	sharedUse     = map[string]int{}
	sharedLastUse = map[string]time.Time{}
)

// stopIdleGrounds stops the least recently used idle grounds until at most
// keep are idle. A ground in use by a running test is never stopped; a test
// that needs a stopped ground again starts it anew. Call with sharedMu held.
func stopIdleGrounds(keep int) {
	for {
		var idle []string
		for k, g := range shared {
			if sharedUse[k] == 0 && g.env != nil {
				idle = append(idle, k)
			}
		}
		if len(idle) <= keep {
			return
		}
		oldest := idle[0]
		for _, k := range idle[1:] {
			if sharedLastUse[k].Before(sharedLastUse[oldest]) {
				oldest = k
			}
		}
		if err := shared[oldest].env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the idle %s test ground: %v\n", oldest, err)
		}
		delete(shared, oldest)
	}
}

// StopAll stops the shared test grounds. Call it from TestMain.
func StopAll() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for p, g := range shared {
		if g.env != nil {
			if err := g.env.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping the %s test ground: %v\n", p, err)
			}
		}
		delete(shared, p)
	}
	if pluginDir != "" {
		_ = os.RemoveAll(pluginDir)
	}
}

// RunMain runs a test binary's tests and stops the shared test grounds. It
// fails the run on any OpenAPI violation the fake Konnect of any test ground
// saw during it, including those outside every test's Namespace window (a
// reconcile after a test ended, a test that made no namespace): the fake
// must be as strict as Konnect, and the suite must not pass over what
// Konnect would refuse.
func RunMain(m *testing.M) int {
	defer StopAll()
	code := m.Run()
	if err := allViolations(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	return code
}

var (
	startedMu sync.Mutex
	started   []*Env
)

// track records a test ground for RunMain's final violation check.
func track(e *Env) {
	startedMu.Lock()
	defer startedMu.Unlock()
	started = append(started, e)
}

// Track makes RunMain check the fake Konnect of a test ground built by hand
// (not with New or NewWithoutKGO) for spec violations at the end of the run.
func Track(e *Env) { track(e) }

func allViolations() error {
	startedMu.Lock()
	defer startedMu.Unlock()
	var errs []error
	for _, e := range started {
		if e.Konnect == nil {
			continue
		}
		if err := e.Konnect.ViolationsError(); err != nil {
			errs = append(errs, fmt.Errorf("%s test ground: %w", e.Profile, err))
		}
	}
	return errors.Join(errs...)
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for t and fails t, when it ends, if the fake
// Konnect saw a request or response the OpenAPI spec forbids meanwhile.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.Trim(base[len(base)-40:], "-")
	}
	ns := base + "-" + rand.String(5)
	if err := e.CreateNamespace(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	seen := len(e.Konnect.Violations())
	t.Cleanup(func() {
		for _, v := range e.Konnect.Violations()[seen:] {
			t.Errorf("fake Konnect: OpenAPI violation: %v", v)
		}
	})
	return ns
}

// MustKubectl runs kubectl and fails t on error.
func (e *Env) MustKubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := e.Kubectl(context.Background(), stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// Get reads an object, in the newest version the profile serves of gvk's
// kind (so that one test reads v1alpha1 or v1alpha2 alike).
func (e *Env) Get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(e.Served(gvk))
	return u, e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u)
}

// WaitFor polls an object until cond holds or timeout, and returns it.
func (e *Env) WaitFor(t testing.TB, gvk schema.GroupVersionKind, ns, name string, timeout time.Duration, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *unstructured.Unstructured
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = e.Get(context.Background(), gvk, ns, name)
		if lastErr == nil && cond(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("waiting for %s %s/%s: %v", gvk.Kind, ns, name, lastErr)
	}
	t.Fatalf("waiting for %s %s/%s: condition not met in %s; status: %v", gvk.Kind, ns, name, timeout, last.Object["status"])
	return nil
}

// Condition returns the status, reason and message of a condition.
func Condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
			return
		}
	}
	return "", "", ""
}

// HasCondition reports whether condition typ has status.
func HasCondition(typ, status string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		s, _, _ := Condition(u, typ)
		return s == status
	}
}

// WaitForWebhookCache waits until the webhook's cache holds the object, or
// the kind is not one the webhook caches.
func (e *Env) WaitForWebhookCache(t testing.TB, gk schema.GroupKind, ns, name string) {
	t.Helper()
	if e.WebhookLookup == nil || !e.WebhookLookup.Tracks(gk) {
		return
	}
	// A cluster-scoped object (a GatewayClass, a KongVault) is cached
	// without a namespace, whatever namespace the test applied it in.
	if m, err := e.Client.RESTMapper().RESTMapping(gk); err == nil && m.Scope.Name() == meta.RESTScopeNameRoot {
		ns = ""
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := e.WebhookLookup.Get(gk, ns, name); ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the webhook cache never saw %s %s/%s", gk, ns, name)
}

// Served is gvk in the newest version the profile serves of its kind (gvk
// itself when the kind is not served).
func (e *Env) Served(gvk schema.GroupVersionKind) schema.GroupVersionKind {
	m, err := e.Client.RESTMapper().RESTMapping(gvk.GroupKind())
	if err != nil {
		return gvk
	}
	return m.GroupVersionKind
}

var (
	pluginOnce sync.Once
	pluginDir  string
	pluginErr  error
)

// PluginDir builds kubectl-konnect once per test binary into a folder for
// kubectl to find on PATH (removed by StopAll), and returns the folder.
func PluginDir(t testing.TB) string {
	t.Helper()
	pluginOnce.Do(func() {
		start := time.Now()
		if pluginDir, pluginErr = os.MkdirTemp("", "kubectl-konnect-bin-"); pluginErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "kubectl-konnect"), "./cmd/kubectl-konnect")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			pluginErr = fmt.Errorf("go build ./cmd/kubectl-konnect: %v\n%s", err, out)
			return
		}
		t.Logf("built kubectl-konnect in %s", time.Since(start).Round(time.Millisecond))
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginDir
}

// CreateAsApplied creates u as a first `kubectl apply` would, last-applied
// annotation included (so that a later kubectl apply of the same object
// patches it without a warning), through the Go client. Setup objects need
// the API server and the webhook, not kubectl's start-up, which is most of
// the CPU the webhook suites spend; the apply under test stays kubectl's.
// ns is the namespace of a namespaced object that names none.
func (e *Env) CreateAsApplied(ctx context.Context, ns string, u *unstructured.Unstructured) error {
	u = u.DeepCopy()
	namespaced, err := e.Client.IsObjectNamespaced(u)
	if err != nil {
		return err
	}
	if namespaced && u.GetNamespace() == "" {
		u.SetNamespace(ns)
	}
	applied, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[corev1.LastAppliedConfigAnnotation] = string(applied) + "\n"
	u.SetAnnotations(ann)
	return e.Client.Create(ctx, u)
}

// DeleteInBackground deletes an object without waiting for it to go, and
// without an error when it is already gone.
func (e *Env) DeleteInBackground(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return client.IgnoreNotFound(e.Client.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground)))
}
