package rules

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// parse reads YAML documents separated by "---" into objects; objects
// without namespace (other than cluster-scoped kinds) get "default".
func parse(t testing.TB, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		for _, part := range strings.Split(d, "\n---") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			m := map[string]any{}
			if err := yaml.Unmarshal([]byte(part), &m); err != nil {
				t.Fatalf("parse %q: %v", part, err)
			}
			if len(m) == 0 {
				continue
			}
			o := &unstructured.Unstructured{Object: m}
			if o.GetNamespace() == "" && o.GetKind() != "KongVault" {
				o.SetNamespace("default")
			}
			out = append(out, o)
		}
	}
	return out
}

func parseOne(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	objs := parse(t, doc)
	if len(objs) != 1 {
		t.Fatalf("want 1 object, got %d", len(objs))
	}
	return objs[0]
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
}

func codes(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

// --- fixtures ---

const (
	cpUUID    = "5f9fd312-a987-4628-b4c5-bb4f4fddd5f7"
	kicUUID   = "0b7a5f2e-0d38-4a54-9c0e-3c3f7f0b1a11"
	groupUUID = "9a1c3a51-52b1-4f0b-8c16-5a7d3a0de2c4"
	// Control planes only Mirrors point at.
	mirrorKICUUID   = "3c0e0d1a-6f0b-4d8e-9a55-0d1f1c5b7a01"
	mirrorGroupUUID = "7d2b9e44-1c3a-4f6e-8b9d-2e4f6a8c0b02"
	pendingUUID     = "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e603"
	pemCert         = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"
)

func auth(name, serverURL string) string {
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: %s, namespace: default}
spec: {type: token, token: kpat_0123456789abcdef0123456789abcdef0123456789abc, serverURL: %s}
`, name, serverURL)
}

func authSecretRef(name, secret, secretNS string) string {
	ns := ""
	if secretNS != "" {
		ns = ", namespace: " + secretNS
	}
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: %s, namespace: default}
spec: {type: secretRef, secretRef: {name: %s%s}, serverURL: eu.api.konghq.com}
`, name, secret, ns)
}

// kgcp is a KonnectGatewayControlPlane; clusterType "" leaves it unset.
func kgcp(name, konnectName, clusterType, id string) string {
	ct, st := "", ""
	if clusterType != "" {
		ct = "\n  cluster_type: " + clusterType
	}
	if id != "" {
		st = "\nstatus:\n  id: " + id
	}
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata: {name: %s, namespace: default}
spec:
  name: %s%s
  konnect: {authRef: {name: konnect-auth}}%s
`, name, konnectName, ct, st)
}

// kgcpV2 is a kong-operator 2.x (v1alpha2) Origin KonnectGatewayControlPlane;
// clusterType "" leaves it unset.
func kgcpV2(name, konnectName, clusterType, id string) string {
	ct, st := "", ""
	if clusterType != "" {
		ct = "\n    cluster_type: " + clusterType
	}
	if id != "" {
		st = "\nstatus:\n  id: " + id
	}
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata: {name: %s, namespace: default}
spec:
  source: Origin
  createControlPlaneRequest:
    name: %s%s
  konnect: {authRef: {name: konnect-auth}}%s
`, name, konnectName, ct, st)
}

// mirror is a v1alpha2 Mirror KonnectGatewayControlPlane of the Konnect
// control plane id; statusClusterType is what kong-operator recorded once it
// found it ("" before).
func mirror(name, id, statusClusterType string) string {
	st := ""
	if statusClusterType != "" {
		st = fmt.Sprintf("\nstatus:\n  id: %s\n  clusterType: %s", id, statusClusterType)
	}
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata: {name: %s, namespace: default}
spec:
  source: Mirror
  mirror: {konnect: {id: %s}}
  konnect: {authRef: {name: konnect-auth}}%s
`, name, id, st)
}

// clusterKO20 is cluster() in kong-operator 2.x shapes, plus Mirrors of a
// KIC control plane and of a group.
func clusterKO20(extra ...string) []string {
	return append([]string{
		auth("konnect-auth", "us.api.konghq.com"),
		kgcpV2("demo-cp", "demo", "", cpUUID),
		kgcpV2("kic-cp", "kic", ClusterTypeKIC, kicUUID),
		kgcpV2("group-cp", "group", ClusterTypeControlPlaneGroup, groupUUID),
		mirror("kic-mirror", mirrorKICUUID, ClusterTypeKIC),
		mirror("group-mirror", mirrorGroupUUID, ClusterTypeControlPlaneGroup),
		mirror("pending-mirror", pendingUUID, ""),
	}, extra...)
}

// cpRefYAML is a controlPlaneRef to a KonnectGatewayControlPlane, "kic"
// for type kic, or "" for none.
func cpRefYAML(cp string) string {
	switch cp {
	case "":
		return ""
	case "kic":
		return "\n  controlPlaneRef: {type: kic}"
	default:
		return fmt.Sprintf("\n  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: %s}}", cp)
	}
}

func service(name, cp string) string {
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: %s, namespace: default}
spec:
  host: echo.default.svc%s
`, name, cpRefYAML(cp))
}

