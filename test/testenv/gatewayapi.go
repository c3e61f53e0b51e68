package testenv

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// gatewayAPIModule serves the Gateway API CRDs (config/crd/standard) through
// the Go module proxy.
const gatewayAPIModule = "sigs.k8s.io/gateway-api"

// GatewayAPIVersion is the Gateway API release a kong-operator release
// requires, "" for releases without hybrid Gateways in the test ground:
// kong-operator v2.2.3's go.mod requires sigs.k8s.io/gateway-api v1.5.1;
// v2.3.0-rc.3's requires v1.6.1 and issue 16 asks for v1.6.0 (same API,
// the CRDs of the v1.6 line).
func GatewayAPIVersion(g rules.Generation) string {
	switch g {
	case rules.GenerationKO21:
		// kong-operator v2.1.9's go.mod requires sigs.k8s.io/gateway-api v1.4.1.
		return "v1.4.1"
	case rules.GenerationKO22:
		return "v1.5.1"
	case rules.GenerationKO23:
		return "v1.6.0"
	}
	return ""
}

// GatewayAPICRDFiles returns the standard-channel CRD files of a Gateway API
// release from the module cache, without the ValidatingAdmissionPolicy
// (vap_safeupgrades) that shares their folder: an envtest CRD path takes
// CRDs only.
func GatewayAPICRDFiles(version string) ([]string, error) {
	dir, err := goModuleDir(gatewayAPIModule, version)
	if err != nil {
		return nil, err
	}
	all, err := filepath.Glob(filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_*.yaml"))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range all {
		if !strings.Contains(filepath.Base(f), "_vap_") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s@%s: no CRDs in config/crd/standard", gatewayAPIModule, version)
	}
	return files, nil
}

// withGatewayAPI adds the Gateway API CRD files the profile's release
// requires (GatewayAPIVersion) to its CRD folders.
func withGatewayAPI(p Profile, dirs ...string) ([]string, error) {
	files, err := GatewayAPICRDFiles(GatewayAPIVersion(p.Generation()))
	if err != nil {
		return nil, err
	}
	return append(dirs, files...), nil
}
