package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newTestEnv() *Env { return NewEnv(Options{Namespace: "ns"}, Clients{}) }

func checkOf(id string, run func(context.Context, *Env) Result, opts ...func(*Check)) Check {
	c := Check{ID: id, Description: id + " holds", Hint: "fix " + id, Run: run}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func pass(context.Context, *Env) Result { return Passed("fine") }
func fail(context.Context, *Env) Result { return Failed("", "broken") }

func TestRunSkipsChecksWhoseNeedsDidNotPass(t *testing.T) {
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", fail),
		checkOf("a-2", pass, func(c *Check) { c.Needs = []string{"a-1"} }),
		checkOf("a-3", pass, func(c *Check) { c.Needs = []string{"a-2"} }),
		checkOf("a-4", func(context.Context, *Env) Result { return Warned("", "meh") }),
		checkOf("a-5", pass, func(c *Check) { c.Needs = []string{"a-4"} }),
	}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{})
	got := map[string]Status{}
	for _, c := range rep.Categories[0].Checks {
		got[c.ID] = c.Status
	}
	assert.Equal(t, map[string]Status{"a-1": Fail, "a-2": Skip, "a-3": Skip, "a-4": Warn, "a-5": Pass}, got,
		"a skipped prerequisite skips its dependants; a warning does not")
	c, _ := rep.Find("a-2")
	assert.Equal(t, "skipped: a-1 did not pass", c.Message)
	assert.Equal(t, Summary{Pass: 1, Warn: 1, Fail: 1, Skip: 2}, rep.Summary)
	assert.Equal(t, Fail, rep.Status)
	assert.True(t, rep.Failed())
}

func TestRunUsesTheChecksHintUnlessTheResultHasOne(t *testing.T) {
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", fail),
		checkOf("a-2", func(context.Context, *Env) Result { return Failed("exact command", "broken") }),
		checkOf("a-3", pass),
	}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{})
	c1, _ := rep.Find("a-1")
	c2, _ := rep.Find("a-2")
	c3, _ := rep.Find("a-3")
	assert.Equal(t, "fix a-1", c1.Hint)
	assert.Equal(t, "exact command", c2.Hint)
	assert.Empty(t, c3.Hint, "a pass carries no hint")
	assert.Equal(t, DocsURL+"#a-1", c1.Doc)
}

func TestRunRetriesSettlingChecksUntilTheyPassWithinWait(t *testing.T) {
	runs := 0
	settles := func(context.Context, *Env) Result {
		runs++
		if runs < 3 {
			return Failed("", "not yet (%d)", runs)
		}
		return Passed("settled after %d runs", runs)
	}
	var progress []string
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{checkOf("a-1", settles, func(c *Check) { c.Retry = true })}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{
		Wait: 10 * time.Second, RetryInterval: 10 * time.Millisecond,
		Progress: func(f string, a ...any) { progress = append(progress, f) },
	})
	c, _ := rep.Find("a-1")
	assert.Equal(t, Pass, c.Status)
	assert.Equal(t, "settled after 3 runs", c.Message)
	assert.Equal(t, 3, c.Attempts)
	assert.Len(t, progress, 2, "one progress line per retry")
}

func TestRunDoesNotRetryWithoutWaitOrForChecksThatDoNotSettle(t *testing.T) {
	for name, tc := range map[string]struct {
		retry bool
		wait  time.Duration
	}{"no --wait": {retry: true}, "not a settling check": {wait: time.Second}} {
		t.Run(name, func(t *testing.T) {
			runs := 0
			cats := []Category{{ID: "a", Name: "A", Checks: []Check{checkOf("a-1", func(context.Context, *Env) Result {
				runs++
				return Failed("", "no")
			}, func(c *Check) { c.Retry = tc.retry })}}}
			Run(context.Background(), newTestEnv(), cats, RunOptions{Wait: tc.wait, RetryInterval: time.Millisecond})
			assert.Equal(t, 1, runs)
		})
	}
}

func TestRunRetriesSkipsOfSettlingChecksButNotFinalOnes(t *testing.T) {
	runs := map[string]int{}
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", func(context.Context, *Env) Result {
			runs["a-1"]++
			if runs["a-1"] < 2 {
				return Skipped("skipped: no control plane ID yet")
			}
			return Passed("now")
		}, func(c *Check) { c.Retry = true }),
		checkOf("a-2", func(context.Context, *Env) Result {
			runs["a-2"]++
			return NotApplicable("does not apply here")
		}, func(c *Check) { c.Retry = true }),
	}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{Wait: 5 * time.Second, RetryInterval: time.Millisecond})
	c1, _ := rep.Find("a-1")
	assert.Equal(t, Pass, c1.Status)
	assert.Equal(t, map[string]int{"a-1": 2, "a-2": 1}, runs)
}

