package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDryRun(t *testing.T) {
	for in, want := range map[string]string{"": DryRunNone, "none": DryRunNone, "client": DryRunClient, "server": DryRunServer} {
		got, err := ParseDryRun(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseDryRun("true")
	require.EqualError(t, err, `--dry-run "true" is not supported: use "none", "client" or "server"`)
}

func TestDryRunSuffix(t *testing.T) {
	assert.Empty(t, DryRunSuffix(DryRunNone))
	assert.Equal(t, " (dry run)", DryRunSuffix(DryRunClient))
	assert.Equal(t, " (server dry run)", DryRunSuffix(DryRunServer))
}
