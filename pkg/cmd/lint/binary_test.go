package lint_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	lintcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/lint"
)

// TestLintThroughKubectlWithTheBuiltBinary builds kubectl-konnect, puts it
// on PATH and runs `kubectl konnect lint` as a user (or CI) does, with no
// cluster and no kubeconfig.
func TestLintThroughKubectlWithTheBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-konnect"), "./cmd/kubectl-konnect")
	build.Dir = filepath.Join("..", "..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/kubectl-konnect: %s", out)

	konnect := func(stdin string, args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"konnect", "lint"}, args...)...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "KUBECONFIG=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	}

	// The seed's slip: exit 1 and the same report as in-process (golden).
	got := konnect("", "-f", "testdata/seed-slip")
	golden(t, "seed-slip.text", got)
	got = konnect(readFile(t, "testdata/seed-slip/workflow.yaml"), "-f", "-", "-o", "json")
	golden(t, "seed-slip-stdin.json", got)

	// The seed itself: exit 0.
	got = konnect("", "-f", "testdata/seed", "-o", "json")
	golden(t, "seed.json", got)

	// A manifest that does not parse: file:line on stderr, nothing on stdout.
	got = konnect("", "-f", "testdata/parse/bad-indent.yaml")
	assert.Empty(t, got.stdout)
	assert.Equal(t, "error: testdata/parse/bad-indent.yaml:9: invalid YAML: did not find expected key\n", got.stderr)
	assert.Equal(t, lintcmd.ExitUsage, got.code)
}
