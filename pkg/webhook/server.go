package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"

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
	// WrapHandler, when set, wraps the admission handler: instrumentation,
	// such as the tests' count of the calls the API server makes.
	WrapHandler func(http.Handler) http.Handler
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
	var handler http.Handler = admission.WithValidator[*unstructured.Unstructured](mgr.GetScheme(), &Validator{Lookup: lookup, Options: opts.Rules})
	if opts.WrapHandler != nil {
		handler = opts.WrapHandler(handler)
	}
	mgr.GetWebhookServer().Register(Path, handler)
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

// DefaultGCPercent is the webhook's garbage-collection target (GOGC): the
// heap may grow by half its live size between collections instead of
// doubling. The cache is compact and never scanned (byte slices), so the
// extra collections cost little CPU, and the resident memory drops by a
// fifth (10,000 objects: 41.8 -> 37.5 MiB; 100,000: 95 -> 84 MiB; see
// docs/HARDENING.md).
const DefaultGCPercent = 50

// SetGCPercent applies the garbage-collection target: percent when the
// flag was given, else the GOGC environment variable when set (the Go
// runtime has applied it already), else DefaultGCPercent.
func SetGCPercent(percent int, flagGiven bool) {
	if !flagGiven {
		if os.Getenv("GOGC") != "" {
			return
		}
		percent = DefaultGCPercent
	}
	debug.SetGCPercent(percent)
}
