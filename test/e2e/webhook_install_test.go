package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	webhookcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The webhook installed on the local stack as a user installs it, and run
// as it runs in a cluster, under its own ServiceAccount with exactly the
// RBAC of config/ (issues 7 and 8).
//
// The local stack has no kubelet and no kube-proxy: the Deployment never
// gets a pod and a Service's ClusterIP leads nowhere. So the API server
// runs with --enable-aggregator-routing, which makes it call a webhook
// Service at one of its EndpointSlice endpoints; the real webhook binary
// runs as a local process with the Deployment's own flags and environment,
// on this machine's non-loopback address (endpoints may not be loopback),
// and an EndpointSlice written by hand, as the EndpointSlice controller
// would for a ready pod, puts it behind the installed Service. Everything
// else is the product: the plugin's install and uninstall, the manifests
// of config/default, self-managed certificates (the webhook creates its
// Secret and sets the caBundle), and the API server's own service
// resolution and TLS verification.
//
// The webhook reaches the API server through a pass-through TLS proxy that
// counts, in every response, the values and names of Secrets created during
// the test: what the process really received, beyond what RBAC allows.

const (
	whNS   = webhookcmd.Namespace
	whSA   = "kubectl-konnect-webhook"
	whUser = "system:serviceaccount:" + whNS + ":" + whSA
)

func TestWebhookInstall(t *testing.T) {
	installPlugin(t)
	webhookBin := buildWebhook(t)
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) { webhookInstall(t, p, webhookBin) })
	}
}

