package initcmd

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
)

// KGO derives the region from the first label of the KonnectAPIAuthConfiguration's serverURL and
// accepts any two-letter label (pkg/konnect/region): so does init. The known geos only complete
// --region and explain a label Konnect may not have.

const defaultDomain = "konghq.com"

// serverURL is a regional Konnect API: https://<region>.api.<domain>.
type serverURL struct {
	region string
	// domain is konghq.com, or a custom domain (KONG_CUSTOM_DOMAIN-style).
	domain string
}

func (s serverURL) host() string { return s.region + ".api." + s.domain }
func (s serverURL) url() string  { return "https://" + s.host() }

// parseRegion checks a --region value.
func parseRegion(r string) (serverURL, error) {
	r = strings.ToLower(strings.TrimSpace(r))
	if r == region.Global || !region.ValidLabel(r) {
		return serverURL{}, fmt.Errorf("--region %q is not a Konnect region: give its two-letter label, e.g. one of %s (or --server-url for a custom domain)", r, strings.Join(region.KnownGeos, ", "))
	}
	return serverURL{region: r, domain: defaultDomain}, nil
}

// parseServerURL reads --server-url or a KonnectAPIAuthConfiguration's serverURL: "https://eu.api.konghq.com",
// "eu.api.konghq.com", or a custom domain "https://eu.api.example.com".
func parseServerURL(raw, what string) (serverURL, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	bad := func(why string) (serverURL, error) {
		return serverURL{}, fmt.Errorf("%s %q: %s: use https://<region>.api.konghq.com with a region of %s (or your custom domain instead of konghq.com)",
			what, raw, why, strings.Join(region.KnownGeos, ", "))
	}
	switch {
	case err != nil:
		return bad(err.Error())
	case u.Scheme != "https":
		return bad("Konnect is only reached over https")
	case u.Port() != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
		return bad("give only the host, without port, path or query")
	}
	labels := strings.Split(strings.ToLower(u.Hostname()), ".")
	if len(labels) < 4 || labels[1] != "api" || slices.Contains(labels, "") {
		return bad("the host is not <region>.api.<domain>")
	}
	if labels[0] == "global" {
		return bad("global.api is Konnect's global API; control planes live in a regional one")
	}
	if !region.ValidLabel(labels[0]) {
		return bad(fmt.Sprintf("%q is not a Konnect region: KGO reads the region from the first label and accepts two lowercase letters", labels[0]))
	}
	return serverURL{region: labels[0], domain: strings.Join(labels[2:], ".")}, nil
}

// unknownGeoNote explains a region that KGO accepts but that is none of the known geos, or is "".
func unknownGeoNote(label string) string {
	if region.KnownGeo(label) {
		return ""
	}
	return fmt.Sprintf("region %q is none of the Konnect geos known to this tool (%s): %s. Continuing, as KGO accepts any two-letter region",
		label, strings.Join(region.KnownGeos, ", "), region.Source)
}

// endpoint is a control plane's cluster endpoint as Konnect shapes it: https://<id>.<region>.cp0.<domain>.
type endpoint struct {
	// prefix is the first label, what KGO 1.4 calls konnectID.
	prefix, region, server string
}

// parseEndpoint splits config.control_plane_endpoint the way KGO 1.4 rebuilds it
// (<konnectID>.<controlPlaneRegion>.cp0.<serverHostname>), so the KonnectExtension reproduces exactly
// the host Konnect gave, custom domains included.
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return endpoint{}, fmt.Errorf("the control plane endpoint %q from Konnect is not a URL", raw)
	}
	labels := strings.Split(u.Hostname(), ".")
	if len(labels) < 4 || labels[2] != "cp0" || slices.Contains(labels, "") {
		return endpoint{}, fmt.Errorf("the control plane endpoint %q is not <id>.<region>.cp0.<domain>, the only shape KGO 1.4's KonnectExtension can express: upgrade to KGO 1.5 or later, whose KonnectExtension follows the control plane by reference", raw)
	}
	return endpoint{prefix: labels[0], region: labels[1], server: strings.Join(labels[3:], ".")}, nil
}
