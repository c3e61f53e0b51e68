package rules

import (
	"fmt"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ruleCase evaluates obj against a cluster holding the cluster objects.
type ruleCase struct {
	name    string
	gen     Generation // "" means GenerationKGO15Plus
	strict  bool
	cluster []string
	obj     string
	// want are the codes expected, in order; nil means no finding.
	want []string
	// wantField, wantMessage and wantHint are checked on the first finding.
	wantField   string
	wantMessage string
	wantHint    string
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gen := c.gen
			if gen == "" {
				gen = GenerationKGO15Plus
			}
			store := NewStore(gen, parse(t, c.cluster...)...)
			obj := parseOne(t, c.obj)
			got := Findings(obj, store, Options{Strict: c.strict})
			// The rules read only ReviewedFields of the object under review
			// (the webhook's matchConditions skip updates that change nothing
			// else): the projection must give the same findings.
			if proj := Findings(ReviewedProjection(obj), store, Options{Strict: c.strict}); !reflect.DeepEqual(proj, got) {
				t.Fatalf("a rule reads a field of the %s that ReviewedFields does not list (add it to reviewedFields in reads.go):\nfindings of the object:     %+v\nfindings of its projection: %+v",
					obj.GetKind(), got, proj)
			}
			want := c.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(codes(got), want) {
				t.Fatalf("codes: want %v, got %v\nfindings: %+v", want, codes(got), got)
			}
			if len(got) == 0 {
				return
			}
			if c.wantField != "" && got[0].Field.String() != c.wantField {
				t.Errorf("field: want %s, got %s", c.wantField, got[0].Field)
			}
			if c.wantMessage != "" && !strings.Contains(got[0].Message, c.wantMessage) {
				t.Errorf("message: want it to contain %q, got %q", c.wantMessage, got[0].Message)
			}
			if c.wantHint != "" && !strings.Contains(got[0].Hint, c.wantHint) {
				t.Errorf("hint: want it to contain %q, got %q", c.wantHint, got[0].Hint)
			}
			for _, f := range got {
				if f.Hint == "" {
					t.Errorf("%s has no hint", f.Code)
				}
			}
		})
	}
}

func cluster(extra ...string) []string {
	return append([]string{
		auth("konnect-auth", "us.api.konghq.com"),
		kgcp("demo-cp", "demo", "", cpUUID),
		kgcp("other-cp", "other", ClusterTypeControlPlane, ""),
		kgcp("kic-cp", "kic", ClusterTypeKIC, kicUUID),
		kgcp("group-cp", "group", ClusterTypeControlPlaneGroup, groupUUID),
	}, extra...)
}

func TestEntityOnKICControlPlaneIsDenied_KON1001(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "KongService on a KIC control plane", cluster: cluster(),
			obj: service("echo", "kic-cp"), want: []string{"KON1001"},
			wantField:   "spec.controlPlaneRef.konnectNamespacedRef.name",
			wantMessage: "Attaching to ControlPlane default/kic-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported",
		},
		{
			name: "KongDataPlaneClientCertificate on a KIC control plane", cluster: cluster(),
			obj:  entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "kic-cp"),
			want: []string{"KON1001"},
		},
		{
			name: "KongRoute inheriting a KIC control plane from its service", cluster: cluster(service("echo", "kic-cp")),
			obj: route("echo", "", "echo"), want: []string{"KON1001"},
			wantField: "spec.serviceRef.namespacedRef.name", wantMessage: "inherits it from KongService default/echo",
		},
		{
			name: "KGO 1.4 KongService by konnectID of a KIC control plane", gen: GenerationKGO14, cluster: cluster(),
			obj: `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: echo, namespace: default}
spec: {host: echo, controlPlaneRef: {type: konnectID, konnectID: ` + kicUUID + `}}
`,
			want: []string{"KON1001"}, wantField: "spec.controlPlaneRef.konnectID",
		},
		{
			name: "ko-2.0: KongService on a v1alpha2 KIC control plane", gen: GenerationKO20, cluster: clusterKO20(),
			obj: service("echo", "kic-cp"), want: []string{"KON1001"}, wantField: "spec.controlPlaneRef.konnectNamespacedRef.name",
		},
		{
			name: "ko-2.0: KongService on a Mirror of a KIC control plane (status.clusterType)", gen: GenerationKO20, cluster: clusterKO20(),
			obj: service("echo", "kic-mirror"), want: []string{"KON1001"},
			wantMessage: "Attaching to ControlPlane default/kic-mirror with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported",
		},
		{
			name: "ko-2.0: KongRoute inheriting a KIC Mirror from its service", gen: GenerationKO20, cluster: clusterKO20(service("echo", "kic-mirror")),
			obj: route("echo", "", "echo"), want: []string{"KON1001"}, wantField: "spec.serviceRef.namespacedRef.name",
		},
		{name: "ko-2.0: a Mirror kong-operator has not found yet passes", gen: GenerationKO20, cluster: clusterKO20(), obj: service("echo", "pending-mirror")},
		{name: "ko-2.0: KongService on a v1alpha2 control plane passes", gen: GenerationKO20, cluster: clusterKO20(), obj: service("echo", "demo-cp")},
		{name: "KongService on a plain control plane passes", cluster: cluster(), obj: service("echo", "demo-cp")},
		{name: "explicit CLUSTER_TYPE_CONTROL_PLANE passes", cluster: cluster(), obj: service("echo", "other-cp")},
		{name: "KongService without controlPlaneRef passes", cluster: cluster(), obj: service("echo", "")},
	})
}

func TestEntityOnControlPlaneGroupIsDenied_KON1002(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "KongService on a group", cluster: cluster(), obj: service("echo", "group-cp"), want: []string{"KON1002"},
			wantMessage: "Attaching to ControlPlane default/group-cp with cluster type CLUSTER_TYPE_CONTROL_PLANE_GROUP is not supported",
		},
		{name: "KongConsumer on a group", cluster: cluster(), obj: consumer("alice", "group-cp"), want: []string{"KON1002"}},
		{
			name: "ko-2.0: KongService on a v1alpha2 group", gen: GenerationKO20, cluster: clusterKO20(),
			obj: service("echo", "group-cp"), want: []string{"KON1002"},
		},
		{
			name: "ko-2.0: KongService on a Mirror of a group (status.clusterType)", gen: GenerationKO20, cluster: clusterKO20(),
			obj: service("echo", "group-mirror"), want: []string{"KON1002"}, wantMessage: "ControlPlane default/group-mirror with cluster type CLUSTER_TYPE_CONTROL_PLANE_GROUP",
		},
		{
			// KON1002 never covers the certificate; KON1006 does before kong-operator 2.2.
			name: "ko-2.2: KongDataPlaneClientCertificate on a group passes", gen: GenerationKO22, cluster: clusterKO20(),
			obj: entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "group-cp"),
		},
		{
			name: "ko-2.2: KongDataPlaneClientCertificate on a Mirror of a group passes", gen: GenerationKO22, cluster: clusterKO20(),
			obj: entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "group-mirror"),
		},
	})
}

