// Command demo starts the local stack that `make demo` shows: a real
// kube-apiserver with the KGO 1.6 CRDs, the fake Konnect and the KGO
// stand-in, and prints how to point kubectl at it.
package main

import (
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
	profile := fs.String("profile", string(testenv.KGO16), "CRD profile: kgo-1.4 or kgo-1.6")
	dir := fs.String("dir", ".demo", "folder for the kubeconfig, the Konnect token and CA")
	smoke := fs.Bool("smoke", false, "start, check the stack with kubectl, and exit (for tests and CI)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "Starting the local stack (%s)...\n", *profile)
	start := time.Now()
	env, err := testenv.New(ctx, testenv.Profile(*profile), testenv.Options{Dir: absDir})
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
