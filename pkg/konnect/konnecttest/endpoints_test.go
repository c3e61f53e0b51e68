package konnecttest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/require"
)

func TestControlPlaneEndpointsHaveKonnectShape(t *testing.T) {
	t.Run("default region and domain", func(t *testing.T) {
		s := NewForTest(t)
		seeded := s.AddControlPlane(ControlPlaneSeed{Name: "seeded"})
		require.Regexp(t, cpEndpointRE, seeded.ControlPlaneEndpoint)
		require.Regexp(t, tpEndpointRE, seeded.TelemetryEndpoint)

		res, err := s.SDK(s.IssueToken()).ControlPlanes.CreateControlPlane(context.Background(), components.CreateControlPlaneRequest{Name: "via-api"})
		require.NoError(t, err)
		require.Regexp(t, cpEndpointRE, res.ControlPlane.Config.ControlPlaneEndpoint)
		require.Regexp(t, tpEndpointRE, res.ControlPlane.Config.TelemetryEndpoint)
		require.NotEqual(t, seeded.ControlPlaneEndpoint, res.ControlPlane.Config.ControlPlaneEndpoint, "prefixes are random")
	})

	t.Run("fixed prefix", func(t *testing.T) {
		s := NewForTest(t)
		cp := s.AddControlPlane(ControlPlaneSeed{Name: "fixed", EndpointPrefix: "0123abcdef", ID: "9524ec7d-36d9-465d-a8c5-83a3c9390458"})
		require.Equal(t, "https://0123abcdef.us.cp0.konghq.com", cp.ControlPlaneEndpoint)
		require.Equal(t, "https://0123abcdef.us.tp0.konghq.com", cp.TelemetryEndpoint)
		require.Equal(t, "9524ec7d-36d9-465d-a8c5-83a3c9390458", cp.ID)
	})

	t.Run("region and custom domain", func(t *testing.T) {
		s := NewForTest(t, WithRegion("eu"), WithServerDomain("konghq.tech"))
		cp := s.AddControlPlane(ControlPlaneSeed{Name: "custom"})
		require.Regexp(t, regexp.MustCompile(`^https://[0-9a-f]{10}\.eu\.cp0\.konghq\.tech$`), cp.ControlPlaneEndpoint)
		require.Regexp(t, regexp.MustCompile(`^https://[0-9a-f]{10}\.eu\.tp0\.konghq\.tech$`), cp.TelemetryEndpoint)
	})

	t.Run("seed mistakes panic", func(t *testing.T) {
		s := NewForTest(t)
		s.AddControlPlane(ControlPlaneSeed{Name: "taken"})
		require.Panics(t, func() { s.AddControlPlane(ControlPlaneSeed{Name: "taken"}) })
		require.Panics(t, func() { s.AddControlPlane(ControlPlaneSeed{Name: "bad-prefix", EndpointPrefix: "XYZ"}) })
		require.Panics(t, func() { s.AddControlPlane(ControlPlaneSeed{Name: "bad-type", ClusterType: "CLUSTER_TYPE_HYBRID"}) })
	})
}

func TestHTTPClientPinsCustomDomainHostsToTheFake(t *testing.T) {
	// The SDK reads KONG_CUSTOM_DOMAIN when it is built and rewrites
	// .konghq.com hosts with it; the pinned transport must still reach the fake.
	t.Setenv("KONG_CUSTOM_DOMAIN", "example.test")
	s := NewForTest(t, WithServerDomain("example.test"))
	_, err := s.SDK(s.IssueToken()).Me.GetOrganizationsMe(context.Background())
	require.NoError(t, err)
	recs := s.Requests()
	require.Len(t, recs, 1)
	require.Equal(t, "global.api.example.test", recs[0].Host)
}

func TestServerWorksOutsideTestsWithItsCACertificate(t *testing.T) {
	s, err := NewServer()
	require.NoError(t, err)
	defer s.Close()
	require.Regexp(t, `^https://127\.0\.0\.1:\d+$`, s.URL())

	block, _ := pem.Decode(s.CACertPEM())
	require.NotNil(t, block)
	_, err = x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)

	// A client that only got the PEM (as a CLI would via a CA file).
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CACertPEM()))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/v3/organizations/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.IssueToken())
	res, err := client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	// An untrusting client is refused.
	_, err = (&http.Client{Transport: &http.Transport{}}).Get(s.URL() + "/v3/organizations/me")
	require.Error(t, err)
	require.Empty(t, s.Violations())
}

func TestConcurrentCreatesAreAllStored(t *testing.T) {
	s := NewForTest(t)
	sdk := s.SDK(s.IssueToken())
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := sdk.ControlPlanes.CreateControlPlane(context.Background(), components.CreateControlPlaneRequest{Name: fmt.Sprintf("cp-%02d", i)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, s.ControlPlanes(), n)
	require.Len(t, s.Requests(), n)
}
