// Command demo starts the local stack that `make demo` shows: a real
// kube-apiserver with the CRDs of kong-operator 2.2 (and the Gateway API's),
// the fake Konnect and the KGO stand-in; runs `kubectl konnect init` against
// it and shows the data plane connecting, then the Gateway API road (init
// --gateway, an HTTPRoute, check --gateway); and prints how to point kubectl
// at it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/root"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The default is the newest stable kong-operator: it has both roads to Konnect (a DataPlane, and a
	// hybrid Gateway, from 2.1 on).
	profile := fs.String("profile", string(testenv.KO22), "CRD profile: kgo-1.4, kgo-1.6, ko-2.0, ko-2.2 or ko-2.3")
	dir := fs.String("dir", ".demo", "folder for the kubeconfig, the Konnect token and CA")
	smoke := fs.Bool("smoke", false, "start, check the stack with kubectl, and exit (for tests and CI)")
	namespace := fs.String("namespace", "demo", "namespace where `kubectl konnect init` sets up a data plane")
	if err := fs.Parse(args); err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "Starting the local stack (%s)...\n", *profile)
	start := time.Now()
	// The webhook runs in-process behind the ValidatingWebhookConfiguration we ship.
	env, err := testenv.New(ctx, testenv.Profile(*profile), testenv.Options{Dir: absDir, WithWebhook: true})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stderr, "Stopping the local stack...")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(stderr, "demo: stopping:", err)
		}
	}()
	tokenFile := filepath.Join(absDir, "konnect-token")
	envFile := filepath.Join(absDir, "env")
	var exports strings.Builder
	for _, kv := range env.PluginEnv() {
		fmt.Fprintf(&exports, "export %s\n", kv)
	}
	if err := errors.Join(
		os.WriteFile(tokenFile, []byte(env.Token+"\n"), 0o600),
		os.WriteFile(envFile, []byte(exports.String()), 0o644),
	); err != nil {
		return err
	}

	fmt.Fprintf(stdout, `
Local stack up in %s:
  kube-apiserver %s (envtest, built from source) with the %s CRDs
  fake Konnect (held to the Konnect OpenAPI spec) at %s, region %s
  KGO stand-in: a test double that programs KGO objects against the fake Konnect

Point kubectl (and kubectl konnect) at it, in another shell:
  source %s
  kubectl get crds | grep konghq.com

%s sets KUBECONFIG=%s and sends Konnect API calls to the fake Konnect.
The demo Konnect token is in %s (0600; never printed).
`, time.Since(start).Round(100*time.Millisecond), env.ServerVersion, *profile, env.Konnect.URL(), env.Konnect.Region(),
		envFile, envFile, env.Kubeconfig, tokenFile)

	if err := runInit(ctx, env, tokenFile, *namespace, stdout, stderr); err != nil {
		return err
	}
	if err := runCheck(ctx, env, *namespace, stdout, stderr); err != nil {
		return err
	}
	if err := runDenial(ctx, env, *namespace, stdout); err != nil {
		return err
	}
	if err := runGateway(ctx, env, tokenFile, *namespace+"-gateway", stdout, stderr); err != nil {
		return err
	}
	// The demo shows what Konnect would accept: a spec violation on the way
	// (by the plugin, the stand-in or the fake itself) fails it.
	if err := env.Konnect.ViolationsError(); err != nil {
		return err
	}

	if *smoke {
		out, errOut, err := env.Kubectl(ctx, "", "get", "crds", "-o", "name")
		if err != nil {
			return fmt.Errorf("kubectl get crds: %v: %s", err, errOut)
		}
		n := strings.Count(out, "konghq.com")
		if n == 0 {
			return fmt.Errorf("no konghq.com CRDs served")
		}
		fmt.Fprintf(stdout, "\nSmoke check: kubectl sees %d konghq.com CRDs.\n", n)
		return nil
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// runInit runs `kubectl konnect init` in-process, exactly as the plugin parses it, against the local
// stack: the kubeconfig by flag, Konnect reached through the same environment variables the plugin
// reads (restored afterwards), the token from the demo's token file. Then it waits for the data plane
// to show up as a node of the control plane in the fake Konnect.
func runInit(ctx context.Context, env *testenv.Env, tokenFile, ns string, stdout, stderr io.Writer) error {
	if err := env.CreateNamespace(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	restore, err := usePluginEnv(env)
	if err != nil {
		return err
	}
	defer restore()
	const controlPlane = "demo-gateway"
	args := []string{"init", "--kubeconfig", env.Kubeconfig, "-n", ns, "--control-plane", controlPlane, "--region", env.Konnect.Region(), "--token-file", tokenFile}
	fmt.Fprintf(stdout, "\n$ kubectl konnect %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := root.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: stderr})
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(ctx)
	_, _ = io.Copy(stdout, &out)
	if err != nil {
		return fmt.Errorf("kubectl konnect init: %w", err)
	}
	cp, ok := env.Konnect.ControlPlaneByName(controlPlane)
	if !ok {
		return fmt.Errorf("kubectl konnect init succeeded but Konnect has no control plane %q", controlPlane)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if nodes := env.Konnect.Nodes(cp.ID); len(nodes) > 0 {
			fmt.Fprintf(stdout, "\nData plane connected: Konnect control plane %q (%s) sees node %s (%s), last ping %s.\n",
				controlPlane, cp.ID, nodes[0].Hostname, nodes[0].ID, nodes[0].LastPing.UTC().Format(time.RFC3339))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the data plane did not connect to control plane %q within 30s", controlPlane)
}

// runDenial shows the webhook at work: kubectl apply of a KongService on a
// control plane of cluster type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER, which KGO
// would only refuse later in status, is refused by the API server. A KongService
// that gets through fails the demo.
func runDenial(ctx context.Context, env *testenv.Env, ns string, stdout io.Writer) error {
	cp := `apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectGatewayControlPlane
metadata: {name: kic-cp}
spec: {name: demo-kic, cluster_type: CLUSTER_TYPE_K8S_INGRESS_CONTROLLER, konnect: {authRef: {name: konnect-auth}}}
`
	if env.Profile.KongOperator2() {
		cp = `apiVersion: konnect.konghq.com/v1alpha2
kind: KonnectGatewayControlPlane
metadata: {name: kic-cp}
spec: {source: Origin, createControlPlaneRequest: {name: demo-kic, cluster_type: CLUSTER_TYPE_K8S_INGRESS_CONTROLLER}, konnect: {authRef: {name: konnect-auth}}}
`
	}
	svc := `apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: echo}
spec: {host: echo.demo.svc, port: 80, controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: kic-cp}}}
`
	if _, errOut, err := env.Kubectl(ctx, cp, "apply", "-n", ns, "-f", "-"); err != nil {
		return fmt.Errorf("kubectl apply of the KIC control plane: %v: %s", err, errOut)
	}
	// The webhook judges from its cache: let it see the control plane first.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, ok := env.WebhookLookup.Get(schema.GroupKind{Group: "konnect.konghq.com", Kind: "KonnectGatewayControlPlane"}, ns, "kic-cp"); ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the webhook never saw KonnectGatewayControlPlane %s/kic-cp", ns)
		}
	}
	fmt.Fprintf(stdout, "\nThe webhook refuses a KongService on a KIC control plane at apply time:\n$ kubectl apply -n %s -f - <<EOF\n%sEOF\n", ns, svc)
	out, errOut, err := env.Kubectl(ctx, svc, "apply", "-n", ns, "-f", "-")
	fmt.Fprint(stdout, out+errOut)
	if err == nil {
		return fmt.Errorf("the webhook admitted a KongService on a KIC control plane")
	}
	return nil
}

// usePluginEnv sets, for the in-process plugin, the variables that send its
// Konnect calls to the fake (the kubeconfig is passed as a flag), and returns
// what puts the environment back.
func usePluginEnv(env *testenv.Env) (restore func(), err error) {
	var undo []func()
	restore = func() {
		for _, u := range undo {
			u()
		}
	}
	for _, kv := range env.PluginEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "KUBECONFIG" {
			continue
		}
		old, had := os.LookupEnv(k)
		if err := os.Setenv(k, v); err != nil {
			restore()
			return nil, err
		}
		undo = append(undo, func() {
			if had {
				_ = os.Setenv(k, old)
			} else {
				_ = os.Unsetenv(k)
			}
		})
	}
	return restore, nil
}

// runCheck ends the demo with `kubectl konnect check` on the data plane init set up, in-process as
// the plugin parses it and with Konnect reached through the plugin's environment variables, as
// runInit does. It must pass: a failed check fails the demo. (Warnings, such as the webhook that the
// demo does not install, exit 0.)
func runCheck(ctx context.Context, env *testenv.Env, ns string, stdout, stderr io.Writer) error {
	restore, err := usePluginEnv(env)
	if err != nil {
		return err
	}
	defer restore()
	args := []string{"check", "--kubeconfig", env.Kubeconfig, "-n", ns, "--wait", "1m"}
	fmt.Fprintf(stdout, "\n$ kubectl konnect %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := root.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: stderr})
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(ctx)
	_, _ = io.Copy(stdout, &out)
	if err != nil {
		return fmt.Errorf("kubectl konnect check: %w", err)
	}
	return nil
}

// demoGateway is the Gateway of the demo's second road.
const demoGateway = "demo-edge"

// runGateway shows the Gateway API road (kong-operator >= 2.1): `kubectl konnect init --gateway`, an
// HTTPRoute that kong-operator (here the stand-in) turns into a KongService and KongRoute in Konnect,
// and `kubectl konnect check --gateway`, which must pass. Releases without hybrid Gateways say so.
func runGateway(ctx context.Context, env *testenv.Env, tokenFile, ns string, stdout, stderr io.Writer) error {
	if !env.Profile.Generation().AtLeast(rules.GenerationKO21) {
		fmt.Fprintf(stdout, "\nThe Gateway API road (init --gateway) needs kong-operator 2.1 or later: run make demo with -profile ko-2.2 (the default) to see it.\n")
		return nil
	}
	if err := env.CreateNamespace(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	restore, err := usePluginEnv(env)
	if err != nil {
		return err
	}
	defer restore()
	args := []string{"init", "--kubeconfig", env.Kubeconfig, "-n", ns, "--gateway", demoGateway, "--region", env.Konnect.Region(), "--token-file", tokenFile}
	if err := runPlugin(ctx, args, stdout, stderr); err != nil {
		return err
	}
	route := strings.ReplaceAll(`apiVersion: v1
kind: Service
metadata: {name: echo}
spec: {ports: [{port: 80, targetPort: 8080}], selector: {app: echo}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo}
spec:
  parentRefs: [{name: GATEWAY, sectionName: http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /echo}}]
    backendRefs: [{name: echo, port: 80}]
`, "GATEWAY", demoGateway)
	fmt.Fprintf(stdout, "\nAn HTTPRoute on the Gateway:\n$ kubectl apply -n %s -f - <<EOF\n%sEOF\n", ns, route)
	out, errOut, err := env.Kubectl(ctx, route, "apply", "-n", ns, "-f", "-")
	fmt.Fprint(stdout, out)
	if err != nil {
		return fmt.Errorf("kubectl apply of the HTTPRoute: %v: %s", err, errOut)
	}
	return runPlugin(ctx, []string{"check", "--kubeconfig", env.Kubeconfig, "-n", ns, "--gateway", demoGateway, "--wait", "1m"}, stdout, stderr)
}

// runPlugin runs the plugin in-process, exactly as it parses its arguments, printing the command
// and its output.
func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "\n$ kubectl konnect %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := root.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: stderr})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	_, _ = io.Copy(stdout, &out)
	if err != nil {
		return fmt.Errorf("kubectl konnect %s: %w", args[0], err)
	}
	return nil
}
