package root

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Help and version must work with no cluster at all: a kubeconfig that does
// not exist and a server nobody listens on.
func TestHelpAndVersionNeverTouchTheCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	for _, args := range [][]string{
		{"--help"},
		{"version", "--server", "https://127.0.0.1:1"},
		{"version", "-o", "json", "--kubeconfig", "/nonexistent"},
	} {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		cmd := NewCommand(streams)
		cmd.SetOut(out)
		cmd.SetErr(errOut)
		cmd.SetArgs(args)
		require.NoError(t, cmd.Execute(), "%v: %s", args, errOut.String())
		require.NotEmpty(t, out.String())
		if args[0] == "--help" {
			require.Contains(t, out.String(), "kubectl konnect [command]")
		}
	}
}