func route(name, cp, svc string) string {
	sr := ""
	if svc != "" {
		sr = fmt.Sprintf("\n  serviceRef: {type: namespacedRef, namespacedRef: {name: %s}}", svc)
	}
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongRoute
metadata: {name: %s, namespace: default}
spec:
  paths: [/echo]%s%s
`, name, cpRefYAML(cp), sr)
}

// entity is a Konnect entity of any kind with only a controlPlaneRef.
func entity(kind, apiVersion, name, cp string) string {
	return fmt.Sprintf(`
apiVersion: %s
kind: %s
metadata: {name: %s, namespace: default}
spec:
  name: %s%s
`, apiVersion, kind, name, name, cpRefYAML(cp))
}

func consumer(name, cp string, groups ...string) string {
	g := ""
	if len(groups) > 0 {
		g = "\nconsumerGroups: [" + strings.Join(groups, ", ") + "]"
	}
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata: {name: %s, namespace: default}
username: %s%s
spec:%s
`, name, name, g, cpRefYAML(cp))
}

func consumerGroup(name, cp string) string {
	return entity("KongConsumerGroup", "configuration.konghq.com/v1beta1", name, cp)
}

func keySet(name, cp string) string {
	return entity("KongKeySet", "configuration.konghq.com/v1alpha1", name, cp)
}

func key(name, cp, set string) string {
	ks := ""
	if set != "" {
		ks = fmt.Sprintf("\n  keySetRef: {type: namespacedRef, namespacedRef: {name: %s}}", set)
	}
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongKey
metadata: {name: %s, namespace: default}
spec:
  kid: %s
  jwk: '{"kid":"%s","kty":"RSA"}'%s%s
`, name, name, name, cpRefYAML(cp), ks)
}

func plugin(name string) string {
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: %s, namespace: default}
plugin: rate-limiting
config: {minute: 5}
`, name)
}

// binding is a KongPluginBinding; targets is YAML under spec.targets.
func binding(name, cp, pluginKind, targets string) string {
	return fmt.Sprintf(`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongPluginBinding
metadata: {name: %s, namespace: default}
spec:
  pluginRef: {kind: %s, name: rate-limit}%s
  targets: %s
`, name, pluginKind, cpRefYAML(cp), targets)
}

// secret is a Secret in default with the given labels and keys. It carries kong-operator 2.x's
// konghq.com/secret=true, as every Secret of kong-operator's samples does, unless labels sets
// OperatorSecretLabel ("" leaves the label out).
func secret(name string, labels map[string]string, keys ...string) string {
	all := map[string]string{OperatorSecretLabel: OperatorSecretLabelValue}
	for k, v := range labels {
		all[k] = v
	}
	if all[OperatorSecretLabel] == "" {
		delete(all, OperatorSecretLabel)
	}
	l := ""
	for _, k := range slices.Sorted(maps.Keys(all)) {
		l += fmt.Sprintf("%s: %q, ", k, all[k])
	}
	data := ""
	for _, k := range keys {
		data += fmt.Sprintf("\n  %s: c2VjcmV0", k) // "secret"
	}
	if data == "" {
		data = " {}"
	}
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: default, labels: {%s}}
type: Opaque
data:%s
`, name, strings.TrimSuffix(l, ", "), data)
}

func tlsSecret(name string, keys ...string) string {
	return strings.Replace(secret(name, nil, keys...), "type: Opaque", "type: kubernetes.io/tls", 1)
}

// extension is a konnect.konghq.com KonnectExtension on a control plane
// by name with a manually provisioned certificate Secret.
func extension(name, cp, certSecret string) string {
	return fmt.Sprintf(`
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: %s, namespace: default}
spec:
  konnect:
    controlPlane:
      ref: {type: konnectNamespacedRef, konnectNamespacedRef: {name: %s}}
  clientAuth:
    certificateSecret:
      provisioning: Manual
      secretRef: {name: %s}
`, name, cp, certSecret)
}

// extensionV2 is extension() as kong-operator 2.x writes it (v1alpha2).
func extensionV2(name, cp, certSecret string) string {
	return strings.Replace(extension(name, cp, certSecret), "konnect.konghq.com/v1alpha1", "konnect.konghq.com/v1alpha2", 1)
}

// legacyExtension is the KGO 1.4 KonnectExtension.
func legacyExtension(name, konnectID, certSecret string) string {
	return fmt.Sprintf(`