func TestDataPlaneCertificateOnGroupIsDeniedBeforeKO22_KON1006(t *testing.T) {
	cert := entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "group-cp")
	runCases(t, []ruleCase{
		{
			name: "KGO >= 1.5", gen: GenerationKGO15Plus, cluster: cluster(), obj: cert, want: []string{"KON1006"},
			wantField:   "spec.controlPlaneRef.konnectNamespacedRef.name",
			wantMessage: "Attaching to ControlPlane default/group-cp with cluster type CLUSTER_TYPE_CONTROL_PLANE_GROUP is not supported",
			wantHint:    "kong-operator 2.2 and later register data-plane certificates on groups",
		},
		{name: "KGO 1.4", gen: GenerationKGO14, cluster: cluster(), obj: cert, want: []string{"KON1006"}},
		// handleControlPlaneRef exempts the certificate only from v2.2.0 (Kong/kong-operator#3711).
		{name: "kong-operator 2.0 still refuses it", gen: GenerationKO20, cluster: clusterKO20(), obj: cert, want: []string{"KON1006"}},
		{name: "kong-operator 2.1 still refuses it", gen: GenerationKO21, cluster: clusterKO20(), obj: cert, want: []string{"KON1006"}},
		{name: "kong-operator 2.2 registers certificates on groups", gen: GenerationKO22, cluster: clusterKO20(), obj: cert},
		{name: "kong-operator 2.3 registers certificates on groups", gen: GenerationKO23, cluster: clusterKO20(), obj: cert},
		{name: "unknown generation stays silent", gen: Generation("not-detected"), cluster: cluster(), obj: cert},
		{name: "a certificate on a member passes", gen: GenerationKGO15Plus, cluster: cluster(), obj: entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "demo-cp")},
		{name: "KongService on a group is KON1002's", gen: GenerationKGO15Plus, cluster: cluster(), obj: service("echo", "group-cp"), want: []string{"KON1002"}},
	})
}

func TestRefToKonnectNameSuggestsResourceName_KON1003(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "KongService naming the Konnect name", cluster: cluster(), obj: service("echo", "demo"),
			want: []string{"KON1003"}, wantField: "spec.controlPlaneRef.konnectNamespacedRef.name",
			wantMessage: "did you mean demo-cp?",
		},
		{
			name: "KongDataPlaneClientCertificate naming the Konnect name (the walkthrough slip)", cluster: cluster(),
			obj: entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "c", "demo"), want: []string{"KON1003"},
		},
		{name: "KonnectExtension naming the Konnect name", cluster: cluster(tlsSecret("dp-tls", "tls.crt", "tls.key")), obj: extension("ext", "demo", "dp-tls"), want: []string{"KON1003"}},
		{name: "denied in strict mode too, never KON1004", strict: true, cluster: cluster(), obj: service("echo", "demo"), want: []string{"KON1003"}},
		{
			name: "ko-2.0: naming the createControlPlaneRequest name", gen: GenerationKO20, cluster: clusterKO20(), obj: service("echo", "demo"),
			want: []string{"KON1003"}, wantMessage: "did you mean demo-cp?", wantHint: "not its Konnect name (spec.createControlPlaneRequest.name): set it to demo-cp",
		},
		{name: "v1alpha1: the hint names spec.name", cluster: cluster(), obj: service("echo", "demo"), want: []string{"KON1003"}, wantHint: "(spec.name): set it to demo-cp"},
		{name: "resource name passes", cluster: cluster(), obj: service("echo", "demo-cp")},
	})
}

func TestMissingControlPlaneWarnsOrDeniesInStrictMode_KON1004(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "missing control plane warns", cluster: cluster(), obj: service("echo", "nope"), want: []string{"KON1004"},
			wantMessage: "KonnectGatewayControlPlane default/nope not found",
		},
		{name: "group member missing warns", cluster: cluster(), obj: kgcp("g", "g", ClusterTypeControlPlaneGroup, "") + "  members: [{name: nope}]", want: []string{"KON1004"}, wantField: "spec.members[0].name"},
		{name: "KonnectExtension on a missing control plane warns", cluster: cluster(tlsSecret("dp-tls", "tls.crt", "tls.key")), obj: extension("ext", "nope", "dp-tls"), want: []string{"KON1004"}},
		{name: "existing control plane passes", cluster: cluster(), obj: service("echo", "demo-cp")},
	})
	// Severity: warn by default, deny with Strict.
	store := NewStore(GenerationKGO15Plus, parse(t, cluster()...)...)
	obj := parseOne(t, service("echo", "nope"))
	if denies, warnings := Evaluate(obj, store, Options{}); len(denies) != 0 || len(warnings) != 1 {
		t.Errorf("default: want 0 denials and 1 warning, got %v and %v", denies, warnings)
	}
	if denies, warnings := Evaluate(obj, store, Options{Strict: true}); len(denies) != 1 || len(warnings) != 0 {
		t.Errorf("strict: want 1 denial and 0 warnings, got %v and %v", denies, warnings)
	}
}

func TestKICRefOnKindsKGOIgnoresWarns_KON1005(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "KongConsumer type kic", cluster: cluster(), obj: consumer("alice", "kic"), want: []string{"KON1005"}, wantField: "spec.controlPlaneRef.type"},
		{name: "KongConsumerGroup type kic", cluster: cluster(), obj: consumerGroup("gold", "kic"), want: []string{"KON1005"}},
		{name: "KongPluginBinding type kic", cluster: cluster(plugin("rate-limit")), obj: binding("b", "kic", "KongPlugin", "{consumerRef: {name: alice}}"), want: []string{"KON1005"}},
		{name: "KongConsumer in Konnect passes", cluster: cluster(), obj: consumer("alice", "demo-cp")},
		{name: "KongConsumer without controlPlaneRef (KIC) passes", cluster: cluster(), obj: consumer("alice", "")},
	})
}

func TestKongRouteRules_KON1101_KON1102(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "controlPlaneRef differs from the service's", cluster: cluster(service("echo", "demo-cp")),
			obj: route("echo", "other-cp", "echo"), want: []string{"KON1101"},
			wantField:   "spec.controlPlaneRef.konnectNamespacedRef.name",
			wantMessage: "its KongService default/echo is attached to ControlPlane default/demo-cp",
		},
		{name: "same control plane passes", cluster: cluster(service("echo", "demo-cp")), obj: route("echo", "demo-cp", "echo")},
		{name: "serviceRef only passes", cluster: cluster(service("echo", "demo-cp")), obj: route("echo", "", "echo")},
		{
			name: "missing service warns", cluster: cluster(), obj: route("echo", "", "echo"), want: []string{"KON1102"},
			wantField: "spec.serviceRef.namespacedRef.name", wantMessage: "stays without status",
		},
		{name: "missing service denies in strict mode", strict: true, cluster: cluster(), obj: route("echo", "", "echo"), want: []string{"KON1102"}},
	})
}

