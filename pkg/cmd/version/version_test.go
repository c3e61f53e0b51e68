package version

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

func TestVersionOutputs(t *testing.T) {
	for _, format := range []string{"", "json", "yaml"} {
		t.Run("o="+format, func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			cmd := NewCommand(nil, streams)
			cmd.SetArgs(nil)
			if format != "" {
				require.NoError(t, cmd.Flags().Set("output", format))
			}
			require.NoError(t, cmd.Execute())
			require.Contains(t, out.String(), "kgo-1.4")
			require.Contains(t, out.String(), "ko-2.3")
			if format == "json" {
				var v map[string]any
				require.NoError(t, json.Unmarshal(out.Bytes(), &v))
				require.Contains(t, v, "version")
				require.Equal(t, []any{"1.4", "1.5", "1.6", "2.0", "2.1", "2.2", "2.3"}, v["operatorReleases"])
				require.NotContains(t, v, "cluster", "no cluster looked at")
			}
		})
	}
}

// noKubeconfig is a factory without a kubeconfig.
type noKubeconfig struct{}

func (noKubeconfig) RESTConfig() (*rest.Config, error) {
	return nil, errors.New("no configuration has been provided")
}

// The supported releases, then the one the cluster runs when one is
// reached; without a kubeconfig nothing about a cluster, and an unreachable
// cluster is a note on stderr, not an error.
func TestVersionNamesTheClusterRelease(t *testing.T) {
	run := func(detect func(context.Context) (rules.Served, error), output string) (string, string) {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		cmd := NewCommand(noKubeconfig{}, streams)
		o := &Options{IOStreams: streams, Output: output, Timeout: 5e9, detect: detect}
		cmd.RunE = func(*cobra.Command, []string) error { return o.Run(context.Background()) }
		require.NoError(t, cmd.Execute())
		return out.String(), errOut.String()
	}
	ko22 := func(context.Context) (rules.Served, error) {
		return rules.Served{ControlPlaneV1Alpha2: true, KonnectExtension: true, CRDVersion: "v2.2.3"}, nil
	}
	out, errOut := run(ko22, "")
	require.Empty(t, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, []string{
		"Operator releases: KGO 1.4, 1.5, 1.6 (Kong Gateway Operator), kong-operator 2.0, 2.1, 2.2, 2.3",
		"Cluster: kong-operator 2.2 (the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is v2.2.3)",
	}, lines[len(lines)-2:])

	out, _ = run(ko22, "json")
	var v struct{ Cluster ClusterRelease }
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, ClusterRelease{Generation: "ko-2.2", Release: "kong-operator 2.2",
		Source: "the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is v2.2.3"}, v.Cluster)

	out, errOut = run(func(context.Context) (rules.Served, error) { return rules.Served{}, errors.New("connection refused") }, "")
	require.NotContains(t, out, "Cluster:")
	require.Equal(t, "note: no operator release read from the cluster: connection refused\n", errOut)

	streams, _, out2, errOut2 := genericiooptions.NewTestIOStreams()
	require.NoError(t, NewCommand(noKubeconfig{}, streams).Execute())
	require.NotContains(t, out2.String(), "Cluster:")
	require.Empty(t, errOut2.String())
}

func TestVersionRejectsUnknownOutput(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCommand(nil, streams)
	require.NoError(t, cmd.Flags().Set("output", "xml"))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	require.ErrorContains(t, err, "xml")
}

// hostOnly is a factory whose kubeconfig names a server.
type hostOnly string

func (h hostOnly) RESTConfig() (*rest.Config, error) { return &rest.Config{Host: string(h)}, nil }

// A kubeconfig naming a server that is down (kubectl's localhost:8080 when
// no kubeconfig is found) gives the plugin's versions on stdout and one
// line on stderr, not a discovery error per kind.
func TestVersionWithAnUnreachableCluster(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := "http://" + l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCommand(hostOnly(host), streams)
	cmd.SetArgs(nil)
	require.NoError(t, cmd.Execute())
	require.True(t, strings.HasPrefix(out.String(), "kubectl-konnect "), out.String())
	require.NotContains(t, out.String(), "Cluster:")
	require.Equal(t, 1, strings.Count(errOut.String(), "\n"), errOut.String())
	require.Contains(t, errOut.String(), "note: no operator release read from the cluster: the cluster at "+host+" cannot be reached: ")
}
