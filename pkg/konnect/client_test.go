package konnect_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// Every Konnect request names the tool, whatever client the caller passes.
func TestNewSDKNamesTheToolInUserAgent(t *testing.T) {
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	for _, hc := range []*http.Client{nil, srv.Client()} {
		sdk := konnect.NewSDK(srv.URL, "kpat_x", hc)
		_, _ = sdk.ControlPlanes.GetControlPlane(t.Context(), "00000000-0000-0000-0000-000000000000")
		got, _ := ua.Load().(string)
		require.True(t, strings.HasPrefix(got, "kubectl-konnect/"), "User-Agent %q", got)
		require.Equal(t, 1, strings.Count(got, "kubectl-konnect/"), "named once: %q", got)
	}
}