func TestRunRetryForgetsFacts(t *testing.T) {
	e := newTestEnv()
	n := 0
	lookup := func() (int, error) { n++; return n, nil }
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{checkOf("a-1", func(ctx context.Context, e *Env) Result {
		v, _ := memo(e, "counter", lookup)
		v2, _ := memo(e, "counter", lookup)
		require.Equal(t, v, v2, "a fact is looked up once per round")
		if v < 2 {
			return Failed("", "stale")
		}
		return Passed("fresh")
	}, func(c *Check) { c.Retry = true })}}}
	rep := Run(context.Background(), e, cats, RunOptions{Wait: 5 * time.Second, RetryInterval: time.Millisecond})
	c, _ := rep.Find("a-1")
	assert.Equal(t, Pass, c.Status, "a retry must look the facts up again")
}

func TestRunTimesOutASlowCheckAlone(t *testing.T) {
	slow := func(ctx context.Context, _ *Env) Result {
		<-ctx.Done()
		return Failed("", "gave up: %v", ctx.Err())
	}
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", slow, func(c *Check) { c.Timeout = 20 * time.Millisecond }),
		checkOf("a-2", pass),
	}}}
	start := time.Now()
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{CheckTimeout: time.Hour})
	assert.Less(t, time.Since(start), 10*time.Second)
	c1, _ := rep.Find("a-1")
	c2, _ := rep.Find("a-2")
	assert.Equal(t, Fail, c1.Status)
	assert.True(t, strings.HasPrefix(c1.Message, "timed out after 20ms"), c1.Message)
	assert.Contains(t, c1.Hint, "--check-timeout")
	assert.Equal(t, Pass, c2.Status, "the next check runs with its own time")
}

func TestRunTurnsAPanicIntoAFailureOfThatCheck(t *testing.T) {
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", func(context.Context, *Env) Result { panic("boom") }),
		checkOf("a-2", pass),
	}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{})
	c1, _ := rep.Find("a-1")
	assert.Equal(t, Fail, c1.Status)
	assert.Equal(t, "check panicked: boom", c1.Message)
	c2, _ := rep.Find("a-2")
	assert.Equal(t, Pass, c2.Status)
}

func TestRunNeverPrintsATokenItRead(t *testing.T) {
	const tok = "kpat_0123456789abcdefghijklmnopqrstuvwxyzABCD"
	cats := []Category{{ID: "a", Name: "A", Checks: []Check{
		checkOf("a-1", func(_ context.Context, e *Env) Result {
			e.noteSecret(tok)
			return Failed("curl -H 'Authorization: Bearer "+tok+"'", "Konnect said %s is bad", tok)
		}),
	}}}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{})
	var table, js bytes.Buffer
	require.NoError(t, WriteTable(&table, rep, TableOptions{}))
	require.NoError(t, WriteJSON(&js, rep))
	assert.NotContains(t, table.String(), tok)
	assert.NotContains(t, js.String(), tok)
	assert.Contains(t, table.String(), "Konnect said [redacted] is bad")
}

func sampleReport() *Report {
	cats := []Category{
		{ID: "one", Name: "First category", Checks: []Check{
			checkOf("one-a", pass),
			checkOf("one-b", func(context.Context, *Env) Result { return Warned("", "careful") }),
		}},
		{ID: "two", Name: "Second", Checks: []Check{
			checkOf("two-a", fail),
			checkOf("two-b", pass, func(c *Check) { c.Needs = []string{"two-a"} }),
		}},
	}
	rep := Run(context.Background(), newTestEnv(), cats, RunOptions{})
	rep.DataPlane, rep.ControlPlane = "dp", "cp"
	return rep
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, sampleReport(), TableOptions{}))
	want := `Namespace ns, DataPlane dp, KonnectGatewayControlPlane cp

First category
--------------
√ one-a holds: fine
‼ one-b holds: careful
    hint: fix one-b
    see ` + DocsURL + `#one-b

Second
------
× two-a holds: broken
    hint: fix two-a
    see ` + DocsURL + `#two-a
- two-b holds: skipped: two-a did not pass

Status check results are × (1 failed, 1 warning, 1 passed, 1 skipped)
`
	assert.Equal(t, want, b.String())
}

func TestWriteTableColoursMarksOnlyWhenAsked(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, sampleReport(), TableOptions{Color: true}))
	assert.Contains(t, b.String(), "\x1b[32m√\x1b[0m one-a holds")
	assert.Contains(t, b.String(), "\x1b[31m×\x1b[0m two-a holds")
	var plain bytes.Buffer
	require.NoError(t, WriteTable(&plain, sampleReport(), TableOptions{}))
	assert.NotContains(t, plain.String(), "\x1b[")
}

func TestUseColorOnlyOnATerminalWithoutNO_COLOR(t *testing.T) {
	assert.False(t, UseColor(&bytes.Buffer{}), "a buffer is no terminal")
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, UseColor(f), "a file is no terminal")
	t.Setenv("NO_COLOR", "")
	assert.False(t, UseColor(os.Stdout), "NO_COLOR, even empty, turns colour off")
}

