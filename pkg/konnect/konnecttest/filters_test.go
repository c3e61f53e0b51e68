package konnecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/stretchr/testify/require"
)

// rawGet sends GET path?query exactly as given (the wire form another client
// produced) and returns the status, the header and the body.
func rawGet(t *testing.T, s *Server, tok, pathAndQuery string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+pathAndQuery, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, body
}

func listedCPIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var out listCPJSON
	require.NoError(t, json.Unmarshal(body, &out))
	var ids []string
	for _, cp := range out.Data {
		ids = append(ids, cp.ID)
	}
	return ids
}

// TestControlPlaneFilterForms: the SDK of our go.mod sends filter[id][eq];
// sdk-konnect-go v0.2.22 (KGO 1.5) sends the shorthand filter[id]=<id>. Real
// Konnect answers both; so must the fake, with no spec violation.
func TestControlPlaneFilterForms(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	want := s.AddControlPlane(ControlPlaneSeed{Name: "wanted"})
	kic := s.AddControlPlane(ControlPlaneSeed{Name: "kic", ClusterType: ClusterTypeK8sIngressController})
	s.AddControlPlane(ControlPlaneSeed{Name: "other"})

	t.Run("SDK of go.mod: filter[id][eq]", func(t *testing.T) {
		s.ResetRequests()
		res, err := s.SDK(tok).ControlPlanes.ListControlPlanes(context.Background(), operations.ListControlPlanesRequest{
			Filter: &components.ControlPlaneFilterParameters{ID: &components.ID{Eq: sdkkonnectgo.String(want.ID)}},
		})
		require.NoError(t, err)
		require.Equal(t, 200, res.StatusCode)
		require.Len(t, res.ListControlPlanesResponse.Data, 1)
		require.Equal(t, want.ID, res.ListControlPlanesResponse.Data[0].ID)
		require.Contains(t, s.Requests()[0].Query, "filter%5Bid%5D%5Beq%5D=", "the SDK really sends the object form")
	})

	for name, tc := range map[string]struct {
		query string
		want  []string
	}{
		// The exact request KGO v1.5.1 sends (GetControlPlaneByID, sdk-konnect-go v0.2.22).
		"KGO 1.5 shorthand filter[id]=<id>":    {"filter%5Bid%5D=" + want.ID, []string{want.ID}},
		"shorthand, brackets unescaped":        {"filter[id]=" + want.ID, []string{want.ID}},
		"shorthand filter[name]":               {"filter[name]=wanted", []string{want.ID}},
		"shorthand filter[cluster_type]":       {"filter[cluster_type]=" + ClusterTypeK8sIngressController, []string{kic.ID}},
		"object form filter[id][eq]":           {"filter[id][eq]=" + want.ID, []string{want.ID}},
		"spec operator filter[id][oeq]":        {"filter[id][oeq]=" + want.ID + "," + kic.ID, []string{want.ID, kic.ID}},
		"spec operator filter[name][neq]":      {"filter[name][neq]=other", []string{want.ID, kic.ID}},
		"spec operator filter[name][contains]": {"filter[name][contains]=ante", []string{want.ID}},
		"shorthand with no match":              {"filter[id]=" + newUUID(), nil},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, body := rawGet(t, s, tok, "/v2/control-planes?"+tc.query)
			require.Equal(t, http.StatusOK, status, "%s", body)
			got := listedCPIDs(t, body)
			slices.Sort(got)
			wantIDs := slices.Clone(tc.want)
			slices.Sort(wantIDs)
			require.Equal(t, wantIDs, got)
		})
	}
}

// TestFilterShorthandKeepsValidationOn: the shorthand is rewritten only where
// the spec has an "eq" operator; everything else is still validated.
func TestFilterShorthandKeepsValidationOn(t *testing.T) {
	var rec violationRecorder
	s, err := NewServer(WithViolationHandler(rec.record))
	require.NoError(t, err)
	defer s.Close()
	tok := s.IssueToken()

	for _, q := range []string{
		"filter[labels]=x",                  // no such filter field
		"filter[id][like]=x",                // no such operator
		"filter[cloud_gateway]=maybe",       // a boolean filter: no "eq" to rewrite to
		"filter[cloud_gateway][eq]=true",    // a boolean filter takes no operator
		"filter[id]=a&filter[id][eq]=b",     // both forms at once: ambiguous
		"filter[name]=wanted&filter[foo]=x", // one good, one unknown
		"page[size]=ten",                    // not a filter: untouched
	} {
		t.Run(q, func(t *testing.T) {
			before := len(rec.messages())
			status, _, body := rawGet(t, s, tok, "/v2/control-planes?"+q)
			require.Equal(t, http.StatusBadRequest, status, "%s", body)
			require.Len(t, rec.messages(), before+1, "the refusal is reported as a spec violation")
		})
	}
}

