package initcmd

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

func TestParseListeners(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  []listener
		err   string
	}{
		{flags: nil, want: []listener{{name: "http", protocol: "HTTP", port: 80}}},
		{flags: []string{"http:8080", "HTTP:9090"}, want: []listener{{name: "http", protocol: "HTTP", port: 8080}, {name: "http-9090", protocol: "HTTP", port: 9090}}},
		{flags: []string{"web=https:443:web-tls"}, want: []listener{{name: "web", protocol: "HTTPS", port: 443, tlsSecret: "web-tls"}}},
		{flags: []string{"https:443"}, err: `--listener "https:443": HTTPS needs the TLS Secret`},
		{flags: []string{"http:80:x"}, err: "HTTP takes no TLS Secret"},
		{flags: []string{"grpc:80"}, err: "protocol grpc is not one of HTTP, HTTPS, TLS, TCP, UDP"},
		{flags: []string{"http:0"}, err: "the port must be a number from 1 to 65535"},
		{flags: []string{"a=http:80", "a=http:81"}, err: "the name a is taken by another listener"},
		{flags: []string{"Bad_Name=http:80"}, err: "the name"},
		{flags: []string{"http"}, err: "give a protocol and a port; use [NAME=]PROTOCOL:PORT[:TLS_SECRET]"},
	} {
		got, err := parseListeners(c.flags)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: want error containing %q, got %v", c.flags, c.err, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: want %+v, got %+v (%v)", c.flags, c.want, got, err)
		}
	}
}

func TestGatewayFlags(t *testing.T) {
	for i, c := range []struct {
		o   *Options
		err string
	}{
		{o: &Options{Gateway: "demo"}},
		{o: &Options{Gateway: "demo", ControlPlane: "x"}, err: "--gateway and --control-plane go together only with --adopt"},
		{o: &Options{Gateway: "demo", Adopt: true}, err: "name the Konnect control plane to attach the Gateway to with --control-plane NAME"},
		{o: &Options{Gateway: "demo", Adopt: true, ControlPlane: "Shared"}},
		{o: &Options{Gateway: "demo", NoDataPlane: true}, err: "kong-operator makes the Gateway's DataPlane itself"},
		{o: &Options{Gateway: "Demo"}, err: `--gateway "Demo" is not a valid Gateway name`},
		{o: &Options{Gateway: "demo", GatewayClass: "A_B"}, err: `--gateway-class "A_B" is not a valid GatewayClass name`},
	} {
		err := c.o.validateGateway()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("case %d: want no error, got %v", i, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("case %d: want error containing %q, got %v", i, c.err, err)
		}
	}
}

func TestGatewayObjects(t *testing.T) {
	cls := gatewayClass(GatewayClassName("team-a", "edge"), "team-a", "edge")
	if cls.GetName() != "konnect-team-a-edge" || cls.GetNamespace() != "" {
		t.Errorf("GatewayClass: want cluster-scoped konnect-team-a-edge, got %q in %q", cls.GetName(), cls.GetNamespace())
	}
	if got := str(cls, "spec", "controllerName"); got != "konghq.com/gateway-operator" {
		t.Errorf("controllerName: %s", got)
	}
	long := GatewayClassName(strings.Repeat("n", 63), strings.Repeat("g", 253))
	if len(long) > 253 || long != GatewayClassName(strings.Repeat("n", 63), strings.Repeat("g", 253)) {
		t.Errorf("a long GatewayClass name must be cut to 253 characters the same way every time: %d", len(long))
	}
	gc := gatewayConfiguration("team-a", "edge", "konnect-auth", "", "kong/kong-gateway:3.14", 2)
	if str(gc, "spec", "konnect", "authRef", "name") != "konnect-auth" || str(gc, "spec", "konnect", "source") != "" {
		t.Errorf("GatewayConfiguration konnect: %v", gc.Object["spec"])
	}
	mirror := gatewayConfiguration("team-a", "edge", "konnect-auth", "0f1e2d3c-0000-4000-8000-000000000001", "img", 1)
	if str(mirror, "spec", "konnect", "source") != "Mirror" || str(mirror, "spec", "konnect", "mirror", "konnect", "id") == "" {
		t.Errorf("a mirrored GatewayConfiguration needs source Mirror and mirror.konnect.id: %v", mirror.Object["spec"])
	}
	gw := gateway("team-a", "edge", "konnect-team-a-edge", []listener{{name: "web", protocol: "HTTPS", port: 443, tlsSecret: "web-tls"}})
	if gw.GetAnnotations()[annotationStaticNaming] != "true" {
		t.Errorf("the Gateway must ask for static naming")
	}
	ls, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	if len(ls) != 1 || ls[0].(map[string]any)["tls"] == nil {
		t.Errorf("listeners: %v", ls)
	}
}
