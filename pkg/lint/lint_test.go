package lint

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

const cpAndService = `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata:
  name: gateway-cp
spec:
  name: konnect-name
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata:
  name: svc
spec:
  controlPlaneRef:
    type: konnectNamespacedRef
    konnectNamespacedRef:
      name: %s
`

func objects(t *testing.T, data string) []*Object {
	t.Helper()
	objs, err := Parse("m.yaml", []byte(data))
	require.NoError(t, err)
	return objs
}

func codes(r *Report) []string {
	out := []string{}
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	return out
}

func TestParseKGOVersion(t *testing.T) {
	for in, want := range map[string]rules.Generation{
		"1.4": rules.GenerationKGO14, "v1.4.2": rules.GenerationKGO14,
		"1.5": rules.GenerationKGO15Plus, "1.6": rules.GenerationKGO15Plus, "1.6.1": rules.GenerationKGO15Plus,
		"2.0": rules.GenerationKO20, "v2.0.1": rules.GenerationKO20,
		"2.1": rules.GenerationKO21, "2.2": rules.GenerationKO22, "v2.2.3": rules.GenerationKO22, "2.3": rules.GenerationKO23,
	} {
		got, err := ParseKGOVersion(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "1", "1.3", "1.7", "3.0", "latest"} {
		_, err := ParseKGOVersion(in)
		assert.Error(t, err, in)
	}
}

func TestInferGeneration(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  string
		want rules.Generation
	}{
		"konnect.konghq.com KonnectExtension": {"apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectExtension\nmetadata: {name: e}\n", rules.GenerationKGO15Plus},
		"DataPlane extension of konnect.konghq.com": {"apiVersion: gateway-operator.konghq.com/v1beta1\nkind: DataPlane\nmetadata: {name: d}\nspec:\n  extensions: [{kind: KonnectExtension, name: e, group: konnect.konghq.com}]\n",
			rules.GenerationKGO15Plus},
		"v1alpha1 control plane": {"apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectGatewayControlPlane\nmetadata: {name: c}\n", rules.GenerationUnknown},
		// Only kong-operator 2.x serves v1alpha2.
		"v1alpha2 control plane":    {"apiVersion: konnect.konghq.com/v1alpha2\nkind: KonnectGatewayControlPlane\nmetadata: {name: c}\n", rules.GenerationKO23},
		"v1alpha2 KonnectExtension": {"apiVersion: konnect.konghq.com/v1alpha2\nkind: KonnectExtension\nmetadata: {name: e}\n", rules.GenerationKO23},
		"newest evidence wins": {"apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectExtension\nmetadata: {name: e}\n---\n" +
			"apiVersion: konnect.konghq.com/v1alpha2\nkind: KonnectGatewayControlPlane\nmetadata: {name: c}\n---\n" +
			"apiVersion: gateway-operator.konghq.com/v1beta1\nkind: DataPlane\nmetadata: {name: d}\nspec:\n  extensions: [{kind: KonnectExtension, name: e, group: konnect.konghq.com}]\n",
			rules.GenerationKO23},
		// KGO >= 1.5 still serves this CRD and ignores it: no proof of 1.4.
		"gateway-operator.konghq.com KonnectExtension only": {"apiVersion: gateway-operator.konghq.com/v1alpha1\nkind: KonnectExtension\nmetadata: {name: e}\n", rules.GenerationUnknown},
		"DataPlane extension of gateway-operator.konghq.com": {"apiVersion: gateway-operator.konghq.com/v1beta1\nkind: DataPlane\nmetadata: {name: d}\nspec:\n  extensions: [{kind: KonnectExtension, name: e, group: gateway-operator.konghq.com}]\n",
			rules.GenerationUnknown},
		"entities only": {"apiVersion: configuration.konghq.com/v1alpha1\nkind: KongService\nmetadata: {name: s}\n", rules.GenerationUnknown},
	} {
		assert.Equal(t, tc.want, InferGeneration(objects(t, tc.doc)), name)
	}
}

