// Package region is the one place that knows what a Konnect region and a
// Konnect API host are. The rules (KON1501, KON1506, KON1507), init, check,
// migrate and shell completion all ask it.
//
// What the operator refuses is the rule, not a list of geos: Kong Gateway
// Operator >= 1.5 and kong-operator 2.x take the region from the first DNS
// label of spec.serverURL and accept any label matching ^[a-z]{2}$, or
// "global" (Kong/gateway-operator controller/konnect/server/region.go
// NewRegion @v1.5.1, v1.6.2; Kong/kong-operator same file @v2.0.0..v2.3.0-rc.3).
// The known geos below serve only hints and completion.
package region

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Global is the label of Konnect's global API (identity, organizations); the
// operator accepts it as a region too.
const Global = "global"

// KnownGeos are the control-plane geos Konnect documents, in the order of
// sdk-konnect-go v0.50.0's components.ControlPlaneGeo enum (a test keeps the
// two equal). Konnect offers no API that lists the geos an organization may
// use: the SDK's spec has only that enum (x-speakeasy-unknown-values: allow,
// so Konnect may add geos), and GET /v2/cloud-gateways/availability.json lists
// cloud-provider regions of Dedicated Cloud Gateways, not control-plane geos.
var KnownGeos = []string{"us", "eu", "au", "me", "in", "sg"}

// Source says where KnownGeos come from, for output that uses the list.
const Source = "Konnect has no API listing its control-plane geos; the known geos are those of the Konnect SDK (sdk-konnect-go v0.50.0 ControlPlaneGeo)"

// labelRE is the operator's own check (NewRegion, see the package comment).
var labelRE = regexp.MustCompile(`^[a-z]{2}$`)

// ValidLabel reports whether the operator accepts s as a region: two
// lowercase letters, or global.
func ValidLabel(s string) bool { return s == Global || labelRE.MatchString(s) }

// KnownGeo reports whether s is one of KnownGeos.
func KnownGeo(s string) bool { return slices.Contains(KnownGeos, s) }

// KonnectDomains are the domains of Kong-hosted Konnect APIs. Hosts of other
// domains (custom domains, proxies, fakes) are left alone.
var KonnectDomains = []string{"konghq.com", "konghq.tech"}

// Host extracts the lower-cased host of a serverURL, which is a URL or a
// bare hostname (the CRD allows both).
func Host(serverURL string) string {
	s := strings.TrimSpace(serverURL)
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Hostname())
		}
		return ""
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.ToLower(s)
}

// APIHost is a serverURL's host read the way the operator reads it.
type APIHost struct {
	// Host is the whole host, lower case.
	Host string
	// Label is the first DNS label, which the operator takes as the region.
	Label string
	// Domain is the Konnect domain the host is in (konghq.com, konghq.tech),
	// or "" for another domain.
	Domain string
}

// ParseHost reads the host of a serverURL.
func ParseHost(serverURL string) APIHost {
	h := APIHost{Host: Host(serverURL)}
	h.Label, _, _ = strings.Cut(h.Host, ".")
	for _, d := range KonnectDomains {
		if h.Host == d || strings.HasSuffix(h.Host, "."+d) {
			h.Domain = d
		}
	}
	return h
}

// OperatorLabel is the region label exactly as KGO >= 1.5 and kong-operator read it from
// spec.serverURL: the text before the first dot once a literal "https://" prefix is cut, case kept
// (controller/konnect/server/server.go NewServer, Kong/gateway-operator v1.5.1..v1.6.2 and
// Kong/kong-operator v2.0.1..v2.3.0-rc.3). So EU.api.konghq.com and http://eu.api.konghq.com name
// no region there, though DNS and Host read both as eu.api.konghq.com.
func OperatorLabel(serverURL string) string {
	label, _, _ := strings.Cut(strings.TrimPrefix(serverURL, "https://"), ".")
	return label
}

// Konnect reports whether the host is in a Kong-hosted Konnect domain.
func (h APIHost) Konnect() bool { return h.Domain != "" }

// ValidRegion reports whether the operator accepts the host's first label.
func (h APIHost) ValidRegion() bool { return ValidLabel(h.Label) }

// IsAPIHost reports whether a Konnect-domain host is a Konnect API host,
// <region>.api.<domain>. Konnect serves its APIs only there; other hosts of
// the domain (us.konghq.com, the cp0/tp0 cluster endpoints) answer no API.
func (h APIHost) IsAPIHost() bool {
	return h.Konnect() && h.Host == h.Label+".api."+h.Domain
}

// Suggest is the API host the user most likely meant, or "" when nothing
// fits: us.konghq.com -> us.api.konghq.com, us.cp0.konghq.com ->
// us.api.konghq.com, b89939e7f0.us.cp0.konghq.com -> us.api.konghq.com,
// api.konghq.com -> "" (no region to keep).
func (h APIHost) Suggest() string {
	if !h.Konnect() || h.IsAPIHost() {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(h.Host, "."+h.Domain), ".")
	for _, l := range labels {
		if l != Global && ValidLabel(l) {
			return APIHostFor(l, h.Domain)
		}
	}
	return ""
}

// APIHostFor is the API host of a region in a domain: us.api.konghq.com.
func APIHostFor(label, domain string) string { return label + ".api." + domain }
