package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemoSmoke starts the demo stack as `make demo` does and checks what it
// tells the user, then that the token file is private.
func TestDemoSmoke(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-smoke", "-dir", dir}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := stdout.String()
	require.Contains(t, out, "source "+filepath.Join(dir, "env"))
	envFile, err := os.ReadFile(filepath.Join(dir, "env"))
	require.NoError(t, err)
	require.Contains(t, string(envFile), "export KUBECONFIG="+filepath.Join(dir, "kubeconfig"))
	require.Contains(t, out, "kube-apiserver v1.37.2")
	require.Regexp(t, `kubectl sees \d+ konghq.com CRDs`, out)
	token, err := os.ReadFile(filepath.Join(dir, "konnect-token"))
	require.NoError(t, err)
	require.NotContains(t, out+stderr.String(), string(bytes.TrimSpace(token)), "the token must never be printed")
	fi, err := os.Stat(filepath.Join(dir, "konnect-token"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