func TestKongPluginBindingRules_KON1201_to_KON1204(t *testing.T) {
	entities := cluster(plugin("rate-limit"), service("echo", "demo-cp"), route("echo", "", "echo"),
		service("other", "other-cp"), route("other", "", "other"), consumer("alice", "demo-cp"),
		consumer("bob", "other-cp"), consumerGroup("gold", "other-cp"))
	runCases(t, []ruleCase{
		{
			name: "service target on another control plane", cluster: entities,
			obj:  binding("b", "demo-cp", "KongPlugin", "{serviceRef: {kind: KongService, group: configuration.konghq.com, name: other}}"),
			want: []string{"KON1201"}, wantField: "spec.targets.serviceRef.name",
			wantMessage: "target KongService default/other is attached to ControlPlane default/other-cp, but the KongPluginBinding is attached to ControlPlane default/demo-cp",
		},
		{
			name: "route target inheriting another control plane", cluster: entities,
			obj:  binding("b", "demo-cp", "KongPlugin", "{routeRef: {kind: KongRoute, group: configuration.konghq.com, name: other}}"),
			want: []string{"KON1201"}, wantField: "spec.targets.routeRef.name",
		},
		{
			name: "consumer group target on another control plane", cluster: entities,
			obj:  binding("b", "demo-cp", "KongPlugin", "{consumerGroupRef: {name: gold}}"),
			want: []string{"KON1201"},
		},
		{
			name: "targets on different control planes without controlPlaneRef", cluster: entities,
			obj:  binding("b", "", "KongPlugin", "{serviceRef: {kind: KongService, group: configuration.konghq.com, name: echo}, consumerRef: {name: bob}}"),
			want: []string{"KON1201"}, wantField: "spec.targets.consumerRef.name",
		},
		{
			name: "all targets on the binding's control plane pass", cluster: entities,
			obj: binding("b", "demo-cp", "KongPlugin", "{routeRef: {kind: KongRoute, group: configuration.konghq.com, name: echo}, serviceRef: {kind: KongService, group: configuration.konghq.com, name: echo}, consumerRef: {name: alice}}"),
		},
		{
			name: "HTTPRoute target in Konnect mode", cluster: entities,
			obj:  binding("b", "demo-cp", "KongPlugin", "{routeRef: {kind: HTTPRoute, group: gateway.networking.k8s.io, name: web}}"),
			want: []string{"KON1202"}, wantField: "spec.targets.routeRef.kind",
		},
		{
			name: "Ingress and core Service targets in Konnect mode", cluster: entities,
			obj:  binding("b", "demo-cp", "KongPlugin", "{routeRef: {kind: Ingress, group: networking.k8s.io, name: web}, serviceRef: {kind: Service, group: core, name: web}}"),
			want: []string{"KON1202", "KON1202"},
		},
		{
			name: "Ingress target without controlPlaneRef or Kong entity target is not Konnect mode", cluster: entities,
			obj: binding("b", "", "KongPlugin", "{routeRef: {kind: Ingress, group: networking.k8s.io, name: web}}"),
		},
		{
			name: "Ingress target next to a KongConsumer target without controlPlaneRef", cluster: entities,
			obj:  binding("b", "", "KongPlugin", "{routeRef: {kind: Ingress, group: networking.k8s.io, name: web}, consumerRef: {name: alice}}"),
			want: []string{"KON1202"},
		},
		{
			name: "KongClusterPlugin in Konnect mode", cluster: entities,
			obj:  binding("b", "demo-cp", "KongClusterPlugin", "{serviceRef: {kind: KongService, group: configuration.konghq.com, name: echo}}"),
			want: []string{"KON1203"}, wantField: "spec.pluginRef.kind",
		},
		{
			name: "missing plugin and targets warn", cluster: cluster(),
			obj:  binding("b", "demo-cp", "KongPlugin", "{serviceRef: {kind: KongService, group: configuration.konghq.com, name: echo}, consumerGroupRef: {name: gold}}"),
			want: []string{"KON1204", "KON1204", "KON1204"}, wantField: "spec.pluginRef.name",
		},
		{
			name: "global binding on an existing control plane passes", cluster: entities,
			obj: `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongPluginBinding
metadata: {name: global, namespace: default}
spec:
  scope: GlobalInControlPlane
  pluginRef: {name: rate-limit}
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp}}
`,
		},
	})
}

func TestKongConsumerGroupRules_KON1301_KON1302(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "group on another control plane", cluster: cluster(consumerGroup("gold", "other-cp")),
			obj: consumer("alice", "demo-cp", "gold"), want: []string{"KON1301"}, wantField: "consumerGroups[0]",
		},
		{name: "group on the same control plane passes", cluster: cluster(consumerGroup("gold", "demo-cp")), obj: consumer("alice", "demo-cp", "gold")},
		{name: "missing group warns", cluster: cluster(consumerGroup("gold", "demo-cp")), obj: consumer("alice", "demo-cp", "gold", "silver"), want: []string{"KON1302"}, wantField: "consumerGroups[1]"},
		{name: "KIC consumer's groups are not checked", cluster: cluster(), obj: consumer("alice", "", "silver")},
	})
}

func TestKongKeyRules_KON1401_to_KON1404(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "key set on another control plane", cluster: cluster(keySet("keys", "other-cp")),
			obj: key("k", "demo-cp", "keys"), want: []string{"KON1401"}, wantField: "spec.keySetRef.namespacedRef.name",
		},
		{name: "key set on the same control plane passes", cluster: cluster(keySet("keys", "demo-cp")), obj: key("k", "demo-cp", "keys")},
		{name: "missing key set warns", cluster: cluster(), obj: key("k", "demo-cp", "keys"), want: []string{"KON1402"}},
		{
			name: "keySetRef without controlPlaneRef", cluster: cluster(keySet("keys", "demo-cp")),
			obj: key("k", "", "keys"), want: []string{"KON1403"}, wantField: "spec.controlPlaneRef",
		},
		{name: "key without controlPlaneRef or keySetRef warns", cluster: cluster(), obj: key("k", "", ""), want: []string{"KON1404"}},
		{name: "key without key set passes", cluster: cluster(), obj: key("k", "demo-cp", "")},
	})
}

func TestKeyWithoutControlPlaneNamesTheKeySetsControlPlane_KON1403(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, parse(t, cluster(keySet("keys", "demo-cp"))...)...)
	// A warning since the audit of issue 19: KGO does not refuse the key, it never reconciles it.
	got := Findings(parseOne(t, key("k", "", "keys")), store, Options{})
	if len(got) != 1 || got[0].Severity != SeverityWarn || !strings.Contains(got[0].Detail(), "name: demo-cp") {
		t.Fatalf("want a warning whose fix names demo-cp, got %v", got)
	}
}

func TestKonnectAPIAuthConfigurationRules_KON1501_to_KON1505(t *testing.T) {
	labelled := map[string]string{CredentialLabel: CredentialLabelValue}
	runCases(t, []ruleCase{
		{
			name: "serverURL api.konghq.com has no region", obj: auth("a", "api.konghq.com"), want: []string{"KON1501"},
			wantField: "spec.serverURL", wantMessage: `first DNS label "api"`,
		},
		{
			name: "a cluster endpoint as serverURL has no region but suggests the API host", obj: auth("a", "https://b89939e7f0.us.cp0.konghq.com"),
			want: []string{"KON1501"}, wantMessage: `first DNS label "b89939e7f0"`,
		},
		{name: "serverURL https://api.konghq.com has no region", obj: auth("a", "https://api.konghq.com"), want: []string{"KON1501"}},
		{name: "serverURL konghq.com has no region", obj: auth("a", "konghq.com"), want: []string{"KON1501"}},
		{name: "us.api.konghq.com passes", obj: auth("a", "us.api.konghq.com")},
		{name: "https://eu.api.konghq.com passes", obj: auth("a", "https://eu.api.konghq.com")},
		{name: "global.api.konghq.com passes", obj: auth("a", "global.api.konghq.com")},
		// KGO accepts any two-letter region (controller/konnect/server/region.go NewRegion).
		{name: "Singapore sg.api.konghq.com passes", obj: auth("a", "sg.api.konghq.com")},
		{name: "Kong's dev host us.api.konghq.tech passes", obj: auth("a", "us.api.konghq.tech")},
		{name: "a non-Kong host (proxy, fake) is not checked", obj: auth("a", "https://127.0.0.1:8443")},
		{
			name: "Secret without the credential label", cluster: []string{secret("tok", nil, "token")},
			obj: authSecretRef("a", "tok", ""), want: []string{"KON1502"}, wantField: "spec.secretRef.name",
		},
		{
			name: "Secret without key token", cluster: []string{secret("tok", labelled, "password")},
			obj: authSecretRef("a", "tok", ""), want: []string{"KON1503"}, wantMessage: `no key "token"`,
		},
		{name: "labelled Secret with token passes", cluster: []string{secret("tok", labelled, "token")}, obj: authSecretRef("a", "tok", "")},
		{name: "missing Secret warns", obj: authSecretRef("a", "tok", ""), want: []string{"KON1504"}},
		{
			name: "Secret in another namespace warns", cluster: []string{strings.Replace(secret("tok", labelled, "token"), "namespace: default", "namespace: team-b", 1)},
			obj: authSecretRef("a", "tok", "team-b"), want: []string{"KON1505"}, wantField: "spec.secretRef.namespace",
		},
	})
}

