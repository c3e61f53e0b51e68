package migrate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	migratecmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/migrate"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// noCluster fails the test if a -f run reads the kubeconfig.
type noCluster struct{ t *testing.T }

func (n noCluster) Namespace() (string, bool, error) {
	n.t.Error("-f must not read the kubeconfig")
	return "", false, fmt.Errorf("no cluster")
}

func (n noCluster) RESTConfig() (*rest.Config, error) {
	n.t.Error("-f must not read the kubeconfig")
	return nil, fmt.Errorf("no cluster")
}

func (n noCluster) RESTMapper() (meta.RESTMapper, error) {
	n.t.Error("-f must not read the kubeconfig")
	return nil, fmt.Errorf("no cluster")
}

func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	cmd := migratecmd.NewCommand(noCluster{t}, streams)
	cmd.PersistentFlags().StringP("namespace", "n", "", "")
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

const kgo14 = `apiVersion: v1
kind: Secret
metadata:
  name: konnect-token
  labels:
    konghq.com/credential: konnect
stringData:
  token: TOKEN
---
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata:
  name: konnect-auth
spec:
  type: secretRef
  secretRef:
    name: konnect-token
  serverURL: us.api.konghq.com
---
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata:
  name: gateway-cp
spec:
  name: demo
  konnect:
    authRef:
      name: konnect-auth
---
apiVersion: gateway-operator.konghq.com/v1alpha1
kind: KonnectExtension
metadata:
  name: konnect-ext
spec:
  controlPlaneRef:
    type: konnectID
    konnectID: PREFIX
  controlPlaneRegion: us
  serverHostname: konghq.com
  konnectControlPlaneAPIAuthConfiguration:
    clusterCertificateSecretRef:
      name: dp-tls
---
apiVersion: gateway-operator.konghq.com/v1beta1
kind: DataPlane
metadata:
  name: dp
spec:
  extensions:
  - kind: KonnectExtension
    group: gateway-operator.konghq.com
    name: konnect-ext
  deployment:
    podTemplateSpec:
      spec:
        containers:
        - name: proxy
          image: kong/kong-gateway:3.9.1.0
`

// fakeKonnect points the command's Konnect calls at a fake holding the
// control plane "demo" (endpoint prefix b89939e7f0), and returns the files
// with its token.
func fakeKonnect(t *testing.T) string {
	srv := konnecttest.NewForTest(t)
	srv.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "demo", EndpointPrefix: "b89939e7f0"})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CACertPEM(), 0o600))
	t.Setenv(konnect.EnvConnectTo, strings.TrimPrefix(srv.URL(), "https://"))
	t.Setenv(konnect.EnvCAFile, ca)
	return strings.NewReplacer("TOKEN", srv.IssueToken(), "PREFIX", "b89939e7f0").Replace(kgo14)
}

func TestMigrateFilesAsYAMLAskingKonnect(t *testing.T) {
	files := fakeKonnect(t)
	out, errOut, err := run(t, files, "-f", "-", "-n", "team-a", "-o", "yaml")
	require.NoError(t, err, errOut)
	assert.Equal(t, `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata:
  name: gateway-cp
spec:
  createControlPlaneRequest:
    name: demo
  konnect:
    authRef:
      name: konnect-auth
  source: Origin
---
apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectExtension
metadata:
  name: konnect-ext
spec:
  clientAuth:
    certificateSecret:
      provisioning: Manual
      secretRef:
        name: dp-tls
  konnect:
    controlPlane:
      ref:
        konnectNamespacedRef:
          name: gateway-cp
        type: konnectNamespacedRef
---
apiVersion: gateway-operator.konghq.com/v1beta1
kind: DataPlane
metadata:
  name: dp
spec:
  deployment:
    podTemplateSpec:
      spec:
        containers:
        - image: kong/kong-gateway:3.9.1.0
          name: proxy
  extensions:
  - group: konnect.konghq.com
    kind: KonnectExtension
    name: konnect-ext
`, out)
	assert.Contains(t, errOut, "KonnectGatewayControlPlane team-a/gateway-cp: v1alpha1 -> v1alpha2")
	assert.Contains(t, errOut, `konnectID b89939e7f0 is the endpoint prefix of Konnect control plane "demo"`)
	assert.Contains(t, errOut, "note: kong-operator 2.x does not serve the gateway-operator.konghq.com KonnectExtension: once the konnect.konghq.com one is applied, delete team-a/konnect-ext")
}

