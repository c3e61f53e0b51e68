package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/migrate"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// webhookProfiles are the profiles the webhook suites run on: every one,
// kong-operator 2.0 included.
var webhookProfiles = testenv.Profiles

// Every rule of the catalogue has at least one kubectl fixture in
// testdata/webhook: KONxxxx.yaml, or KONxxxx.<variant>.yaml when the rule
// needs other objects on another profile. A fixture is a multi-document YAML
// file whose leading comment lines are its header:
//
//	# expect: deny | warn | deny-strict (warn, and deny with --strict)
//	# profiles: kgo-1.4, kgo-1.6      the profiles the fixture runs on
//	# migrate: ko-2.0                 profiles on which the documents are first migrated
//	# unreachable: <profile>: <why>   a profile the rule applies to but cannot fire on
//	# field: <path>                   the field kubectl must print
//	# message: <text>                 text kubectl must print (repeatable)
//	# webhook-gap: <why>              the rule cannot fire through the webhook (see below)
//	# operation: delete               the object under test is applied, then deleted: the rule judges its DELETE
//	# schema-refuses: <text>          the release's CRD refuses the object before any webhook is called, with <text>
//
// Other comment lines are free text. The documents before the last are setup,
// applied one by one with kubectl (each must be admitted; warnings are fine),
// each after the webhook's cache has seen the previous one; the last is the
// object under test. In the documents, NAMESPACE is the test's namespace,
// TOKEN a valid token of the fake Konnect and KONNECT_ID(<name>) the
// status.id of KonnectGatewayControlPlane <name> once the KGO stand-in has
// programmed it and the webhook's cache has seen that.
//
// With migrate, the documents are written for KGO 1.x and, on the listed
// profiles, converted first as `kubectl konnect migrate -o yaml` converts them
// (pkg/migrate): KonnectGatewayControlPlane and konnect.konghq.com
// KonnectExtension v1alpha1 become v1alpha2, which is all the ko-2.0 CRDs
// serve usefully (without kong-operator's conversion webhook a v1alpha1
// control plane loses its spec.name). A fixture whose object under test
// differs on ko-2.0 (another field path) has a KONxxxx.ko-2.0.yaml variant
// instead. A setup Mirror KonnectGatewayControlPlane (v1alpha2) is waited
// for until the webhook's cache has its status.clusterType.
//
// A fixture with webhook-gap documents a rule that the webhook cannot
// evaluate (rules.Rule.NeedsSecretKeys: the webhook watches Secrets as
// metadata only): the test asserts that the object is admitted without the
// code, and fails once the rule starts firing (then drop the header).

const ruleFixtureDir = "testdata/webhook"

const (
	expectDeny       = "deny"
	expectWarn       = "warn"
	expectDenyStrict = "deny-strict"
	// expectSilent: a valid neighbour of a rule (issue 19): admitted, and
	// kubectl prints none of the fixture's message lines (e.g. its code).
	expectSilent = "silent"
)

var (
	ruleFixtureName  = regexp.MustCompile(`^(KON[0-9]{4})(\.[a-z0-9.-]+)?\.yaml$`)
	ruleFixtureKey   = regexp.MustCompile(`^#\s*([a-z][a-z-]*):\s*(.*)$`)
	konnectIDPattern = regexp.MustCompile(`KONNECT_ID\(([a-z0-9-]+)\)`)
)

type ruleFixture struct {
	Code string
	// Name is the file name without .yaml, e.g. KON1604.kgo-1.4.
	Name        string
	Expect      string
	Profiles    []testenv.Profile
	Migrate     []testenv.Profile
	Unreachable map[testenv.Profile]string
	Field       string
	Messages    []string
	Gap         string
	// Delete: the rule judges the DELETE of the object under test.
	Delete bool
	// SchemaRefuses is the API server's own message when the release's
	// CRD (its schema or CEL rules) refuses the object before admission
	// webhooks run: the rule then only speaks in lint, and the fixture
	// shows that the cluster refuses the object too.
	SchemaRefuses string
	// Docs are the YAML documents without comment lines, the object under
	// test last.
	Docs []string
}

