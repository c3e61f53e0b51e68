// Package testenv is the local test ground: a real kube-apiserver and etcd
// (envtest, binaries built from Go modules by hack/envtest-binaries.sh) with
// the KGO CRDs of one generation, the fake Konnect of pkg/konnect/konnecttest,
// the KGO stand-in of test/kgostandin, and the machine's real kubectl.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/kgostandin"
)

// Profile names a set of CRDs, i.e. a KGO generation.
type Profile string

const (
	// KGO14 is kubernetes-configuration v1.0.0 plus KGO v1.4.2's own
	// gateway-operator.konghq.com CRDs (KonnectExtension v1alpha1 with
	// konnectID = endpoint prefix).
	KGO14 Profile = "kgo-1.4"
	// KGO16 is kubernetes-configuration v1.5.3, which ships the
	// gateway-operator.konghq.com CRDs and konnect.konghq.com KonnectExtension.
	KGO16 Profile = "kgo-1.6"
	// KO20 is kong-operator 2.0 (kubernetes-configuration v2.0.1, no Go
	// module served here): KonnectGatewayControlPlane and KonnectExtension
	// v1alpha2.
	KO20 Profile = "ko-2.0"
	// KO22 is kong-operator 2.2.3 (config/crd/kong-operator of
	// Kong/kong-operator at v2.2.3): KongReferenceGrant, KonnectEventGateway.
	KO22 Profile = "ko-2.2"
	// KO23 is kong-operator 2.3.0-rc.3: adds KonnectAIGateway.
	KO23 Profile = "ko-2.3"
)

// Generation is the KGO generation the rules detect on the profile.
func (p Profile) Generation() rules.Generation {
	switch p {
	case KGO14:
		return rules.GenerationKGO14
	case KGO16, KGO16Real:
		return rules.GenerationKGO15Plus
	case KO21Real:
		return rules.GenerationKO21
	case KO20:
		return rules.GenerationKO20
	case KO22:
		return rules.GenerationKO22
	case KO23:
		return rules.GenerationKO23
	}
	return rules.GenerationUnknown
}

// Profiles lists every profile, oldest first. The suites whose verdicts
// change from release to release run on all of them: the seed workflow,
// init, the demo, the webhook's rule fixtures and its cross-namespace table,
// and check's all-good report (README, "Which suites run where").
var Profiles = []Profile{KGO14, KGO16, KO20, KO22, KO23}

// EdgeProfiles are the profiles of the suites whose code paths follow the
// API's shape rather than the release: the oldest release (kgo-1.4, the
// gateway-operator.konghq.com extension), the newest 1.x (kgo-1.6,
// v1alpha1) and the newest 2.x (ko-2.3, v1alpha2 and grants). With
// KONNECT_E2E_PROFILES=all they run on every profile too.
var EdgeProfiles = edgeProfiles(os.Getenv("KONNECT_E2E_PROFILES"))

func edgeProfiles(env string) []Profile {
	if env == "all" {
		return Profiles
	}
	return []Profile{KGO14, KGO16, KO23}
}

// KongOperator2 says whether p is a kong-operator 2.x profile: its test
// ground serves the KonnectGatewayControlPlane conversion, as kong-operator's
// install does.
func (p Profile) KongOperator2() bool { return p.Generation().KongOperator2() }

const kubernetesConfigurationModule = "github.com/kong/kubernetes-configuration"

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var moduleDirs sync.Map // module@version -> dir

// moduleDir returns the folder of kubernetes-configuration@version in the
// module cache, downloading it through the Go proxy if needed. v1.0.0 is not
// a dependency of ours, so `go list -m` cannot find it.
func moduleDir(version string) (string, error) {
	return goModuleDir(kubernetesConfigurationModule, version)
}

// goModuleDir returns the folder of module@version in the module cache,
// downloading it through the Go proxy if needed (once per test binary).
func goModuleDir(module, version string) (string, error) {
	key := module + "@" + version
	if d, ok := moduleDirs.Load(key); ok {
		return d.(string), nil
	}
	cmd := exec.Command("go", "mod", "download", "-json", key)
	cmd.Dir = RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil || info.Dir == "" {
		return "", fmt.Errorf("finding %s in the module cache: %v %s", key, err, stderr.String())
	}
	moduleDirs.Store(key, info.Dir)
	return info.Dir, nil
}