func TestAuthSecretKeysAreOnlyCheckedWhenKnown_KON1503(t *testing.T) {
	// A metadata-only Secret (from a metadata informer) has no type and no
	// data: its keys are unknown, so KON1503 must not fire.
	metaOnly := `
apiVersion: v1
kind: Secret
metadata: {name: tok, namespace: default, labels: {konghq.com/credential: konnect}}
`
	store := NewStore(GenerationKGO15Plus, parse(t, metaOnly)...)
	if got := Findings(parseOne(t, authSecretRef("a", "tok", "")), store, Options{Strict: true}); len(got) != 0 {
		t.Fatalf("want no findings for a metadata-only Secret, got %v", codes(got))
	}
}

func TestKonnectExtensionRules_KON1601_to_KON1606(t *testing.T) {
	certs := tlsSecret("dp-tls", "tls.crt", "tls.key")
	runCases(t, []ruleCase{
		{
			name: "old group on KGO >= 1.5", gen: GenerationKGO15Plus, cluster: cluster(certs),
			obj: legacyExtension("ext", "b89939e7f0", "dp-tls"), want: []string{"KON1601"}, wantField: "apiVersion",
		},
		{
			name: "old group on kong-operator 2.x", gen: GenerationKO20, cluster: clusterKO20(certs),
			obj: legacyExtension("ext", "b89939e7f0", "dp-tls"), want: []string{"KON1601"},
			wantMessage: "kong-operator 2.0 runs in this cluster and ignores KonnectExtension of group gateway-operator.konghq.com",
		},
		{name: "old group on KGO 1.4 passes", gen: GenerationKGO14, cluster: cluster(certs), obj: legacyExtension("ext", "b89939e7f0", "dp-tls")},
		{name: "old group with unknown generation passes", gen: Generation("not-detected"), cluster: cluster(certs), obj: legacyExtension("ext", "b89939e7f0", "dp-tls")},
		{
			name: "KIC control plane warns", cluster: cluster(certs), obj: extension("ext", "kic-cp", "dp-tls"),
			want: []string{"KON1602"}, wantMessage: "KONG_ROLE=traditional",
		},
		{
			name: "control plane group", cluster: cluster(certs), obj: extension("ext", "group-cp", "dp-tls"),
			want: []string{"KON1603"}, wantField: "spec.konnect.controlPlane.ref.konnectNamespacedRef.name",
		},
		{
			name: "control plane group by konnectID", cluster: cluster(auth("konnect-auth-2", "us.api.konghq.com")),
			obj: `
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: ext, namespace: default}
spec:
  konnect:
    controlPlane: {ref: {type: konnectID, konnectID: ` + groupUUID + `}}
    configuration: {authRef: {name: konnect-auth}}
  clientAuth: {certificateSecret: {provisioning: Automatic}}
`,
			want: []string{"KON1603"}, wantField: "spec.konnect.controlPlane.ref.konnectID",
		},
		{
			name: "ko-2.0: v1alpha2 on a Mirror of a KIC control plane warns", gen: GenerationKO20, cluster: clusterKO20(certs),
			obj: extensionV2("ext", "kic-mirror", "dp-tls"), want: []string{"KON1602"}, wantMessage: "ControlPlane default/kic-mirror has cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER",
		},
		{
			// The kubernetes-configuration v2.0.1 CRD still has no group in
			// status.konnect.clusterType (Kong/kong-operator#3710).
			name: "ko-2.0: v1alpha2 on a control plane group", gen: GenerationKO20, cluster: clusterKO20(certs),
			obj: extensionV2("ext", "group-cp", "dp-tls"), want: []string{"KON1603"}, wantField: "spec.konnect.controlPlane.ref.konnectNamespacedRef.name",
		},
		{name: "ko-2.0: v1alpha2 on a Mirror of a group", gen: GenerationKO20, cluster: clusterKO20(certs), obj: extensionV2("ext", "group-mirror", "dp-tls"), want: []string{"KON1603"}},
		{name: "ko-2.0: v1alpha2 with a missing certificate Secret warns", gen: GenerationKO20, cluster: clusterKO20(), obj: extensionV2("ext", "demo-cp", "dp-tls"), want: []string{"KON1604"}},
		{
			name: "ko-2.0: v1alpha2 certificate Secret without tls.key", gen: GenerationKO20, cluster: clusterKO20(tlsSecret("dp-tls", "tls.crt")),
			obj: extensionV2("ext", "demo-cp", "dp-tls"), want: []string{"KON1605"}, wantField: "spec.clientAuth.certificateSecret.secretRef.name",
		},
		{name: "ko-2.0: valid v1alpha2 extension passes", gen: GenerationKO20, cluster: clusterKO20(certs), obj: extensionV2("ext", "demo-cp", "dp-tls")},
		{name: "missing certificate Secret warns", cluster: cluster(), obj: extension("ext", "demo-cp", "dp-tls"), want: []string{"KON1604"}},
		{name: "old group: missing certificate Secret warns", gen: GenerationKGO14, cluster: cluster(), obj: legacyExtension("ext", "b89939e7f0", "dp-tls"), want: []string{"KON1604"}},
		{
			name: "certificate Secret without tls.key", cluster: cluster(tlsSecret("dp-tls", "tls.crt")), obj: extension("ext", "demo-cp", "dp-tls"),
			want: []string{"KON1605"}, wantField: "spec.clientAuth.certificateSecret.secretRef.name", wantMessage: "no key tls.key",
		},
		{
			name: "old group: certificate Secret without keys", gen: GenerationKGO14, cluster: cluster(secret("dp-tls", nil, "ca.crt")),
			obj: legacyExtension("ext", "b89939e7f0", "dp-tls"), want: []string{"KON1605"}, wantMessage: "no key tls.crt and no key tls.key",
		},
		{
			name: "KGO 1.4: konnectID holds the control-plane UUID", gen: GenerationKGO14, cluster: cluster(certs),
			obj: legacyExtension("ext", cpUUID, "dp-tls"), want: []string{"KON1606"}, wantField: "spec.controlPlaneRef.konnectID",
			wantMessage: "the ID of KonnectGatewayControlPlane default/demo-cp",
		},
		{name: "valid extension passes", cluster: cluster(certs), obj: extension("ext", "demo-cp", "dp-tls")},
		{
			name: "automatic provisioning needs no Secret", cluster: cluster(),
			obj: strings.Replace(strings.Replace(extension("ext", "demo-cp", "x"), "provisioning: Manual", "provisioning: Automatic", 1), "      secretRef: {name: x}\n", "", 1),
		},
	})
}