func webhookInstall(t *testing.T, p testenv.Profile, webhookBin string) {
	ctx := context.Background()
	hostIP := nonLoopbackIPv4(t)

	start := time.Now()
	env, err := testenv.New(ctx, p, testenv.Options{AggregatorRouting: true, NoStandIn: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	t.Logf("test ground with --enable-aggregator-routing up in %s; webhook endpoint address %s", time.Since(start).Round(time.Millisecond), hostIP)
	kube, err := kubernetes.NewForConfig(env.Config)
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)

	// Objects of the scenario. The KongService on a control plane of
	// cluster type KIC is what KON1001 denies.
	ns := env.Namespace(t)
	crt, key := selfSignedPair(t, "dp")
	kic := seedBaseFor(p, env.Token, "kic-"+ns, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", crt, key)
	kicService := manifest(t, kic[5])
	// Secrets the webhook must learn of without receiving their data: one
	// created through the API, one with kubectl apply --server-side.
	canaryName := "canary-" + randHex(t, 4)
	canaryValue := "canary-value-" + randHex(t, 16)
	ssaName := "ssa-" + randHex(t, 4)
	ssaValue := "ssa-value-" + randHex(t, 16)

	var (
		wh      *webhookProcess
		spy     *secretSpy
		whFlags []string
		whEnv   []string
	)

	// The webhook process, its proxy and its files live as long as the
	// whole test, not one step.
	top := t
	run := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			if wh != nil {
				t.Logf("webhook log (tail):\n%s", wh.logTail())
			}
			t.FailNow()
		}
	}

	run("install", func(t *testing.T) {
		// A client dry run prints what kubectl apply -k config/default
		// applies, and touches nothing.
		out, errOut, err := env.Kubectl(ctx, "", "konnect", "webhook", "install", "--dry-run=client", "-o", "yaml")
		require.NoError(t, err, errOut)
		require.Contains(t, out, "kind: ValidatingWebhookConfiguration")
		require.Contains(t, out, "--self-managed-certs")
		_, err = kube.CoreV1().Namespaces().Get(ctx, whNS, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "a client dry run must create nothing: %v", err)

		// A server dry run checks what it can; the namespace does not exist
		// yet, so nothing in it can be checked.
		out, errOut, err = env.Kubectl(ctx, "", "konnect", "webhook", "install", "--dry-run=server")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		require.Contains(t, out, "namespace/"+whNS+" created (server dry run)\n")
		require.Contains(t, out, "deployment.apps/kubectl-konnect-webhook not checked (server dry run): the namespace "+whNS+" does not exist yet\n")
		require.Contains(t, out, "validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook created (server dry run)\n")
		_, err = kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "a server dry run must persist nothing: %v", err)

		out, errOut, err = env.Kubectl(ctx, "", "konnect", "webhook", "install")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		t.Logf("kubectl konnect webhook install:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		want, err := webhookcmd.Render(webhookcmd.SelfManaged, "")
		require.NoError(t, err)
		require.Len(t, lines, len(want))
		require.Equal(t, "namespace/"+whNS+" created", lines[0])
		require.Equal(t, "validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook created", lines[len(lines)-1],
			"the ValidatingWebhookConfiguration goes last, once what it calls exists")
		for _, l := range lines {
			require.True(t, strings.HasSuffix(l, " created"), l)
		}

		// Server-side apply, field manager kubectl-konnect.
		vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, webhookcmd.FieldManager, vwc.ManagedFields[0].Manager)
		require.Equal(t, metav1.ManagedFieldsOperationApply, vwc.ManagedFields[0].Operation)
		require.Len(t, vwc.Webhooks, 1)
		require.NotNil(t, vwc.Webhooks[0].ClientConfig.Service, "the API server calls the webhook through its Service")
		require.Nil(t, vwc.Webhooks[0].ClientConfig.URL)
		require.Empty(t, vwc.Webhooks[0].ClientConfig.CABundle, "the webhook sets the caBundle itself")
		// No admission request carries a Secret to the webhook.
		for _, r := range vwc.Webhooks[0].Rules {
			for _, res := range r.Resources {
				require.NotContains(t, []string{"secrets", "*", "*/*"}, res, "the webhook must not be sent Secrets")
			}
		}

		out, _, err = env.Kubectl(ctx, "", "konnect", "webhook", "status")
		require.NoError(t, err, "status exits 0 once everything is installed")
		require.Contains(t, out, fmt.Sprintf("installed      %d of %d objects", len(want), len(want)))
		require.Contains(t, out, "Installed, not ready")
		require.Contains(t, out, "caBundle       not set")
	})

	run("webhook runs as its ServiceAccount", func(t *testing.T) {
		dep, err := kube.AppsV1().Deployments(whNS).Get(ctx, webhookcmd.DeploymentName, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, whSA, dep.Spec.Template.Spec.ServiceAccountName)
		var container *corev1.Container
		for i := range dep.Spec.Template.Spec.Containers {
			if dep.Spec.Template.Spec.Containers[i].Name == webhookcmd.ContainerName {
				container = &dep.Spec.Template.Spec.Containers[i]
			}
		}
		require.NotNil(t, container)

		// A token of the ServiceAccount, as the kubelet would mount.
		token := strings.TrimSpace(env.MustKubectl(t, "", "create", "token", whSA, "-n", whNS, "--duration=2h"))
		spy = newSecretSpy(top, env.Config, map[string][]byte{
			"canary value":           []byte(canaryValue),
			"canary value (base64)":  []byte(b64(canaryValue)),
			"canary name":            []byte(canaryName),
			"ssa value":              []byte(ssaValue),
			"ssa value (base64)":     []byte(b64(ssaValue)),
			"ssa name":               []byte(ssaName),
			"Konnect token":          []byte(env.Token),
			"Konnect token (base64)": []byte(b64(env.Token)),
		})
		kubeconfig := writeTokenKubeconfig(top, spy.URL(), spy.CAPEM(), token)

		whFlags, whEnv = podFlags(top, container, hostIP)
		whEnv = append(whEnv, "KUBECONFIG="+kubeconfig)
		wh = startWebhook(top, webhookBin, whFlags, whEnv)
		t.Logf("webhook: %s %s", webhookBin, strings.Join(whFlags, " "))
		wh.waitReady(t, time.Minute)

		// What the EndpointSlice controller writes for a ready pod.
		routeServiceToLocalWebhook(ctx, t, kube, hostIP, wh.port)

		// The webhook made its certificate Secret and set the caBundle.
		require.Eventually(t, func() bool {
			vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
			return err == nil && len(vwc.Webhooks[0].ClientConfig.CABundle) > 0
		}, 30*time.Second, 200*time.Millisecond, "the webhook never set the caBundle")

		// Installing again changes nothing, keeps the caBundle, and --wait
		// sees the webhook ready.
		before, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		require.NoError(t, err)
		out, errOut, err := env.Kubectl(ctx, "", "konnect", "webhook", "install", "--wait", "--timeout=1m")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			require.True(t, strings.HasSuffix(l, " unchanged"), "a second install must change nothing: %s", l)
		}
		require.Contains(t, errOut, "Webhook ready: caBundle set, 1 ready endpoint(s)")
		after, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, before.ResourceVersion, after.ResourceVersion)
		require.Equal(t, before.Webhooks[0].ClientConfig.CABundle, after.Webhooks[0].ClientConfig.CABundle)

		out, _, err = env.Kubectl(ctx, "", "konnect", "webhook", "status")
		require.NoError(t, err)
		require.Contains(t, out, "Ready: the API server calls the webhook.")
		require.Contains(t, out, fmt.Sprintf("endpoints      1 ready: %s", net.JoinHostPort(hostIP, strconv.Itoa(wh.port))))
		require.Contains(t, out, "certificate    Secret "+whNS+"/"+webhookcmd.CertSecretName+" present")
		require.Contains(t, out, "failurePolicy  Ignore")
	})

	run("denies through the Service", func(t *testing.T) {
		applyOK(t, env, ns, manifest(t, kic[:3]...)) // token Secret, auth, KIC control plane
		before := wh.admissions(t)
		waitDenied(t, env, ns, kicService, "[KON1001]")
		out, errOut, err := env.Kubectl(ctx, kicService, "apply", "-n", ns, "-f", "-")
		require.Error(t, err, "stdout: %s", out)
		require.Equal(t, 1, exitCode(err))
		require.Contains(t, errOut, `The KongService "echo" is invalid`)
		require.Contains(t, errOut, fmt.Sprintf("[KON1001] Attaching to ControlPlane %s/gateway-cp with cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER is not supported", ns))
		_, getErr := env.Get(ctx, testenv.GVKKongService, ns, "echo")
		require.True(t, apierrors.IsNotFound(getErr), "the denied KongService must not exist: %v", getErr)
		require.Greater(t, wh.admissions(t), before, "the admission requests reached the webhook process")
	})

	run("least privilege", func(t *testing.T) {
		canI := func(args ...string) string {
			out, _, _ := env.Kubectl(ctx, "", append([]string{"auth", "can-i", "--as", whUser}, args...)...)
			return strings.TrimSpace(out)
		}
		for _, c := range []struct {
			want string
			args []string
		}{
			{"no", []string{"get", "secrets", "-n", ns}},
			{"no", []string{"get", "secrets/konnect-token", "-n", ns}},
			{"no", []string{"get", "secrets", "-n", whNS}},
			{"no", []string{"get", "secrets/some-other-secret", "-n", whNS}},
			{"yes", []string{"get", "secrets/" + webhookcmd.CertSecretName, "-n", whNS}},
			{"yes", []string{"update", "secrets/" + webhookcmd.CertSecretName, "-n", whNS}},
			{"no", []string{"update", "secrets/konnect-token", "-n", ns}},
			{"yes", []string{"create", "secrets", "-n", whNS}},
			{"no", []string{"create", "secrets", "-n", ns}},
			{"no", []string{"delete", "secrets", "-n", whNS}},
			// RBAC cannot say "metadata only": the informer's list and
			// watch are granted, and the webhook asks for metadata only
			// (proven below by what it actually received).
			{"yes", []string{"list", "secrets", "-A"}},
			{"yes", []string{"watch", "secrets", "-A"}},
			{"yes", []string{"patch", "validatingwebhookconfigurations/" + webhookcmd.WebhookConfigName}},
			{"no", []string{"patch", "validatingwebhookconfigurations/another-webhook"}},
			{"no", []string{"delete", "validatingwebhookconfigurations/" + webhookcmd.WebhookConfigName}},
			{"yes", []string{"list", "kongservices.configuration.konghq.com", "-A"}},
			{"no", []string{"create", "kongservices.configuration.konghq.com", "-n", ns}},
			{"no", []string{"get", "configmaps", "-n", ns}},
			{"no", []string{"create", "pods", "-n", whNS}},
		} {
			require.Equal(t, c.want, canI(c.args...), "kubectl auth can-i %s as %s", strings.Join(c.args, " "), whUser)
		}

		// With its own token, the ServiceAccount cannot get a Secret.
		token := strings.TrimSpace(env.MustKubectl(t, "", "create", "token", whSA, "-n", whNS, "--duration=10m"))
		caPEM := env.Config.CAData
		if len(caPEM) == 0 && env.Config.CAFile != "" {
			caPEM, err = os.ReadFile(env.Config.CAFile)
			require.NoError(t, err)
		}
		saKubeconfig := writeTokenKubeconfig(t, env.Config.Host, caPEM, token)
		_, errOut, err := env.Kubectl(ctx, "", "--kubeconfig", saKubeconfig, "get", "secret", "konnect-token", "-n", ns, "-o", "yaml")
		require.Error(t, err)
		require.Contains(t, errOut, fmt.Sprintf(`secrets "konnect-token" is forbidden: User "%s" cannot get resource "secrets"`, whUser))

		// The webhook works on Secrets it knows by metadata only: a Secret
		// created now (so the webhook learns it from its watch) without the
		// credential label is denied as the auth configuration's token
		// Secret (KON1502, a label); once labelled it is admitted.
		_, err = kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: canaryName},
			Data:       map[string][]byte{"token": []byte(canaryValue)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		auth := manifest(t, obj{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": meta("canary-auth"),
			"spec": obj{"type": "secretRef", "secretRef": obj{"name": canaryName}, "serverURL": "us.api.konghq.com"}})
		waitDenied(t, env, ns, auth, "[KON1502]")
		env.MustKubectl(t, "", "label", "secret", canaryName, "-n", ns, "konghq.com/credential=konnect", "konghq.com/secret=true")
		require.Eventually(t, func() bool {
			_, errOut, err := env.Kubectl(ctx, auth, "apply", "--dry-run=server", "-n", ns, "-f", "-")
			return err == nil && !strings.Contains(errOut, "KON15")
		}, waitTimeout, 200*time.Millisecond, "the labelled Secret is never accepted")
		applyOK(t, env, ns, auth)

		// A Secret applied server-side, as kubectl konnect init does.
		ssa := manifest(t, obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta(ssaName), "stringData": obj{"token": ssaValue}})
		env.MustKubectl(t, ssa, "apply", "--server-side", "--field-manager=e2e", "-n", ns, "-f", "-")
		require.Eventually(t, func() bool { return spy.Seen()["ssa name"] > 0 }, waitTimeout, 100*time.Millisecond,
			"the webhook's watch never delivered Secret %s", ssaName)

		// What the webhook received from the API server, all its life: the
		// names and labels of Secrets, not their data.
		seen := spy.Seen()
		t.Logf("needles in what the webhook received: %v", seen)
		require.Positive(t, seen["canary name"], "the webhook's watch never delivered the canary Secret: the checks below would prove nothing")
		for _, label := range []string{"canary value", "canary value (base64)", "ssa value", "ssa value (base64)", "Konnect token (base64)"} {
			require.Zero(t, seen[label], "the webhook received the %s", label)
		}
		// Except through kubectl's client-side apply: it copies the whole
		// object it applies, stringData included, into the annotation
		// kubectl.kubernetes.io/last-applied-configuration, which is
		// metadata. The token Secret of seedBase was applied that way: its
		// token reached the webhook verbatim (the base64 of its data field
		// never did), and the informer's transform dropped it before
		// storing. docs: create Secrets with kubectl create secret, kubectl
		// apply --server-side or kubectl konnect init.
		tokenSecret, err := kube.CoreV1().Secrets(ns).Get(ctx, "konnect-token", metav1.GetOptions{})
		require.NoError(t, err)
		require.Contains(t, tokenSecret.Annotations[corev1.LastAppliedConfigAnnotation], env.Token)
		require.Positive(t, seen["Konnect token"], "the last-applied-configuration annotation is metadata, and the webhook watches Secrets' metadata")
		reqs := spy.SecretRequests()
		var metadataOnly, own int
		for _, r := range reqs {
			switch {
			case r.path == "/api/v1/secrets":
				require.Contains(t, r.accept, "as=PartialObjectMetadata", "Secret list/watch without metadata-only: %+v", r)
				t.Logf("Secret %s %s?%s\n  Accept: %s\n  Content-Type: %s", r.method, r.path, r.query, r.accept, r.contentType)
				metadataOnly++
			case r.path == "/api/v1/namespaces/"+whNS+"/secrets/"+webhookcmd.CertSecretName || (r.path == "/api/v1/namespaces/"+whNS+"/secrets" && r.method == http.MethodPost):
				own++
			default:
				t.Errorf("the webhook asked for a Secret other than its own certificate: %+v", r)
			}
		}
		require.Positive(t, metadataOnly, "the webhook lists and watches Secrets as metadata (one streaming watch-list request): %+v", reqs)
		require.Positive(t, own, "the webhook reads its own certificate Secret: %+v", reqs)
		t.Logf("the webhook made %d Secret requests: %d metadata-only list/watch, %d on its own certificate Secret", len(reqs), metadataOnly, own)
	})

	run("webhook down: failurePolicy Ignore admits", func(t *testing.T) {
		wh.stop(t)
		vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, webhookcmd.WebhookConfigName, metav1.GetOptions{})
		require.NoError(t, err, "the configuration stays while the webhook is down")
		require.Equal(t, "Ignore", string(*vwc.Webhooks[0].FailurePolicy))

		ns2 := env.Namespace(t)
		valid := seedBaseFor(p, env.Token, "valid-"+ns2, "", crt, key)
		start := time.Now()
		out, errOut, err := env.Kubectl(ctx, manifest(t, append(valid[:3:3], valid[5])...), "apply", "-n", ns2, "-f", "-")
		took := time.Since(start)
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		require.Contains(t, out, "kongservice.configuration.konghq.com/echo created")
		require.Less(t, took, 10*time.Second, "a dead webhook must not hold requests up to its timeout")
		t.Logf("with the webhook down, kubectl apply of 4 valid objects took %s", took.Round(time.Millisecond))
	})

	run("uninstall", func(t *testing.T) {
		// The webhook is up again (same Secret, same CA) when uninstall
		// starts, as in a cluster.
		caBefore := caBundle(t, kube)
		wh = startWebhook(top, webhookBin, whFlags, whEnv)
		wh.waitReady(t, time.Minute)
		waitDenied(t, env, ns, kicService, "[KON1001]")
		require.Equal(t, caBefore, caBundle(t, kube), "a restarted webhook keeps its CA")

		out, errOut, err := env.Kubectl(ctx, "", "konnect", "webhook", "uninstall", "--dry-run=client")
		require.NoError(t, err, errOut)
		require.True(t, strings.HasPrefix(out, "validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook deleted (dry run)\n"), out)
		caBundle(t, kube) // still there

		rec := watchDeletions(t, dyn)
		out, errOut, err = env.Kubectl(ctx, "", "konnect", "webhook", "uninstall")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		t.Logf("kubectl konnect webhook uninstall:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Equal(t, "validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook deleted: the API server no longer calls the webhook", lines[0])
		require.Equal(t, "namespace/"+whNS+" deleted", lines[len(lines)-1])
		rec.requireVWCFirst(t)

		wh.stop(t)
		// The KongService the webhook denied is admitted now: nothing
		// calls a webhook that is gone.
		out, errOut, err = env.Kubectl(ctx, kicService, "apply", "-n", ns, "-f", "-")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		require.Contains(t, out, "kongservice.configuration.konghq.com/echo created")
		require.NotContains(t, errOut, "Warning")

		out, _, err = env.Kubectl(ctx, "", "konnect", "webhook", "status")
		require.Error(t, err)
		require.Equal(t, 1, exitCode(err))
		require.Contains(t, out, "Not installed")

		// Again: nothing left to do, and no error.
		out, errOut, err = env.Kubectl(ctx, "", "konnect", "webhook", "uninstall")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		require.True(t, strings.HasPrefix(out, "validatingwebhookconfiguration.admissionregistration.k8s.io/kubectl-konnect-webhook not found\n"), out)
	})
}

