// Command webhook is kubectl-konnect's validating admission webhook: it
// rejects invalid cross-object references of KGO/Konnect resources at
// `kubectl apply` time, with a message that says how to fix them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
)

func main() {
	var opts webhook.Options
	var disabled string
	var selfManaged bool
	var certs webhook.SelfCertOptions
	flag.StringVar(&opts.Host, "host", "", "address to serve admission requests on (all interfaces when empty)")
	flag.IntVar(&opts.Port, "port", 9443, "port to serve admission requests on")
	flag.StringVar(&opts.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "folder with tls.crt and tls.key; reloaded when they change")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables)")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&opts.Rules.Strict, "strict", false, "deny references to objects that do not exist yet, instead of warning (breaks GitOps tools that apply folders in any order)")
	flag.StringVar(&disabled, "disable-rules", "", "comma-separated rule codes not to evaluate, e.g. KON1005 (see docs/rules.md)")
	flag.BoolVar(&selfManaged, "self-managed-certs", false, "generate a CA and a serving certificate in a Secret, renew them, write them to --cert-dir and set the ValidatingWebhookConfiguration's caBundle (config/default; cert-manager needs none of this)")
	flag.StringVar(&certs.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the webhook's namespace, of the certificate Secret and the Service (default $POD_NAMESPACE)")
	flag.StringVar(&certs.SecretName, "cert-secret-name", webhook.DefaultCertSecretName, "Secret holding the self-managed CA and serving certificate")
	flag.StringVar(&certs.ServiceName, "service-name", webhook.DefaultServiceName, "Service the API server calls; the certificate is for <service>.<namespace>.svc")
	flag.StringVar(&certs.WebhookConfigName, "webhook-config-name", webhook.DefaultWebhookConfigName, "ValidatingWebhookConfiguration whose caBundle is set to the self-managed CA")
	var gcPercent int
	flag.IntVar(&gcPercent, "gc-percent", webhook.DefaultGCPercent, "garbage-collection target, as GOGC: how much the heap may grow between collections, in percent of the live heap (default unless GOGC is set)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	gcFlagGiven := false
	flag.Visit(func(f *flag.Flag) { gcFlagGiven = gcFlagGiven || f.Name == "gc-percent" })
	webhook.SetGCPercent(gcPercent, gcFlagGiven)

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

	if selfManaged && certs.Namespace == "" {
		fmt.Fprintln(os.Stderr, "webhook: --self-managed-certs needs the webhook's namespace: set --namespace or the POD_NAMESPACE environment variable")
		os.Exit(2)
	}

	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fail(err)
	}
	mgr, cache, err := webhook.NewManager(cfg, opts)
	if err != nil {
		fail(err)
	}
	if selfManaged {
		certs.CertDir = opts.CertDir
		certs.Logger = logger.WithName("self-managed-certs")
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			fail(err)
		}
		sc, err := webhook.NewSelfCerts(cs, certs)
		if err != nil {
			fail(err)
		}
		// The server reads its certificate once when it starts: the files
		// must be there first. The runnable then renews and re-checks.
		prepCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = sc.Prepare(prepCtx)
		cancel()
		if err != nil {
			fail(err)
		}
		if err := mgr.Add(sc); err != nil {
			fail(err)
		}
	}
	logger.Info("starting", "version", version.Current(), "kgoGeneration", cache.Generation(), "strict", opts.Rules.Strict, "selfManagedCerts", selfManaged)
	if err := mgr.Start(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "webhook:", err)
	os.Exit(1)
}