func TestAuthRefRules_KON1701_KON1702(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "control plane with a missing auth configuration warns", obj: kgcp("cp", "cp", "", ""), want: []string{"KON1701"}, wantField: "spec.konnect.authRef.name"},
		{name: "control plane with its auth configuration passes", cluster: []string{auth("konnect-auth", "us.api.konghq.com")}, obj: kgcp("cp", "cp", "", "")},
		{
			name: "KonnectExtension by konnectID with a missing auth configuration warns", cluster: cluster(),
			obj: `
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: ext, namespace: default}
spec:
  konnect:
    controlPlane: {ref: {type: konnectID, konnectID: ` + cpUUID + `}}
    configuration: {authRef: {name: nope}}
  clientAuth: {certificateSecret: {provisioning: Automatic}}
`,
			want: []string{"KON1701"}, wantField: "spec.konnect.configuration.authRef.name",
		},
		{
			name: "second control plane with the same Konnect name and auth warns", cluster: cluster(),
			obj: kgcp("demo-cp-2", "demo", "", ""), want: []string{"KON1702"}, wantField: "spec.name",
		},
		{
			name: "ko-2.0: second v1alpha2 control plane with the same Konnect name warns", gen: GenerationKO20, cluster: clusterKO20(),
			obj: kgcpV2("demo-cp-2", "demo", "", ""), want: []string{"KON1702"}, wantField: "spec.createControlPlaneRequest.name",
		},
		{name: "ko-2.0: a Mirror of the same control plane passes", gen: GenerationKO20, cluster: clusterKO20(), obj: mirror("demo-mirror", cpUUID, "")},
		{name: "updating the same control plane passes", cluster: cluster(), obj: kgcp("demo-cp", "demo", "", cpUUID)},
	})
}

func TestServerURLHostAndRegion_KON1506_KON1507(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "us.konghq.com is not an API host: did you mean us.api.konghq.com", obj: auth("a", "us.konghq.com"),
			want: []string{"KON1506"}, wantField: "spec.serverURL", wantMessage: "is not a Konnect API host",
		},
		{name: "a cluster endpoint host us.cp0.konghq.com is not an API host", obj: auth("a", "https://us.cp0.konghq.com"), want: []string{"KON1506"}},
		{name: "us.api.konghq.com is silent", obj: auth("a", "https://us.api.konghq.com")},
		{name: "a custom domain is left alone", obj: auth("a", "https://us.konnect.example.com")},
		{
			name: "an unknown two-letter geo warns", obj: auth("a", "zz.api.konghq.com"),
			want: []string{"KON1507"}, wantField: "spec.serverURL", wantMessage: `region "zz"`,
		},
		{name: "sg is a known geo", obj: auth("a", "sg.api.konghq.com")},
	})
	f := Findings(parseOne(t, auth("a", "us.konghq.com")), NewStore(GenerationKGO15Plus), Options{})
	require.Len(t, f, 1)
	require.Contains(t, f[0].Hint, "Did you mean us.api.konghq.com?")
}

func TestInlineTokenShape_KON1508(t *testing.T) {
	withToken := func(tok string) string {
		return strings.Replace(auth("a", "us.api.konghq.com"), "kpat_0123456789abcdef0123456789abcdef0123456789abc", tok, 1)
	}
	runCases(t, []ruleCase{
		{name: "a token with a trailing newline", obj: withToken(`"kpat_0123456789abcdef\n"`), want: []string{"KON1508"}, wantField: "spec.token", wantMessage: "a line break"},
		{name: "a token with a space", obj: withToken(`"kpat_0123 456789abcdef"`), want: []string{"KON1508"}, wantMessage: "whitespace"},
		{name: "a clean token is silent", obj: withToken("spat_0123456789abcdef")},
		// The CRD's CEL owns the prefix: not repeated here.
		{name: "a token without prefix is left to the CRD", obj: withToken("abc0123456789")},
	})
	f := Findings(parseOne(t, withToken(`"kpat_secretvalue \n"`)), NewStore(GenerationKGO15Plus), Options{})
	require.Len(t, f, 1)
	require.NotContains(t, f[0].FieldError().Error(), "secretvalue", "the token must never be printed")
}

func TestDataPlaneExtensionAcrossNamespaces_KON1804(t *testing.T) {
	other := strings.Replace(dataPlane("dp", GroupKonnect, "konnect-ext"), "name: konnect-ext}", "name: konnect-ext, namespace: team-b}", 1)
	same := strings.Replace(dataPlane("dp", GroupKonnect, "konnect-ext"), "name: konnect-ext}", "name: konnect-ext, namespace: default}", 1)
	runCases(t, []ruleCase{
		{name: "extension in another namespace", obj: other, want: []string{"KON1804"}, wantField: "spec.extensions[0].namespace", wantMessage: "cross-namespace"},
		{name: "extension namespace equal to the DataPlane's is silent", obj: same, cluster: cluster(tlsSecret("dp-tls", "tls.crt", "tls.key"), extension("konnect-ext", "demo-cp", "dp-tls"))},
	})
}

func TestDataPlaneExtensionRules_KON1801_to_KON1803(t *testing.T) {
	certs := tlsSecret("dp-tls", "tls.crt", "tls.key")
	exts := cluster(certs, extension("konnect-ext", "demo-cp", "dp-tls"), extension("kic-ext", "kic-cp", "dp-tls"),
		legacyExtension("legacy-ext", "b89939e7f0", "dp-tls"))
	runCases(t, []ruleCase{
		{
			name: "missing KonnectExtension warns", cluster: exts, obj: dataPlane("dp", GroupKonnect, "nope"),
			want: []string{"KON1801"}, wantField: "spec.extensions[0].name",
		},
		{
			name: "ControlPlane naming a missing KonnectExtension warns", cluster: exts,
			obj: `
apiVersion: gateway-operator.konghq.com/v1beta1
kind: ControlPlane
metadata: {name: kic, namespace: default}
spec:
  extensions: [{kind: KonnectExtension, group: konnect.konghq.com, name: nope}]
`,
			want: []string{"KON1801"},
		},
		{name: "missing KonnectExtension denies in strict mode", strict: true, cluster: exts, obj: dataPlane("dp", GroupKonnect, "nope"), want: []string{"KON1801"}},
		{
			name: "old-group extension on KGO >= 1.5", cluster: exts, obj: dataPlane("dp", GroupGatewayOperator, "legacy-ext"),
			want: []string{"KON1802"}, wantField: "spec.extensions[0].group",
		},
		{name: "old-group extension on KGO 1.4 passes", gen: GenerationKGO14, cluster: exts, obj: dataPlane("dp", GroupGatewayOperator, "legacy-ext")},
		{
			// kong-operator 2.x serves no gateway-operator.konghq.com
			// KonnectExtension, so a lookup of files (lint) finds none either.
			name: "ko-2.0: old-group extension", gen: GenerationKO20, cluster: clusterKO20(), obj: dataPlane("dp", GroupGatewayOperator, "legacy-ext"),
			want: []string{"KON1801", "KON1802"}, wantMessage: "KonnectExtension default/legacy-ext (group gateway-operator.konghq.com) not found",
		},
		{
			name: "ko-2.0: extension of a Mirror of a KIC control plane", gen: GenerationKO20,
			cluster: clusterKO20(certs, extensionV2("kic-ext", "kic-mirror", "dp-tls")), obj: dataPlane("dp", GroupKonnect, "kic-ext"),
			want: []string{"KON1803"}, wantMessage: "KONG_ROLE=traditional",
		},
		{
			name: "ko-2.0: valid v1alpha2 extension passes", gen: GenerationKO20,
			cluster: clusterKO20(certs, extensionV2("konnect-ext", "demo-cp", "dp-tls")), obj: dataPlane("dp", GroupKonnect, "konnect-ext"),
		},
		{
			name: "extension of a KIC control plane", cluster: exts, obj: dataPlane("dp", GroupKonnect, "kic-ext"),
			want: []string{"KON1803"}, wantMessage: "KONG_ROLE=traditional",
		},
		{name: "valid extension passes", cluster: exts, obj: dataPlane("dp", GroupKonnect, "konnect-ext")},
	})
}