// applyOK applies a manifest with kubectl and fails t on error.
func applyOK(t *testing.T, env *testenv.Env, ns, m string) {
	t.Helper()
	env.MustKubectl(t, m, "apply", "-n", ns, "-f", "-")
}

// waitDenied retries a server-side dry run of m until the webhook denies it
// with code (its cache may not have seen what m refers to yet), then
// returns.
func waitDenied(t *testing.T, env *testenv.Env, ns, m, code string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last string
	for time.Now().Before(deadline) {
		out, errOut, err := env.Kubectl(context.Background(), m, "apply", "--dry-run=server", "-n", ns, "-f", "-")
		if err != nil && strings.Contains(errOut, code) {
			return
		}
		last = fmt.Sprintf("err: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the webhook never denied with %s; last attempt:\n%s", code, last)
}

func caBundle(t *testing.T, kube kubernetes.Interface) []byte {
	t.Helper()
	vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(context.Background(), webhookcmd.WebhookConfigName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, vwc.Webhooks[0].ClientConfig.CABundle)
	return vwc.Webhooks[0].ClientConfig.CABundle
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// nonLoopbackIPv4 is an address of this machine the API server can dial
// and an EndpointSlice may hold (validation rejects loopback addresses).
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	require.NoError(t, err)
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip := ipn.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address: an EndpointSlice cannot point at a local webhook")
	return ""
}

func freePort(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	webhookBinOnce sync.Once
	webhookBinPath string
	webhookBinErr  error
)

func buildWebhook(t *testing.T) string {
	t.Helper()
	webhookBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubectl-konnect-webhook-bin-")
		if err != nil {
			webhookBinErr = err
			return
		}
		webhookBinPath = filepath.Join(dir, "webhook")
		cmd := exec.Command("go", "build", "-o", webhookBinPath, "./cmd/webhook")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			webhookBinErr = fmt.Errorf("go build ./cmd/webhook: %v\n%s", err, out)
		}
	})
	require.NoError(t, webhookBinErr)
	return webhookBinPath
}