func TestLintResolvesReferencesWithinTheFiles(t *testing.T) {
	rep := Lint(objects(t, fmt.Sprintf(cpAndService, "gateway-cp")), 1, Options{})
	assert.Empty(t, rep.Findings)
	assert.False(t, rep.Failed())
	assert.Equal(t, Summary{Files: 1, Objects: 2, KGOGeneration: "unknown", KGOGenerationSource: SourceNone,
		SkippedRules: []string{"KON1006", "KON1505", "KON1509", "KON1510", "KON1601", "KON1603", "KON1606", "KON1607", "KON1802", "KON1901", "KON1902", "KON1903", "KON1904", "KON2003", "KON2004", "KON2005"}}, rep.Summary)

	rep = Lint(objects(t, fmt.Sprintf(cpAndService, "konnect-name")), 1, Options{})
	require.Equal(t, []string{"KON1003"}, codes(rep))
	f := rep.Findings[0]
	assert.Equal(t, Finding{Code: "KON1003", Severity: rules.SeverityDeny, File: "m.yaml", Line: 16, ObjectLine: 8,
		APIVersion: "configuration.konghq.com/v1alpha1", Kind: "KongService", Namespace: "default", Name: "svc",
		Field: "spec.controlPlaneRef.konnectNamespacedRef.name", Value: "konnect-name",
		Message: `KonnectGatewayControlPlane default/konnect-name not found, but KonnectGatewayControlPlane default/gateway-cp is named "konnect-name" in Konnect: did you mean gateway-cp?`,
		Hint: "A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (spec.name): set it to gateway-cp. " +
			"If a KonnectGatewayControlPlane named konnect-name is on its way (later in the same apply, or in another file of a GitOps folder), apply it first, or apply again once it exists: " +
			"GitOps tools retry, and the reference is admitted then"}, f)
	assert.True(t, rep.Failed())
}

func TestLintNamespaces(t *testing.T) {
	objs := objects(t, fmt.Sprintf(cpAndService, "gateway-cp")+"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
	rep := Lint(objs, 1, Options{Namespace: "team-a"})
	assert.Empty(t, rep.Findings)
	assert.Equal(t, "team-a", objs[0].Obj.GetNamespace())
	assert.Equal(t, "team-a", objs[1].Obj.GetNamespace())
	assert.Equal(t, "", objs[2].Obj.GetNamespace(), "kinds the rules do not know keep their (cluster) scope")

	// An explicit namespace stays; the reference then points elsewhere.
	objs = objects(t, fmt.Sprintf(cpAndService, "gateway-cp"))
	objs[0].Obj.SetNamespace("other")
	rep = Lint(objs, 1, Options{})
	assert.Equal(t, []string{"KON1004"}, codes(rep))
	assert.Equal(t, rules.SeverityWarn, rep.Findings[0].Severity)
	assert.False(t, rep.Failed(), "a missing target only warns")

	rep = Lint(objects(t, fmt.Sprintf(cpAndService, "nowhere")), 1, Options{Strict: true})
	assert.Equal(t, []string{"KON1004"}, codes(rep))
	assert.Equal(t, rules.SeverityDeny, rep.Findings[0].Severity, "--strict")
	assert.True(t, rep.Failed())
}

func TestLintOverLiveObjects(t *testing.T) {
	svc := objects(t, fmt.Sprintf(cpAndService, "live-cp"))[1:]
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectGatewayControlPlane",
		"metadata": map[string]any{"name": "live-cp", "namespace": "default"},
		"spec":     map[string]any{"name": "live", "cluster_type": "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"},
	}}
	rep := Lint(svc, 1, Options{Live: &Live{Objects: []*unstructured.Unstructured{live}}})
	assert.Equal(t, []string{"KON1001"}, codes(rep), "the live control plane is a KIC one")
	assert.True(t, rep.Summary.Cluster)

	// A file object replaces the live one of the same name.
	file := objects(t, "apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectGatewayControlPlane\nmetadata:\n  name: live-cp\nspec:\n  name: live\n")
	rep = Lint(append(file, objects(t, fmt.Sprintf(cpAndService, "live-cp"))[1:]...), 1, Options{Live: &Live{Objects: []*unstructured.Unstructured{live}}})
	assert.Empty(t, rep.Findings)

	// A kind that could not be listed is never reported missing.
	auth := objects(t, "apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectAPIAuthConfiguration\nmetadata:\n  name: a\nspec:\n  type: secretRef\n  secretRef:\n    name: tok\n  serverURL: us.api.konghq.com\n")
	rep = Lint(auth, 1, Options{})
	assert.Equal(t, []string{"KON1504"}, codes(rep))
	rep = Lint(objects(t, "apiVersion: konnect.konghq.com/v1alpha1\nkind: KonnectAPIAuthConfiguration\nmetadata:\n  name: a\nspec:\n  type: secretRef\n  secretRef:\n    name: tok\n  serverURL: us.api.konghq.com\n"),
		1, Options{Live: &Live{Untracked: []schema.GroupKind{rules.GKSecret}}})
	assert.Empty(t, rep.Findings)
	assert.Equal(t, []string{
		"the KGO version is unknown, so KON1505, KON1509, KON1510, KON1901, KON1902 (which depend on it) did not run: pass --kgo-version 1.4|1.5|1.6|2.0|2.1|2.2|2.3, or --cluster",
		"could not list Secret in the cluster: a missing Secret is not reported",
	}, rep.Notes)
}

