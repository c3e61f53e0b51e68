package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

func TestGatewayAPICRDFilesOfTheReleasesKongOperatorRequires(t *testing.T) {
	for _, g := range []rules.Generation{rules.GenerationKO22, rules.GenerationKO23} {
		v := GatewayAPIVersion(g)
		files, err := GatewayAPICRDFiles(v)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "kind: CustomResourceDefinition") {
				t.Errorf("%s is not a CRD", f)
			}
			if !strings.Contains(string(b), "gateway.networking.k8s.io/bundle-version: "+v) {
				t.Errorf("%s is not of Gateway API %s", f, v)
			}
			names = append(names, filepath.Base(f))
		}
		for _, want := range []string{"gateway.networking.k8s.io_gatewayclasses.yaml", "gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io_httproutes.yaml"} {
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("%s: %s missing from %v", v, want, names)
			}
		}
	}
	if GatewayAPIVersion(rules.GenerationKO20) != "" {
		t.Error("kong-operator 2.0 has no hybrid Gateway: no Gateway API CRDs in its profile")
	}
}