// On kong-operator 2.x the messages name it, not KGO >= 1.5.
func TestLegacyGroupMessagesNameKongOperator_KON1601_KON1802(t *testing.T) {
	store := NewStore(GenerationKO20, parse(t, clusterKO20()...)...)
	got := Findings(parseOne(t, dataPlane("dp", GroupGatewayOperator, "legacy-ext")), store, Options{Disabled: []string{"KON1801"}})
	if len(got) != 1 || got[0].Code != "KON1802" {
		t.Fatalf("want KON1802 alone, got %+v", got)
	}
	if want := "kong-operator 2.0 runs in this cluster and does not apply a KonnectExtension of group gateway-operator.konghq.com"; got[0].Message != want {
		t.Fatalf("want message %q, got %q", want, got[0].Message)
	}
}

// vault is a cluster-scoped KongVault; ns is its reference's
// konnectNamespacedRef.namespace ("" leaves it out).
func vault(name, cp, ns string) string {
	ref := fmt.Sprintf("{name: %s}", cp)
	if ns != "" {
		ref = fmt.Sprintf("{name: %s, namespace: %s}", cp, ns)
	}
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongVault
metadata: {name: %s}
spec:
  backend: env
  prefix: %s
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: %s}
`, name, name, ref)
}

// A KongVault is cluster-scoped: its reference resolves in
// konnectNamespacedRef.namespace, and without one in no namespace.
func TestKongVaultResolvesItsControlPlaneInTheNamedNamespace(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "on a KIC control plane is denied", cluster: cluster(), obj: vault("v", "kic-cp", "default"), want: []string{"KON1001"},
			wantMessage: "Attaching to ControlPlane default/kic-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported"},
		{name: "on a group is denied", cluster: cluster(), obj: vault("v", "group-cp", "default"), want: []string{"KON1002"}},
		{name: "naming the Konnect name is denied", cluster: cluster(), obj: vault("v", "demo", "default"), want: []string{"KON1003"}, wantMessage: "did you mean demo-cp?"},
		{name: "on a missing control plane warns", cluster: cluster(), obj: vault("v", "nope", "default"), want: []string{"KON1004"},
			wantMessage: "KonnectGatewayControlPlane default/nope not found"},
		{name: "on a control plane passes", cluster: cluster(), obj: vault("v", "demo-cp", "default")},
		{name: "without a namespace KGO never finds the control plane", cluster: cluster(), obj: vault("v", "demo-cp", ""), want: []string{"KON1004"},
			wantField: "spec.controlPlaneRef.konnectNamespacedRef.name", wantMessage: "names no namespace",
			wantHint: "Set spec.controlPlaneRef.konnectNamespacedRef.namespace to the namespace"},
		{name: "without a namespace denies in strict mode", strict: true, cluster: cluster(), obj: vault("v", "demo-cp", ""), want: []string{"KON1004"}},
	})
}

// KON1003 is the one denial that depends on what exists: its fix names the
// way out when the referenced control plane is on its way.
func TestKonnectNameDenialNamesTheWayOutWhenTheTargetIsOnItsWay_KON1003(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "apply it first or retry", cluster: cluster(), obj: service("echo", "demo"), want: []string{"KON1003"},
			wantHint: "If a KonnectGatewayControlPlane named demo is on its way (later in the same apply, or in another file of a GitOps folder), apply it first, or apply again once it exists: GitOps tools retry"},
	})
}

// An origin control plane learns its Konnect ID only once the operator has
// created it: until then a Mirror may mirror it, so the comparison rules
// must not deny (the verdict would depend on when things were applied).
func TestComparisonWithAMirrorWaitsForTheOriginsID(t *testing.T) {
	cl := clusterKO20(kgcpV2("fresh-cp", "fresh", "", ""), mirror("fresh-mirror", pendingUUID, ""), service("echo", "fresh-mirror"))
	runCases(t, []ruleCase{
		{name: "origin without status.id vs a Mirror: unknown", gen: GenerationKO20, cluster: cl, obj: route("echo", "fresh-cp", "echo")},
		{name: "two origins are two control planes", gen: GenerationKO20, cluster: clusterKO20(kgcpV2("fresh-cp", "fresh", "", ""), service("echo", "demo-cp")),
			obj: route("echo", "fresh-cp", "echo"), want: []string{"KON1101"}},
	})
}

func TestKonnectExtensionOnGroupFollowsTheRelease_KON1603(t *testing.T) {
	certs := secret("dp-tls", nil, "tls.crt", "tls.key")
	runCases(t, []ruleCase{
		{name: "ko-2.1: group denied", gen: GenerationKO21, cluster: clusterKO20(certs), obj: extensionV2("ext", "group-cp", "dp-tls"), want: []string{"KON1603"}, wantHint: "kong-operator 2.2"},
		{name: "ko-2.2: group allowed (#3711)", gen: GenerationKO22, cluster: clusterKO20(certs), obj: extensionV2("ext", "group-cp", "dp-tls")},
		{name: "ko-2.3: group allowed", gen: GenerationKO23, cluster: clusterKO20(certs), obj: extensionV2("ext", "group-mirror", "dp-tls")},
	})
}

func TestAuthSecretInAnotherNamespaceFollowsTheRelease_KON1505_KON1901(t *testing.T) {
	labelled := map[string]string{CredentialLabel: CredentialLabelValue}
	tok := strings.Replace(secret("tok", labelled, "token"), "namespace: default", "namespace: team-b", 1)
	grant := refGrant("team-b", "konnect.konghq.com", "KonnectAPIAuthConfiguration", "default", "core", "Secret", "")
	runCases(t, []ruleCase{
		{name: "ko-2.2: warns without grant (honoured)", gen: GenerationKO22, cluster: []string{tok}, obj: authSecretRef("a", "tok", "team-b"), want: []string{"KON1505"}},
		{name: "ko-2.3: needs a grant (#2908)", gen: GenerationKO23, cluster: []string{tok}, obj: authSecretRef("a", "tok", "team-b"), want: []string{"KON1901"}, wantField: "spec.secretRef.namespace", wantHint: `"kind":"KongReferenceGrant"`},
		{name: "ko-2.3: with a grant passes", gen: GenerationKO23, cluster: []string{tok, grant}, obj: authSecretRef("a", "tok", "team-b")},
		{name: "ko-2.0: warns, never denied", gen: GenerationKO20, cluster: []string{tok}, obj: authSecretRef("a", "tok", "team-b"), want: []string{"KON1505"}},
	})
}

// TestSecretsKongOperatorCannotSee_KON1509_KON1607: kong-operator 2.x reads only Secrets labelled
// konghq.com/secret=true; KGO 1.x reads them all.
func TestSecretsKongOperatorCannotSee_KON1509_KON1607(t *testing.T) {
	unlabelled := map[string]string{CredentialLabel: CredentialLabelValue, OperatorSecretLabel: ""}
	tok := secret("tok", unlabelled, "token")
	tokOK := secret("tok", map[string]string{CredentialLabel: CredentialLabelValue}, "token")
	certs := secret("dp-tls", map[string]string{OperatorSecretLabel: ""}, "tls.crt", "tls.key")
	certsOK := secret("dp-tls", nil, "tls.crt", "tls.key")
	runCases(t, []ruleCase{
		{name: "ko-2.0: token Secret without the label", gen: GenerationKO20, cluster: []string{tok}, obj: authSecretRef("a", "tok", ""), want: []string{"KON1509"}, wantField: "spec.secretRef.name", wantHint: "konghq.com/secret=true"},
		{name: "ko-2.3: token Secret without the label", gen: GenerationKO23, cluster: []string{tok}, obj: authSecretRef("a", "tok", ""), want: []string{"KON1509"}},
		{name: "ko-2.3: labelled token Secret", gen: GenerationKO23, cluster: []string{tokOK}, obj: authSecretRef("a", "tok", "")},
		{name: "kgo-1.6 reads every Secret", gen: GenerationKGO15Plus, cluster: []string{tok}, obj: authSecretRef("a", "tok", "")},
		{name: "ko-2.1: certificate Secret without the label", gen: GenerationKO21, cluster: clusterKO20(certs), obj: extensionV2("ext", "demo-cp", "dp-tls"), want: []string{"KON1607"}, wantField: "spec.clientAuth.certificateSecret.secretRef.name", wantHint: "konghq.com/konnect-dp-cert=true"},
		{name: "ko-2.2: labelled certificate Secret", gen: GenerationKO22, cluster: clusterKO20(certsOK), obj: extensionV2("ext", "demo-cp", "dp-tls")},
		{name: "kgo-1.6: certificate Secret without the label", gen: GenerationKGO15Plus, cluster: cluster(certs), obj: extension("ext", "demo-cp", "dp-tls")},
	})
}

// TestServerURLRegionAsTheOperatorReadsIt_KON1510: the operator keeps the case of the region and cuts
// only a literal https://; KGO 1.4 sends the host as written, which DNS reads case-insensitively.
func TestServerURLRegionAsTheOperatorReadsIt_KON1510(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "capitals", gen: GenerationKO22, obj: auth("a", "EU.api.konghq.com"), want: []string{"KON1510"}, wantField: "spec.serverURL", wantHint: "eu.api.konghq.com"},
		{name: "https:// in capitals", gen: GenerationKGO15Plus, obj: auth("a", "HTTPS://eu.api.konghq.com"), want: []string{"KON1510"}},
		{name: "http://", gen: GenerationKO23, obj: auth("a", "http://eu.api.konghq.com"), want: []string{"KON1510"}},
		{name: "lower case", gen: GenerationKO22, obj: auth("a", "eu.api.konghq.com")},
		{name: "https:// lower case", gen: GenerationKO22, obj: auth("a", "https://eu.api.konghq.com")},
		{name: "kgo-1.4 sends the host as written", gen: GenerationKGO14, obj: auth("a", "EU.api.konghq.com")},
	})
}

func credential(kind, name, consumer string) string {
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: %s
metadata: {name: %s, namespace: default}
spec: {consumerRef: {name: %s}}
`, kind, name, consumer)
}