func TestMigrateDiffIsTheDefault(t *testing.T) {
	files := fakeKonnect(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(files), 0o600))
	out, errOut, err := run(t, "", "-f", dir)
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "diff -u -N a/konnect.konghq.com.v1alpha1.KonnectGatewayControlPlane.gateway-cp b/konnect.konghq.com.v1alpha2.KonnectGatewayControlPlane.gateway-cp\n")
	assert.Contains(t, out, "--- a/gateway-operator.konghq.com.v1alpha1.KonnectExtension.konnect-ext\n+++ b/konnect.konghq.com.v1alpha2.KonnectExtension.konnect-ext\n")
	assert.Contains(t, out, "-  - group: gateway-operator.konghq.com\n+  - group: konnect.konghq.com\n")
}

func TestMigrateOfflineReportsWhatItCannotResolve(t *testing.T) {
	files := strings.NewReplacer("TOKEN", "kpat_x", "PREFIX", "b89939e7f0").Replace(kgo14)
	out, errOut, err := run(t, files, "-f", "-", "--konnect=false", "-o", "yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 KonnectExtension was not migrated:\n  KonnectExtension default/konnect-ext (gateway-operator.konghq.com/v1alpha1): konnectID b89939e7f0 is a control-plane endpoint prefix (KGO 1.4); no KonnectGatewayControlPlane's status names it, and Konnect was not asked")
	assert.Contains(t, out, "kind: KonnectGatewayControlPlane", "the rest is written")
	assert.NotContains(t, out, "kind: KonnectExtension\nmetadata", "no KonnectExtension object")
	assert.NotContains(t, errOut, "delete")
}

func TestMigrateNothingToDo(t *testing.T) {
	out, errOut, err := run(t, "apiVersion: konnect.konghq.com/v1alpha2\nkind: KonnectGatewayControlPlane\nmetadata: {name: cp}\nspec: {source: Origin, createControlPlaneRequest: {name: cp}}\n", "-f", "-")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, "Nothing to migrate: the objects of - are in their kong-operator 2.x form already\n", errOut)
}

func TestMigrateFlags(t *testing.T) {
	_, _, err := run(t, "", "-f", "-", "-o", "json")
	assert.EqualError(t, err, `--output "json" is not supported: use diff or yaml`)
	_, _, err = run(t, "", "-R")
	assert.EqualError(t, err, "-R reads the folders given with -f: name them")
	_, _, err = run(t, "", "-f", "-")
	assert.EqualError(t, err, "no Kubernetes objects in -")
	_, _, err = run(t, "", "extra")
	assert.Error(t, err)
	_, _, err = run(t, "", "-f", "-", "--kgo-version", "1.6")
	assert.EqualError(t, err, "--kgo-version 1.6 is KGO 1.5/1.6: migrate writes the objects of kong-operator 2.x; give the 2.x release to migrate to (2.0, 2.1, 2.2, 2.3)")
	_, _, err = run(t, "", "-f", "-", "--kgo-version", "3.1")
	assert.ErrorContains(t, err, `--kgo-version: KGO version "3.1" is not one of`)
}

// --kgo-version names the release migrated to; every 2.x takes the objects
// of 2.0, so what is written does not change with it.
func TestMigrateToARelease(t *testing.T) {
	const v2 = "apiVersion: konnect.konghq.com/v1alpha2\nkind: KonnectGatewayControlPlane\nmetadata: {name: cp}\nspec: {source: Origin, createControlPlaneRequest: {name: cp}}\n"
	_, errOut, err := run(t, v2, "-f", "-", "--kgo-version", "v2.2.3")
	require.NoError(t, err)
	assert.Equal(t, "Nothing to migrate: the objects of - are in their kong-operator 2.2 form already\n", errOut)

	files := fakeKonnect(t)
	want, _, err := run(t, files, "-f", "-", "-n", "team-a", "-o", "yaml")
	require.NoError(t, err)
	for _, v := range []string{"2.0", "2.1", "2.2", "2.3"} {
		out, errOut, err := run(t, files, "-f", "-", "-n", "team-a", "-o", "yaml", "--kgo-version", v)
		require.NoError(t, err, errOut)
		assert.Equal(t, want, out, "kong-operator %s takes the objects of 2.0", v)
		assert.Contains(t, errOut, "note: migrated to kong-operator "+v+" (--kgo-version "+v+"), which takes the objects of kong-operator 2.0\n")
	}
}
