package konnecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/stretchr/testify/require"
)

func rawDo(t *testing.T, s *Server, tok, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, out
}

// TestCoreEntitiesThroughTheSDK: services and routes as KGO writes them
// (sdk-konnect-go: CreateService, UpsertService, ListService, DeleteService,
// CreateRoute), within the spec.
func TestCoreEntitiesThroughTheSDK(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	sdk := s.SDK(tok)
	ctx := context.Background()
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "hybrid"})

	svc, err := sdk.Services.CreateService(ctx, cp.ID, components.Service{
		Name: sdkkonnectgo.String("echo"), Host: "echo.default.svc", Port: sdkkonnectgo.Int64(80),
		Tags: []string{"k8s-uid:1234", "k8s-kind:KongService"},
	})
	require.NoError(t, err)
	require.Equal(t, 201, svc.StatusCode)
	id := *svc.Service.ID
	require.NotEmpty(t, id)
	require.NotNil(t, svc.Service.CreatedAt)

	got, err := sdk.Services.GetService(ctx, id, cp.ID)
	require.NoError(t, err)
	require.Equal(t, "echo.default.svc", got.Service.Host)

	up, err := sdk.Services.UpsertService(ctx, operations.UpsertServiceRequest{
		ControlPlaneID: cp.ID, ServiceID: id,
		Service: components.Service{Name: sdkkonnectgo.String("echo"), Host: "echo2.default.svc", Tags: []string{"k8s-uid:1234"}},
	})
	require.NoError(t, err)
	require.Equal(t, "echo2.default.svc", up.Service.Host)

	route, err := sdk.Routes.CreateRoute(ctx, cp.ID, components.Route{RouteJSON: &components.RouteJSON{
		Name: sdkkonnectgo.String("echo"), Paths: []string{"/echo"}, Service: &components.RouteJSONService{ID: &id},
	}})
	require.NoError(t, err)
	require.Equal(t, 201, route.StatusCode)

	list, err := sdk.Services.ListService(ctx, operations.ListServiceRequest{ControlPlaneID: cp.ID, Tags: sdkkonnectgo.String("k8s-uid:1234")})
	require.NoError(t, err)
	require.Len(t, list.Object.Data, 1)
	byName, err := sdk.Services.ListService(ctx, operations.ListServiceRequest{ControlPlaneID: cp.ID, FilterNameEq: sdkkonnectgo.String("echo")})
	require.NoError(t, err)
	require.Len(t, byName.Object.Data, 1)

	// The duplicate name: 400 "data constraint error", as KGO expects it.
	_, err = sdk.Services.CreateService(ctx, cp.ID, components.Service{Name: sdkkonnectgo.String("echo"), Host: "other"})
	var sdkErr *sdkerrors.SDKError
	require.True(t, errors.As(err, &sdkErr), "%v", err)
	require.Equal(t, 400, sdkErr.StatusCode)
	require.Contains(t, sdkErr.Body, `"message":"data constraint error"`)
	require.Contains(t, sdkErr.Body, "name (type: unique) constraint failed")

	_, err = sdk.Services.DeleteService(ctx, cp.ID, id)
	require.NoError(t, err)
	require.Len(t, s.Entities(cp.ID, "services"), 0)
}

// TestCoreEntityFilterForms: filter[name][eq] (the SDK's form) and the
// shorthand filter[name] both filter the lists that have a name filter.
func TestCoreEntityFilterForms(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "filters"})
	base := "/v2/control-planes/" + cp.ID + "/core-entities/"
	svcs := map[string]string{}
	for _, n := range []string{"a", "b"} {
		st, body := rawDo(t, s, tok, http.MethodPost, base+"services", map[string]any{"name": n, "host": n + ".svc"})
		require.Equal(t, 201, st, "%s", body)
		var e map[string]any
		require.NoError(t, json.Unmarshal(body, &e))
		svcs[n] = e["id"].(string)
	}
	for _, c := range []struct{ path, body string }{
		{"routes", `{"name":"a","paths":["/a"]}`}, {"routes", `{"name":"b","paths":["/b"]}`},
		{"plugins", `{"name":"a","instance_name":"a"}`}, {"plugins", `{"name":"b","instance_name":"b"}`},
		{"consumers", `{"username":"a"}`}, {"consumers", `{"username":"b"}`},
	} {
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.body), &body))
		st, out := rawDo(t, s, tok, http.MethodPost, base+c.path, body)
		require.Equal(t, 201, st, "%s: %s", c.path, out)
	}
	for _, coll := range []string{"services", "routes", "plugins"} {
		for _, q := range []string{"filter%5Bname%5D%5Beq%5D=a", "filter%5Bname%5D=a", "filter[name]=a"} {
			st, body := rawDo(t, s, tok, http.MethodGet, base+coll+"?"+q, nil)
			require.Equal(t, 200, st, "%s?%s: %s", coll, q, body)
			var out struct{ Data []map[string]any }
			require.NoError(t, json.Unmarshal(body, &out))
			require.Len(t, out.Data, 1, "%s?%s", coll, q)
			require.Equal(t, "a", out.Data[0]["name"])
		}
	}
}

