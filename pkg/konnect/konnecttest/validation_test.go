package konnecttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/stretchr/testify/require"
)

// violationRecorder collects what a server reports.
type violationRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *violationRecorder) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *violationRecorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.errs {
		out = append(out, e.Error())
	}
	return out
}

func validCPBody(t *testing.T) map[string]any {
	t.Helper()
	cp := &controlPlane{ControlPlane: ControlPlane{
		ID: newUUID(), Name: "valid", ClusterType: ClusterTypeControlPlane, AuthType: AuthTypePinnedClientCerts,
		ControlPlaneEndpoint: "https://0123456789.us.cp0.konghq.com", TelemetryEndpoint: "https://0123456789.us.tp0.konghq.com",
		CreatedAt: timestamp(), UpdatedAt: timestamp(),
	}}
	b, err := json.Marshal(toCPJSON(cp))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestValidateResponseRejectsWhatTheSpecForbids(t *testing.T) {
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	problemCT := http.Header{"Content-Type": {"application/problem+json"}}
	cpPath := "/v2/control-planes/" + newUUID()

	require.NoError(t, ValidateResponse(http.MethodGet, cpPath, 200, jsonCT, mustJSON(t, validCPBody(t))),
		"the fake's own control plane shape is valid")

	for _, field := range []string{"labels", "config", "description", "created_at"} {
		t.Run("control plane without required "+field, func(t *testing.T) {
			body := validCPBody(t)
			delete(body, field)
			err := ValidateResponse(http.MethodGet, cpPath, 200, jsonCT, mustJSON(t, body))
			require.ErrorContains(t, err, fmt.Sprintf("property %q is missing", field))
		})
	}

	t.Run("control plane config without proxy_urls", func(t *testing.T) {
		body := validCPBody(t)
		delete(body["config"].(map[string]any), "proxy_urls")
		require.ErrorContains(t, ValidateResponse(http.MethodGet, cpPath, 200, jsonCT, mustJSON(t, body)), "proxy_urls")
	})

	t.Run("control plane with a field the spec does not define", func(t *testing.T) {
		body := validCPBody(t)
		body["org_id"] = newUUID()
		require.Error(t, ValidateResponse(http.MethodGet, cpPath, 200, jsonCT, mustJSON(t, body)))
	})

	t.Run("control plane with an unknown cluster type", func(t *testing.T) {
		body := validCPBody(t)
		body["config"].(map[string]any)["cluster_type"] = "CLUSTER_TYPE_HYBRID"
		require.ErrorContains(t, ValidateResponse(http.MethodGet, cpPath, 200, jsonCT, mustJSON(t, body)), "cluster_type")
	})

	t.Run("v2 error served as application/json instead of problem+json", func(t *testing.T) {
		body := []byte(`{"status":404,"title":"Not Found","instance":"kong:trace:1","detail":"nope"}`)
		require.NoError(t, ValidateResponse(http.MethodGet, cpPath, 404, problemCT, body))
		require.ErrorContains(t, ValidateResponse(http.MethodGet, cpPath, 404, jsonCT, body), "Content-Type")
	})

	t.Run("problem without the required instance", func(t *testing.T) {
		body := []byte(`{"status":404,"title":"Not Found","detail":"nope"}`)
		require.ErrorContains(t, ValidateResponse(http.MethodGet, cpPath, 404, problemCT, body), "instance")
	})

	t.Run("400 problem without invalid_parameters", func(t *testing.T) {
		body := []byte(`{"status":400,"title":"Bad Request","instance":"kong:trace:1","detail":"bad"}`)
		require.ErrorContains(t, ValidateResponse(http.MethodPost, "/v2/control-planes", 400, problemCT, body), "invalid_parameters")
	})

	t.Run("dp-client-certificates error served as problem+json", func(t *testing.T) {
		path := "/v2/control-planes/" + newUUID() + "/dp-client-certificates"
		require.NoError(t, ValidateResponse(http.MethodGet, path, 401, jsonCT, []byte(`{"message":"Unauthorized"}`)))
		require.Error(t, ValidateResponse(http.MethodGet, path, 401, problemCT, []byte(`{"message":"Unauthorized"}`)))
	})

	t.Run("dp certificate with a string timestamp", func(t *testing.T) {
		path := "/v2/control-planes/" + newUUID() + "/dp-client-certificates/" + newUUID()
		require.Error(t, ValidateResponse(http.MethodGet, path, 200, jsonCT, []byte(`{"item":{"id":"x","cert":"c","created_at":"2024-01-01T00:00:00Z"}}`)))
	})

	t.Run("status the operation does not list", func(t *testing.T) {
		require.ErrorIs(t, ValidateResponse(http.MethodDelete, cpPath, 200, jsonCT, mustJSON(t, validCPBody(t))), ErrUndocumentedStatus)
	})

	t.Run("unknown route", func(t *testing.T) {
		require.ErrorIs(t, ValidateResponse(http.MethodGet, "/v2/runtime-groups", 200, jsonCT, []byte(`{}`)), ErrUnknownRoute)
	})
}

func TestServerReportsResponsesOfABrokenFake(t *testing.T) {
	var rec violationRecorder
	s, err := NewServer(WithViolationHandler(rec.record))
	require.NoError(t, err)
	defer s.Close()
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "broken"})

	// Simulate a regression in the fake: labels are left out of the body.
	s.handlers["get-control-plane"] = func(s *Server, c *call) response {
		cp, _ := s.lookupCP(c)
		body := map[string]any{}
		require.NoError(t, json.Unmarshal(mustJSON(t, toCPJSON(cp)), &body))
		delete(body, "labels")
		return jsonResponse(http.StatusOK, body)
	}

	_, err = s.SDK(s.IssueToken()).ControlPlanes.GetControlPlane(context.Background(), cp.ID)
	require.NoError(t, err, "the SDK itself does not notice the missing field")
	msgs := rec.messages()
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "GET /v2/control-planes/"+cp.ID)
	require.Contains(t, msgs[0], `property "labels" is missing`)
}

