package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/charts"
	webhookcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The Helm chart installed with the Helm Go SDK (as `helm install
// --create-namespace` does) into the test API server, then the same checks
// config/default passes in TestWebhookInstall: the real webhook binary runs
// with the installed Deployment's flags under the installed
// ServiceAccount's token, behind the installed Service (no kubelet here: see
// TestWebhookInstall), makes its certificate, sets the caBundle, and denies
// a KongService on a KIC control plane through the Service. The chart is the
// same on every profile, so one profile (the newest) runs it.
func TestHelmChartInstall(t *testing.T) {
	installPlugin(t)
	webhookBin := buildWebhook(t)
	p := testenv.Profiles[len(testenv.Profiles)-1]
	ctx := context.Background()
	hostIP := nonLoopbackIPv4(t)

	env, err := testenv.New(ctx, p, testenv.Options{AggregatorRouting: true, NoStandIn: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	kube, err := kubernetes.NewForConfig(env.Config)
	require.NoError(t, err)

	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig = ptr.To(env.Kubeconfig)
	rel, err := charts.Install(ctx, getter, filepath.Join(testenv.RepoRoot(), "charts", charts.WebhookChart), "konnect-webhook", whNS, nil)
	require.NoError(t, err)
	t.Logf("helm install: release %s revision %d, status %s", rel.Name, rel.Version, rel.Info.Status)

	dep, err := kube.AppsV1().Deployments(whNS).Get(ctx, webhookcmd.DeploymentName, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "Helm", dep.Labels["app.kubernetes.io/managed-by"])
	require.Equal(t, whSA, dep.Spec.Template.Spec.ServiceAccountName)
	var container *corev1.Container
	for i := range dep.Spec.Template.Spec.Containers {
		if dep.Spec.Template.Spec.Containers[i].Name == webhookcmd.ContainerName {
			container = &dep.Spec.Template.Spec.Containers[i]
		}
	}
	require.NotNil(t, container)

	// The pod's identity: a token of the installed ServiceAccount, straight
	// to the API server.
	token := strings.TrimSpace(env.MustKubectl(t, "", "create", "token", whSA, "-n", whNS, "--duration=1h"))
	kubeconfig := writeTokenKubeconfig(t, env.Config.Host, env.Config.CAData, token)
	flags, procEnv := podFlags(t, container, hostIP)
	wh := startWebhook(t, webhookBin, flags, append(procEnv, "KUBECONFIG="+kubeconfig))
	wh.waitReady(t, time.Minute)
	routeServiceToLocalWebhook(ctx, t, kube, hostIP, wh.port)
	require.Eventually(t, func() bool {
		vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		return err == nil && len(vwc.Webhooks[0].ClientConfig.CABundle) > 0
	}, 30*time.Second, 200*time.Millisecond, "the webhook never set the caBundle\n%s", wh.logTail())

	// The plugin's status reads a Helm install like its own.
	out, errOut, err := env.Kubectl(ctx, "", "konnect", "webhook", "status")
	require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, "Ready: the API server calls the webhook.")

	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	kic := seedBaseFor(p, env.Token, "kic-"+ns, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", crt, key)
	kicService := manifest(t, kic[5])
	applyOK(t, env, ns, manifest(t, kic[:3]...)) // token Secret, auth, KIC control plane
	before := wh.admissions(t)
	waitDenied(t, env, ns, kicService, "[KON1001]")
	out, errOut, err = env.Kubectl(ctx, kicService, "apply", "-n", ns, "-f", "-")
	require.Error(t, err, "stdout: %s", out)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, errOut, "[KON1001] Attaching to ControlPlane "+ns+"/gateway-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported")
	_, getErr := env.Get(ctx, testenv.GVKKongService, ns, "echo")
	require.True(t, apierrors.IsNotFound(getErr), "the denied KongService must not exist: %v", getErr)
	require.Greater(t, wh.admissions(t), before, "the admission requests reached the webhook process")
}
