package lint_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	lintcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/lint"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/root"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/lint"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

type result struct {
	stdout, stderr string
	code           int
}

// run runs `kubectl konnect lint ARGS` in-process as the binary does: the
// error a command returns is printed as "error: ..." on stderr and decides
// the exit code.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	// Offline lint must never read a kubeconfig.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-such-kubeconfig"))
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	cmd := root.NewCommand(streams)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SetArgs(append([]string{"lint"}, args...))
	err := cmd.Execute()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: lintcmd.ExitCode(err)}
}

func (r result) String() string {
	return fmt.Sprintf("exit: %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func golden(t *testing.T, name string, got result) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got.String()), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./pkg/cmd/lint -update")
	assert.Equal(t, string(want), got.String(), "output differs from %s (go test ./pkg/cmd/lint -update to accept)", path)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

var formats = []string{"text", "json"}

// Every case runs with each output format: the exit code never depends on -o.
var cases = []struct {
	name  string
	stdin string
	args  []string
	code  int
}{
	{name: "seed", args: []string{"-f", "testdata/seed"}, code: 0},
	{name: "seed-slip", args: []string{"-f", "testdata/seed-slip"}, code: 1},
	{name: "seed-slip-stdin", stdin: "testdata/seed-slip/workflow.yaml", args: []string{"-f", "-"}, code: 1},
	{name: "seed-kgo14-version-unknown", args: []string{"-f", "testdata/seed-kgo14"}, code: 0},
	{name: "seed-kgo14", args: []string{"-f", "testdata/seed-kgo14", "--kgo-version", "1.4"}, code: 0},
	{name: "seed-kgo14-on-kgo16", args: []string{"-f", "testdata/seed-kgo14", "--kgo-version", "1.6"}, code: 1},
	// v1alpha2 in the files: kong-operator 2.x, which registers certificates on groups.
	{name: "seed-ko20", args: []string{"-f", "testdata/seed-ko20", "--strict"}, code: 0},
	{name: "seed-ko20-on-kgo16", args: []string{"-f", "testdata/seed-ko20", "--kgo-version", "1.6"}, code: 1},
	// Must show 4 of issue 14: valid cross-namespace references with grants
	// and a KonnectExtension on a group raise nothing on 2.2 and 2.3, even
	// --strict; the same files on 2.0 are refused.
	{name: "grants-ko22", args: []string{"-f", "testdata/grants-ko22", "--kgo-version", "2.2", "--strict"}, code: 0},
	{name: "grants-ko23", args: []string{"-f", "testdata/grants-ko22", "--kgo-version", "v2.3.0-rc.3", "--strict"}, code: 0},
	{name: "grants-on-ko20", args: []string{"-f", "testdata/grants-ko22", "--kgo-version", "2.0"}, code: 1},
	{name: "seed-kgo14-on-ko20", args: []string{"-f", "testdata/seed-kgo14", "--kgo-version", "2.0"}, code: 1},
	{name: "bad", args: []string{"-R", "-f", "testdata/bad", "--kgo-version", "1.6", "-n", "team-a"}, code: 1},
	{name: "bad-disabled", args: []string{"-R", "-f", "testdata/bad", "--kgo-version", "1.6", "-n", "team-a",
		"--disable", "KON1001,KON1002,KON1501,KON1502", "--disable", "KON1601", "--disable", "KON1802"}, code: 0},
	{name: "warn", args: []string{"-f", "testdata/warn"}, code: 0},
	{name: "warn-strict", args: []string{"-f", "testdata/warn", "--strict"}, code: 1},
	// seed/ defines the KongService of warn/ again, which kubectl apply would
	// overwrite with seed/'s: KON0101 names both, and seed/'s is linted.
	{name: "across-files", args: []string{"-f", "testdata/warn/kongservice.yaml", "-f", "testdata/seed/workflow.yaml", "--strict"}, code: 0},
	// One object defined in several files: a warning at the last definition,
	// which wins, naming every definition.
	{name: "duplicates", args: []string{"-f", "testdata/duplicates", "--kgo-version", "1.6"}, code: 0},
	{name: "parse-bad-indent", args: []string{"-f", "testdata/parse/bad-indent.yaml"}, code: 2},
	{name: "parse-bad-json", args: []string{"-f", "testdata/parse/bad.json"}, code: 2},
	{name: "parse-no-kind", args: []string{"-f", "testdata/parse/no-kind.yaml"}, code: 2},
	{name: "parse-separator", args: []string{"-f", "testdata/parse/separator.yaml"}, code: 2},
	{name: "parse-empty", args: []string{"-f", "testdata/parse/empty.yaml"}, code: 2},
	// A parse error anywhere stops everything: no findings of the good files.
	{name: "parse-after-good-files", args: []string{"-f", "testdata/seed-slip", "-f", "testdata/parse/bad-indent.yaml"}, code: 2},
	{name: "missing-file", args: []string{"-f", "testdata/nowhere.yaml"}, code: 2},
	{name: "usage-no-file", args: []string{}, code: 2},
	{name: "usage-kgo-version", args: []string{"-f", "testdata/seed", "--kgo-version", "3.0"}, code: 2},
	{name: "usage-disable", args: []string{"-f", "testdata/seed", "--disable", "KON9999"}, code: 2},
	{name: "usage-unknown-flag", args: []string{"-f", "testdata/seed", "--frobnicate"}, code: 2},
	{name: "usage-argument", args: []string{"testdata/seed"}, code: 2},
}

func TestLintGoldenOutputAndExitCodes(t *testing.T) {
	for _, tc := range cases {
		for _, format := range formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				stdin := ""
				if tc.stdin != "" {
					stdin = readFile(t, tc.stdin)
				}
				got := run(t, stdin, append(append([]string{}, tc.args...), "-o", format)...)
				assert.Equal(t, tc.code, got.code, "exit code with -o %s\n%s", format, got)
				if tc.code == lintcmd.ExitUsage {
					assert.Empty(t, got.stdout, "nothing on stdout when nothing was linted")
				}
				if format == "json" && tc.code != lintcmd.ExitUsage {
					var rep lint.Report
					require.NoError(t, json.Unmarshal([]byte(got.stdout), &rep), "stdout is one JSON document")
				}
				golden(t, tc.name+"."+format, got)
			})
		}
	}
}