func (f ruleFixture) runsOn(p testenv.Profile) bool { return slices.Contains(f.Profiles, p) }

func (f ruleFixture) migratesOn(p testenv.Profile) bool { return slices.Contains(f.Migrate, p) }

func parseRuleFixture(path string) (ruleFixture, error) {
	base := filepath.Base(path)
	m := ruleFixtureName.FindStringSubmatch(base)
	if m == nil {
		return ruleFixture{}, fmt.Errorf("%s: name must be KONxxxx.yaml or KONxxxx.<variant>.yaml", base)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ruleFixture{}, err
	}
	f := ruleFixture{Code: m[1], Name: strings.TrimSuffix(base, ".yaml"), Unreachable: map[testenv.Profile]string{}}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		km := ruleFixtureKey.FindStringSubmatch(line)
		if km == nil {
			continue
		}
		key, value := km[1], strings.TrimSpace(km[2])
		switch key {
		case "expect":
			f.Expect = value
		case "profiles":
			for _, p := range strings.Split(value, ",") {
				f.Profiles = append(f.Profiles, testenv.Profile(strings.TrimSpace(p)))
			}
		case "migrate":
			for _, p := range strings.Split(value, ",") {
				f.Migrate = append(f.Migrate, testenv.Profile(strings.TrimSpace(p)))
			}
		case "unreachable":
			p, why, ok := strings.Cut(value, ": ")
			if !ok || strings.TrimSpace(why) == "" {
				return f, fmt.Errorf("%s: unreachable takes <profile>: <reason>, got %q", base, value)
			}
			f.Unreachable[testenv.Profile(p)] = why
		case "field":
			f.Field = value
		case "message":
			f.Messages = append(f.Messages, value)
		case "webhook-gap":
			f.Gap = value
		case "schema-refuses":
			f.SchemaRefuses = value
		case "operation":
			if value != "delete" {
				return f, fmt.Errorf("%s: operation takes delete (create is the default), got %q", base, value)
			}
			f.Delete = true
		default:
			return f, fmt.Errorf("%s: unknown header key %q", base, key)
		}
	}
	switch f.Expect {
	case expectDeny, expectWarn, expectDenyStrict, expectSilent:
	default:
		return f, fmt.Errorf("%s: expect must be deny, warn, deny-strict or silent, got %q", base, f.Expect)
	}
	if len(f.Profiles) == 0 {
		return f, fmt.Errorf("%s: no profiles", base)
	}
	for _, p := range append(append(append([]testenv.Profile{}, f.Profiles...), f.Migrate...), keys(f.Unreachable)...) {
		if !knownProfile(p) {
			return f, fmt.Errorf("%s: unknown profile %q (known: %v)", base, p, webhookProfiles)
		}
	}
	for _, p := range f.Migrate {
		if !f.runsOn(p) {
			return f, fmt.Errorf("%s: migrate names %s, which is not in profiles", base, p)
		}
	}
	if len(f.Messages) == 0 {
		return f, fmt.Errorf("%s: no message: the test must check what kubectl prints", base)
	}
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1) {
		if d = stripComments(d); strings.TrimSpace(d) != "" {
			f.Docs = append(f.Docs, d)
		}
	}
	if len(f.Docs) == 0 {
		return f, fmt.Errorf("%s: no object under test", base)
	}
	// Without kong-operator's conversion webhook, the ko-2.0 CRDs prune a
	// v1alpha1 control plane to nothing: such documents must be migrated.
	if f.runsOn(testenv.KO20) && !f.migratesOn(testenv.KO20) {
		for _, d := range f.Docs {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			if err := yaml.Unmarshal([]byte(d), &u.Object); err == nil && !migrate.IsMigrated(u) && u.GetKind() != "DataPlane" {
				return f, fmt.Errorf("%s: runs on %s with %s %s %s: add `# migrate: %s` or a %s.%s.yaml variant",
					base, testenv.KO20, u.GetAPIVersion(), u.GetKind(), u.GetName(), testenv.KO20, f.Code, testenv.KO20)
			}
		}
	}
	return f, nil
}