// TestEveryCoreEntityKind: create, get, upsert, list (pages of 1) and delete
// for each kind KGO writes, through the generated spec part.
func TestEveryCoreEntityKind(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	cp := s.AddControlPlane(ControlPlaneSeed{Name: "kinds"})
	base := "/v2/control-planes/" + cp.ID + "/core-entities/"
	pem := testCertPEM(t)
	create := func(path string, body map[string]any) string {
		t.Helper()
		st, out := rawDo(t, s, tok, http.MethodPost, base+path, body)
		require.Equal(t, 201, st, "POST %s: %s", path, out)
		var e map[string]any
		require.NoError(t, json.Unmarshal(out, &e))
		return e["id"].(string)
	}
	upstream := create("upstreams", map[string]any{"name": "up"})
	certificate := create("certificates", map[string]any{"cert": pem, "key": testKeyPEM})
	for _, tc := range []struct {
		path   string
		bodies [2]map[string]any
	}{
		{"services", [2]map[string]any{{"name": "s1", "host": "a"}, {"name": "s2", "host": "b"}}},
		{"routes", [2]map[string]any{{"name": "r1", "paths": []string{"/1"}}, {"name": "r2", "paths": []string{"/2"}}}},
		{"upstreams", [2]map[string]any{{"name": "u1"}, {"name": "u2"}}},
		{"upstreams/" + upstream + "/targets", [2]map[string]any{{"target": "10.0.0.1:80"}, {"target": "10.0.0.2:80"}}},
		{"plugins", [2]map[string]any{{"name": "key-auth"}, {"name": "cors"}}},
		{"consumers", [2]map[string]any{{"username": "c1"}, {"username": "c2"}}},
		{"consumer_groups", [2]map[string]any{{"name": "g1"}, {"name": "g2"}}},
		{"certificates", [2]map[string]any{{"cert": pem, "key": testKeyPEM}, {"cert": pem, "key": testKeyPEM}}},
		{"ca_certificates", [2]map[string]any{{"cert": pem}, {"cert": pem}}},
		{"certificates/" + certificate + "/snis", [2]map[string]any{{"name": "a.example.com"}, {"name": "b.example.com"}}},
		{"keys", [2]map[string]any{{"kid": "k1", "name": "k1", "jwk": `{"kid":"k1","kty":"oct"}`}, {"kid": "k2", "name": "k2", "jwk": `{"kid":"k2","kty":"oct"}`}}},
		{"key-sets", [2]map[string]any{{"name": "ks1"}, {"name": "ks2"}}},
		{"vaults", [2]map[string]any{{"name": "env", "prefix": "env1"}, {"name": "env", "prefix": "env2"}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			first := create(tc.path, tc.bodies[0])
			create(tc.path, tc.bodies[1])
			st, out := rawDo(t, s, tok, http.MethodGet, base+tc.path+"/"+first, nil)
			require.Equal(t, 200, st, "%s", out)
			st, out = rawDo(t, s, tok, http.MethodPut, base+tc.path+"/"+first, tc.bodies[0])
			require.Equal(t, 200, st, "%s", out)

			st, out = rawDo(t, s, tok, http.MethodGet, base+tc.path+"?size=1", nil)
			require.Equal(t, 200, st, "%s", out)
			var page struct {
				Data   []map[string]any
				Offset string
			}
			require.NoError(t, json.Unmarshal(out, &page))
			require.Len(t, page.Data, 1)
			require.NotEmpty(t, page.Offset)
			seen := 1
			for page.Offset != "" {
				st, out = rawDo(t, s, tok, http.MethodGet, base+tc.path+"?size=1&offset="+page.Offset, nil)
				require.Equal(t, 200, st, "%s", out)
				page.Offset = ""
				require.NoError(t, json.Unmarshal(out, &page))
				require.Len(t, page.Data, 1)
				seen++
			}
			st, out = rawDo(t, s, tok, http.MethodGet, base+tc.path, nil)
			require.Equal(t, 200, st, "%s", out)
			var all struct{ Data []map[string]any }
			require.NoError(t, json.Unmarshal(out, &all))
			require.Equal(t, len(all.Data), seen, "pages of 1 walk the whole list")

			st, _ = rawDo(t, s, tok, http.MethodDelete, base+tc.path+"/"+first, nil)
			require.Equal(t, 204, st)
			st, _ = rawDo(t, s, tok, http.MethodGet, base+tc.path+"/"+first, nil)
			require.Equal(t, 404, st)
		})
	}
	st, out := rawDo(t, s, tok, http.MethodGet, base+"snis", nil)
	require.Equal(t, 200, st, "%s", out)
	require.Contains(t, string(out), "b.example.com")
}