func TestUsageErrorsExitTwoWhateverTheFormat(t *testing.T) {
	for _, format := range []string{"text", "json", "yaml"} {
		got := run(t, "", "-f", "testdata/parse/bad-indent.yaml", "-o", format)
		assert.Equal(t, lintcmd.ExitUsage, got.code, format)
		assert.Empty(t, got.stdout)
	}
	got := run(t, "", "-f", "testdata/seed", "-o", "yaml")
	assert.Equal(t, "error: --output \"yaml\" is not supported: use text or json\n", got.stderr)
}

// findingsOf lints and returns the JSON findings.
func findingsOf(t *testing.T, args ...string) ([]lint.Finding, lint.Summary, int) {
	t.Helper()
	got := run(t, "", append(args, "-o", "json")...)
	var rep lint.Report
	require.NoError(t, json.Unmarshal([]byte(got.stdout), &rep), got.String())
	return rep.Findings, rep.Summary, got.code
}

func TestSeedWorkflowIsClean(t *testing.T) {
	findings, sum, code := findingsOf(t, "-f", "testdata/seed")
	assert.Empty(t, findings)
	assert.Equal(t, 0, code)
	assert.Equal(t, lint.Summary{Files: 1, Objects: 9, KGOGeneration: "kgo-1.5+", KGOGenerationSource: "files", SkippedRules: []string{}}, sum)
}