// CRDDirs returns the CRD folders of a profile.
func CRDDirs(p Profile) ([]string, error) {
	switch p {
	case KGO14:
		d, err := moduleDir("v1.0.0")
		if err != nil {
			return nil, err
		}
		return []string{filepath.Join(d, "config", "crd", "gateway-operator"), filepath.Join(RepoRoot(), "test", "crds", "kgo-v1.4.2")}, nil
	case KGO16:
		d, err := moduleDir("v1.5.3")
		if err != nil {
			return nil, err
		}
		return []string{filepath.Join(d, "config", "crd", "gateway-operator")}, nil
	case KO20:
		return []string{filepath.Join(RepoRoot(), "test", "crds", "kc-v2.0.1")}, nil
	case KGO16Real:
		// What KGO 1.6.2 installs: kubernetes-configuration v1.4.0 and Gateway API v1.3.0 (its go.mod).
		d, err := moduleDir("v1.4.0")
		if err != nil {
			return nil, err
		}
		files, err := GatewayAPICRDFiles("v1.3.0")
		if err != nil {
			return nil, err
		}
		return append([]string{filepath.Join(d, "config", "crd", "gateway-operator")}, files...), nil
	case KO21Real:
		return withGatewayAPI(p, filepath.Join(RepoRoot(), "test", "crds", "ko-v2.1.9"))
	case KO22:
		// patches/ (the conversion patches) is a sub-folder: envtest reads
		// only the folder's own files.
		return withGatewayAPI(p, filepath.Join(RepoRoot(), "test", "crds", "ko-v2.2.3"))
	case KO23:
		return withGatewayAPI(p, filepath.Join(RepoRoot(), "test", "crds", "ko-v2.3.0-rc.3"))
	}
	return nil, fmt.Errorf("unknown CRD profile %q (known: %s, %s, %s, %s, %s)", p, KGO14, KGO16, KO20, KO22, KO23)
}

// BinaryAssets returns the folder with kube-apiserver and etcd: the
// KUBEBUILDER_ASSETS folder if set, else the one hack/envtest-binaries.sh
// builds (once; it is cached by version under bin/).
func BinaryAssets() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "kube-apiserver")); err == nil {
			return d, nil
		}
	}
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "envtest-binaries.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building envtest binaries with hack/envtest-binaries.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Options tune New.
type Options struct {
	// NoStandIn leaves the KGO stand-in off.
	NoStandIn bool
	// NoConnect keeps the stand-in's data planes from connecting to Konnect.
	NoConnect bool
	// Dir holds the kubeconfig; a temporary folder when empty.
	Dir string
	// KonnectListenAddr fixes the fake Konnect's address (e.g. 127.0.0.1:8443).
	KonnectListenAddr string
	// KonnectOptions are passed to konnecttest.NewServer.
	KonnectOptions []konnecttest.Option
	// WithWebhook installs config/base's ValidatingWebhookConfiguration,
	// pointed at an in-process pkg/webhook server started with WebhookRules.
	WithWebhook  bool
	WebhookRules rules.Options
	// WebhookCalls, with WithWebhook, records every admission request the
	// API server sends the webhook.
	WebhookCalls *WebhookCalls
	// AggregatorRouting starts kube-apiserver with
	// --enable-aggregator-routing=true: it calls a webhook Service at one of
	// the Service's EndpointSlice endpoints instead of its ClusterIP, which
	// nothing routes here (no kube-proxy). An EndpointSlice written by
	// hand then points a webhook installed from config/ at a local process.
	AggregatorRouting bool
	// DurableEtcd starts etcd as a real install runs it, syncing its
	// write-ahead log to disk on every commit. envtest turns that off for
	// speed (--unsafe-no-fsync, controller-runtime v0.25.2
	// pkg/internal/testing/controlplane/etcd.go:182-185), which leaves a
	// write's base cost lower than any cluster's; measurements that compare
	// an added cost with that base need the real one.
	DurableEtcd bool
}

