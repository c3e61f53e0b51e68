package initcmd

import (
	"errors"
	"testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

func TestGatewayReleaseRefusesReleasesWithoutHybridGateways(t *testing.T) {
	ko := served{gvrAuth: true, gvrCPV1alpha2: true, gvrExtKonnectV1alpha2: true, gvrDPCert: true}
	gatewayAPI := served{gvrGatewayConfiguration: true, gvrGatewayClass: true, gvrGateway: true}
	merge := func(ss ...served) served {
		out := served{}
		for _, s := range ss {
			for k, v := range s {
				out[k] = v
			}
		}
		return out
	}
	for _, c := range []struct {
		name    string
		s       served
		want    rules.Generation
		refused bool
		missing bool
	}{
		{name: "KGO 1.4", s: served{gvrAuth: true, gvrCP: true, gvrExtOperator: true}, want: rules.GenerationKGO14, refused: true},
		{name: "KGO 1.6", s: served{gvrAuth: true, gvrCP: true, gvrExtKonnect: true, gvrExtOperator: true}, want: rules.GenerationKGO15Plus, refused: true},
		{name: "kong-operator 2.0, Gateway API CRDs or not", s: merge(ko, gatewayAPI), want: rules.GenerationKO20, refused: true},
		{name: "kong-operator 2.2", s: merge(ko, gatewayAPI, served{gvrReferenceGrant: true, gvrEventGateway: true}), want: rules.GenerationKO22},
		{name: "kong-operator 2.3", s: merge(ko, gatewayAPI, served{gvrReferenceGrant: true, gvrEventGateway: true, gvrAIGateway: true}), want: rules.GenerationKO23},
		{name: "kong-operator 2.2 without the Gateway API CRDs", s: merge(ko, served{gvrReferenceGrant: true, gvrEventGateway: true}), want: rules.GenerationKO22, missing: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.s.gatewayRelease("demo")
			if got != c.want {
				t.Errorf("release: want %s, got %s", c.want, got)
			}
			var unsupported *HybridGatewayUnsupportedError
			switch {
			case c.refused && !errors.As(err, &unsupported):
				t.Fatalf("want HybridGatewayUnsupportedError, got %v", err)
			case c.missing && (err == nil || unsupported != nil):
				t.Fatalf("want the missing Gateway API CRDs named, got %v", err)
			case !c.refused && !c.missing && err != nil:
				t.Fatalf("want no error, got %v", err)
			}
		})
	}
}
