package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// A user's install, end to end: `make dist`'s archive for this machine's
// platform and its krew manifest (validated by krew's own validator),
// installed by the real krew (sigs.k8s.io/krew v0.4.3, built once into
// bin/tools) with `kubectl krew install --manifest --archive` into a
// temporary KREW_ROOT; then `kubectl konnect version` found by kubectl's
// plugin lookup in KREW_ROOT/bin prints the version the archive was built
// with.
func TestKrewInstall(t *testing.T) {
	root := testenv.RepoRoot()
	tool := func(name string) string {
		out, err := exec.Command(filepath.Join(root, "hack", "tools", "tool.sh"), name).Output()
		require.NoError(t, err, "building %s", name)
		return strings.TrimSpace(string(out))
	}
	krew := tool("krew")
	kubectl, err := exec.LookPath("kubectl")
	require.NoError(t, err)

	// The archive of this platform only, as make dist builds it (stripped,
	// trimmed, static), and the manifest naming it.
	const version = "v0.0.1-e2e"
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "run", "./hack/dist", "-platforms", "host", "-version", version, "-out", dist)
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("hack/dist:\n%s", out)
	ext := ".tar.gz"
	if runtime.GOOS == "windows" {
		ext = ".zip"
	}
	archive := filepath.Join(dist, "kubectl-konnect_"+version+"_"+runtime.GOOS+"_"+runtime.GOARCH+ext)
	manifest := filepath.Join(dist, "konnect.yaml")
	require.FileExists(t, archive)

	// kubectl finds krew as the plugin kubectl-krew, and then ours in
	// KREW_ROOT/bin, and nothing else: no other kubectl-konnect on PATH.
	krewRoot := t.TempDir()
	krewBin := t.TempDir()
	require.NoError(t, os.Symlink(krew, filepath.Join(krewBin, "kubectl-krew")))
	path := strings.Join([]string{filepath.Join(krewRoot, "bin"), krewBin, filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator))
	env := []string{"PATH=" + path, "HOME=" + t.TempDir(), "KREW_ROOT=" + krewRoot, "KUBECONFIG=" + filepath.Join(t.TempDir(), "none")}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "kubectl %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}

	out2 := run("krew", "install", "--manifest="+manifest, "--archive="+archive)
	t.Logf("kubectl krew install:\n%s", out2)
	require.Contains(t, out2, `Installed plugin: konnect`)
	require.FileExists(t, filepath.Join(krewRoot, "bin", "kubectl-konnect"))
	// krew records what it installed in a receipt (`kubectl krew list` would
	// also need an index, which is fetched over the network).
	require.FileExists(t, filepath.Join(krewRoot, "receipts", "konnect.yaml"))
	require.Contains(t, run("plugin", "list"), filepath.Join(krewRoot, "bin", "kubectl-konnect"))

	got := run("konnect", "version")
	require.True(t, strings.HasPrefix(got, "kubectl-konnect "+version+" "), "kubectl konnect version printed:\n%s", got)
}