func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func keys(m map[testenv.Profile]string) []testenv.Profile {
	var out []testenv.Profile
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func knownProfile(p testenv.Profile) bool { return slices.Contains(webhookProfiles, p) }

func loadRuleFixtures(t *testing.T) []ruleFixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(ruleFixtureDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no fixtures in %s", ruleFixtureDir)
	var out []ruleFixture
	for _, p := range paths {
		f, err := parseRuleFixture(p)
		require.NoError(t, err)
		out = append(out, f)
	}
	return out
}

func ruleAppliesTo(r rules.Rule, p testenv.Profile) bool { return r.Releases.Contains(p.Generation()) }

func expectOf(r rules.Rule) string {
	if r.Strict {
		return expectDenyStrict
	}
	return string(r.Severity)
}

// TestWebhookRuleFixturesCoverTheCatalogue: a rule without a kubectl fixture
// fails CI, and fixtures agree with the catalogue (severity, generations) and
// cover every profile the rule applies to, or say why they cannot.
func TestWebhookRuleFixturesCoverTheCatalogue(t *testing.T) {
	byCode := map[string][]ruleFixture{}
	codes := map[string]bool{}
	for _, r := range rules.Catalogue() {
		codes[r.Code] = true
	}
	for _, f := range loadRuleFixtures(t) {
		if f.Expect == expectSilent {
			if !codes[f.Code] {
				t.Errorf("%s: a valid neighbour of %s, which is not in the catalogue", f.Name, f.Code)
			}
			continue
		}
		byCode[f.Code] = append(byCode[f.Code], f)
	}
	for _, r := range rules.Catalogue() {
		fixtures := byCode[r.Code]
		delete(byCode, r.Code)
		if len(fixtures) == 0 {
			t.Errorf("%s (%s) has no kubectl test: add %s/%s.yaml", r.Code, r.Title, ruleFixtureDir, r.Code)
			continue
		}
		for _, f := range fixtures {
			if f.Expect != expectOf(r) {
				t.Errorf("%s: expect %s, but the catalogue says %s", f.Name, f.Expect, expectOf(r))
			}
			if (f.Gap != "") != r.NeedsSecretKeys {
				t.Errorf("%s: a webhook-gap header must be there exactly when the rule needs Secret key names (NeedsSecretKeys=%v)", f.Name, r.NeedsSecretKeys)
			}
		}
		for _, p := range webhookProfiles {
			runs, unreachable := false, false
			for _, f := range fixtures {
				runs = runs || f.runsOn(p)
				_, u := f.Unreachable[p]
				unreachable = unreachable || u
				if u && f.runsOn(p) {
					t.Errorf("%s: %s is both in profiles and unreachable", f.Name, p)
				}
			}
			switch applies := ruleAppliesTo(r, p); {
			case !applies && (runs || unreachable):
				t.Errorf("%s applies only to %v, not to profile %s", r.Code, r.Releases, p)
			case applies && !runs && !unreachable:
				t.Errorf("%s applies to profile %s: add a fixture for it or an `# unreachable: %s: <reason>` header", r.Code, p, p)
			}
		}
	}
	for code := range byCode {
		t.Errorf("fixtures for %s, which is not in the catalogue", code)
	}
}

// TestWebhookRules applies every fixture with kubectl against the webhook
// of each profile: a deny rule fails kubectl apply with exit code 1 and the
// code, message and fix; a warn rule (and a deny-strict one, not in strict
// mode) is admitted with a kubectl warning.
func TestWebhookRules(t *testing.T) {
	fixtures := loadRuleFixtures(t)
	for _, p := range webhookProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.SharedWithWebhook(t, p)
			for _, f := range fixtures {
				if !f.runsOn(p) {
					continue
				}
				t.Run(f.Name, func(t *testing.T) {
					t.Parallel()
					expect := f.Expect
					if expect == expectDenyStrict {
						expect = expectWarn
					}
					runRuleFixture(t, env, p, f, expect)
				})
			}
		})
	}
}