func TestWriteJSONHasAStableShape(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, sampleReport()))
	var got map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	assert.Equal(t, ReportAPIVersion, got["apiVersion"])
	assert.Equal(t, ReportKind, got["kind"])
	assert.Equal(t, "fail", got["status"])
	assert.Equal(t, map[string]any{"pass": 1.0, "warn": 1.0, "fail": 1.0, "skip": 1.0}, got["summary"])
	cats := got["categories"].([]any)
	require.Len(t, cats, 2)
	check := cats[1].(map[string]any)["checks"].([]any)[0].(map[string]any)
	keys := []string{}
	for k := range check {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"id", "description", "status", "message", "hint", "doc"}, keys,
		"every check has the same keys, whatever its status")
	assert.Equal(t, "two-a", check["id"])
	assert.Equal(t, "fail", check["status"])
}

func TestCatalogueIDsAreUniqueAndNeedsComeFirst(t *testing.T) {
	seen := map[string]bool{}
	for _, cat := range Catalogue() {
		require.NotEmpty(t, cat.Checks, cat.ID)
		for _, c := range cat.Checks {
			assert.False(t, seen[c.ID], "duplicate ID %s", c.ID)
			assert.True(t, strings.HasPrefix(c.ID, cat.ID+"-"), "%s is not prefixed by its category %s", c.ID, cat.ID)
			assert.NotEmpty(t, c.Description, c.ID)
			assert.NotEmpty(t, c.Details, c.ID)
			assert.NotNil(t, c.Run, c.ID)
			for _, n := range c.Needs {
				assert.True(t, seen[n], "%s needs %s, which must run before it", c.ID, n)
			}
			seen[c.ID] = true
		}
	}
	assert.Len(t, seen, 23)
}

func TestDocsCheckMDIsUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "check.md")
	got, err := os.ReadFile(path)
	require.NoError(t, err, "generate it: go generate ./pkg/check")
	if string(got) != string(Markdown()) {
		t.Fatalf("docs/check.md is out of date: run `go generate ./pkg/check`")
	}
}

func TestKonnectErrorSaysWhatKonnectAnswered(t *testing.T) {
	for name, tc := range map[string]struct {
		err        error
		wantStatus int
		want       string
	}{
		"typed 401": {&sdkerrors.UnauthorizedError{Status: 401.0, Title: "Unauthorized", Detail: "Invalid credentials", Instance: "kong:trace:123"}, 401,
			"Konnect answered 401 Unauthorized: Invalid credentials"},
		"typed 404 without detail": {&sdkerrors.NotFoundError{Status: 404.0, Title: "Not Found"}, 404, "Konnect answered 404 Not Found"},
		"SDK error":                {&sdkerrors.SDKError{Message: "API error occurred", StatusCode: 502, Body: "<html>"}, 502, "Konnect answered 502 Bad Gateway"},
		"network":                  {errors.New("dial tcp: connection refused"), 0, "dial tcp: connection refused"},
	} {
		t.Run(name, func(t *testing.T) {
			status, msg := konnectError(tc.err)
			assert.Equal(t, tc.wantStatus, status)
			assert.Equal(t, tc.want, msg)
			assert.NotContains(t, msg, "kong:trace", "correlation IDs make output unstable")
		})
	}
}

func TestRegionOf(t *testing.T) {
	for in, want := range map[string]string{
		"us.api.konghq.com": "us", "https://eu.api.konghq.com": "eu", "https://au.api.konghq.com/": "au",
		"api.konghq.com": "", "https://global.api.konghq.com": "global", "konghq.com": "",
	} {
		assert.Equal(t, want, regionOf(in), in)
	}
}

func TestParseEndpoint(t *testing.T) {
	ep := parseEndpoint("https://b89939e7f0.us.cp0.konghq.com")
	assert.Equal(t, endpoint{URL: "https://b89939e7f0.us.cp0.konghq.com", Host: "b89939e7f0.us.cp0.konghq.com", Prefix: "b89939e7f0", Region: "us", ServerHostname: "konghq.com"}, ep)
	ep = parseEndpoint("https://0123456789.eu.cp0.example.internal.corp")
	assert.Equal(t, "example.internal.corp", ep.ServerHostname, "custom domains keep every label")
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"kong/kong-gateway:3.9.1.0":                      "3.9.1.0",
		"registry:5000/kong/kong-gateway:3.8":            "3.8",
		"kong/kong-gateway:latest":                       "",
		"kong/kong-gateway":                              "",
		"registry:5000/kong/kong-gateway":                "",
		"kong/kong-gateway:3.9.1.0@sha256:0123456789abc": "3.9.1.0",
	} {
		assert.Equal(t, want, imageVersion(in), in)
	}
}

func TestMatchesDataPlane(t *testing.T) {
	pods := []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "dataplane-dp-x7k2p-5d8c9f-abcde"}}}
	assert.True(t, matchesDataPlane("dataplane-dp-x7k2p-5d8c9f-abcde", "dp", pods), "a node is its pod")
	assert.False(t, matchesDataPlane("dataplane-dp-x7k2p-5d8c9f-zzzzz", "dp", pods), "a node of a gone pod is not the data plane's")
	assert.True(t, matchesDataPlane("dp-0", "dp", nil), "without pods: named after the DataPlane")
	assert.True(t, matchesDataPlane("dataplane-dp-abc", "dp", nil))
	assert.False(t, matchesDataPlane("dpx-0", "dp", nil))
	assert.False(t, matchesDataPlane("other-0", "dp", nil))
}