func TestRequestViolatingSpecIsAnswered400AndReported(t *testing.T) {
	var rec violationRecorder
	s, err := NewServer(WithViolationHandler(rec.record))
	require.NoError(t, err)
	defer s.Close()
	tok := s.IssueToken()

	t.Run("create without name", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, s.URL()+"/v2/control-planes", strings.NewReader(`{"description":"no name"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := s.HTTPClient().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)

		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		// The 400 itself must be spec-shaped.
		require.NoError(t, ValidateResponse(http.MethodPost, "/v2/control-planes", 400, res.Header, body))
		var p problem
		require.NoError(t, json.Unmarshal(body, &p))
		require.Contains(t, p.InvalidParameters, invalidParam{Field: "name", Rule: "required", Source: "body", Reason: `property "name" is missing`})

		msgs := rec.messages()
		require.Len(t, msgs, 1)
		require.Contains(t, msgs[0], "request POST /v2/control-planes")
		require.Contains(t, msgs[0], `"name" is missing`)
		require.Empty(t, s.ControlPlanes())
	})

	t.Run("SDK sending a one-character name gets a typed 400", func(t *testing.T) {
		_, err := s.SDK(tok).ControlPlanes.CreateControlPlane(context.Background(), components.CreateControlPlaneRequest{Name: "x"})
		var bad *sdkerrors.BadRequestError
		require.ErrorAs(t, err, &bad)
		require.Equal(t, "name", bad.InvalidParameters[0].InvalidParameterStandard.Field)
		require.Len(t, rec.messages(), 2)
	})

	t.Run("malformed control plane ID", func(t *testing.T) {
		_, err := s.SDK(tok).ControlPlanes.GetControlPlane(context.Background(), "not-a-uuid")
		var bad *sdkerrors.BadRequestError
		require.ErrorAs(t, err, &bad)
		require.Equal(t, "controlPlaneId", bad.InvalidParameters[0].InvalidParameterStandard.Field)
		require.Len(t, rec.messages(), 3)
	})

	t.Run("unknown path is 404 and reported", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, s.URL()+"/v2/runtime-groups", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := s.HTTPClient().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		msgs := rec.messages()
		require.Len(t, msgs, 4)
		require.Contains(t, msgs[3], "GET /v2/runtime-groups")
	})

	t.Run("missing token is a 401, not a violation", func(t *testing.T) {
		res, err := s.HTTPClient().Get(s.URL() + "/v2/control-planes")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
		require.Len(t, rec.messages(), 4)
	})
}

// errorfTB captures Errorf while delegating everything else to a real test.
type errorfTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (e *errorfTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errors = append(e.errors, fmt.Sprintf(format, args...))
}

func TestNewForTestFailsTheTestOnViolation(t *testing.T) {
	tb := &errorfTB{TB: t}
	s := NewForTest(tb)
	req, err := http.NewRequest(http.MethodPatch, s.URL()+"/v2/control-planes/"+newUUID(), strings.NewReader(`{"cluster_type":"CLUSTER_TYPE_CONTROL_PLANE"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.IssueToken())
	req.Header.Set("Content-Type", "application/json")
	res, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "cluster_type cannot be patched")

	tb.mu.Lock()
	defer tb.mu.Unlock()
	require.Len(t, tb.errors, 1)
	require.Contains(t, tb.errors[0], "spec violation")
	require.Contains(t, tb.errors[0], "PATCH /v2/control-planes/")
	require.Contains(t, tb.errors[0], "cluster_type")
}
