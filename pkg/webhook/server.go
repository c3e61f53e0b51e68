package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Path is where the validating webhook is served; the
// ValidatingWebhookConfiguration in config/ points here.
const Path = "/validate"

// Options configure the webhook server.
type Options struct {
	// Host and Port to serve admission on (default port 9443).
	Host string
	Port int
	// CertDir holds tls.crt and tls.key; they are reloaded when they change
	// (cert-manager or any other rotation), without a restart.
	CertDir string
	// MetricsAddr serves Prometheus metrics ("0" disables).
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz ("0" disables).
	ProbeAddr string
	// Rules options (strict mode, disabled codes).
	Rules rules.Options
	// Logger for the server.
	Logger logr.Logger
}

// TLSOptions harden the admission endpoint: TLS 1.2 or newer, and HTTP/1.1
// only (HTTP/2 is off because of the rapid-reset class of attacks,
// CVE-2023-44487, as in Kubernetes' own components).
func TLSOptions() []func(*tls.Config) {
	return []func(*tls.Config){func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		c.NextProtos = []string{"http/1.1"}
	}}
}

// NewManager builds the manager that runs the webhook: the informer cache,
// the TLS admission server, metrics and probes. Ready means the server has
// started and every cache has synced; before that, requests would be judged
// on an empty cache.
func NewManager(cfg *rest.Config, opts Options) (manager.Manager, *Cache, error) {
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	if opts.Port == 0 {
		opts.Port = 9443
	}
	lookup, err := NewCache(cfg)
	if err != nil {
		return nil, nil, err
	}
	server := webhook.NewServer(webhook.Options{
		Host:    opts.Host,
		Port:    opts.Port,
		CertDir: opts.CertDir,
		TLSOpts: TLSOptions(),
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Logger:                 opts.Logger,
		Scheme:                 runtime.NewScheme(),
		WebhookServer:          server,
		Metrics:                metricsserver.Options{BindAddress: orDefault(opts.MetricsAddr, ":8080")},
		HealthProbeBindAddress: orDefault(opts.ProbeAddr, ":8081"),
	})
	if err != nil {
		return nil, nil, err
	}
	// Register through GetWebhookServer: the manager only runs its webhook
	// server once that has been called.
	mgr.GetWebhookServer().Register(Path, admission.WithValidator[*unstructured.Unstructured](mgr.GetScheme(), &Validator{Lookup: lookup, Options: opts.Rules}))
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		lookup.Start(ctx)
		<-ctx.Done()
		return nil
	})); err != nil {
		return nil, nil, err
	}
	cacheSynced := func(*http.Request) error {
		if !lookup.HasSynced() {
			return errors.New("informer caches not synced yet")
		}
		return nil
	}
	if err := errors.Join(
		mgr.AddHealthzCheck("ping", healthz.Ping),
		mgr.AddReadyzCheck("webhook-server", server.StartedChecker()),
		mgr.AddReadyzCheck("caches", cacheSynced),
	); err != nil {
		return nil, nil, fmt.Errorf("adding probes: %w", err)
	}
	return mgr, lookup, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
