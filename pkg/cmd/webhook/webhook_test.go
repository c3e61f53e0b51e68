package webhook

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// decode reads one YAML document as install's objects are: through JSON.
func decode(t *testing.T, doc []byte) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	require.NoError(t, err)
	if string(j) == "null" {
		return nil
	}
	u := &unstructured.Unstructured{}
	require.NoError(t, u.UnmarshalJSON(j))
	return u
}

// kubectlKustomize renders a kustomization with the machine's kubectl, as
// `kubectl apply -k` does.
func kubectlKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH")
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	require.NoError(t, err, "kubectl kustomize %s", dir)
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		if u := decode(t, doc); u != nil {
			objs = append(objs, u)
		}
	}
	return objs
}

// What install applies is what `kubectl apply -k config/<variant>` applies,
// object for object.
func TestRenderIsKubectlApplyK(t *testing.T) {
	for _, v := range Variants {
		t.Run(string(v), func(t *testing.T) {
			got, err := Render(v, "")
			require.NoError(t, err)
			want := kubectlKustomize(t, filepath.Join(testenv.RepoRoot(), "config", string(v)))
			require.Len(t, got, len(want))
			byKey := map[string]*unstructured.Unstructured{}
			for _, u := range want {
				byKey[key(u)] = u
			}
			for _, u := range got {
				w, ok := byKey[key(u)]
				require.True(t, ok, "install renders %s, kubectl kustomize does not", key(u))
				require.True(t, equality.Semantic.DeepEqual(w.Object, u.Object), "%s differs from kubectl kustomize's:\n%v\n%v", key(u), u.Object, w.Object)
			}
		})
	}
}

func TestInstallOrderPutsTheWebhookConfigurationLastAndUninstallFirst(t *testing.T) {
	for _, v := range Variants {
		objs, err := Render(v, "")
		require.NoError(t, err)
		require.Equal(t, "Namespace", objs[0].GetKind())
		require.Equal(t, "ValidatingWebhookConfiguration", objs[len(objs)-1].GetKind())
		pos := map[string]int{}
		for i, u := range objs {
			pos[u.GetKind()] = i
		}
		require.Less(t, pos["ServiceAccount"], pos["Deployment"])
		require.Less(t, pos["Service"], pos["ValidatingWebhookConfiguration"])

		un := uninstallOrder(objs)
		require.Equal(t, "ValidatingWebhookConfiguration", un[0].GetKind())
		require.Equal(t, "Namespace", un[len(un)-1].GetKind())
		require.Len(t, un, len(objs))
	}
	all, err := allObjects()
	require.NoError(t, err)
	un := uninstallOrder(all)
	require.Equal(t, "ValidatingWebhookConfiguration", un[0].GetKind())
	kinds := map[string]bool{}
	for _, u := range all {
		kinds[u.GetKind()] = true
	}
	for _, k := range []string{"Issuer", "Certificate", "Secret", "Role", "Deployment"} {
		require.True(t, kinds[k], "uninstall must know %s", k)
	}
}

func TestImage(t *testing.T) {
	objs, err := Render(SelfManaged, "registry.example/webhook:v9")
	require.NoError(t, err)
	var images []string
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				images = append(images, c.(map[string]any)["image"].(string))
			}
		}
	}
	require.Equal(t, []string{"registry.example/webhook:v9"}, images)

	defer func(v string) { version.Version = v }(version.Version)
	version.Version = "dev"
	require.Equal(t, "", DefaultImage(), "a development build keeps the manifests' image")
	version.Version = "v1.2.3"
	require.Equal(t, ImageRepository+":v1.2.3", DefaultImage())
	version.Version = "v1.2.3-4-gabcdef-dirty"
	require.Equal(t, ImageRepository+":v1.2.3-4-gabcdef-dirty", DefaultImage())
	version.Version = "abcdef1"
	require.Equal(t, "", DefaultImage())
}

// noCluster fails every client it is asked for.
type noCluster struct {
	asked *bool
	ns    string // -n, when given
}

func (n noCluster) RESTConfig() (*rest.Config, error) {
	*n.asked = true
	return nil, errors.New("no cluster")
}
func (n noCluster) RESTMapper() (meta.RESTMapper, error) {
	*n.asked = true
	return nil, errors.New("no cluster")
}
func (n noCluster) Namespace() (string, bool, error) { return n.ns, n.ns != "", nil }

func TestInstallClientDryRunTouchesNothing(t *testing.T) {
	asked := false
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCommand(noCluster{asked: &asked}, streams)
	cmd.SetArgs([]string{"install", "--dry-run=client", "-o", "yaml", "--image", "example/webhook:t"})
	require.NoError(t, cmd.Execute(), errOut.String())
	require.False(t, asked, "a client dry run must not read the kubeconfig")
	docs := strings.Split(out.String(), "\n---\n")
	objs, err := Render(SelfManaged, "example/webhook:t")
	require.NoError(t, err)
	require.Len(t, docs, len(objs))
	for i, doc := range docs {
		u := decode(t, []byte(doc))
		require.True(t, equality.Semantic.DeepEqual(objs[i].Object, u.Object), "document %d", i)
	}
	require.Contains(t, out.String(), "--self-managed-certs")

	streams, _, out, _ = genericiooptions.NewTestIOStreams()
	cmd = NewCommand(noCluster{asked: &asked}, streams)
	cmd.SetArgs([]string{"uninstall", "--dry-run=bogus"})
	require.ErrorContains(t, cmd.Execute(), `--dry-run "bogus" is not supported`)
	require.False(t, asked)
	_ = out
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "-o", "table"}, `-o "table" is not supported`},
		{[]string{"install", "--wait", "--dry-run=server"}, "--wait waits for a real install"},
		{[]string{"install", "--timeout", "0"}, "--timeout 0s"},
		{[]string{"status", "-o", "yaml"}, `-o "yaml" is not supported`},
	} {
		asked := false
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		cmd := NewCommand(noCluster{asked: &asked}, streams)
		cmd.SetArgs(tc.args)
		require.ErrorContains(t, cmd.Execute(), tc.want, "%v", tc.args)
		require.False(t, asked, "%v", tc.args)
	}
	for _, verb := range []string{"install", "uninstall", "status"} {
		asked := false
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		cmd := NewCommand(noCluster{asked: &asked, ns: "kong"}, streams)
		cmd.SetArgs([]string{verb})
		require.ErrorContains(t, cmd.Execute(), "the webhook always runs in the namespace kubectl-konnect-system", verb)
		require.False(t, asked, verb)
	}
}

// config/ pins the webhook image to a release, never latest, in every
// variant (kubectl apply -k config/default runs exactly that image).
func TestManifestsPinTheImage(t *testing.T) {
	for _, v := range Variants {
		objs, err := Render(v, "")
		require.NoError(t, err)
		for _, u := range objs {
			if u.GetKind() != "Deployment" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				image := c.(map[string]any)["image"].(string)
				repo, tag, ok := strings.Cut(image, ":")
				require.True(t, ok, "%s: %s has no tag", v, image)
				require.Equal(t, ImageRepository, repo)
				require.Regexp(t, releaseVersion, tag, "%s: the image must name a release", v)
			}
		}
	}
}
