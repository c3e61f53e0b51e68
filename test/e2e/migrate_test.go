package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The tests of `kubectl konnect migrate` (issue 9): the KGO 1.4 workflow's
// objects, read from a kgo-1.4 cluster, against golden files in
// testdata/migrate (regenerate with: go test ./test/e2e -run TestMigrate
// -update); and the migrated objects applied on the ko-2.0 profile, where the
// stand-in programs them and the data plane connects.

const migrateGoldenDir = "testdata/migrate"

// -update rewrites the golden files (registered here unless another file of
// the package did).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files of the tests")
	}
}

func migrateUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normalizeMigrate replaces what differs from run to run: the namespace
// (also in the Konnect name), the control plane's endpoint prefix and IDs.
func normalizeMigrate(s, ns, prefix string) string {
	s = strings.ReplaceAll(s, ns, "NAMESPACE")
	s = strings.ReplaceAll(s, prefix, "ENDPOINT_PREFIX")
	return uuidRE.ReplaceAllString(s, "UUID")
}

func migrateGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(migrateGoldenDir, name)
	if migrateUpdate() {
		require.NoError(t, os.MkdirAll(migrateGoldenDir, 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file %s (go test ./test/e2e -run TestMigrate -update writes it)", path)
	assert.Equal(t, string(want), got, "output differs from %s (go test ./test/e2e -run TestMigrate -update to accept)", path)
}

// TestMigrateKGO14WorkflowGolden: the seed's KGO 1.4 objects in a kgo-1.4
// cluster (control plane, endpoint-prefix KonnectExtension, DataPlane),
// migrated from the cluster. The prefix resolves to the control plane through
// the Konnect API (the kubernetes-configuration v1.0.0 status has no
// endpoints), with the namespace's KonnectAPIAuthConfiguration.
func TestMigrateKGO14WorkflowGolden(t *testing.T) {
	installPlugin(t)
	env := testenv.Shared(t, testenv.KGO14)
	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	konnectName := "migrate-" + ns
	env.MustKubectl(t, manifest(t, seedBaseFor(testenv.KGO14, env.Token, konnectName, "", crt, key)...), "apply", "-n", ns, "-f", "-")
	cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
	cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	konnectCP, ok := env.Konnect.ControlPlaneByName(konnectName)
	require.True(t, ok)
	env.MustKubectl(t, manifest(t, extension(testenv.KGO14, konnectCP.ControlPlaneEndpoint), dataPlane(testenv.KGO14)), "apply", "-n", ns, "-f", "-")
	env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
	prefix := strings.SplitN(strings.TrimPrefix(konnectCP.ControlPlaneEndpoint, "https://"), ".", 2)[0]

	for _, format := range []string{"diff", "yaml"} {
		t.Run(format, func(t *testing.T) {
			out, errOut, code := konnectCLI(t, env, "", ns, "migrate", "-o", format)
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, errOut, `konnectID `+prefix+` is the endpoint prefix of Konnect control plane "`+konnectName+`" (`+cpID+`), found with KonnectAPIAuthConfiguration konnect-auth; KonnectGatewayControlPlane gateway-cp has its ID`)
			migrateGolden(t, "kgo-1.4."+format, normalizeMigrate(out, ns, prefix))
			migrateGolden(t, "kgo-1.4.stderr", normalizeMigrate(errOut, ns, prefix))
		})
	}
}

// applyMigrated applies migrate's -o yaml output with kubectl, document by
// document in the order written (each once the webhook's cache has the one
// before, as a GitOps tool applying in order), and returns kubectl's stderr.
func applyMigrated(t *testing.T, env *testenv.Env, ns, stream string) string {
	t.Helper()
	var objs []obj
	for _, doc := range strings.Split(stream, "\n---\n") {
		o := obj{}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o), doc)
		require.NotEmpty(t, o, "an empty document in:\n%s", stream)
		objs = append(objs, o)
	}
	return applyOneByOne(t, env, ns, objs...)
}