// TestOtherListsAnswerBothSDKGenerations: dp-client-certificates and nodes
// take no filter in any sdk-konnect-go release KGO pins (v0.1.24 to v0.52.0:
// models/operations/listdpclientcertificates.go has no query parameter,
// listdataplanenodes.go only page[size] and page[after]); the request each
// generation sends is answered 200. The core-entities lists with filters are
// covered in coreentities_test.go.
func TestOtherListsAnswerBothSDKGenerations(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "lists"})
	s.RegisterNode(cp.ID, Node{Hostname: "dp-1"})
	ctx := context.Background()

	certs, err := s.SDK(tok).DPCertificates.ListDpClientCertificates(ctx, cp.ID)
	require.NoError(t, err)
	require.Equal(t, 200, certs.StatusCode)
	nodes, err := s.SDK(tok).DPNodes.ListDataplaneNodes(ctx, operations.ListDataplaneNodesRequest{ControlPlaneID: cp.ID})
	require.NoError(t, err)
	require.Len(t, nodes.ListNodes.Items, 1)

	for _, pq := range []string{
		"/v2/control-planes/" + cp.ID + "/dp-client-certificates",
		"/v2/control-planes/" + cp.ID + "/nodes?page%5Bsize%5D=100",
		"/v2/control-planes/" + cp.ID + "/nodes",
	} {
		status, _, body := rawGet(t, s, tok, pq)
		require.Equal(t, http.StatusOK, status, "%s: %s", pq, body)
	}
}

// oldSDKInvalidRules is the closed InvalidRules enum of sdk-konnect-go
// v0.1.24 to v0.10.1 (models/components/invalidrules.go), the releases of
// KGO 1.4 to kong-operator 2.0.x: any other rule fails to decode, and with it
// the whole typed BadRequestError.
var oldSDKInvalidRules = []string{
	"required", "is_array", "is_boolean", "is_date_time", "is_integer", "is_null", "is_number", "is_object",
	"is_string", "is_uuid", "is_fqdn", "is_arn", "unknown_property", "missing_reference", "is_label",
	"matches_regex", "invalid", "is_supported_network_availability_zone_list", "is_supported_network_cidr_block",
	"is_supported_provider_region",
}

// decodeAsOldSDK decodes a 400 problem body the way sdk-konnect-go v0.2.22
// does: sdkerrors.BadRequestError, each invalid parameter tried as
// InvalidParameterStandard with unknown fields refused (utils.UnmarshalJSON
// with disallowUnknownFields) and the rule checked against the closed enum.
func decodeAsOldSDK(t *testing.T, body []byte) []string {
	t.Helper()
	var p struct {
		Status            int64             `json:"status"`
		Title             string            `json:"title"`
		Type              *string           `json:"type,omitempty"`
		Instance          string            `json:"instance"`
		Detail            string            `json:"detail"`
		InvalidParameters []json.RawMessage `json:"invalid_parameters"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	var rules []string
	for _, raw := range p.InvalidParameters {
		var std struct {
			Field  string  `json:"field"`
			Rule   *string `json:"rule,omitempty"`
			Source *string `json:"source,omitempty"`
			Reason string  `json:"reason"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		require.NoError(t, d.Decode(&std), "%s", raw)
		if std.Rule != nil {
			require.Contains(t, oldSDKInvalidRules, *std.Rule, "sdk-konnect-go v0.2.22 cannot decode %s", raw)
			rules = append(rules, *std.Rule)
		}
	}
	return rules
}

// TestBadRequestBodiesDecodeWithOldSDKs: a 400 from the fake decodes with the
// SDK releases KGO pins, as Konnect's do.
func TestBadRequestBodiesDecodeWithOldSDKs(t *testing.T) {
	var rec violationRecorder
	s, err := NewServer(WithViolationHandler(rec.record))
	require.NoError(t, err)
	defer s.Close()
	tok := s.IssueToken()

	for q, wantRule := range map[string]string{
		"filter[cloud_gateway]=maybe": "is_boolean",
		"filter[labels]=x":            "unknown_property",
		"page[size]=ten":              "is_integer",
		"filter[id][like]=x":          "unknown_property",
	} {
		t.Run(q, func(t *testing.T) {
			status, header, body := rawGet(t, s, tok, "/v2/control-planes?"+q)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, "application/problem+json", header.Get("Content-Type"))
			require.NoError(t, ValidateResponse(http.MethodGet, "/v2/control-planes", 400, header, body))
			require.Contains(t, decodeAsOldSDK(t, body), wantRule, "%s", body)
		})
	}

	t.Run("malformed control plane ID", func(t *testing.T) {
		status, _, body := rawGet(t, s, tok, "/v2/control-planes/not-a-uuid")
		require.Equal(t, http.StatusBadRequest, status)
		require.Contains(t, decodeAsOldSDK(t, body), "is_uuid", "%s", body)
	})
}