// TestCredentialToAMissingConsumer_KON1303: every credential kind names its KongConsumer.
func TestCredentialToAMissingConsumer_KON1303(t *testing.T) {
	var cases []ruleCase
	for _, kind := range []string{"KongCredentialBasicAuth", "KongCredentialAPIKey", "KongCredentialACL", "KongCredentialHMAC", "KongCredentialJWT"} {
		cases = append(cases,
			ruleCase{name: kind + " to a missing consumer", cluster: cluster(consumer("alice", "demo-cp")), obj: credential(kind, "c", "bob"), want: []string{"KON1303"}, wantField: "spec.consumerRef.name"},
			ruleCase{name: kind + " to its consumer", cluster: cluster(consumer("alice", "demo-cp")), obj: credential(kind, "c", "alice")})
	}
	runCases(t, cases)
}

// refGrant is a KongReferenceGrant in ns; toName "" permits every target.
func refGrant(ns, fromGroup, fromKind, fromNS, toGroup, toKind, toName string) string {
	name := ""
	if toName != "" {
		name = ", name: " + toName
	}
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongReferenceGrant
metadata: {name: grant, namespace: %s}
spec:
  from: [{group: %s, kind: %s, namespace: %q}]
  to: [{group: %s, kind: %s%s}]
`, ns, fromGroup, fromKind, fromNS, toGroup, toKind, name)
}

// inNS moves a fixture object into namespace ns.
func inNS(ns, doc string) string {
	return strings.Replace(doc, "namespace: default}", "namespace: "+ns+"}", 1)
}

func TestCrossNamespaceReferences_KON1901_KON1902(t *testing.T) {
	svcOther := inNS("other", service("svc", "demo-cp"))
	routeX := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongRoute
metadata: {name: r, namespace: default}
spec:
  serviceRef: {type: namespacedRef, namespacedRef: {name: svc, namespace: other}}
`
	routeGrant := refGrant("other", GroupConfiguration, "KongRoute", "default", GroupConfiguration, "KongService", "")
	svcX := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: s, namespace: apps}
spec:
  host: example.com
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp, namespace: default}}
`
	cpGrant := refGrant("default", GroupConfiguration, "KongService", "apps", GroupKonnect, "KonnectGatewayControlPlane", "demo-cp")
	bindingX := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongPluginBinding
metadata: {name: b, namespace: default}
spec:
  pluginRef: {name: rate-limit, namespace: plugins}
  targets: {serviceRef: {group: configuration.konghq.com, kind: KongService, name: echo}}
`
	pluginOther := inNS("plugins", plugin("rate-limit"))
	vault := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongVault
