package check

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseEndpoint (issue 8): the control plane endpoint from Konnect's
// answer, split as KGO 1.4 rebuilds it. Never a panic; when the host has
// the <prefix>.<region>.cp0.<server hostname> shape, the parts are exactly
// those labels, so the patch the check suggests rebuilds the host.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"https://b89939e7f0.us.cp0.konghq.com",
		"https://0123456789.eu.cp0.konnect.example.com:443",
		"https://b89939e7f0.us.cp0.konghq.com/path?q=1",
		"b89939e7f0.us.cp0.konghq.com",
		"https://a.b.cp1.konghq.com",
		"https://a.b.cp0.",
		"https://cp.example.com",
		"https://[::1]:443",
		"::",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep := parseEndpoint(raw)
		if ep.URL != raw {
			t.Fatalf("URL %q, want %q", ep.URL, raw)
		}
		u, err := url.Parse(raw)
		if err != nil {
			if ep.Host != "" || ep.Prefix != "" {
				t.Fatalf("%q does not parse (%v), but gave host %q, prefix %q", raw, err, ep.Host, ep.Prefix)
			}
			return
		}
		if ep.Host != u.Hostname() {
			t.Fatalf("%q: host %q, want %q", raw, ep.Host, u.Hostname())
		}
		labels := strings.Split(ep.Host, ".")
		shaped := len(labels) >= 4 && labels[2] == "cp0"
		for _, l := range labels {
			shaped = shaped && l != ""
		}
		if !shaped {
			// Konnect never gives such an endpoint; the parts are then
			// whatever the first labels are (see docs/HARDENING.md).
			return
		}
		if ep.Prefix != labels[0] || ep.Region != labels[1] || ep.Prefix+"."+ep.Region+".cp0."+ep.ServerHostname != ep.Host {
			t.Fatalf("%q: prefix %q, region %q, server %q do not rebuild %q", raw, ep.Prefix, ep.Region, ep.ServerHostname, ep.Host)
		}
	})
}