func TestSeedSlipIsKON1003DidYouMean(t *testing.T) {
	findings, sum, code := findingsOf(t, "-f", "testdata/seed-slip")
	assert.Equal(t, 1, code)
	assert.Equal(t, []lint.Finding{{
		Code: "KON1003", Severity: "deny",
		File: "testdata/seed-slip/workflow.yaml", Line: 41, ObjectLine: 33,
		APIVersion: "configuration.konghq.com/v1alpha1", Kind: "KongDataPlaneClientCertificate", Namespace: "default", Name: "dp-cert",
		Field: "spec.controlPlaneRef.konnectNamespacedRef.name", Value: "seed-cp",
		Message: `KonnectGatewayControlPlane default/seed-cp not found, but KonnectGatewayControlPlane default/gateway-cp is named "seed-cp" in Konnect: did you mean gateway-cp?`,
		Hint: "A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (spec.name): set it to gateway-cp. " +
			"If a KonnectGatewayControlPlane named seed-cp is on its way (later in the same apply, or in another file of a GitOps folder), apply it first, or apply again once it exists: " +
			"GitOps tools retry, and the reference is admitted then",
	}}, findings)
	assert.Equal(t, 1, sum.Deny)
	assert.Equal(t, "      name: seed-cp", strings.Split(readFile(t, "testdata/seed-slip/workflow.yaml"), "\n")[41-1], "line 41 is the slip")
}

func TestBadFolderExactFindings(t *testing.T) {
	findings, sum, code := findingsOf(t, "-R", "-f", "testdata/bad", "--kgo-version", "1.6", "-n", "team-a")
	assert.Equal(t, 1, code)
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%s:%d %s %s %s/%s %s", f.File, f.Line, f.Severity, f.Code, f.Kind, f.Name, f.Field))
	}
	assert.Equal(t, []string{
		"testdata/bad/01-auth.yaml:10 deny KON1501 KonnectAPIAuthConfiguration/no-region spec.serverURL",
		"testdata/bad/01-auth.yaml:28 deny KON1502 KonnectAPIAuthConfiguration/unlabelled spec.secretRef.name",
		"testdata/bad/03-dataplane.yaml:2 warn KON1601 KonnectExtension/legacy-ext apiVersion",
		"testdata/bad/03-dataplane.yaml:15 warn KON1604 KonnectExtension/legacy-ext spec.konnectControlPlaneAPIAuthConfiguration.clusterCertificateSecretRef.name",
		"testdata/bad/03-dataplane.yaml:26 deny KON1802 DataPlane/dp spec.extensions[0].group",
		"testdata/bad/03-dataplane.yaml:28 warn KON1801 DataPlane/dp spec.extensions[1].name",
		"testdata/bad/entities/services.yaml:13 deny KON1001 KongService/on-kic spec.controlPlaneRef.konnectNamespacedRef.name",
		"testdata/bad/entities/services.yaml:23 deny KON1002 KongService/on-group spec.controlPlaneRef.konnectNamespacedRef.name",
		"testdata/bad/entities/services.yaml:33 warn KON1102 KongRoute/orphan spec.serviceRef.namespacedRef.name",
		"testdata/bad/entities/services.yaml:42 warn KON1005 KongConsumer/kic-consumer spec.controlPlaneRef.type",
	}, got)
	for _, f := range findings {
		assert.Equal(t, "team-a", f.Namespace, "-n gives objects without a namespace theirs")
	}
	assert.Equal(t, lint.Summary{Files: 4, Objects: 11, Findings: 10, Deny: 5, Warn: 5, KGOGeneration: "kgo-1.5+", KGOGenerationSource: "flag", SkippedRules: []string{}}, sum)

	// Without -R the entities/ sub-folder is not read.
	_, sum, _ = findingsOf(t, "-f", "testdata/bad", "--kgo-version", "1.6", "-n", "team-a")
	assert.Equal(t, 3, sum.Files)
}