// TestWebhookRulesStrict: with --strict, a deny-strict rule denies.
func TestWebhookRulesStrict(t *testing.T) {
	fixtures := loadRuleFixtures(t)
	for _, p := range webhookProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // most of a profile's time is its API server's start
			env := testenv.SharedWithWebhookStrict(t, p)
			for _, f := range fixtures {
				if !f.runsOn(p) || f.Expect != expectDenyStrict {
					continue
				}
				t.Run(f.Name, func(t *testing.T) {
					t.Parallel()
					runRuleFixture(t, env, p, f, expectDeny)
				})
			}
		})
	}
}

func runRuleFixture(t *testing.T, env *testenv.Env, p testenv.Profile, f ruleFixture, expect string) {
	ctx := context.Background()
	ns := env.Namespace(t)
	subst := strings.NewReplacer("NAMESPACE", ns, "TOKEN", env.Token)
	docs := make([]string, len(f.Docs))
	for i, d := range f.Docs {
		docs[i] = subst.Replace(d)
	}
	if f.migratesOn(p) {
		docs = migrateFixtureDocs(t, ns, docs)
	}
	for _, d := range docs[:len(docs)-1] {
		doc := resolveKonnectIDs(t, env, ns, d)
		u := parseFixtureDoc(t, doc)
		target := ns
		if u.GetNamespace() != "" {
			target = u.GetNamespace()
		}
		// The Go client for setup (kubectl's start-up is most of the CPU of
		// these suites); kubectl again when the object exists already, as
		// only a kubectl apply patches it the way a user's second apply would.
		err := env.CreateAsApplied(ctx, target, u)
		if apierrors.IsAlreadyExists(err) {
			var errOut string
			_, errOut, err = env.Kubectl(ctx, doc, "apply", "-n", target, "-f", "-")
			require.NoError(t, err, "setup %s %s must be admitted: %s", u.GetKind(), u.GetName(), errOut)
		}
		require.NoError(t, err, "setup %s %s must be admitted", u.GetKind(), u.GetName())
		env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), target, u.GetName())
		if src, _, _ := unstructured.NestedString(u.Object, "spec", "source"); src == migrate.SourceMirror && migrate.IsMigrated(u) {
			waitForMirrorClusterType(t, env, target, u.GetName())
		}
	}

	doc := resolveKonnectIDs(t, env, ns, docs[len(docs)-1])
	u := parseFixtureDoc(t, doc)
	if f.Delete {
		runDeleteFixture(t, env, ns, f, u, expect, subst)
		return
	}
	out, errOut, err := env.Kubectl(ctx, doc, "apply", "-n", ns, "-f", "-")
	_, getErr := env.Get(ctx, u.GroupVersionKind(), ns, u.GetName())
	if getErr == nil {
		t.Cleanup(func() {
			// Keep the stand-in from retrying objects that wait for
			// something that never comes.
			_ = env.DeleteInBackground(context.Background(), u.GroupVersionKind(), ns, u.GetName())
		})
	} else {
		require.True(t, apierrors.IsNotFound(getErr), "reading %s %s: %v", u.GetKind(), u.GetName(), getErr)
	}
	code := "[" + f.Code + "]"
	report := fmt.Sprintf("kubectl apply of %s %s:\nstdout: %s\nstderr: %s", u.GetKind(), u.GetName(), out, errOut)
	exit := 0
	if err != nil {
		exit = exitCode(err)
	}
	t.Logf("kubectl apply (exit %d): %s", exit, strings.TrimSpace(out+errOut))

	if f.SchemaRefuses != "" {
		require.Error(t, err, "the CRD must refuse the object\n%s", report)
		require.Contains(t, errOut, f.SchemaRefuses, report)
		require.NotContains(t, errOut, code, "the webhook is not called for an object the schema refuses\n%s", report)
		require.Error(t, getErr, "the refused %s must not exist", u.GetKind())
		t.Logf("%s: the %s CRDs refuse the object themselves (lint reports %s offline)", f.Name, p, f.Code)
		return
	}
	if f.Gap != "" {
		require.NoError(t, err, report)
		require.NotContains(t, errOut, code,
			"%s now fires through the webhook: remove the webhook-gap header of %s.yaml\n%s", f.Code, f.Name, report)
		require.NoError(t, getErr)
		t.Logf("%s is lint and check only (admitted, as documented): %s", f.Code, f.Gap)
		return
	}

	switch expect {
	case expectSilent:
		require.NoError(t, err, report)
		for _, m := range f.Messages {
			require.NotContains(t, errOut, subst.Replace(m), "the valid neighbour must stay silent\n%s", report)
		}
		require.NoError(t, getErr, "the admitted %s must exist", u.GetKind())
	case expectDeny:
		require.Error(t, err, "kubectl apply must fail\n%s", report)
		require.Equal(t, 1, exit, report)
		require.Contains(t, errOut, fmt.Sprintf("The %s %q is invalid", u.GetKind(), u.GetName()), report)
		_, after, found := strings.Cut(errOut, code)
		require.True(t, found, "kubectl must print %s\n%s", code, report)
		require.Contains(t, after, "Fix: ", "the denial must name the fix\n%s", report)
		if f.Field != "" {
			// e.g. spec.serverURL: Invalid value: "api.konghq.com": [KON1501]
			fieldError := regexp.QuoteMeta(f.Field+": ") + `(Invalid value: [^\n]*?|Required value|Forbidden): ` + regexp.QuoteMeta(code)
			require.Regexp(t, fieldError, errOut, "the denial must name the field\n%s", report)
		}
		for _, m := range f.Messages {
			require.Contains(t, errOut, subst.Replace(m), report)
		}
		require.Error(t, getErr, "the denied %s must not exist", u.GetKind())
	case expectWarn:
		require.NoError(t, err, report)
		requireFixtureWarning(t, f, errOut, code, report, subst)
		require.NoError(t, getErr, "the admitted %s must exist", u.GetKind())
	default:
		t.Fatalf("unknown expectation %q", expect)
	}
}

