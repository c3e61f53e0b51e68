package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestCompletionThroughKubectl: kubectl completes `kubectl konnect ...` by
// running kubectl_complete-konnect from PATH, and flag values come from the
// cluster: namespaces, control planes, data planes.
func TestCompletionThroughKubectl(t *testing.T) {
	installPlugin(t)
	pluginDir := filepath.Dir(lookPath(t, "kubectl-konnect"))
	script := filepath.Join(testenv.RepoRoot(), "cmd", "kubectl-konnect", "kubectl_complete-konnect")
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pluginDir, "kubectl_complete-konnect"), b, 0o755))

	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			env.MustKubectl(t, manifest(t, append(seedBaseFor(p, env.Token, "completion-"+ns, "", crt, key)[:3], dataPlane(p))...), "apply", "-n", ns, "-f", "-")

			complete := func(args ...string) []string {
				t.Helper()
				cmd := exec.CommandContext(context.Background(), "kubectl", append([]string{"__complete", "konnect"}, args...)...)
				cmd.Env = append(os.Environ(), env.PluginEnv()...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				require.NoError(t, err, "kubectl __complete konnect %v", args)
				// Listing the deprecated v1alpha1 KonnectGatewayControlPlane of kong-operator 2.x
				// would print the API server's deprecation warning into the user's shell.
				require.NotContains(t, stderr.String(), "deprecated", "kubectl __complete konnect %v", args)
				var words []string
				for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					if !strings.HasPrefix(l, ":") { // the last line is cobra's directive
						words = append(words, strings.SplitN(l, "\t", 2)[0])
					}
				}
				return words
			}
			require.Subset(t, complete(""), []string{"cert", "check", "init", "lint", "version"})
			require.Equal(t, []string{"gateway-cp"}, complete("cert", "issue", "dp", "-n", ns, "--control-plane", "gat"))
			require.Equal(t, []string{"dp"}, complete("check", "-n", ns, "--dataplane", ""))
			require.Contains(t, complete("version", "-n", ns[:8]), ns)
			if p.Generation().AtLeast(rules.GenerationKO21) {
				// A Gateway of the namespace completes check --gateway.
				env.MustKubectl(t, `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"edge"},"spec":{"gatewayClassName":"none","listeners":[{"name":"http","protocol":"HTTP","port":80}]}}`, "apply", "-n", ns, "-f", "-")
				require.Equal(t, []string{"edge"}, complete("check", "-n", ns, "--gateway", "e"))
			}
		})
	}
}

func TestCompletionScripts(t *testing.T) {
	installPlugin(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, err := exec.Command(lookPath(t, "kubectl-konnect"), "completion", shell).Output()
		require.NoError(t, err, shell)
		require.Contains(t, string(out), "konnect", shell)
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	require.NoError(t, err)
	return p
}
