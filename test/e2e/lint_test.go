package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/lint"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The --cluster part of issue 6's `kubectl konnect lint`: the plugin binary
// through the real kubectl, against a real kube-apiserver with each CRD
// profile. The control plane exists only in the cluster; the files refer
// to it.

// lintReport runs `kubectl konnect lint ARGS -o json -n ns` and decodes the report.
func lintReport(t *testing.T, env *testenv.Env, ns string, args ...string) (lint.Report, int, string) {
	t.Helper()
	out, errOut, code := konnectCLI(t, env, "", ns, append(append([]string{"lint"}, args...), "-o", "json")...)
	var rep lint.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "kubectl konnect lint %v: stdout is not the JSON report\nstdout: %s\nstderr: %s", args, out, errOut)
	return rep, code, errOut
}

func writeManifest(t *testing.T, name string, objs ...obj) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(manifest(t, objs...)), 0o644))
	return p
}

// lineOf is the 1-based line of the first line of a file containing s.
func lineOf(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in %s", s, path)
	return 0
}

func codesOf(rep lint.Report) []string {
	out := []string{}
	for _, f := range rep.Findings {
		out = append(out, f.Code)
	}
	return out
}

func TestLintClusterResolvesReferencesToLiveObjects(t *testing.T) {
	installPlugin(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			crt, key := selfSignedPair(t, "dp")
			konnectName := "lint-" + ns
			base := seedBaseFor(p, env.Token, konnectName, "", crt, key)
			// In the cluster only: token Secret, auth, control plane, TLS Secret.
			env.MustKubectl(t, manifest(t, base[0], base[1], base[2], base[4]), "apply", "-n", ns, "-f", "-")
			wantGen := string(p.Generation())

			// The files: the KongService and KongRoute of the seed, which
			// name the control plane "gateway-cp" that only the cluster has.
			entities := writeManifest(t, "entities.yaml", base[5], base[6])
			rep, code, errOut := lintReport(t, env, ns, "-f", entities, "--cluster", "--strict")
			assert.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Empty(t, rep.Findings)
			assert.Equal(t, lint.Summary{Files: 1, Objects: 2, KGOGeneration: wantGen, KGOGenerationSource: lint.SourceCluster,
				SkippedRules: []string{}, Strict: true, Cluster: true}, rep.Summary)

			// Offline the same files miss their control plane.
			rep, code, _ = lintReport(t, env, ns, "-f", entities, "--strict")
			assert.Equal(t, 1, code)
			assert.Equal(t, []string{"KON1004"}, codesOf(rep))
			assert.Equal(t, ns, rep.Findings[0].Namespace, "-n names the namespace offline too")

			// The seed's slip against the live control plane: its Konnect
			// name instead of its resource name.
			slip := base[3]
			slip["spec"].(obj)["controlPlaneRef"] = cpRef(konnectName)
			slipFile := writeManifest(t, "dp-cert.yaml", slip)
			rep, code, _ = lintReport(t, env, ns, "-f", slipFile, "--cluster")
			assert.Equal(t, 1, code)
			require.Equal(t, []string{"KON1003"}, codesOf(rep))
			f := rep.Findings[0]
			assert.Equal(t, "spec.controlPlaneRef.konnectNamespacedRef.name", f.Field)
			assert.Equal(t, "KongDataPlaneClientCertificate", f.Kind)
			assert.Equal(t, slipFile, f.File)
			slipLine := lineOf(t, slipFile, "name: "+konnectName)
			assert.Equal(t, slipLine, f.Line, "the line of konnectNamespacedRef.name in %s", slipFile)
			assert.Contains(t, f.Message, "did you mean gateway-cp?")
			// Text output, same exit code.
			out, _, code := konnectCLI(t, env, "", ns, "lint", "-f", slipFile, "--cluster")
			assert.Equal(t, 1, code)
			assert.Contains(t, out, fmt.Sprintf("%s:%d: deny [KON1003] KongDataPlaneClientCertificate %s/dp-cert: spec.controlPlaneRef.konnectNamespacedRef.name: ", slipFile, slipLine, ns))
			assert.Contains(t, out, "did you mean gateway-cp?")

			// A file object replaces the live one: here the control plane
			// becomes a KIC one, and the KongService on it is denied.
			kic := controlPlane(p, "gateway-cp", konnectName, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER")
			rep, code, _ = lintReport(t, env, ns, "-f", writeManifest(t, "kic.yaml", kic, base[5]), "--cluster")
			assert.Equal(t, 1, code)
			assert.Equal(t, []string{"KON1001"}, codesOf(rep))

			// The generation comes from discovery: the seed's KonnectExtension
			// of the profile is clean, KGO 1.4's one is ignored by KGO 1.6 and
			// kong-operator 2.0.
			endpoint := "https://b89939e7f0.us.cp0.konghq.com"
			rep, code, _ = lintReport(t, env, ns, "-f", writeManifest(t, "ext.yaml", extension(p, endpoint), dataPlane(p)), "--cluster", "--strict")
			assert.Equal(t, 0, code)
			assert.Empty(t, rep.Findings, "dp-tls and gateway-cp are in the cluster")
			rep, code, _ = lintReport(t, env, ns, "-f", writeManifest(t, "legacy.yaml", extension(testenv.KGO14, endpoint)), "--cluster")
			if p == testenv.KGO14 {
				assert.Equal(t, 0, code)
				assert.Empty(t, rep.Findings)
			} else {
				// A warning: the operator ignores the object, it refuses
				// nothing (KON1601's Effect). --strict turns only missing
				// targets into denials, so it stays a warning there too.
				assert.Equal(t, 0, code)
				require.Equal(t, []string{"KON1601"}, codesOf(rep))
				assert.Equal(t, rules.SeverityWarn, rep.Findings[0].Severity)
				strictRep, strictCode, _ := lintReport(t, env, ns, "-f", writeManifest(t, "legacy-strict.yaml", extension(testenv.KGO14, endpoint)), "--cluster", "--strict")
				assert.Equal(t, 0, strictCode)
				assert.Equal(t, []string{"KON1601"}, codesOf(strictRep))
			}
			if p.KongOperator2() {
				assert.Contains(t, rep.Findings[0].Message, p.Generation().Release()+" runs in this cluster", "the release the CRDs name")
			}
		})
	}
}
