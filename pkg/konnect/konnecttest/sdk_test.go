package konnecttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"testing"
	"time"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/stretchr/testify/require"
)

var (
	cpEndpointRE = regexp.MustCompile(`^https://[0-9a-f]{10}\.us\.cp0\.konghq\.com$`)
	tpEndpointRE = regexp.MustCompile(`^https://[0-9a-f]{10}\.us\.tp0\.konghq\.com$`)
)

// testCertPEM returns a fresh self-signed certificate in PEM, as a data plane
// would pin.
func testCertPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "kong_clustering"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func createCP(t *testing.T, sdk *sdkkonnectgo.SDK, req components.CreateControlPlaneRequest) components.ControlPlane {
	t.Helper()
	res, err := sdk.ControlPlanes.CreateControlPlane(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, 201, res.StatusCode)
	require.NotNil(t, res.ControlPlane)
	return *res.ControlPlane
}

func TestOfficialSDKDrivesEveryEndpointWithinSpec(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	sdk := s.SDK(tok)
	ctx := context.Background()

	t.Run("organizations/me returns the token's organization via the global host", func(t *testing.T) {
		s.ResetRequests()
		res, err := sdk.Me.GetOrganizationsMe(ctx)
		require.NoError(t, err)
		org := s.DefaultOrganization()
		require.Equal(t, org.ID, *res.MeOrganization.ID)
		require.Equal(t, org.Name, *res.MeOrganization.Name)
		require.Equal(t, components.MeOrganizationStateActive, *res.MeOrganization.State)
		reqs := s.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, "global.api.konghq.com", reqs[0].Host, "the SDK forces the global host for /v3/*/me; HTTPClient must still reach the fake")
	})

	t.Run("users/me returns the token's user", func(t *testing.T) {
		res, err := sdk.Me.GetUsersMe(ctx)
		require.NoError(t, err)
		u, ok := s.TokenUser(tok)
		require.True(t, ok)
		require.Equal(t, u.ID, *res.User.ID)
		require.Equal(t, u.Email, *res.User.Email)
		require.Equal(t, "us", *res.User.InferredRegion)
	})

	t.Run("users/me infers a HomeRegion user's region", func(t *testing.T) {
		res, err := s.SDK(s.IssueToken(HomeRegion("sg"))).Me.GetUsersMe(ctx)
		require.NoError(t, err)
		require.Equal(t, "sg", *res.User.InferredRegion)
	})

	t.Run("create applies Konnect defaults", func(t *testing.T) {
		cp := createCP(t, sdk, components.CreateControlPlaneRequest{Name: "defaults"})
		require.Equal(t, components.ControlPlaneClusterTypeClusterTypeControlPlane, cp.Config.ClusterType)
		require.Equal(t, components.ControlPlaneAuthTypePinnedClientCerts, cp.Config.AuthType)
		require.NotNil(t, cp.Labels)
		require.Empty(t, cp.Labels)
		require.Regexp(t, cpEndpointRE, cp.Config.ControlPlaneEndpoint)
		require.Regexp(t, tpEndpointRE, cp.Config.TelemetryEndpoint)
		require.Equal(t, cp.Config.ControlPlaneEndpoint[8:18], cp.Config.TelemetryEndpoint[8:18], "cp0 and tp0 share the host prefix")
		require.False(t, cp.CreatedAt.IsZero())
	})

	t.Run("create supports every cluster type and auth type", func(t *testing.T) {
		for _, ct := range ClusterTypes {
			for _, at := range AuthTypes {
				name := fmt.Sprintf("%s-%s", ct, at)
				cp := createCP(t, sdk, components.CreateControlPlaneRequest{
					Name:        name,
					ClusterType: components.CreateControlPlaneRequestClusterType(ct).ToPointer(),
					AuthType:    components.AuthType(at).ToPointer(),
					Labels:      map[string]string{"env": "test"},
				})
				require.Equal(t, ct, string(cp.Config.ClusterType), name)
				require.Equal(t, at, string(cp.Config.AuthType), name)
				require.Equal(t, map[string]string{"env": "test"}, cp.Labels)
			}
		}
	})

	t.Run("duplicate name is a typed 409", func(t *testing.T) {
		_, err := sdk.ControlPlanes.CreateControlPlane(ctx, components.CreateControlPlaneRequest{Name: "defaults"})
		var conflict *sdkerrors.ConflictError
		require.ErrorAs(t, err, &conflict)
		require.EqualValues(t, 409, conflict.Status)
	})

	var cp components.ControlPlane
	t.Run("list filters by exact name and pages", func(t *testing.T) {
		cp = createCP(t, sdk, components.CreateControlPlaneRequest{Name: "filtered", Description: sdkkonnectgo.String("to find")})
		res, err := sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
			Filter: &components.ControlPlaneFilterParameters{Name: &components.ControlPlaneFilterParametersName{Eq: sdkkonnectgo.String("filtered")}},
		})
		require.NoError(t, err)
		require.Len(t, res.ListControlPlanesResponse.Data, 1)
		require.Equal(t, cp.ID, res.ListControlPlanesResponse.Data[0].ID)
		require.EqualValues(t, 1, res.ListControlPlanesResponse.Meta.Page.Total)

		total := len(s.ControlPlanes())
		res, err = sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
			PageSize: sdkkonnectgo.Int64(5), PageNumber: sdkkonnectgo.Int64(2),
		})
		require.NoError(t, err)
		require.Len(t, res.ListControlPlanesResponse.Data, 5)
		require.Equal(t, components.PageMeta{Number: 2, Size: 5, Total: float64(total)}, res.ListControlPlanesResponse.Meta.Page)
	})

	t.Run("get and patch", func(t *testing.T) {
		got, err := sdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
		require.NoError(t, err)
		require.Equal(t, "to find", got.ControlPlane.Description)

		upd, err := sdk.ControlPlanes.UpdateControlPlane(ctx, cp.ID, components.UpdateControlPlaneRequest{
			Name:        sdkkonnectgo.String("renamed"),
			Description: sdkkonnectgo.String("patched"),
			Labels:      map[string]string{"team": "edge"},
		})
		require.NoError(t, err)
		require.Equal(t, "renamed", upd.ControlPlane.Name)
		require.Equal(t, "patched", upd.ControlPlane.Description)
		require.Equal(t, map[string]string{"team": "edge"}, upd.ControlPlane.Labels)

		stored, ok := s.ControlPlaneByName("renamed")
		require.True(t, ok)
		require.Equal(t, cp.ID, stored.ID)
	})

	t.Run("dp-client-certificates create, list, get, delete", func(t *testing.T) {
		pemCert := testCertPEM(t)
		created, err := sdk.DPCertificates.CreateDataplaneCertificate(ctx, cp.ID, &components.DataPlaneClientCertificateRequest{Cert: pemCert})
		require.NoError(t, err)
		item := created.DataPlaneClientCertificateResponse.Item
		require.Equal(t, pemCert, *item.Cert)
		require.NotZero(t, *item.CreatedAt)
		require.Len(t, s.DPCertificates(cp.ID), 1)

		list, err := sdk.DPCertificates.ListDpClientCertificates(ctx, cp.ID)
		require.NoError(t, err)
		require.Len(t, list.ListDataPlaneCertificatesResponse.Items, 1)
		require.Equal(t, *item.ID, *list.ListDataPlaneCertificatesResponse.Items[0].ID)

		got, err := sdk.DPCertificates.GetDataplaneCertificate(ctx, cp.ID, *item.ID)
		require.NoError(t, err)
		require.Equal(t, pemCert, *got.DataPlaneClientCertificateResponse.Item.Cert)

		_, err = sdk.DPCertificates.DeleteDataplaneCertificate(ctx, cp.ID, *item.ID)
		require.NoError(t, err)
		require.Empty(t, s.DPCertificates(cp.ID))

		_, err = sdk.DPCertificates.GetDataplaneCertificate(ctx, cp.ID, *item.ID)
		var notFound *sdkerrors.KonnectCPLegacyNotFoundError
		require.ErrorAs(t, err, &notFound)
	})

	t.Run("dp-client-certificates rejects a non-PEM cert with a typed 400", func(t *testing.T) {
		_, err := sdk.DPCertificates.CreateDataplaneCertificate(ctx, cp.ID, &components.DataPlaneClientCertificateRequest{Cert: "not a certificate"})
		var bad *sdkerrors.KonnectCPLegacyBadRequestError
		require.ErrorAs(t, err, &bad)
		require.Empty(t, s.DPCertificates(cp.ID))
	})

	t.Run("nodes list, get, delete after RegisterNode", func(t *testing.T) {
		lastPing := time.Now().Add(-30 * time.Second).Truncate(time.Second)
		n := s.RegisterNode(cp.ID, Node{Hostname: "dp-1", Version: "3.9.1.0", LastPing: lastPing, ConfigHash: "abc123", Type: "kong-proxy"})
		s.RegisterNode(cp.ID, Node{Hostname: "dp-2"})

		list, err := sdk.DPNodes.ListDataplaneNodes(ctx, operations.ListDataplaneNodesRequest{ControlPlaneID: cp.ID})
		require.NoError(t, err)
		require.Len(t, list.ListNodes.Items, 2)
		first := list.ListNodes.Items[0]
		require.Equal(t, n.ID, *first.ID)
		require.Equal(t, "dp-1", *first.Hostname)
		require.Equal(t, lastPing.Unix(), *first.LastPing)
		require.Equal(t, "abc123", *first.ConfigHash)
		require.EqualValues(t, 2, *list.ListNodes.Page.TotalCount)

		paged, err := sdk.DPNodes.ListDataplaneNodes(ctx, operations.ListDataplaneNodesRequest{ControlPlaneID: cp.ID, PageSize: sdkkonnectgo.Int64(1)})
		require.NoError(t, err)
		require.Len(t, paged.ListNodes.Items, 1)
		require.NotNil(t, paged.ListNodes.Page.Next)
		rest, err := sdk.DPNodes.ListDataplaneNodes(ctx, operations.ListDataplaneNodesRequest{ControlPlaneID: cp.ID, PageAfter: paged.ListNodes.Page.Next})
		require.NoError(t, err)
		require.Len(t, rest.ListNodes.Items, 1)
		require.Equal(t, "dp-2", *rest.ListNodes.Items[0].Hostname)

		got, err := sdk.DPNodes.GetNodesNodeID(ctx, operations.GetNodesNodeIDRequest{ControlPlaneID: cp.ID, NodeID: n.ID})
		require.NoError(t, err)
		require.Equal(t, "3.9.1.0", *got.GetNode.Item.Version)
		require.Equal(t, "kong-proxy", *got.GetNode.Item.Type)

		_, err = sdk.DPNodes.DeleteNodesNodeID(ctx, cp.ID, n.ID)
		require.NoError(t, err)
		require.Len(t, s.Nodes(cp.ID), 1)

		_, err = sdk.DPNodes.GetNodesNodeID(ctx, operations.GetNodesNodeIDRequest{ControlPlaneID: cp.ID, NodeID: n.ID})
		var sdkErr *sdkerrors.SDKError
		require.ErrorAs(t, err, &sdkErr, "the spec lists no error for nodes, so the SDK falls back to SDKError")
		require.Equal(t, 404, sdkErr.StatusCode)
	})

	t.Run("unknown or revoked token is a typed 401 on every API family", func(t *testing.T) {
		revoked := s.IssueToken()
		s.RevokeToken(revoked)
		for _, bad := range []string{"kpat_" + randomAlnum(40), revoked} {
			bsdk := s.SDK(bad)
			_, err := bsdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
			var unauth *sdkerrors.UnauthorizedError
			require.ErrorAs(t, err, &unauth)
			require.EqualValues(t, 401, unauth.Status)

			_, err = bsdk.Me.GetOrganizationsMe(ctx)
			require.ErrorAs(t, err, &unauth)

			_, err = bsdk.DPCertificates.ListDpClientCertificates(ctx, cp.ID)
			var legacyUnauth *sdkerrors.KonnectCPLegacyUnauthorizedError
			require.ErrorAs(t, err, &legacyUnauth)
		}
	})

	t.Run("a token missing the role gets a typed 403", func(t *testing.T) {
		limited := s.IssueToken()
		s.Forbid(limited, "POST", "/v2/control-planes")
		lsdk := s.SDK(limited)

		_, err := lsdk.ControlPlanes.CreateControlPlane(ctx, components.CreateControlPlaneRequest{Name: "not-allowed"})
		var forbidden *sdkerrors.ForbiddenError
		require.ErrorAs(t, err, &forbidden)
		require.EqualValues(t, 403, forbidden.Status)
		_, found := s.ControlPlaneByName("not-allowed")
		require.False(t, found)

		_, err = lsdk.DPCertificates.CreateDataplaneCertificate(ctx, cp.ID, &components.DataPlaneClientCertificateRequest{Cert: testCertPEM(t)})
		var legacyForbidden *sdkerrors.KonnectCPLegacyForbiddenError
		require.ErrorAs(t, err, &legacyForbidden)

		// Reads are still allowed.
		_, err = lsdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
		require.NoError(t, err)
	})

	t.Run("unknown control plane is a typed 404", func(t *testing.T) {
		missing := newUUID()
		_, err := sdk.ControlPlanes.GetControlPlane(ctx, missing)
		var notFound *sdkerrors.NotFoundError
		require.ErrorAs(t, err, &notFound)
		require.EqualValues(t, 404, notFound.Status)

		_, err = sdk.DPCertificates.ListDpClientCertificates(ctx, missing)
		var legacyNotFound *sdkerrors.KonnectCPLegacyNotFoundError
		require.ErrorAs(t, err, &legacyNotFound)
	})

	t.Run("another organization's control planes are invisible", func(t *testing.T) {
		other := s.AddOrganization("Other Org")
		osdk := s.SDK(s.IssueToken(InOrganization(other.ID)))
		_, err := osdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
		var notFound *sdkerrors.NotFoundError
		require.ErrorAs(t, err, &notFound)
		// The same name is free in another organization.
		createCP(t, osdk, components.CreateControlPlaneRequest{Name: "renamed"})
	})

	t.Run("system account tokens work", func(t *testing.T) {
		spat := s.IssueToken(SystemAccount())
		require.Regexp(t, `^spat_[A-Za-z0-9]{40}$`, spat)
		_, err := s.SDK(spat).ControlPlanes.GetControlPlane(ctx, cp.ID)
		require.NoError(t, err)
	})

	t.Run("delete removes the control plane with its certificates and nodes", func(t *testing.T) {
		_, err := sdk.DPCertificates.CreateDataplaneCertificate(ctx, cp.ID, &components.DataPlaneClientCertificateRequest{Cert: testCertPEM(t)})
		require.NoError(t, err)
		_, err = sdk.ControlPlanes.DeleteControlPlane(ctx, cp.ID)
		require.NoError(t, err)
		_, err = sdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
		var notFound *sdkerrors.NotFoundError
		require.ErrorAs(t, err, &notFound)
		require.Nil(t, s.DPCertificates(cp.ID))
		require.Nil(t, s.Nodes(cp.ID))
	})

	require.Empty(t, s.Violations())
	for _, r := range s.Requests() {
		require.NotContains(t, r.Query+r.Path+r.Host, tok, "tokens are never recorded")
	}
}
