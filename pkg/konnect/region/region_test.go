package region

import (
	"testing"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/require"
)

// The known geos are the SDK's: when a newer SDK adds a geo, this fails and
// the list moves with it.
func TestKnownGeosAreTheSDKs(t *testing.T) {
	sdk := []components.ControlPlaneGeo{
		components.ControlPlaneGeoUs, components.ControlPlaneGeoEu, components.ControlPlaneGeoAu,
		components.ControlPlaneGeoMe, components.ControlPlaneGeoIn, components.ControlPlaneGeoSg,
	}
	require.Len(t, KnownGeos, len(sdk))
	for i, g := range sdk {
		require.Equal(t, string(g), KnownGeos[i])
		require.True(t, g.ToPointer().IsExact(), g)
	}
}

func TestValidLabel(t *testing.T) {
	for _, ok := range []string{"us", "sg", "zz", "global"} {
		require.True(t, ValidLabel(ok), ok)
	}
	for _, bad := range []string{"", "api", "US", "u", "u1", "b89939e7f0", "konghq"} {
		require.False(t, ValidLabel(bad), bad)
	}
}

func TestParseHost(t *testing.T) {
	for _, tc := range []struct {
		in               string
		label, domain    string
		validRegion, api bool
		suggest          string
	}{
		{in: "sg.api.konghq.com", label: "sg", domain: "konghq.com", validRegion: true, api: true},
		{in: "https://EU.api.konghq.com/", label: "eu", domain: "konghq.com", validRegion: true, api: true},
		{in: "us.api.konghq.tech:443", label: "us", domain: "konghq.tech", validRegion: true, api: true},
		{in: "us.konghq.com", label: "us", domain: "konghq.com", validRegion: true, suggest: "us.api.konghq.com"},
		{in: "https://b89939e7f0.us.cp0.konghq.com", label: "b89939e7f0", domain: "konghq.com", suggest: "us.api.konghq.com"},
		{in: "api.konghq.com", label: "api", domain: "konghq.com"},
		{in: "konghq.com", label: "konghq", domain: "konghq.com"},
		{in: "us.api.example.com", label: "us", validRegion: true},
	} {
		h := ParseHost(tc.in)
		require.Equal(t, tc.label, h.Label, tc.in)
		require.Equal(t, tc.domain, h.Domain, tc.in)
		require.Equal(t, tc.validRegion, h.ValidRegion(), tc.in)
		require.Equal(t, tc.api, h.IsAPIHost(), tc.in)
		require.Equal(t, tc.suggest, h.Suggest(), tc.in)
	}
}
