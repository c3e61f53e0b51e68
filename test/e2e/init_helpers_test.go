package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// Helpers of the `kubectl konnect init` tests (issue 4).

// initPluginDir is the plugin built once for the test binary.
func initPluginDir(t *testing.T) string { return testenv.PluginDir(t) }

// initCLI runs `kubectl konnect ...` through the real kubectl, with the plugin first on PATH and the
// environment of the test ground (kubeconfig, Konnect reached at its real host names).
type initCLI struct {
	env    *testenv.Env
	binDir string
	// kubeconfig, when set, replaces the test ground's admin kubeconfig.
	kubeconfig string
}

type initResult struct {
	stdout, stderr string
	code           int
	// elapsed is the wall time of the whole kubectl process, plugin start included.
	elapsed time.Duration
}

func (r initResult) String() string {
	return "exit " + strconv.Itoa(r.code) + " after " + r.elapsed.Round(time.Millisecond).String() + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// command builds the kubectl konnect process with args in namespace ns; extraEnv adds variables
// (e.g. KONNECT_TOKEN).
func (c initCLI) command(ctx context.Context, ns string, extraEnv []string, args ...string) *exec.Cmd {
	kubeconfig := c.env.Kubeconfig
	if c.kubeconfig != "" {
		kubeconfig = c.kubeconfig
	}
	full := append([]string{"konnect", "-n", ns}, args...)
	cmd := exec.CommandContext(ctx, "kubectl", full...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "KUBECTL_KONNECT_") || strings.HasPrefix(kv, "KONNECT_") ||
			strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, c.env.PluginEnv()...)
	env = append(env, "KUBECONFIG="+kubeconfig, "PATH="+c.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(env, extraEnv...)
	return cmd
}

// run runs kubectl konnect with args in namespace ns; extraEnv adds variables (e.g. KONNECT_TOKEN).
func (c initCLI) run(t *testing.T, ns string, extraEnv []string, stdin string, args ...string) initResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := c.command(ctx, ns, extraEnv, args...)
	full := cmd.Args[1:]
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := initResult{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("kubectl %s: %v", strings.Join(full, " "), err)
	}
	return res
}

func (c initCLI) mustRun(t *testing.T, ns string, extraEnv []string, stdin string, args ...string) initResult {
	t.Helper()
	res := c.run(t, ns, extraEnv, stdin, args...)
	require.Equal(t, 0, res.code, "kubectl konnect %s\n%s", strings.Join(args, " "), res)
	return res
}

// initKinds are every kind init may write, in the versions init writes them on the profile:
// kong-operator 2.x's KonnectGatewayControlPlane and KonnectExtension are v1alpha2.
func initKindsOf(p testenv.Profile) []schema.GroupVersionKind {
	cp, ext := controlPlaneGVK(p), testenv.GVKKonnectExtension
	ext.Version = konnectVersion(p)
	if p == testenv.KGO14 {
		ext = testenv.GVKOldKonnectExtension
	}
	return []schema.GroupVersionKind{{Version: "v1", Kind: "Secret"}, testenv.GVKAuth, cp,
		testenv.GVKDataPlaneClientCert, ext, testenv.GVKDataPlane}
}

// snapshot maps "Kind/name" to the resourceVersion of every object of initKinds in ns.
func initSnapshot(t *testing.T, env *testenv.Env, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvk := range initKindsOf(env.Profile) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns)))
		for _, u := range l.Items {
			out[gvk.Kind+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	return out
}

// konnectWrites counts the write requests the fake Konnect received after the first `from` requests.
func initKonnectWrites(env *testenv.Env, from int) []string {
	var w []string
	for _, r := range env.Konnect.Requests()[from:] {
		if r.Method != "GET" && r.Method != "HEAD" {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

// inProcess is init run in this process, against the test ground, with the fake Konnect's client.
func initInProcess(t *testing.T, env *testenv.Env, ns string, mutate func(o *initcmd.Options)) (*initcmd.Options, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := initcmd.NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	o.Getenv = func(k string) string {
		if k == initcmd.EnvToken {
			return env.Token
		}
		return ""
	}
	o.KonnectHTTPClient = env.Konnect.HTTPClient()
	o.Retry = initcmd.RetryPolicy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, MaxElapsed: 2 * time.Second}
	o.Timeout = time.Minute
	o.Region = "us"
	require.NoError(t, o.CompleteFromConfig(env.Config, ns))
	if mutate != nil {
		mutate(o)
	}
	require.NoError(t, o.Validate())
	return o, &out, &errOut
}

var initGVKSecret = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

func keysOf(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// initManagedBy lists the objects of ns that init's field manager wrote to.
func initManagedBy(t *testing.T, env *testenv.Env, ns string) []string {
	t.Helper()
	var out []string
	for _, gvk := range initKindsOf(env.Profile) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns)))
		for _, u := range l.Items {
			for _, mf := range u.GetManagedFields() {
				if mf.Manager == initcmd.FieldManager {
					out = append(out, gvk.Kind+"/"+u.GetName())
				}
			}
		}
	}
	return out
}

// initCPAPIVersion is the KonnectGatewayControlPlane version init writes on the profile.
func initCPAPIVersion(p testenv.Profile) string {
	return initKindsOf(p)[2].GroupVersion().String()
}

// initWrittenAs is the apiVersion in which init's field manager wrote KonnectGatewayControlPlane
// name (the object reads the same in every served version, so only managedFields tell).
func initWrittenAs(t *testing.T, env *testenv.Env, ns, name string) string {
	t.Helper()
	cp, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, name)
	require.NoError(t, err)
	for _, mf := range cp.GetManagedFields() {
		if mf.Manager == initcmd.FieldManager {
			return mf.APIVersion
		}
	}
	t.Fatalf("KonnectGatewayControlPlane %s/%s has no fields of manager %s", ns, name, initcmd.FieldManager)
	return ""
}
