// Command webhook is kubectl-konnect's validating admission webhook: it
// rejects invalid cross-object references of KGO/Konnect resources at
// `kubectl apply` time, with a message that says how to fix them.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
)

func main() {
	var opts webhook.Options
	var disabled string
	flag.StringVar(&opts.Host, "host", "", "address to serve admission requests on (all interfaces when empty)")
	flag.IntVar(&opts.Port, "port", 9443, "port to serve admission requests on")
	flag.StringVar(&opts.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "folder with tls.crt and tls.key; reloaded when they change")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables)")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&opts.Rules.Strict, "strict", false, "deny references to objects that do not exist yet, instead of warning (breaks GitOps tools that apply folders in any order)")
	flag.StringVar(&disabled, "disable-rules", "", "comma-separated rule codes not to evaluate, e.g. KON1005 (see docs/rules.md)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	logger := zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(logger)
	opts.Logger = logger
	for _, code := range strings.Split(disabled, ",") {
		if code = strings.TrimSpace(code); code == "" {
			continue
		}
		if _, ok := rules.RuleByCode(code); !ok {
			fmt.Fprintf(os.Stderr, "webhook: --disable-rules: unknown rule code %q (see docs/rules.md)\n", code)
			os.Exit(2)
		}
		opts.Rules.Disabled = append(opts.Rules.Disabled, code)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
	mgr, cache, err := webhook.NewManager(cfg, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
	logger.Info("starting", "version", version.Version, "kgoGeneration", cache.Generation(), "strict", opts.Rules.Strict)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}
