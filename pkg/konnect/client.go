// Package konnect holds the kubectl-konnect glue around the official Kong
// Konnect Go SDK.
package konnect

import (
	"net/http"
	"strings"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
)

// NewSDK returns a Konnect SDK client for serverURL (e.g.
// https://us.api.konghq.com) authenticating with token. System account
// tokens (spat_) and personal access tokens (kpat_) are both sent as bearer
// tokens; they are set on the matching security field for clarity. opts are
// applied last (e.g. sdkkonnectgo.WithRetryConfig).
func NewSDK(serverURL, token string, httpClient *http.Client, opts ...sdkkonnectgo.SDKOption) *sdkkonnectgo.SDK {
	sec := components.Security{PersonalAccessToken: &token}
	if strings.HasPrefix(token, "spat_") {
		sec = components.Security{SystemAccountAccessToken: &token}
	}
	base := []sdkkonnectgo.SDKOption{
		sdkkonnectgo.WithServerURL(serverURL),
		sdkkonnectgo.WithSecurity(sec),
	}
	if httpClient != nil {
		base = append(base, sdkkonnectgo.WithClient(httpClient))
	}
	return sdkkonnectgo.New(append(base, opts...)...)
}