func TestOfflineLintIgnoresTheKubeconfigNamespace(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: from-kubeconfig}}]
current-context: x
`), 0o600))
	findings, _, _ := findingsOf(t, "-f", "testdata/warn", "--kubeconfig", kc)
	require.Len(t, findings, 1)
	assert.Equal(t, "default", findings[0].Namespace)
	// --cluster reads it (and then fails to reach the server: exit 2).
	got := run(t, "", "-f", "testdata/warn", "--kubeconfig", kc, "--cluster", "--request-timeout", "2s")
	assert.Equal(t, lintcmd.ExitUsage, got.code, got.String())
	assert.Empty(t, got.stdout)
	assert.Contains(t, got.stderr, "error: --cluster: ")
}

func TestExitCode(t *testing.T) {
	assert.Equal(t, 0, lintcmd.ExitCode(nil))
	assert.Equal(t, 1, lintcmd.ExitCode(fmt.Errorf("boom")))
	assert.Equal(t, 2, lintcmd.ExitCode(fmt.Errorf("wrapped: %w", &lintcmd.ExitError{Code: 2, Err: fmt.Errorf("x")})))
}

func TestObjectsDefinedMoreThanOnceAreNamedWithEveryDefinition(t *testing.T) {
	findings, sum, code := findingsOf(t, "-f", "testdata/duplicates", "--kgo-version", "1.6")
	assert.Equal(t, 0, code, "a duplicate warns")
	var dups []lint.Finding
	for _, f := range findings {
		if f.Code == lint.CodeDuplicate {
			dups = append(dups, f)
		}
	}
	require.Len(t, dups, 2, "%+v", findings)
	assert.Equal(t, lint.Finding{
		Code: lint.CodeDuplicate, Severity: "warn", File: "testdata/duplicates/02-team-b.yaml", Line: 15, ObjectLine: 15,
		APIVersion: "konnect.konghq.com/v1alpha1", Kind: "KonnectGatewayControlPlane", Namespace: "default", Name: "gateway-cp",
		Message: "KonnectGatewayControlPlane default/gateway-cp is defined 2 times: testdata/duplicates/01-team-a.yaml:2, testdata/duplicates/02-team-b.yaml:15; " +
			"kubectl apply applies them in this order, so the last one (testdata/duplicates/02-team-b.yaml:15) wins and only it is linted",
		Hint: "Keep one definition, or give the objects different names or namespaces",
	}, dups[0])
	assert.Equal(t, "testdata/duplicates/03-other-namespace.yaml", dups[1].File)
	assert.Contains(t, dups[1].Message, "KongService default/service-1 is defined 3 times: testdata/duplicates/01-team-a.yaml:12, "+
		"testdata/duplicates/02-team-b.yaml:3, testdata/duplicates/03-other-namespace.yaml:23;")
	// Only the winning definition of gateway-cp is linted: one KON1701.
	var authMissing int
	for _, f := range findings {
		if f.Code == "KON1701" {
			authMissing++
			assert.Equal(t, "testdata/duplicates/02-team-b.yaml", f.File)
		}
	}
	assert.Equal(t, 1, authMissing)
	assert.Equal(t, 7, sum.Objects, "every definition is counted as read")

	findings, _, _ = findingsOf(t, "-f", "testdata/duplicates", "--kgo-version", "1.6", "--disable", lint.CodeDuplicate)
	for _, f := range findings {
		assert.NotEqual(t, lint.CodeDuplicate, f.Code, "--disable %s", lint.CodeDuplicate)
	}
}

// -k renders a kustomization as kubectl apply -k does and lints the result;
// -f on the same folder reads kustomization.yaml as a manifest and fails.
func TestKustomization(t *testing.T) {
	findings, sum, code := findingsOf(t, "-k", "testdata/kustomize")
	assert.Equal(t, 1, code)
	require.Len(t, findings, 1)
	assert.Equal(t, "KON1003", findings[0].Code)
	assert.Equal(t, "team-k", findings[0].Namespace, "kustomize's namespace transformer ran")
	assert.Equal(t, "testdata/kustomize (kustomize)", findings[0].File)
	assert.Equal(t, 1, sum.Files)

	got := run(t, "", "-k", "testdata/seed") // no kustomization there
	assert.Equal(t, lintcmd.ExitUsage, got.code)
	assert.Contains(t, got.stderr, "testdata/seed: kustomize:")
}