// TestMigrateOutputAppliesOnKO20: a GitOps repository's KGO 1.4 manifests of
// the seed workflow, migrated with -f and applied on kong-operator 2.0 CRDs
// (with the webhook) where kong-operator's conversion has already turned the
// control plane into v1alpha2: no warning, the stand-in programs the
// KonnectExtension and the DataPlane connects to Konnect. A second run
// against the cluster has nothing left to migrate.
func TestMigrateOutputAppliesOnKO20(t *testing.T) {
	installPlugin(t)
	env := testenv.SharedWithWebhook(t, testenv.KO20)
	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	konnectName := "migrate-" + ns
	applyOneByOne(t, env, ns, seedBaseFor(testenv.KO20, env.Token, konnectName, "", crt, key)...)
	cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
	cpID, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	konnectCP, ok := env.Konnect.ControlPlaneByName(konnectName)
	require.True(t, ok)

	files := writeManifest(t, "kgo14.yaml", append(seedBaseFor(testenv.KGO14, env.Token, konnectName, "", crt, key),
		extension(testenv.KGO14, konnectCP.ControlPlaneEndpoint), dataPlane(testenv.KGO14))...)
	out, errOut, code := konnectCLI(t, env, "", ns, "migrate", "-f", files, "-o", "yaml")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	require.Contains(t, errOut, "KonnectGatewayControlPlane gateway-cp creates it")
	require.NotContains(t, applyMigrated(t, env, ns, out), "Warning")

	ext := env.WaitFor(t, testenv.GVKKonnectExtension, ns, "konnect-ext", waitTimeout, testenv.HasCondition("Ready", "True"))
	assert.Equal(t, "v1alpha2", ext.GroupVersionKind().Version)
	env.WaitFor(t, testenv.GVKDataPlane, ns, "dp", waitTimeout, testenv.HasCondition("Ready", "True"))
	require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) == 1 }, waitTimeout, 100*time.Millisecond,
		"the migrated data plane never connected to Konnect")
	env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))

	out, errOut, code = konnectCLI(t, env, "", ns, "migrate")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Empty(t, out)
	assert.Equal(t, "Nothing to migrate: the objects of namespace "+ns+" are in their kong-operator 2.0 form already\n", errOut)
}

// TestMigrateMirrorsAControlPlaneManagedElsewhere: the KonnectExtensions
// point at a Konnect control plane no object of the namespace manages (made
// in the Konnect UI or with Terraform) — KGO 1.4's by endpoint prefix, KGO
// 1.6's by ID. migrate adds one Mirror KonnectGatewayControlPlane for both;
// applied on ko-2.0 the stand-in finds the control plane, and both data
// planes connect with the certificate registered in Konnect.
func TestMigrateMirrorsAControlPlaneManagedElsewhere(t *testing.T) {
	installPlugin(t)
	env := testenv.SharedWithWebhook(t, testenv.KO20)
	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	edge := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "Edge " + ns})
	_, err := env.Konnect.SDK(env.Token).DPCertificates.CreateDataplaneCertificate(context.Background(), edge.ID,
		&components.DataPlaneClientCertificateRequest{Cert: crt})
	require.NoError(t, err)

	base := seedBaseFor(testenv.KO20, env.Token, "unused", "", crt, key)
	plain := []obj{base[0], base[1], base[4]} // token Secret, auth, TLS Secret: the same on every generation
	legacy := extension(testenv.KGO14, edge.ControlPlaneEndpoint)
	legacy["metadata"] = meta("legacy-ext")
	byID := obj{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectExtension", "metadata": meta("konnect-ext"),
		"spec": obj{
			"konnect": obj{
				"controlPlane":  obj{"ref": obj{"type": "konnectID", "konnectID": edge.ID}},
				"configuration": obj{"authRef": obj{"name": "konnect-auth"}},
			},
			"clientAuth": obj{"certificateSecret": obj{"provisioning": "Manual", "secretRef": obj{"name": "dp-tls"}}},
		}}
	dpLegacy := dataPlane(testenv.KGO14)
	dpLegacy["metadata"] = meta("dp-legacy")
	dpLegacy["spec"].(obj)["extensions"] = []any{obj{"kind": "KonnectExtension", "name": "legacy-ext", "group": "gateway-operator.konghq.com"}}
	files := writeManifest(t, "elsewhere.yaml", append(append([]obj{}, plain...), legacy, byID, dpLegacy, dataPlane(testenv.KGO16))...)

	out, errOut, code := konnectCLI(t, env, "", ns, "migrate", "-f", files, "-o", "yaml")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	mirror := "edge-" + ns
	require.Contains(t, errOut, "KonnectGatewayControlPlane "+ns+"/"+mirror+": new Mirror of Konnect control plane "+edge.ID)
	require.Equal(t, 1, strings.Count(out, "source: Mirror"), "one Mirror for both extensions:\n%s", out)

	stderr := applyOneByOne(t, env, ns, plain...)
	stderr += applyMigrated(t, env, ns, out)
	stderr += applyOneByOne(t, env, ns, dataPlane(testenv.KGO16)) // already konnect.konghq.com: unchanged, not in the output
	require.NotContains(t, stderr, "Warning")
	m := env.WaitFor(t, testenv.GVKControlPlane, ns, mirror, waitTimeout, testenv.HasCondition("Programmed", "True"))
	ct, _, _ := unstructured.NestedString(m.Object, "status", "clusterType")
	assert.Equal(t, "CLUSTER_TYPE_CONTROL_PLANE", ct)
	for _, name := range []string{"legacy-ext", "konnect-ext"} {
		ext := env.WaitFor(t, testenv.GVKKonnectExtension, ns, name, waitTimeout, testenv.HasCondition("Ready", "True"))
		ref, _, _ := unstructured.NestedString(ext.Object, "spec", "konnect", "controlPlane", "ref", "konnectNamespacedRef", "name")
		assert.Equal(t, mirror, ref, name)
	}
	require.Eventually(t, func() bool { return len(env.Konnect.Nodes(edge.ID)) == 2 }, waitTimeout, 100*time.Millisecond,
		"both migrated data planes must connect to the mirrored control plane")
}
