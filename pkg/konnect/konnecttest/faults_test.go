package konnecttest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/Kong/sdk-konnect-go/retry"
	"github.com/stretchr/testify/require"
)

// fastRetries retries quickly, but honours Retry-After as the SDK does.
var fastRetries = sdkkonnectgo.WithRetryConfig(retry.Config{
	Strategy:              "backoff",
	Backoff:               &retry.BackoffStrategy{InitialInterval: 5, MaxInterval: 20, Exponent: 1.5, MaxElapsedTime: 10_000},
	RetryConnectionErrors: true,
})

func statuses(recs []RequestRecord) []int {
	out := make([]int, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Status)
	}
	return out
}

func TestFault429RetryAfterReachesTheSDK(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	ctx := context.Background()

	t.Run("without retries the SDK surfaces the 429 and its Retry-After", func(t *testing.T) {
		s.InjectFault(Fault{Method: http.MethodGet, PathPrefix: "/v2/control-planes", Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
		_, err := s.SDK(tok).ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
		var sdkErr *sdkerrors.SDKError
		require.ErrorAs(t, err, &sdkErr, "429 is not in the spec, so the SDK has no typed error for it")
		require.Equal(t, http.StatusTooManyRequests, sdkErr.StatusCode)
		require.Equal(t, "2", sdkErr.RawResponse.Header.Get("Retry-After"), "seconds, rounded up")

		_, err = s.SDK(tok).ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
		require.NoError(t, err, "the fault applied once")
	})

	t.Run("with backoff retries the SDK waits Retry-After and succeeds", func(t *testing.T) {
		s.ResetRequests()
		s.InjectFault(Fault{PathPrefix: "/v2/control-planes", Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		start := time.Now()
		res, err := s.SDK(tok, fastRetries).ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.GreaterOrEqual(t, time.Since(start), time.Second, "the SDK honoured Retry-After")
		recs := s.Requests()
		require.Equal(t, []int{429, 200}, statuses(recs))
		require.True(t, recs[0].Fault)
		require.False(t, recs[1].Fault)
	})
}

func TestFault503ForNCallsThenSuccess(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	ctx := context.Background()

	s.InjectFault(Fault{Method: http.MethodPost, PathPrefix: "/v2/control-planes", Status: http.StatusServiceUnavailable, Times: 3})
	res, err := s.SDK(tok, fastRetries).ControlPlanes.CreateControlPlane(ctx, components.CreateControlPlaneRequest{Name: "after-outage"})
	require.NoError(t, err)
	require.Equal(t, "after-outage", res.ControlPlane.Name)
	require.Equal(t, []int{503, 503, 503, 201}, statuses(s.Requests()))
	require.Len(t, s.ControlPlanes(), 1, "faulted calls did not create anything")

	s.InjectFault(Fault{Status: http.StatusServiceUnavailable})
	_, err = s.SDK(tok).ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
	var unavailable *sdkerrors.ServiceUnavailable
	require.ErrorAs(t, err, &unavailable, "without retries the SDK decodes the spec's 503 body")
	require.Equal(t, sdkerrors.StatusFiveHundredAndThree, unavailable.Status)
}

func TestFaultStatusesDecodeIntoTheSDKTypedErrors(t *testing.T) {
	s := NewForTest(t)
	sdk := s.SDK(s.IssueToken())
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "faulty"})
	ctx := context.Background()

	cases := []struct {
		status int
		target any
	}{
		{http.StatusUnauthorized, new(*sdkerrors.UnauthorizedError)},
		{http.StatusForbidden, new(*sdkerrors.ForbiddenError)},
		{http.StatusInternalServerError, new(*sdkerrors.BaseError)},
		{http.StatusServiceUnavailable, new(*sdkerrors.ServiceUnavailable)},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status)+" on the v2 control plane API", func(t *testing.T) {
			s.InjectFault(Fault{Method: http.MethodGet, PathPrefix: "/v2/control-planes/", Status: tc.status})
			_, err := sdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
			require.ErrorAs(t, err, tc.target)
		})
	}

	legacy := []struct {
		status int
		target any
	}{
		{http.StatusUnauthorized, new(*sdkerrors.KonnectCPLegacyUnauthorizedError)},
		{http.StatusForbidden, new(*sdkerrors.KonnectCPLegacyForbiddenError)},
		{http.StatusInternalServerError, new(*sdkerrors.SDKError)},
	}
	for _, tc := range legacy {
		t.Run(http.StatusText(tc.status)+" on the dp-client-certificates API", func(t *testing.T) {
			s.InjectFault(Fault{PathPrefix: "/v2/control-planes/" + cp.ID + "/dp-client-certificates", Status: tc.status})
			_, err := sdk.DPCertificates.ListDpClientCertificates(ctx, cp.ID)
			require.ErrorAs(t, err, tc.target)
		})
	}
}