// podFlags turns the Deployment's container into the flags and environment
// of a local process: the same arguments, with this machine's address,
// free ports and a temporary certificate folder in place of the pod's.
func podFlags(t *testing.T, c *corev1.Container, hostIP string) (flags, env []string) {
	t.Helper()
	require.Empty(t, c.Command, "the image's entrypoint is the webhook binary")
	certDir := t.TempDir()
	replaced := map[string]string{
		"--cert-dir":                  certDir,
		"--port":                      strconv.Itoa(freePort(t, hostIP)),
		"--metrics-bind-address":      net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, "127.0.0.1"))),
		"--health-probe-bind-address": net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, "127.0.0.1"))),
	}
	seen := map[string]bool{}
	for _, a := range c.Args {
		name, _, hasValue := strings.Cut(a, "=")
		if v, ok := replaced[name]; ok {
			require.True(t, hasValue, "flag %s without =value", a)
			flags = append(flags, name+"="+v)
			seen[name] = true
			continue
		}
		flags = append(flags, a)
	}
	for name, v := range replaced {
		if !seen[name] {
			flags = append(flags, name+"="+v)
		}
	}
	require.Contains(t, flags, "--self-managed-certs", "config/default runs the webhook with self-managed certificates")
	flags = append(flags, "--host="+hostIP, "--zap-log-level=info")
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+whNS)
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		default:
			t.Fatalf("the test cannot give the process the pod's variable %s", e.Name)
		}
	}
	return flags, env
}