// runDeleteFixture applies the object under test, waits until the webhook's
// cache has it, and deletes it with kubectl: a rule that judges the DELETE
// warns (it never denies a deletion) or stays silent.
func runDeleteFixture(t *testing.T, env *testenv.Env, ns string, f ruleFixture, u *unstructured.Unstructured, expect string, subst *strings.Replacer) {
	ctx := context.Background()
	target := ns
	if u.GetNamespace() != "" {
		target = u.GetNamespace()
	}
	require.NoError(t, env.CreateAsApplied(ctx, target, u), "the %s %s to delete must be admitted", u.GetKind(), u.GetName())
	env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), target, u.GetName())
	out, errOut, err := env.Kubectl(ctx, "", "delete", "-n", target, "--wait=false", strings.ToLower(u.GetKind())+"."+u.GroupVersionKind().Group+"/"+u.GetName())
	report := fmt.Sprintf("kubectl delete of %s %s:\nstdout: %s\nstderr: %s", u.GetKind(), u.GetName(), out, errOut)
	require.NoError(t, err, "a deletion is never denied\n%s", report)
	t.Logf("kubectl delete: %s", strings.TrimSpace(out+errOut))
	code := "[" + f.Code + "]"
	switch expect {
	case expectSilent:
		for _, m := range f.Messages {
			require.NotContains(t, errOut, subst.Replace(m), "the valid neighbour must stay silent\n%s", report)
		}
	case expectWarn:
		requireFixtureWarning(t, f, errOut, code, report, subst)
	default:
		t.Fatalf("a deletion fixture expects warn or silent, not %q", expect)
	}
}

