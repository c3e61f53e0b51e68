package version

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestVersionOutputs(t *testing.T) {
	for _, format := range []string{"", "json", "yaml"} {
		t.Run("o="+format, func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			cmd := NewCommand(streams)
			cmd.SetArgs(nil)
			if format != "" {
				require.NoError(t, cmd.Flags().Set("output", format))
			}
			require.NoError(t, cmd.Execute())
			require.Contains(t, out.String(), "kgo-1.4")
			if format == "json" {
				var v map[string]any
				require.NoError(t, json.Unmarshal(out.Bytes(), &v))
				require.Contains(t, v, "version")
			}
		})
	}
}

func TestVersionRejectsUnknownOutput(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCommand(streams)
	require.NoError(t, cmd.Flags().Set("output", "xml"))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	require.ErrorContains(t, err, "xml")
}