apiVersion: gateway-operator.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: %s, namespace: default}
spec:
  controlPlaneRef: {type: konnectID, konnectID: "%s"}
  controlPlaneRegion: us
  serverHostname: konghq.com
  konnectControlPlaneAPIAuthConfiguration:
    clusterCertificateSecretRef: {name: %s}
`, name, konnectID, certSecret)
}

func dataPlane(name, extGroup, extName string) string {
	return fmt.Sprintf(`
apiVersion: gateway-operator.konghq.com/v1beta1
kind: DataPlane
metadata: {name: %s, namespace: default}
spec:
  extensions:
  - {kind: KonnectExtension, group: %s, name: %s}
  deployment:
    podTemplateSpec:
      spec:
        containers:
        - {name: proxy, image: "kong/kong-gateway:3.8.1.0"}
`, name, extGroup, extName)
}

// seedKGO14 is the manual KGO 1.4 workflow of the seed (facts doc), all
// valid.
func seedKGO14() []string {
	return []string{
		auth("konnect-auth", "us.api.konghq.com"),
		kgcp("demo-cp", "demo", "", cpUUID),
		`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongDataPlaneClientCertificate
metadata: {name: dp-cert, namespace: default}
spec:
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp}}
  cert: "` + pemCert + `"
`,
		tlsSecret("dp-tls", "tls.crt", "tls.key"),
		legacyExtension("konnect-ext", "b89939e7f0", "dp-tls"),
		dataPlane("dp", GroupGatewayOperator, "konnect-ext"),
		service("echo", "demo-cp"),
		route("echo", "", "echo"),
	}
}

// seedKO22 is seedKO20 with a certificate registered on a control plane
// group, which kong-operator allows from 2.2 on (KON1006).
func seedKO22() []string {
	return append(seedKO20(), entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "group-cert", "group-cp"))
}

// seedKO20 is the workflow on kong-operator 2.x: v1alpha2 control planes and
// extension, a control plane group, and an extension on a Mirror.
func seedKO20() []string {
	return []string{
		auth("konnect-auth", "us.api.konghq.com"),
		kgcpV2("demo-cp", "demo", "", cpUUID),
		kgcpV2("group-cp", "group", ClusterTypeControlPlaneGroup, groupUUID) + "  members: [{name: demo-cp}]\n",
		mirror("elsewhere-cp", mirrorKICUUID, ClusterTypeControlPlane),
		entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "dp-cert", "demo-cp"),
		tlsSecret("dp-tls", "tls.crt", "tls.key"),
		extensionV2("konnect-ext", "demo-cp", "dp-tls"),
		extensionV2("mirror-ext", "elsewhere-cp", "dp-tls"),
		dataPlane("dp", GroupKonnect, "konnect-ext"),
		service("echo", "demo-cp"),
		route("echo", "", "echo"),
		service("elsewhere", "elsewhere-cp"),
	}
}

// seedKGO15 is the same workflow on KGO >= 1.5, plus one valid object of
// every other kind the rules check.
func seedKGO15() []string {
	return []string{
		auth("konnect-auth", "us.api.konghq.com"),
		authSecretRef("konnect-auth-secret", "konnect-token", ""),
		secret("konnect-token", map[string]string{CredentialLabel: CredentialLabelValue}, "token"),
		kgcp("demo-cp", "demo", "", cpUUID),
		entity("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", "dp-cert", "demo-cp"),
		tlsSecret("dp-tls", "tls.crt", "tls.key"),
		extension("konnect-ext", "demo-cp", "dp-tls"),
		dataPlane("dp", GroupKonnect, "konnect-ext"),
		service("echo", "demo-cp"),
		route("echo", "", "echo"),
		route("echo-pinned", "demo-cp", "echo"),
		entity("KongUpstream", "configuration.konghq.com/v1alpha1", "upstream", "demo-cp"),
		entity("KongCACertificate", "configuration.konghq.com/v1alpha1", "ca", "demo-cp"),
		entity("KongCertificate", "configuration.konghq.com/v1alpha1", "cert", "demo-cp"),
		consumerGroup("gold", "demo-cp"),
		consumer("alice", "demo-cp", "gold"),
		keySet("keys", "demo-cp"),
		key("key-1", "demo-cp", "keys"),
		plugin("rate-limit"),
		binding("rate-limit-echo", "demo-cp", "KongPlugin", `
    routeRef: {kind: KongRoute, group: configuration.konghq.com, name: echo}
    serviceRef: {kind: KongService, group: configuration.konghq.com, name: echo}
    consumerRef: {name: alice}`),
		`
apiVersion: configuration.konghq.com/v1alpha1
kind: KongVault
metadata: {name: env-vault}
spec:
  backend: env
  prefix: env-vault
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: demo-cp, namespace: default}}
`,
	}
}