func TestLintNotesTheUnknownGeneration(t *testing.T) {
	legacy := "apiVersion: gateway-operator.konghq.com/v1alpha1\nkind: KonnectExtension\nmetadata:\n  name: e\n"
	rep := Lint(objects(t, legacy), 1, Options{})
	assert.Equal(t, []string{"the KGO version is unknown, so KON1601, KON1606 (which depend on it) did not run: pass --kgo-version 1.4|1.5|1.6|2.0|2.1|2.2|2.3, or --cluster"}, rep.Notes)
	rep = Lint(objects(t, legacy), 1, Options{Generation: rules.GenerationKGO15Plus, GenerationSource: SourceFlag})
	assert.Empty(t, rep.Notes)
	assert.Equal(t, []string{"KON1601"}, codes(rep))
	assert.Equal(t, []string{}, rep.Summary.SkippedRules)
	rep = Lint(objects(t, legacy), 1, Options{Generation: rules.GenerationKGO15Plus, Disabled: []string{"KON1601"}})
	assert.Empty(t, rep.Findings)
	assert.Equal(t, []string{"KON1601"}, rep.Summary.SkippedRules)
}

// The same certificate on a control plane group: refused by KGO 1.x
// (KON1006), registered by kong-operator 2.2 and later.
func TestLintDataPlaneCertificateOnGroupByGeneration(t *testing.T) {
	files := `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata:
  name: group-cp
spec:
  source: Origin
  createControlPlaneRequest:
    name: group
    cluster_type: CLUSTER_TYPE_CONTROL_PLANE_GROUP
  konnect:
    authRef:
      name: auth
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongDataPlaneClientCertificate
metadata:
  name: cert
spec:
  cert: PEM
  controlPlaneRef:
    type: konnectNamespacedRef
    konnectNamespacedRef:
      name: group-cp
`
	objs := objects(t, files)
	gen := InferGeneration(objs)
	require.Equal(t, rules.GenerationKO23, gen, "v1alpha2 in the files: the newest kong-operator 2")
	rep := Lint(objs, 1, Options{Generation: gen, GenerationSource: SourceFiles, Disabled: []string{"KON1701"}})
	assert.Empty(t, rep.Findings)
	assert.Equal(t, "ko-2.3", rep.Summary.KGOGeneration)

	rep = Lint(objects(t, files), 1, Options{Generation: rules.GenerationKGO15Plus, GenerationSource: SourceFlag, Disabled: []string{"KON1701"}})
	require.Equal(t, []string{"KON1006"}, codes(rep))
	assert.Equal(t, 23, rep.Findings[0].Line, "the line of konnectNamespacedRef.name")
}

func TestNamespacesIncludeReferencedOnes(t *testing.T) {
	objs := objects(t, `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata:
  name: a
  namespace: team-a
spec:
  secretRef:
    name: tok
    namespace: secrets
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata:
  name: s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: ignored
`)
	assert.Equal(t, []string{"dev", "secrets", "team-a"}, Namespaces(objs, "dev"))
}