func TestFaultMatchesOnlyItsMethodAndPath(t *testing.T) {
	s := NewForTest(t)
	sdk := s.SDK(s.IssueToken())
	ctx := context.Background()

	s.InjectFault(Fault{Method: http.MethodPost, PathPrefix: "/v2/control-planes", Status: http.StatusInternalServerError})
	_, err := sdk.Me.GetOrganizationsMe(ctx)
	require.NoError(t, err, "other path")
	_, err = sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{})
	require.NoError(t, err, "other method")
	_, err = sdk.ControlPlanes.CreateControlPlane(ctx, components.CreateControlPlaneRequest{Name: "hit"})
	var internal *sdkerrors.InternalServerError
	require.ErrorAs(t, err, &internal)
}

func TestFaultLatencyDelaysTheAnswer(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	ctx := context.Background()

	s.InjectFault(Fault{PathPrefix: "/v3/", Latency: 200 * time.Millisecond})
	start := time.Now()
	_, err := s.SDK(tok).Me.GetOrganizationsMe(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	s.InjectFault(Fault{Latency: 2 * time.Second})
	start = time.Now()
	_, err = s.SDK(tok, sdkkonnectgo.WithTimeout(50*time.Millisecond)).Me.GetOrganizationsMe(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second)
}

func TestDropResponseAfterApplyStillCreates(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	ctx := context.Background()

	t.Run("control plane", func(t *testing.T) {
		s.InjectFault(Fault{Method: http.MethodPost, PathPrefix: "/v2/control-planes", DropResponseAfterApply: true})
		// Retries are on, yet the SDK must not replay a POST whose answer was lost.
		_, err := s.SDK(tok, fastRetries).ControlPlanes.CreateControlPlane(ctx, components.CreateControlPlaneRequest{Name: "lost-answer"})
		require.Error(t, err)
		var sdkErr *sdkerrors.SDKError
		require.False(t, errors.As(err, &sdkErr), "no HTTP answer at all, got %v", err)

		res, err := s.SDK(tok).ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
			Filter: &components.ControlPlaneFilterParameters{Name: &components.ControlPlaneFilterParametersName{Eq: sdkkonnectgo.String("lost-answer")}},
		})
		require.NoError(t, err)
		require.Len(t, res.ListControlPlanesResponse.Data, 1, "the create was applied exactly once")

		recs := s.Requests()
		require.True(t, recs[0].Dropped)
		require.Equal(t, http.StatusCreated, recs[0].Status)
	})

	t.Run("dp client certificate", func(t *testing.T) {
		cp, ok := s.ControlPlaneByName("lost-answer")
		require.True(t, ok)
		s.InjectFault(Fault{Method: http.MethodPost, PathPrefix: "/v2/control-planes/" + cp.ID + "/dp-client-certificates", DropResponseAfterApply: true})
		_, err := s.SDK(tok).DPCertificates.CreateDataplaneCertificate(ctx, cp.ID, &components.DataPlaneClientCertificateRequest{Cert: testCertPEM(t)})
		require.Error(t, err)
		require.Len(t, s.DPCertificates(cp.ID), 1)
	})
}