func parseFixtureDoc(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &m), doc)
	u := &unstructured.Unstructured{Object: m}
	require.NotEmpty(t, u.GetKind(), doc)
	require.NotEmpty(t, u.GetName(), doc)
	return u
}

// migrateFixtureDocs converts the documents as `kubectl konnect migrate -o
// yaml` would (pkg/migrate.Plan, offline), keeping their order.
func migrateFixtureDocs(t *testing.T, ns string, docs []string) []string {
	t.Helper()
	objs := make([]*unstructured.Unstructured, len(docs))
	for i, d := range docs {
		objs[i] = parseFixtureDoc(t, d)
	}
	res := migrate.Plan(context.Background(), migrate.Input{Objects: objs, Namespace: ns})
	require.Empty(t, res.Unresolved, "the fixture's documents must migrate")
	type key struct{ group, kind, name string }
	byKey := map[key]*unstructured.Unstructured{}
	for _, c := range res.Changes {
		require.NotNil(t, c.Old, "migrating a fixture adds nothing (%s)", c.Why)
		gvk := c.Old.GroupVersionKind()
		byKey[key{gvk.Group, gvk.Kind, c.Old.GetName()}] = c.New
	}
	out := make([]string, len(docs))
	for i, o := range objs {
		gvk := o.GroupVersionKind()
		out[i] = docs[i]
		if n, ok := byKey[key{gvk.Group, gvk.Kind, o.GetName()}]; ok {
			y, err := migrate.YAML(n)
			require.NoError(t, err)
			out[i] = y
		}
	}
	return out
}

// waitForMirrorClusterType waits until the webhook's cache has the cluster
// type kong-operator (here the stand-in) recorded in a Mirror's status: only
// then do the cluster-type rules know it.
func waitForMirrorClusterType(t *testing.T, env *testenv.Env, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if cp, ok := env.WebhookLookup.Get(rules.GKKonnectGatewayControlPlane, ns, name); ok {
			if ct, _, _ := unstructured.NestedString(cp.Object, "status", "clusterType"); ct != "" {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the webhook cache never saw status.clusterType of the Mirror KonnectGatewayControlPlane %s/%s", ns, name)
}

// resolveKonnectIDs replaces KONNECT_ID(<name>) with the Konnect ID of
// KonnectGatewayControlPlane <name>, waiting until the webhook's cache has it.
func resolveKonnectIDs(t *testing.T, env *testenv.Env, ns, doc string) string {
	t.Helper()
	return konnectIDPattern.ReplaceAllStringFunc(doc, func(s string) string {
		name := konnectIDPattern.FindStringSubmatch(s)[1]
		deadline := time.Now().Add(waitTimeout)
		for time.Now().Before(deadline) {
			if cp, ok := env.WebhookLookup.Get(rules.GKKonnectGatewayControlPlane, ns, name); ok {
				if id, _, _ := unstructured.NestedString(cp.Object, "status", "id"); id != "" {
					return id
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		var status any
		if cp, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, name); err == nil {
			status = cp.Object["status"]
		}
		t.Fatalf("the webhook cache never saw status.id of KonnectGatewayControlPlane %s/%s; its status: %v", ns, name, status)
		return ""
	})
}

// requireFixtureWarning: kubectl printed the fixture's warning, with its
// field, its messages and a fix.
func requireFixtureWarning(t *testing.T, f ruleFixture, errOut, code, report string, subst *strings.Replacer) {
	t.Helper()
	var warning string
	for _, line := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(line, "Warning: ") && strings.Contains(line, code) {
			warning = line
		}
	}
	require.NotEmpty(t, warning, "kubectl must print a warning with %s\n%s", code, report)
	require.Contains(t, warning, "Fix: ", "the warning must name the fix\n%s", report)
	if f.Field != "" {
		require.Contains(t, warning, "Warning: "+f.Field+": "+code, report)
	}
	for _, m := range f.Messages {
		require.Contains(t, warning, subst.Replace(m), report)
	}
}