// TestCoreEntityRefusals: the answers of coreentities.go's comment.
func TestCoreEntityRefusals(t *testing.T) {
	s := NewForTest(t)
	tok := s.IssueToken()
	sdk := s.SDK(tok)
	ctx := context.Background()
	kic := s.AddControlPlane(ControlPlaneSeed{Name: "kic", ClusterType: ClusterTypeK8sIngressController})
	group := s.AddControlPlane(ControlPlaneSeed{Name: "group", ClusterType: ClusterTypeControlPlaneGroup})

	_, err := sdk.Services.CreateService(ctx, kic.ID, components.Service{Name: sdkkonnectgo.String("echo"), Host: "echo"})
	var sdkErr *sdkerrors.SDKError
	require.True(t, errors.As(err, &sdkErr), "%v", err)
	require.Equal(t, 403, sdkErr.StatusCode)
	require.JSONEq(t, `{"code":7,"message":"usage constraint error","details":[{"@type":"type.googleapis.com/kong.admin.model.v1.ErrorDetail","messages":["operation not permitted on KIC cluster"]}]}`, sdkErr.Body)
	require.Empty(t, s.Entities(kic.ID, "services"))

	_, err = sdk.Services.CreateService(ctx, group.ID, components.Service{Name: sdkkonnectgo.String("echo"), Host: "echo"})
	require.True(t, errors.As(err, &sdkErr), "%v", err)
	require.Equal(t, 403, sdkErr.StatusCode)
	require.Contains(t, sdkErr.Body, "control plane group")

	t.Run("switchable", func(t *testing.T) {
		s := NewForTest(t, WithDuplicateNameStatus(409), WithGroupEntityStatus(400))
		tok := s.IssueToken()
		cp := s.AddControlPlane(ControlPlaneSeed{Name: "cp"})
		g := s.AddControlPlane(ControlPlaneSeed{Name: "group", ClusterType: ClusterTypeControlPlaneGroup})
		base := "/v2/control-planes/" + cp.ID + "/core-entities/services"
		st, _ := rawDo(t, s, tok, http.MethodPost, base, map[string]any{"name": "x", "host": "x"})
		require.Equal(t, 201, st)
		st, _ = rawDo(t, s, tok, http.MethodPost, base, map[string]any{"name": "x", "host": "y"})
		require.Equal(t, 409, st)
		st, _ = rawDo(t, s, tok, http.MethodPost, strings.Replace(base, cp.ID, g.ID, 1), map[string]any{"name": "x", "host": "x"})
		require.Equal(t, 400, st)
	})
}

// testKeyPEM stands for a certificate's private key: the fake stores it
// without parsing, as the schema only asks for a string.
const testKeyPEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDbhTxVxiv3tRxrKV4YsaP0V2Cyo1OGzUAS7qbBRR7p6\n-----END PRIVATE KEY-----\n"
