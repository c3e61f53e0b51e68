// Package konnect holds the kubectl-konnect glue around the official Kong
// Konnect Go SDK.
package konnect

import (
	"net/http"
	"strings"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// NewSDK returns a Konnect SDK client for serverURL (e.g.
// https://us.api.konghq.com) authenticating with token. System account
// tokens (spat_) and personal access tokens (kpat_) are both sent as bearer
// tokens; they are set on the matching security field for clarity. Every
// request names kubectl-konnect in User-Agent. opts are applied last (e.g.
// sdkkonnectgo.WithRetryConfig).
func NewSDK(serverURL, token string, httpClient *http.Client, opts ...sdkkonnectgo.SDKOption) *sdkkonnectgo.SDK {
	sec := components.Security{PersonalAccessToken: &token}
	if strings.HasPrefix(token, "spat_") {
		sec = components.Security{SystemAccountAccessToken: &token}
	}
	base := []sdkkonnectgo.SDKOption{
		sdkkonnectgo.WithServerURL(serverURL),
		sdkkonnectgo.WithSecurity(sec),
	}
	base = append(base, sdkkonnectgo.WithClient(namedClient(httpClient)))
	return sdkkonnectgo.New(append(base, opts...)...)
}

// namedClient wraps c so that every Konnect request names the tool and its
// version in User-Agent (before the SDK's own).
func namedClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	named := *c
	rt := named.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	named.Transport = userAgentTransport{base: rt}
	return &named
}

type userAgentTransport struct{ base http.RoundTripper }

func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", strings.TrimSpace(version.UserAgent()+" "+r.Header.Get("User-Agent")))
	return t.base.RoundTrip(r)
}
