package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/kgostandin"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// hardAuditPolicy logs every request and response body at the API server,
// except Secrets, which are logged as metadata only (as every production
// audit policy does: their data would otherwise be in the log). So the
// token may reach the log only through a place it should not be in.
const hardAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets"]
  - level: RequestResponse
`

// syncBuffer is a bytes.Buffer safe for the API server's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hardAuditedEnv is a test ground whose API server writes an audit log
// (and whose own output is kept): the profile's CRDs, the fake Konnect and
// the KGO stand-in, as testenv.New starts them.
func hardAuditedEnv(t *testing.T, p testenv.Profile) (env *testenv.Env, auditLog string, apiOutput *syncBuffer) {
	t.Helper()
	ctx := context.Background()
	dirs, err := testenv.CRDDirs(p)
	require.NoError(t, err)
	assets, err := testenv.BinaryAssets()
	require.NoError(t, err)
	dir := t.TempDir()
	auditLog = filepath.Join(dir, "audit.log")
	policy := filepath.Join(dir, "audit-policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(hardAuditPolicy), 0o600))
	apiOutput = &syncBuffer{}
	te := &envtest.Environment{
		CRDDirectoryPaths:        dirs,
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	api := te.ControlPlane.GetAPIServer()
	api.Configure().Set("audit-log-path", auditLog).Set("audit-policy-file", policy).Set("audit-log-mode", "blocking")
	api.Out, api.Err = apiOutput, apiOutput
	cfg, err := te.Start()
	require.NoError(t, err)
	env = &testenv.Env{Profile: p, Config: cfg}
	t.Cleanup(func() {
		if env.StandIn != nil {
			_ = env.StandIn.Stop()
		}
		if env.Konnect != nil {
			env.Konnect.Close()
		}
		_ = te.Stop()
	})
	env.Client, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	user, err := te.AddUser(envtest.User{Name: "hardening-admin", Groups: []string{"system:masters"}}, nil)
	require.NoError(t, err)
	kc, err := user.KubeConfig()
	require.NoError(t, err)
	env.Kubeconfig = filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(env.Kubeconfig, kc, 0o600))
	env.Konnect, err = konnecttest.NewServer()
	require.NoError(t, err)
	testenv.Track(env) // its spec violations fail the run too
	env.Token = env.Konnect.IssueToken()
	env.KonnectCAFile = filepath.Join(dir, "konnect-ca.pem")
	require.NoError(t, os.WriteFile(env.KonnectCAFile, env.Konnect.CACertPEM(), 0o600))
	env.StandIn, err = kgostandin.Start(ctx, cfg, kgostandin.Options{Konnect: env.Konnect, ConnectDataPlanes: true})
	require.NoError(t, err)
	return env, auditLog, apiOutput
}

// tokenForms are the ways a token can show: as is, base64-encoded as in a
// Secret's data or a JSON []byte, and any 16 characters of its middle (a
// truncated or partly masked copy).
func tokenForms(tok string) map[string]string {
	forms := map[string]string{
		"the token":                tok,
		"the token in base64":      base64.StdEncoding.EncodeToString([]byte(tok)),
		"the token in base64url":   base64.RawURLEncoding.EncodeToString([]byte(tok)),
		"the token's middle (16c)": tok[len(tok)/2-8 : len(tok)/2+8],
	}
	return forms
}

// leaks lists where, in text, a form of any token appears.
func leaks(where, text string, tokens ...string) []string {
	var out []string
	for _, tok := range tokens {
		for form, s := range tokenForms(tok) {
			if i := strings.Index(text, s); i >= 0 {
				out = append(out, fmt.Sprintf("%s holds %s: ...%s...", where, form, text[max(0, i-80):min(len(text), i+len(s)+40)]))
			}
		}
	}
	return out
}

// TestHardeningTokenNeverLeaks runs init with known tokens (one valid, one
// revoked) every way a user can pass them (KONNECT_TOKEN, --token-file,
// --token-stdin, in-process), with -o yaml and a server dry run too, then
// check, which reads the token from the Secret, and searches for the tokens
// in: every stdout and stderr, the API server's audit log (request and
// response bodies of everything but Secrets) and its own output, the
// Events of every namespace, and every object of every namespaced and
// cluster-scoped resource, where only the token Secret's data may hold it.
func TestHardeningTokenNeverLeaks(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own audited API server
			env, auditLog, apiOutput := hardAuditedEnv(t, p)
			cli := initCLI{env: env, binDir: initPluginDir(t)}
			revoked := env.Konnect.IssueToken()
			env.Konnect.RevokeToken(revoked)
			tokens := []string{env.Token, revoked}
			var found []string
			outputs := 0
			grep := func(where, text string) {
				outputs++
				found = append(found, leaks(where, text, tokens...)...)
			}
			tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
			tokenFile := writeTokenFile(t, env.Token)
			var namespaces []string
			run := func(name string, wantExit int, extraEnv []string, stdin string, args ...string) string {
				ns := env.Namespace(t)
				namespaces = append(namespaces, ns)
				res := cli.run(t, ns, extraEnv, stdin, append([]string{"init", "--control-plane", "tok-" + ns, "--region", "us"}, args...)...)
				require.Equal(t, wantExit, res.code, "%s: %s", name, res)
				grep(name+" stdout", res.stdout)
				grep(name+" stderr", res.stderr)
				return ns
			}

			ns := run("init (KONNECT_TOKEN)", 0, tokenEnv, "")
			run("init --token-file -o yaml", 0, nil, "", "--token-file", tokenFile, "-o", "yaml", "--no-dataplane")
			run("init --token-stdin --dry-run=server -o json", 0, nil, env.Token+"\n", "--token-stdin", "--dry-run=server", "-o", "json", "--no-dataplane")
			run("init --dry-run=client -o yaml", 0, tokenEnv, "", "--dry-run=client", "-o", "yaml")
			run("init with a revoked token", 1, []string{"KONNECT_TOKEN=" + revoked}, "")
			// A re-run reads the token from the Secret the first run wrote.
			res := cli.mustRun(t, ns, nil, "", "init", "--control-plane", "tok-"+ns)
			grep("re-run stdout", res.stdout)
			grep("re-run stderr", res.stderr)

			// In-process, with the same streams a user would see.
			ipNS := env.Namespace(t)
			namespaces = append(namespaces, ipNS)
			o, out, errOut := initInProcess(t, env, ipNS, func(o *initcmd.Options) { o.ControlPlane = "tok-" + ipNS; o.NoDataPlane = true })
			require.NoError(t, o.Run(context.Background()), "stderr: %s", errOut)
			grep("in-process init stdout", out.String())
			grep("in-process init stderr", errOut.String())

			// check reads the token from the Secret and calls Konnect with it.
			for _, format := range []string{"", "json"} {
				args := []string{}
				if format != "" {
					args = append(args, "-o", format)
				}
				stdout, stderr, _ := runCheck(t, env, ns, args...)
				grep("check -o "+format+" stdout", stdout)
				grep("check -o "+format+" stderr", stderr)
			}

			// Events of every namespace, both APIs.
			ctx := context.Background()
			evs := &corev1.EventList{}
			require.NoError(t, env.Client.List(ctx, evs))
			b, err := json.Marshal(evs)
			require.NoError(t, err)
			grep(fmt.Sprintf("the %d core Events", len(evs.Items)), string(b))

			// Every object of every resource, the token Secrets' data left out.
			dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
			require.NoError(t, err)
			quiet := rest.CopyConfig(env.Config)
			quiet.WarningHandler = rest.NoWarnings{}
			dyn, err := dynamic.NewForConfig(quiet)
			require.NoError(t, err)
			lists, err := dc.ServerPreferredResources()
			require.NoError(t, err)
			objects, tokenSecrets := 0, 0
			for _, l := range lists {
				gv, err := schema.ParseGroupVersion(l.GroupVersion)
				require.NoError(t, err)
				for _, r := range l.APIResources {
					if !strings.Contains(strings.Join(r.Verbs, ","), "list") || r.Name == "componentstatuses" {
						continue // componentstatuses probes components envtest does not run (20 s)
					}
					items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{})
					require.NoError(t, err, "listing %s", r.Name)
					for _, u := range items.Items {
						objects++
						if u.GetKind() == "" {
							u.SetKind(r.Kind)
						}
						if u.GetKind() == "Secret" && u.GetLabels()["konghq.com/credential"] == "konnect" {
							// The search finds the token where it must be.
							b, err := json.Marshal(u.Object["data"])
							require.NoError(t, err)
							require.NotEmpty(t, leaks("data", string(b), env.Token), "Secret %s/%s: the token is not in its data", u.GetNamespace(), u.GetName())
							tokenSecrets++
							unstructured.RemoveNestedField(u.Object, "data")
							unstructured.RemoveNestedField(u.Object, "stringData")
						}
						b, err := json.Marshal(u.Object)
						require.NoError(t, err)
						found = append(found, leaks(fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName()), string(b), tokens...)...)
					}
				}
			}

			// The audit log, once the API server has written everything.
			time.Sleep(time.Second)
			audit, err := os.ReadFile(auditLog)
			require.NoError(t, err)
			auditLines := bytes.Count(audit, []byte("\n"))
			require.Greater(t, auditLines, 100, "the audit log must be on")
			require.Contains(t, string(audit), `"resource":"secrets"`, "the audit log must see the token Secret's requests")
			require.Contains(t, string(audit), `"resource":"konnectapiauthconfigurations"`)
			grep("the audit log", string(audit))
			grep("the API server's output", apiOutput.String())

			require.GreaterOrEqual(t, tokenSecrets, 3, "the runs that write store the token in a Secret")
			t.Logf("HARDENING token: %d tokens (one valid, one revoked) in 4 forms, searched in %d outputs, %d objects (%d token Secrets' data left out), %d core Events, %d audit log lines (%d namespaces)",
				len(tokens), outputs, objects, tokenSecrets, len(evs.Items), auditLines, len(namespaces)+1)
			require.Empty(t, found, "the Konnect token must appear nowhere but in its Secret's data")

			// The control: --inline-token stores the token in the
			// KonnectAPIAuthConfiguration, by design (its help says who can read
			// it); the same search finds it in the audit log.
			ctrl := env.Namespace(t)
			res = cli.mustRun(t, ctrl, tokenEnv, "", "init", "--control-plane", "tok-"+ctrl, "--region", "us", "--inline-token", "--no-dataplane")
			require.Empty(t, leaks("stdout", res.stdout+res.stderr, env.Token))
			time.Sleep(time.Second)
			audit, err = os.ReadFile(auditLog)
			require.NoError(t, err)
			require.NotEmpty(t, leaks("the audit log", string(audit), env.Token), "the audit log search must find an inline token")
		})
	}
}
