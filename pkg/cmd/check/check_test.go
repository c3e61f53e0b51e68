package check

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
)

// panicFactory fails the test if the command touches the cluster.
type panicFactory struct{ t *testing.T }

func (f panicFactory) RESTConfig() (*rest.Config, error) {
	f.t.Fatal("the kubeconfig must not be read")
	return nil, nil
}

func (f panicFactory) Namespace() (string, bool, error) {
	f.t.Fatal("the kubeconfig must not be read")
	return "", false, nil
}

func TestHelpDoesNotTouchTheCluster(t *testing.T) {
	var out bytes.Buffer
	cmd := NewCommand(panicFactory{t}, genericiooptions.IOStreams{Out: &out, ErrOut: &out})
	cmd.SetArgs([]string{"--help"})
	cmd.SetOut(&out)
	require.NoError(t, cmd.Execute())
	for _, flag := range []string{"--dataplane", "--control-plane", "--gateway", "--output", "--wait", "--check-timeout", "--max-ping-age", "--renew-before"} {
		assert.Contains(t, out.String(), flag)
	}
	assert.Contains(t, out.String(), "kubectl konnect check -n kong")
	assert.Contains(t, out.String(), "kong-operator 2.x", "the help names the generations it reads")
}

func TestValidateNamesTheFlagThatFixesIt(t *testing.T) {
	ok := func() Options {
		return Options{CheckTimeout: 1, MaxPingAge: 1, RenewBefore: 1}
	}
	for flag, mutate := range map[string]func(*Options){
		"--output":        func(o *Options) { o.Output = "yaml" },
		"--wait":          func(o *Options) { o.Wait = -1 },
		"--check-timeout": func(o *Options) { o.CheckTimeout = 0 },
		"--max-ping-age":  func(o *Options) { o.MaxPingAge = 0 },
		"--renew-before":  func(o *Options) { o.RenewBefore = 0 },
	} {
		o := ok()
		mutate(&o)
		err := o.Validate()
		require.Error(t, err, flag)
		assert.True(t, strings.HasPrefix(err.Error(), flag), "%s: %v", flag, err)
	}
	for _, format := range []string{"", "table", "json"} {
		o := ok()
		o.Output = format
		assert.NoError(t, o.Validate(), format)
	}
}

func TestGatewayExcludesDataPlaneAndControlPlane(t *testing.T) {
	for name, mutate := range map[string]func(*Options){
		"--dataplane":     func(o *Options) { o.DataPlane = "dp" },
		"--control-plane": func(o *Options) { o.ControlPlane = "cp" },
	} {
		o := Options{CheckTimeout: 1, MaxPingAge: 1, RenewBefore: 1, Gateway: "gw"}
		require.NoError(t, o.Validate(), "--gateway alone")
		mutate(&o)
		err := o.Validate()
		require.Error(t, err, name)
		assert.Equal(t, "--gateway cannot be combined with --dataplane or --control-plane: the Gateway's own DataPlane and KonnectGatewayControlPlane are checked", err.Error())
	}
}

func TestFailedErrorCounts(t *testing.T) {
	var err error = &FailedError{Failed: 2, Total: 23}
	var fe *FailedError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "2 of 23 checks failed", err.Error())
}