metadata: {name: env}
spec:
  backend: env
  prefix: env
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp, namespace: default}}
`
	vaultGrant := refGrant("default", GroupConfiguration, "KongVault", "", GroupKonnect, "KonnectGatewayControlPlane", "")
	runCases(t, []ruleCase{
		// KongRoute serviceRef (#3125): the reference resolves in the named namespace.
		{name: "route: service found in the named namespace on ko-2.2 with grant", gen: GenerationKO22, cluster: clusterKO20(svcOther, routeGrant), obj: routeX},
		{
			name: "route: no grant warns on ko-2.2", gen: GenerationKO22, cluster: clusterKO20(svcOther), obj: routeX,
			want: []string{"KON1901"}, wantField: "spec.serviceRef.namespacedRef.namespace",
			wantMessage: "names KongService svc in namespace other from namespace default, and no KongReferenceGrant in other permits it",
			wantHint:    `"kind":"KongRoute","namespace":"default"`,
		},
		{name: "route: no grant denies with --strict", strict: true, gen: GenerationKO21, cluster: clusterKO20(svcOther), obj: routeX, want: []string{"KON1901"}},
		{
			name: "route: a grant for another kind does not permit it", gen: GenerationKO23, obj: routeX, want: []string{"KON1901"},
			cluster: clusterKO20(svcOther, refGrant("other", GroupConfiguration, "KongRoute", "default", GroupConfiguration, "KongUpstream", "")),
		},
		{
			name: "route: a grant from another namespace does not permit it", gen: GenerationKO23, obj: routeX, want: []string{"KON1901"},
			cluster: clusterKO20(svcOther, refGrant("other", GroupConfiguration, "KongRoute", "team-c", GroupConfiguration, "KongService", "")),
		},
		{
			name: "route: a grant for another name does not permit it", gen: GenerationKO23, obj: routeX, want: []string{"KON1901"},
			cluster: clusterKO20(svcOther, refGrant("other", GroupConfiguration, "KongRoute", "default", GroupConfiguration, "KongService", "svc-2")),
		},
		{name: "route: missing service in the named namespace", gen: GenerationKO22, cluster: clusterKO20(routeGrant), obj: routeX, want: []string{"KON1102"}, wantMessage: "KongService other/svc not found"},
		{
			name: "route: ko-2.0 does not follow it", gen: GenerationKO20, cluster: clusterKO20(svcOther), obj: routeX,
			want: []string{"KON1902"}, wantField: "spec.serviceRef.namespacedRef.namespace", wantMessage: "kong-operator 2.0 does not follow references across namespaces",
		},
		{name: "route: KGO 1.6 does not follow it", cluster: cluster(svcOther), obj: routeX, want: []string{"KON1902"}},
		// controlPlaneRef namespace (#2892).
		{name: "service: cp grant passes on ko-2.1", gen: GenerationKO21, cluster: clusterKO20(cpGrant), obj: svcX},
		{name: "service: no cp grant warns on ko-2.1", gen: GenerationKO21, cluster: clusterKO20(), obj: svcX, want: []string{"KON1901"}, wantField: "spec.controlPlaneRef.konnectNamespacedRef.namespace"},
		{name: "service: ko-2.0 denies the cp namespace", gen: GenerationKO20, cluster: clusterKO20(), obj: svcX, want: []string{"KON1902"}},
		// KongPluginBinding pluginRef (#3108).
		{name: "binding: plugin in named namespace with grant", gen: GenerationKO22, obj: bindingX, cluster: clusterKO20(pluginOther, service("echo", "demo-cp"), refGrant("plugins", GroupConfiguration, "KongPluginBinding", "default", GroupConfiguration, "KongPlugin", "rate-limit"))},
		{name: "binding: plugin without grant", gen: GenerationKO22, obj: bindingX, cluster: clusterKO20(pluginOther, service("echo", "demo-cp")), want: []string{"KON1901"}, wantField: "spec.pluginRef.namespace"},
		{name: "binding: plugin missing in named namespace", gen: GenerationKO22, obj: bindingX, cluster: clusterKO20(service("echo", "demo-cp"), refGrant("plugins", GroupConfiguration, "KongPluginBinding", "default", GroupConfiguration, "KongPlugin", "")), want: []string{"KON1204"}, wantMessage: "KongPlugin plugins/rate-limit not found"},
		// KongVault is cluster-scoped: its namespace is legitimate on every release.
		{name: "vault: KGO 1.6 passes", cluster: cluster(), obj: vault},
		{name: "vault: ko-2.0 passes", gen: GenerationKO20, cluster: clusterKO20(), obj: vault},
		{name: "vault: ko-2.1 needs a grant from namespace \"\"", gen: GenerationKO21, cluster: clusterKO20(), obj: vault, want: []string{"KON1901"}, wantMessage: "from the cluster-scoped KongVault"},
		{name: "vault: ko-2.1 with grant passes", gen: GenerationKO21, cluster: clusterKO20(vaultGrant), obj: vault},
	})
}

func TestKongTargetAndSNIOnlyFrom22_KON1902(t *testing.T) {
	target := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongTarget
metadata: {name: t, namespace: default}
spec: {target: "10.0.0.1:80", weight: 100, upstreamRef: {name: up, namespace: upstreams}}
`
	runCases(t, []ruleCase{
		{name: "ko-2.1 does not follow KongTarget upstreamRef.namespace", gen: GenerationKO21, obj: target, want: []string{"KON1902"}, wantMessage: "kong-operator 2.2 and later"},
		{name: "ko-2.2 needs a grant", gen: GenerationKO22, obj: target, want: []string{"KON1901"}},
		{name: "ko-2.2 with grant", gen: GenerationKO22, obj: target, cluster: []string{refGrant("upstreams", GroupConfiguration, "KongTarget", "default", GroupConfiguration, "KongUpstream", "up")}},
	})
}

func TestGrantThatPermitsNothing_KON1903(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "a valid grant passes", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongRoute", "apps", GroupConfiguration, "KongService", "")},
		{
			name: "wrong to kind", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongRoute", "apps", GroupConfiguration, "KongRoute", ""),
			want: []string{"KON1903"}, wantMessage: "KongRoute (configuration.konghq.com) to KongRoute (configuration.konghq.com) is no reference kong-operator 2.2 checks grants for",
		},
		{name: "wrong group", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupKonnect, "KongRoute", "apps", GroupConfiguration, "KongService", ""), want: []string{"KON1903"}},
		{name: "own namespace", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongRoute", "default", GroupConfiguration, "KongService", ""), want: []string{"KON1903"}, wantMessage: "grant's own namespace"},
		{name: "named target missing", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongService", "apps", GroupKonnect, "KonnectGatewayControlPlane", "nope"), want: []string{"KON1903"}, wantMessage: "KonnectGatewayControlPlane default/nope does not exist"},
		{name: "KongTarget grant is nothing on ko-2.1", gen: GenerationKO21, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongTarget", "apps", GroupConfiguration, "KongUpstream", ""), want: []string{"KON1903"}},
		{name: "KongTarget grant is useful on ko-2.2", gen: GenerationKO22, cluster: clusterKO20(), obj: refGrant("default", GroupConfiguration, "KongTarget", "apps", GroupConfiguration, "KongUpstream", "")},
	})
}

func TestDeletingAGrantWarnsAboutDependents_KON1904(t *testing.T) {
	svcX := `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: s, namespace: apps}
spec:
  host: example.com
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp, namespace: default}}
`
	grant := refGrant("default", GroupConfiguration, "KongService", "apps", GroupKonnect, "KonnectGatewayControlPlane", "")
	store := NewStore(GenerationKO22, parse(t, append(clusterKO20(), svcX, grant)...)...)
	obj := parseOne(t, grant)
	got := EvaluateDelete(obj, store, Options{})
	if len(got) != 1 || !strings.Contains(got[0], "[KON1904]") || !strings.Contains(got[0], "KongService apps/s") {
		t.Fatalf("want one KON1904 warning naming KongService apps/s, got %v", got)
	}
	// Another grant that permits the same reference: nothing breaks.
	other := strings.Replace(grant, "name: grant,", "name: grant-2,", 1)
	store.Add(parseOne(t, other))
	if got := EvaluateDelete(obj, store, Options{}); len(got) != 0 {
		t.Fatalf("want no warning while another grant permits it, got %v", got)
	}
	// Before 2.1 nothing depends on grants.
	store.SetGeneration(GenerationKO20)
	if got := EvaluateDelete(obj, store, Options{}); len(got) != 0 {
		t.Fatalf("ko-2.0: want no warning, got %v", got)
	}
	// Creation never runs the deletion rule.
	store.SetGeneration(GenerationKO22)
	if fs := Findings(obj, store, Options{}); len(fs) != 0 {
		t.Fatalf("create: want no finding, got %v", fs)
	}
	_ = ruleCase{want: []string{"KON1904"}} // the deletion rule's case, asserted above
}

// A warning travels in an HTTP Warning header: the API server drops one with
// a line break, so kubectl would print nothing (seen with KON1901's grant).
func TestWarningsHoldNoLineBreak(t *testing.T) {
	f := Finding{Code: "KON1901", Field: field.NewPath("spec"), Message: "two\nlines", Hint: "apply:\n{kind: KongReferenceGrant}"}
	w := f.Warning()
	if strings.ContainsAny(w, "\r\n") {
		t.Fatalf("warning has a line break: %q", w)
	}
	if !strings.Contains(w, "apply: {kind: KongReferenceGrant}") {
		t.Fatalf("the hint must survive on one line: %q", w)
	}
}
