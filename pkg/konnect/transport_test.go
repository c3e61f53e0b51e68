package konnect_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// With the environment variables set, the SDK talks to the fake while every
// URL keeps Konnect's real host names, including the /v3/*/me calls the SDK
// sends to global.api.konghq.com.
func TestHTTPClientFromEnvReachesTheFakeByRealHostNames(t *testing.T) {
	srv := konnecttest.NewForTest(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CACertPEM(), 0o600))
	t.Setenv(konnect.EnvCAFile, ca)
	t.Setenv(konnect.EnvConnectTo, srv.URL()[len("https://"):])

	hc, err := konnect.HTTPClientFromEnv()
	require.NoError(t, err)
	sdk := konnect.NewSDK("https://eu.api.konghq.com", srv.IssueToken(), hc)
	me, err := sdk.Me.GetOrganizationsMe(t.Context())
	require.NoError(t, err)
	require.Equal(t, srv.DefaultOrganization().ID, *me.MeOrganization.ID)
	hosts := map[string]bool{}
	for _, r := range srv.Requests() {
		hosts[r.Host] = true
	}
	require.True(t, hosts["global.api.konghq.com"], "requests: %+v", srv.Requests())
}

func TestHTTPClientFromEnvErrorsNameTheVariable(t *testing.T) {
	t.Setenv(konnect.EnvConnectTo, "no-port")
	_, err := konnect.HTTPClientFromEnv()
	require.ErrorContains(t, err, konnect.EnvConnectTo)

	t.Setenv(konnect.EnvConnectTo, "")
	t.Setenv(konnect.EnvCAFile, "/nonexistent/ca.pem")
	_, err = konnect.HTTPClientFromEnv()
	require.ErrorContains(t, err, konnect.EnvCAFile)
}
