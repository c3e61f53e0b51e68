package rules

import (
	"fmt"
	"reflect"
	"testing"
)

func gatewayClass(name, controller, cfgNS, cfgName string) string {
	ns := ""
	if cfgNS != "" {
		ns = ", namespace: " + cfgNS
	}
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %s}
spec:
  controllerName: %s
  parametersRef: {group: gateway-operator.konghq.com, kind: GatewayConfiguration, name: %s%s}
`, name, controller, cfgName, ns)
}

// gatewayConfiguration in namespace default; authNS "" leaves authRef.namespace out; authName "" leaves spec.konnect out.
func gatewayConfiguration(name, authNS, authName string) string {
	spec := "spec: {}"
	if authName != "" {
		ns := ""
		if authNS != "" {
			ns = ", namespace: " + authNS
		}
		spec = fmt.Sprintf("spec: {konnect: {authRef: {name: %s%s}}}", authName, ns)
	}
	return fmt.Sprintf(`
apiVersion: gateway-operator.konghq.com/v2beta1
kind: GatewayConfiguration
metadata: {name: %s, namespace: default}
%s
`, name, spec)
}

func TestGatewayRules(t *testing.T) {
	const ko = KongOperatorControllerName
	runCases(t, []ruleCase{
		{name: "KON2001 parametersRef to a missing GatewayConfiguration", gen: GenerationKO22,
			cluster: []string{gatewayConfiguration("other", "", "konnect")},
			obj:     gatewayClass("kong", ko, "default", "hybrid"),
			want:    []string{"KON2001"}, wantField: "spec.parametersRef.name", wantMessage: "GatewayConfiguration default/hybrid not found"},
		{name: "KON2001 strict denies", gen: GenerationKO23, strict: true,
			obj:  gatewayClass("kong", ko, "default", "hybrid"),
			want: []string{"KON2001"}},
		{name: "KON2001 silent when the GatewayConfiguration exists", gen: GenerationKO22,
			cluster: []string{gatewayConfiguration("hybrid", "", "konnect")},
			obj:     gatewayClass("kong", ko, "default", "hybrid"),
			want:    nil},
		{name: "KON2001 silent on a parametersRef to another kind", gen: GenerationKO22,
			obj: `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/gw, parametersRef: {group: example.com, kind: Params, name: x}}
`, want: nil},
		{name: "KON2002 parametersRef without namespace", gen: GenerationKO22,
			obj:  gatewayClass("kong", ko, "", "hybrid"),
			want: []string{"KON2002"}, wantField: "spec.parametersRef.namespace"},
		{name: "KON2003 authRef to a missing KonnectAPIAuthConfiguration", gen: GenerationKO22,
			cluster: []string{auth("other", "us.api.konghq.com")},
			obj:     gatewayConfiguration("hybrid", "", "konnect"),
			want:    []string{"KON2003"}, wantField: "spec.konnect.authRef.name", wantMessage: "default/konnect not found"},
		{name: "KON2003 silent when the auth exists", gen: GenerationKO22,
			cluster: []string{auth("konnect", "us.api.konghq.com")},
			obj:     gatewayConfiguration("hybrid", "", "konnect"),
			want:    nil},
		{name: "KON2003 without any auth", gen: GenerationKO23, obj: gatewayConfiguration("hybrid", "", "konnect"), want: []string{"KON2003"}},
		{name: "KON2004 with no other class", gen: GenerationKO23, cluster: []string{gatewayConfiguration("hybrid", "", "konnect")}, obj: gatewayClass("other", "example.com/gw", "default", "hybrid"), want: []string{"KON2004"}},
		// A grant permits the reference, so that only the missing target speaks.
		{name: "KON2003 looks in authRef.namespace", gen: GenerationKO23,
			cluster: []string{auth("konnect", "us.api.konghq.com"),
				refGrant("auth", "gateway-operator.konghq.com", "GatewayConfiguration", "default", "konnect.konghq.com", "KonnectAPIAuthConfiguration", "")},
			obj:  gatewayConfiguration("hybrid", "auth", "konnect"),
			want: []string{"KON2003"}, wantMessage: "auth/konnect not found"},
		{name: "KON2003 silent before kong-operator 2.1 (no spec.konnect)", gen: GenerationKO20,
			obj: gatewayConfiguration("hybrid", "", "konnect"), want: nil},
		{name: "KON2003 silent on a cross-namespace auth that exists", gen: GenerationKO22,
			cluster: []string{auth("konnect", "us.api.konghq.com")},
			obj:     gatewayConfiguration("hybrid", "default", "konnect"),
			want:    nil},
		{name: "KON2004 Konnect settings with a foreign controller", gen: GenerationKO22,
			cluster: []string{gatewayConfiguration("hybrid", "", "konnect")},
			obj:     gatewayClass("envoy", "gateway.envoyproxy.io/gatewayclass-controller", "default", "hybrid"),
			want:    []string{"KON2004"}, wantField: "spec.controllerName"},
		{name: "KON2004 silent without Konnect settings", gen: GenerationKO22,
			cluster: []string{gatewayConfiguration("plain", "", "")},
			obj:     gatewayClass("envoy", "gateway.envoyproxy.io/gatewayclass-controller", "default", "plain"),
			want:    nil},
	})
}

func TestGatewayConfigurationKonnectChange(t *testing.T) {
	old := parseOne(t, gatewayConfiguration("hybrid", "", "konnect"))
	changed := parseOne(t, gatewayConfiguration("hybrid", "", "konnect-eu"))
	cluster := []string{auth("konnect", "us.api.konghq.com"), auth("konnect-eu", "eu.api.konghq.com"),
		gatewayClass("kong", KongOperatorControllerName, "default", "hybrid")}
	for _, c := range []struct {
		name    string
		gen     Generation
		cluster []string
		newObj  string
		want    []string
	}{
		{name: "KON2005 authRef changed while a class uses it", gen: GenerationKO22, cluster: cluster, want: []string{"KON2005"}},
		{name: "KON2005 also on 2.1", gen: GenerationKO21, cluster: cluster, want: []string{"KON2005"}},
		{name: "silent on 2.3: the CRD refuses it", gen: GenerationKO23, cluster: cluster},
		{name: "silent when no class uses it", gen: GenerationKO22, cluster: cluster[:2]},
		{name: "silent when spec.konnect is unchanged", gen: GenerationKO22, cluster: cluster, newObj: gatewayConfiguration("hybrid", "", "konnect")},
	} {
		t.Run(c.name, func(t *testing.T) {
			newObj := changed
			if c.newObj != "" {
				newObj = parseOne(t, c.newObj)
			}
			store := NewStore(c.gen, parse(t, c.cluster...)...)
			_, warnings := EvaluateUpdate(old, newObj, store, Options{})
			var got []string
			for _, w := range warnings {
				got = append(got, w[len("spec.konnect: ["):len("spec.konnect: [KON2005")])
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("want %v, got %v (%q)", c.want, got, warnings)
			}
			// lint (no old object) never reports an update rule.
			if f := Findings(newObj, store, Options{}); len(f) != 0 {
				t.Errorf("Findings without an old object: %+v", f)
			}
		})
	}
}