// Env is a running test ground.
type Env struct {
	Profile Profile
	// Config is an admin REST config for the API server.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig for kubectl.
	Kubeconfig string
	// Client is an uncached controller-runtime client.
	Client client.Client
	// Konnect is the fake Konnect.
	Konnect *konnecttest.Server
	// Token is a valid Konnect token of the fake's default organization.
	Token string
	// StandIn is the KGO stand-in (nil with NoStandIn).
	StandIn *kgostandin.StandIn
	// ServerVersion is the API server's git version.
	ServerVersion string
	// KonnectCAFile is the fake Konnect's CA, for konnect.EnvCAFile.
	KonnectCAFile string

	env         *envtest.Environment
	conversion  *conversionServer
	operator    *realOperator
	stopCluster func()
	tempDir     string
	stopWebhook func() error
	// WebhookLookup is the webhook's cache (with WithWebhook), so tests can
	// wait until it has seen an object before applying what refers to it.
	WebhookLookup *webhook.Cache
}

// New starts a test ground for profile p.
func New(ctx context.Context, p Profile, opts Options) (*Env, error) {
	dirs, err := CRDDirs(p)
	if err != nil {
		return nil, err
	}
	assets, err := BinaryAssets()
	if err != nil {
		return nil, err
	}
	e := &Env{Profile: p}
	e.env = &envtest.Environment{
		CRDDirectoryPaths:        dirs,
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if opts.AggregatorRouting {
		e.env.ControlPlane.GetAPIServer().Configure().Set("enable-aggregator-routing", "true")
	}
	if opts.DurableEtcd {
		e.env.ControlPlane.Etcd = &envtest.Etcd{}
		e.env.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "false")
	}
	if opts.WithWebhook {
		vwc, err := webhookConfiguration()
		if err != nil {
			return nil, err
		}
		e.env.WebhookInstallOptions = envtest.WebhookInstallOptions{ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}}
	}
	e.Config, err = e.env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = e.Stop()
		}
	}()
	e.Client, err = client.New(e.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, err
	}
	if p.KongOperator2() && !p.Real() {
		e.conversion = startConversionServer()
		if err := installConversion(ctx, e.Config, dirs, e.conversion); err != nil {
			return nil, err
		}
	}
	if err := e.writeKubeconfig(opts.Dir); err != nil {
		return nil, err
	}
	kopts := opts.KonnectOptions
	if p.Real() && opts.KonnectListenAddr == "" {
		// Where *.api.konghq.com resolves inside hack/netns-exec.sh.
		opts.KonnectListenAddr = "127.0.0.1:443"
	}
	if opts.KonnectListenAddr != "" {
		kopts = append(kopts, konnecttest.WithListenAddr(opts.KonnectListenAddr))
	}
	e.Konnect, err = konnecttest.NewServer(kopts...)
	if err != nil {
		return nil, err
	}
	track(e)
	e.Token = e.Konnect.IssueToken()
	e.KonnectCAFile = filepath.Join(filepath.Dir(e.Kubeconfig), "konnect-ca.pem")
	if err := os.WriteFile(e.KonnectCAFile, e.Konnect.CACertPEM(), 0o644); err != nil {
		return nil, err
	}
	if p.Real() {
		if err := e.startOperator(ctx, dirs); err != nil {
			return nil, err
		}
		e.stopCluster = e.startClusterStandIn(context.Background())
	} else if !opts.NoStandIn {
		e.StandIn, err = kgostandin.Start(ctx, e.Config, kgostandin.Options{Konnect: e.Konnect, ConnectDataPlanes: !opts.NoConnect})
		if err != nil {
			return nil, err
		}
	}
	if opts.WithWebhook {
		if err := e.startWebhook(ctx, opts.WebhookRules, opts.WebhookCalls); err != nil {
			return nil, err
		}
	}
	e.ServerVersion = e.serverVersion()
	ok = true
	return e, nil
}

