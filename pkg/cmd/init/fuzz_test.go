package initcmd

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
)

// The fuzz targets of URL parsing in init (issue 8): the control plane
// endpoint comes from Konnect's answer, the server URL from a flag or from a
// KonnectAPIAuthConfiguration someone wrote.

// FuzzParseEndpoint: an endpoint is split into prefix, region and server
// hostname that rebuild exactly the host Konnect gave (what KGO 1.4 dials),
// each a non-empty run of DNS labels; anything else is an error that quotes
// the endpoint.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"https://b89939e7f0.us.cp0.konghq.com",
		"https://0123456789.eu.cp0.konnect.example.com:443",
		"https://b89939e7f0.us.cp0.konghq.com/",
		"b89939e7f0.us.cp0.konghq.com",
		"https://cp.example.com",
		"https://a..cp0.konghq.com",
		"https://a.b.cp0.",
		"https://[::1]:443",
		"::",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep, err := parseEndpoint(raw)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", raw)) {
				t.Fatalf("the error does not quote the endpoint %q: %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("parsed %q, which url.Parse refuses: %v", raw, perr)
		}
		if got := ep.prefix + "." + ep.region + ".cp0." + ep.server; got != u.Hostname() {
			t.Fatalf("%q: prefix %q, region %q, server %q rebuild %q, not the host %q", raw, ep.prefix, ep.region, ep.server, got, u.Hostname())
		}
		for _, part := range []string{ep.prefix, ep.region} {
			if part == "" || strings.Contains(part, ".") {
				t.Fatalf("%q: prefix %q and region %q must be single labels", raw, ep.prefix, ep.region)
			}
		}
		if slices.Contains(strings.Split(ep.server, "."), "") {
			t.Fatalf("%q: server hostname %q has an empty label", raw, ep.server)
		}
	})
}

// FuzzParseServerURL: a server URL is https://<region>.api.<domain> with a
// region KGO accepts (two lowercase letters); parsing its canonical form gives it back; anything else is
// an error that names the source and quotes the value.
func FuzzParseServerURL(f *testing.F) {
	for _, s := range []string{
		"https://eu.api.konghq.com", "eu.api.konghq.com", "https://us.api.example.com/", "https://global.api.konghq.com",
		"https://api.konghq.com", "http://eu.api.konghq.com", "https://eu.api.konghq.com:443", "https://eu.api.konghq.com/v2",
		"https://EU.API.KONGHQ.COM", " https://in.api.konghq.com ", "https://xx.api.konghq.com", "%", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if r, err := parseRegion(raw); err == nil && (r.region == region.Global || !region.ValidLabel(r.region)) {
			t.Fatalf("parseRegion(%q) accepted region %q", raw, r.region)
		}
		s, err := parseServerURL(raw, "--server-url")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--server-url ") || !strings.Contains(err.Error(), fmt.Sprintf("%q", raw)) {
				t.Fatalf("the error does not name --server-url and quote %q: %v", raw, err)
			}
			return
		}
		if s.region == region.Global || !region.ValidLabel(s.region) {
			t.Fatalf("%q: region %q is not a Konnect region", raw, s.region)
		}
		if s.domain == "" || slices.Contains(strings.Split(s.domain, "."), "") {
			t.Fatalf("%q: domain %q has an empty label", raw, s.domain)
		}
		again, err := parseServerURL(s.url(), "--server-url")
		if err != nil || again != s {
			t.Fatalf("%q parsed as %+v, but its URL %q parses as %+v, %v", raw, s, s.url(), again, err)
		}
	})
}