// webhookProcess is cmd/webhook running as a local process.
type webhookProcess struct {
	cmd                     *exec.Cmd
	done                    chan struct{}
	logPath                 string
	port, probes, metrics   int
	stopped                 bool
	waitErr                 error
	probeAddr, metricsAddrs string
}

func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

func startWebhook(t *testing.T, bin string, flags, env []string) *webhookProcess {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "webhook-*.log")
	require.NoError(t, err)
	cmd := exec.Command(bin, flags...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	w := &webhookProcess{cmd: cmd, done: make(chan struct{}), logPath: logFile.Name(),
		probeAddr: flagValue(flags, "--health-probe-bind-address"), metricsAddrs: flagValue(flags, "--metrics-bind-address")}
	w.port, _ = strconv.Atoi(flagValue(flags, "--port"))
	go func() {
		w.waitErr = cmd.Wait()
		logFile.Close()
		close(w.done)
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

func (w *webhookProcess) logTail() string {
	b, _ := os.ReadFile(w.logPath)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// waitReady polls /readyz (server started, caches synced), as the
// Deployment's readiness probe does.
func (w *webhookProcess) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			t.Fatalf("the webhook exited: %v\n%s", w.waitErr, w.logTail())
		default:
		}
		resp, err := http.Get("http://" + w.probeAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the webhook was not ready within %s\n%s", timeout, w.logTail())
}

var admissionsMetric = regexp.MustCompile(`(?m)^controller_runtime_webhook_requests_total\{code="200",webhook="/validate"\} (\d+)$`)

// admissions is how many admission requests the process answered.
func (w *webhookProcess) admissions(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + w.metricsAddrs + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	m := admissionsMetric.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func (w *webhookProcess) stop(t *testing.T) {
	if w.stopped {
		return
	}
	w.stopped = true
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		t.Errorf("the webhook did not stop within 20s of SIGTERM")
	}
}

// writeTokenKubeconfig writes a kubeconfig that authenticates with a bearer
// token, as a pod's in-cluster configuration does.
func writeTokenKubeconfig(t *testing.T, server string, caPEM []byte, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: sa
  user:
    token: %s
contexts:
- name: sa
  context: {cluster: envtest, user: sa}
current-context: sa
`, server, base64.StdEncoding.EncodeToString(caPEM), token)
	require.NoError(t, os.WriteFile(path, []byte(kc), 0o600))
	return path
}

// secretSpy is a TLS reverse proxy between the webhook and the API server.
// It passes everything through (the webhook's own token authenticates) and
// records the Secret requests and how often each needle occurred in any
// response: what the webhook actually received.
type secretSpy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	needles map[string][]byte
	maxLen  int
	seen    map[string]int
	reqs    []spiedRequest
}

type spiedRequest struct {
	method, path, query, accept, contentType string
}

func newSecretSpy(t *testing.T, cfg *rest.Config, needles map[string][]byte) *secretSpy {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	require.NoError(t, err)
	tr, err := rest.TransportFor(&rest.Config{Host: cfg.Host, TLSClientConfig: rest.TLSClientConfig{CAData: cfg.CAData, CAFile: cfg.CAFile}})
	require.NoError(t, err)
	s := &secretSpy{needles: needles, seen: map[string]int{}}
	for label, n := range needles {
		require.NotEmpty(t, n, label)
		s.maxLen = max(s.maxLen, len(n))
		s.seen[label] = 0
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = tr
	proxy.FlushInterval = -1 // watches stream
	director := proxy.Director
	proxy.Director = func(r *http.Request) {
		director(r)
		// Identity encoding, so that the scan sees plain bytes.
		r.Header.Del("Accept-Encoding")
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		if isSecretPath(resp.Request.URL.Path) {
			s.mu.Lock()
			s.reqs = append(s.reqs, spiedRequest{method: resp.Request.Method, path: resp.Request.URL.Path, query: resp.Request.URL.RawQuery,
				accept: resp.Request.Header.Get("Accept"), contentType: resp.Header.Get("Content-Type")})
			s.mu.Unlock()
		}
		resp.Body = &scanningBody{rc: resp.Body, spy: s}
		return nil
	}
	s.srv = httptest.NewUnstartedServer(proxy)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

var secretPath = regexp.MustCompile(`^/api/v1/(namespaces/[^/]+/)?secrets(/|$)`)

func isSecretPath(p string) bool { return secretPath.MatchString(p) }

func (s *secretSpy) URL() string { return s.srv.URL }

func (s *secretSpy) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Seen returns how often each needle occurred in responses so far.
func (s *secretSpy) Seen() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

func (s *secretSpy) SecretRequests() []spiedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]spiedRequest(nil), s.reqs...)
}

// scanningBody counts needles in a response stream, including those that
// straddle two reads.
type scanningBody struct {
	rc   io.ReadCloser
	spy  *secretSpy
	tail []byte
}

func (b *scanningBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		buf := append(b.tail, p[:n]...)
		b.spy.mu.Lock()
		for label, needle := range b.spy.needles {
			for off := 0; ; {
				i := bytes.Index(buf[off:], needle)
				if i < 0 {
					break
				}
				if off+i+len(needle) > len(b.tail) { // not counted with the previous read
					b.spy.seen[label]++
				}
				off += i + 1
			}
		}
		keep := b.spy.maxLen - 1
		b.spy.mu.Unlock()
		if len(buf) > keep {
			buf = buf[len(buf)-keep:]
		}
		b.tail = append([]byte(nil), buf...)
	}
	return n, err
}

func (b *scanningBody) Close() error { return b.rc.Close() }

// deletionRecorder watches every object of the webhook and records the
// resourceVersion at which each was deleted (for the namespace, which
// stays Terminating here without a namespace controller: marked for
// deletion). resourceVersions are etcd revisions: their order is the order
// of the writes.
type deletionRecorder struct {
	mu      sync.Mutex
	deleted map[string]uint64
	want    []string
	cancel  context.CancelFunc
}

func watchDeletions(t *testing.T, dyn dynamic.Interface) *deletionRecorder {
	t.Helper()
	objs, err := webhookcmd.Render(webhookcmd.SelfManaged, "")
	require.NoError(t, err)
	sec := &unstructured.Unstructured{}
	sec.SetAPIVersion("v1")
	sec.SetKind("Secret")
	sec.SetNamespace(whNS)
	sec.SetName(webhookcmd.CertSecretName)
	objs = append(objs, sec)
	ctx, cancel := context.WithCancel(context.Background())
	r := &deletionRecorder{deleted: map[string]uint64{}, cancel: cancel}
	t.Cleanup(cancel)
	for _, u := range objs {
		gvr := gvrOf(t, u)
		k := u.GetKind() + "/" + u.GetName()
		r.want = append(r.want, k)
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(gvr).Namespace(u.GetNamespace())
		}
		w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + u.GetName()})
		require.NoError(t, err, "watching %s", k)
		ready := make(chan struct{})
		go func() {
			defer w.Stop()
			once := sync.Once{}
			timer := time.AfterFunc(2*time.Second, func() { once.Do(func() { close(ready) }) })
			defer timer.Stop()
			for ev := range w.ResultChan() {
				o, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				if ev.Type == watch.Added {
					once.Do(func() { close(ready) }) // the initial state is in
				}
				if ev.Type == watch.Deleted || (ev.Type == watch.Modified && o.GetDeletionTimestamp() != nil) {
					rv, err := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
					if err == nil {
						r.mu.Lock()
						if _, dup := r.deleted[k]; !dup {
							r.deleted[k] = rv
						}
						r.mu.Unlock()
					}
				}
			}
		}()
		<-ready
	}
	return r
}

func gvrOf(t *testing.T, u *unstructured.Unstructured) schema.GroupVersionResource {
	t.Helper()
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	require.NoError(t, err)
	resources := map[string]string{
		"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
		"ClusterRoleBinding": "clusterrolebindings", "Role": "roles", "RoleBinding": "rolebindings",
		"Service": "services", "Deployment": "deployments", "PodDisruptionBudget": "poddisruptionbudgets",
		"ValidatingWebhookConfiguration": "validatingwebhookconfigurations", "Secret": "secrets",
	}
	res, ok := resources[u.GetKind()]
	require.True(t, ok, "no resource known for %s", u.GetKind())
	return gv.WithResource(res)
}

// requireVWCFirst waits for every deletion and checks that the
// ValidatingWebhookConfiguration's came before all others.
func (r *deletionRecorder) requireVWCFirst(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.deleted) == len(r.want)
	}, 10*time.Second, 50*time.Millisecond, "not every object was deleted: want %v", r.want)
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	vwc := r.deleted["ValidatingWebhookConfiguration/"+webhookcmd.WebhookConfigName]
	require.NotZero(t, vwc)
	var order []string
	for k, rv := range r.deleted {
		order = append(order, fmt.Sprintf("%d %s", rv, k))
		if k != "ValidatingWebhookConfiguration/"+webhookcmd.WebhookConfigName {
			require.Greater(t, rv, vwc, "%s was deleted before the ValidatingWebhookConfiguration", k)
		}
	}
	sort.Slice(order, func(i, j int) bool { return numLess(order[i], order[j]) })
	t.Logf("deletions by resourceVersion:\n  %s", strings.Join(order, "\n  "))
}

func numLess(a, b string) bool {
	na, _ := strconv.ParseUint(strings.Fields(a)[0], 10, 64)
	nb, _ := strconv.ParseUint(strings.Fields(b)[0], 10, 64)
	return na < nb
}

// routeServiceToLocalWebhook writes what the EndpointSlice controller writes
// for a ready webhook pod, pointing the installed Service at the local
// webhook process (no kubelet or kube-proxy here; the API server runs with
// aggregator routing).
func routeServiceToLocalWebhook(ctx context.Context, t *testing.T, kube kubernetes.Interface, hostIP string, port int) {
	t.Helper()
	_, err := kube.DiscoveryV1().EndpointSlices(whNS).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubectl-konnect-webhook-local", Labels: map[string]string{
			discoveryv1.LabelServiceName: webhookcmd.ServiceName,
			discoveryv1.LabelManagedBy:   "e2e.kubectl-konnect.dev",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{hostIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("webhook"), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}