func (e *Env) writeKubeconfig(dir string) error {
	user, err := e.env.AddUser(envtest.User{Name: "kubectl-konnect-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	if dir == "" {
		if e.tempDir, err = os.MkdirTemp("", "kubectl-konnect-env-"); err != nil {
			return err
		}
		dir = e.tempDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	return os.WriteFile(e.Kubeconfig, kc, 0o600)
}

func (e *Env) serverVersion() string {
	out, _, err := e.Kubectl(context.Background(), "", "version", "-o", "json")
	if err != nil {
		return ""
	}
	var v struct {
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	_ = json.Unmarshal([]byte(out), &v)
	return v.ServerVersion.GitVersion
}

// webhookConfiguration reads the ValidatingWebhookConfiguration we ship.
func webhookConfiguration() (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "base", "webhook.yaml"))
	if err != nil {
		return nil, err
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(b, vwc); err != nil {
		return nil, fmt.Errorf("config/base/webhook.yaml: %w", err)
	}
	return vwc, nil
}

// startWebhook runs pkg/webhook where envtest pointed the configuration, and
// waits until it is ready (server up, caches synced).
func (e *Env) startWebhook(ctx context.Context, ro rules.Options, calls *WebhookCalls) error {
	wio := e.env.WebhookInstallOptions
	wopts := webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		MetricsAddr: "0", ProbeAddr: "0", Rules: ro,
	}
	if calls != nil {
		wopts.WrapHandler = calls.wrap
	}
	mgr, cache, err := webhook.NewManager(e.Config, wopts)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(wctx) }()
	e.stopWebhook = func() error { cancel(); return <-done }
	e.WebhookLookup = cache
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	if !cache.WaitForSync(sctx) {
		return fmt.Errorf("webhook caches did not sync")
	}
	for {
		if err := mgr.GetWebhookServer().StartedChecker()(nil); err == nil {
			return nil
		}
		select {
		case <-sctx.Done():
			return fmt.Errorf("webhook server did not start")
		case err := <-done:
			return fmt.Errorf("webhook server stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops everything New started.
func (e *Env) Stop() error {
	var errs []error
	if e.stopWebhook != nil {
		errs = append(errs, e.stopWebhook())
	}
	if e.StandIn != nil {
		errs = append(errs, e.StandIn.Stop())
	}
	if e.operator != nil {
		errs = append(errs, e.operator.stop())
	}
	if e.stopCluster != nil {
		e.stopCluster()
	}
	if e.Konnect != nil {
		e.Konnect.Close()
	}
	if e.env != nil {
		errs = append(errs, e.env.Stop())
	}
	if e.conversion != nil {
		e.conversion.Close()
	}
	if e.tempDir != "" {
		errs = append(errs, os.RemoveAll(e.tempDir))
	}
	return errors.Join(errs...)
}

// PluginEnv is the environment that points kubectl and kubectl-konnect at
// this stack: the kubeconfig, and Konnect connections dialled to the fake
// while URLs keep Konnect's real host names.
func (e *Env) PluginEnv() []string {
	return []string{
		"KUBECONFIG=" + e.Kubeconfig,
		konnect.EnvConnectTo + "=" + strings.TrimPrefix(e.Konnect.URL(), "https://"),
		konnect.EnvCAFile + "=" + e.KonnectCAFile,
	}
}

// Kubectl runs the machine's kubectl against the API server, with stdin as
// its input. KUBECONFIG and kubectl's own config are ignored so that a
// developer's cluster is never touched.
func (e *Env) Kubectl(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	// KUBECONFIG (from PluginEnv), not --kubeconfig: kubectl refuses flags
	// before a plugin name, and plugins read the variable too.
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(cleanEnv(), e.PluginEnv()...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "KUBECTL_KONNECT_") && !strings.HasPrefix(kv, "KONNECT_") {
			env = append(env, kv)
		}
	}
	return env
}

// CreateNamespace creates a namespace.
func (e *Env) CreateNamespace(ctx context.Context, name string) error {
	return e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}
