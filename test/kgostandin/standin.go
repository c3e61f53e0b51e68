// Package kgostandin is a test stand-in for Kong Gateway Operator (KGO). It is
// NOT KGO: it is a small controller that does to statuses what KGO does, for
// the objects of the seed workflow, against the fake Konnect in
// pkg/konnect/konnecttest, so that the plugin and the webhook can be tested
// end to end on a real API server without a KGO build.
//
// What it mimics, per KGO generation (decided by whether the cluster serves
// konnect.konghq.com KonnectExtension, as KGO >= 1.5 needs):
//   - KonnectAPIAuthConfiguration: token from spec.token or a labelled Secret,
//     checked with GET /v3/organizations/me; APIAuthValid and organizationID.
//   - KonnectGatewayControlPlane: adopts a control plane of the same name or
//     creates it (POST /v2/control-planes); status.id, Programmed.
//   - KongDataPlaneClientCertificate: lists, then registers the certificate
//     (never a blind POST); deletes it in Konnect on deletion.
//   - KongService / KongRoute: written to Konnect's core-entities API through
//     sdk-konnect-go, as KGO does (entities.go). KGO 1.4 refuses a KIC-type
//     control plane with ControlPlaneRefValid=False; KGO >= 1.5 lets Konnect
//     answer 403 and sets Programmed=False, reason FailedToCreate.
//   - KonnectExtension (konnect.konghq.com): control plane and endpoints.
//   - DataPlane: Ready as soon as its extensions exist, whether or not it could
//     reach Konnect, exactly like KGO. If the data plane's certificate is
//     registered on the control plane its endpoint names, it "connects": a node
//     is registered in the fake Konnect and pings every PingInterval.
package kgostandin

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// Generation is the KGO API generation the stand-in behaves like.
type Generation string

const (
	// KGO14 acts on gateway-operator.konghq.com/v1alpha1 KonnectExtension whose
	// konnectID is the control plane's endpoint prefix, and refuses entities on
	// KIC control planes in status.
	KGO14 Generation = "kgo-1.4"
	// KGO15Plus acts on konnect.konghq.com/v1alpha1 KonnectExtension and lets
	// Konnect refuse entities on KIC control planes.
	KGO15Plus Generation = "kgo-1.5+"
	// KO20 is kong-operator 2.x: KonnectGatewayControlPlane and
	// KonnectExtension v1alpha2 (spec.createControlPlaneRequest, status
	// clusterType); KongDataPlaneClientCertificate allowed on groups from
	// 2.2 on (see StandIn.certsOnGroups).
	KO20 Generation = "ko-2.0"
)

// CleanupFinalizer is the finalizer KGO puts on Konnect entities so it can
// delete them in Konnect first.
const CleanupFinalizer = "konnect.konghq.com/delete"

// Options tune the stand-in.
type Options struct {
	// Konnect is the fake Konnect every Konnect call goes to.
	Konnect *konnecttest.Server
	// ConnectDataPlanes registers a node in Konnect for data planes whose
	// certificate the control plane knows (default true via New).
	ConnectDataPlanes bool
	// PingInterval is how often connected data planes ping. Default 10s.
	PingInterval time.Duration
	// Logger receives the controllers' logs. Default: discard.
	Logger logr.Logger
}

// StandIn is a running stand-in.
type StandIn struct {
	opts       Options
	gen        Generation
	cl         client.Client
	httpClient *http.Client
	cancel     context.CancelFunc
	done       chan struct{}
	err        error

	// certsOnGroups: the operator registers a KongDataPlaneClientCertificate
	// on a control plane group. Kong/kong-operator
	// controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef
	// refuses it through v2.1.9 and exempts the kind from v2.2.0 (#3711);
	// the 2.2 CRDs are told apart by KonnectEventGateway, new in 2.2.0.
	certsOnGroups bool

	// cpGVK and extGVK are the newest served versions of
	// KonnectGatewayControlPlane and konnect.konghq.com KonnectExtension.
	cpGVK, extGVK schema.GroupVersionKind

	// ko23: kong-operator 2.3 (KonnectAIGateway served), whose Gateways
	// take TCP and UDP listeners; httpRoutes: HTTPRoute is served.
	ko23, httpRoutes bool

	mu    sync.Mutex
	nodes map[string]string // DataPlane namespace/name -> node ID
	// disconnected DataPlanes (namespace/name) never reach Konnect; see Disconnect.
	disconnected map[string]bool
}

var setLoggerOnce sync.Once

// Start runs the stand-in against the API server of cfg until Stop. The CRDs
// must already be installed; kinds whose CRDs are absent are skipped.
func Start(ctx context.Context, cfg *rest.Config, opts Options) (*StandIn, error) {
	if opts.Konnect == nil {
		return nil, fmt.Errorf("kgostandin: Options.Konnect is required")
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 10 * time.Second
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
		if os.Getenv("KGOSTANDIN_LOG") != "" {
			opts.Logger = funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, "kgostandin:", prefix, args) }, funcr.Options{Verbosity: 1})
		}
	}
	// controller-runtime complains loudly when no logger was ever set.
	setLoggerOnce.Do(func() { ctrllog.SetLogger(logr.Discard()) })

	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{} // KGO's deprecation warnings are not ours to print
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Logger:                 opts.Logger,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Tests start several stand-ins in one process; controller names repeat.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("kgostandin: manager: %w", err)
	}
	s := &StandIn{
		opts:       opts,
		cl:         mgr.GetClient(),
		httpClient: opts.Konnect.HTTPClient(),
		done:       make(chan struct{}),
		nodes:      map[string]string{},
	}
	mapper := mgr.GetRESTMapper()
	// Newest served versions decide the generation and the versions the
	// stand-in reads and writes.
	s.cpGVK = preferred(mapper, gvkControlPlane)
	s.extGVK = preferred(mapper, gvkKonnectExtension)
	switch {
	case s.cpGVK.Version == "v1alpha2":
		s.gen = KO20
	case served(mapper, s.extGVK):
		s.gen = KGO15Plus
	default:
		s.gen = KGO14
	}
	s.certsOnGroups = s.gen == KO20 && served(mapper, gvkEventGateway)

	kinds := []struct {
		gvk schema.GroupVersionKind
		fn  func(context.Context, *unstructured.Unstructured) (reconcile.Result, error)
	}{
		{gvkAuth, s.reconcileAuth},
		{s.cpGVK, s.reconcileControlPlane},
		{gvkDPCert, s.reconcileDPCert},
		{gvkService, s.reconcileService},
		{gvkRoute, s.reconcileRoute},
		{s.extGVK, s.reconcileKonnectExtension},
		{gvkDataPlane, s.reconcileDataPlane},
	}
	// Hybrid Gateways: kong-operator >= 2.1 (a v2beta1 GatewayConfiguration
	// with spec.konnect) on a cluster with the Gateway API CRDs.
	if s.gen == KO20 && served(mapper, gvkGateway) && served(mapper, gvkGatewayConfiguration) && served(mapper, gvkKongReferenceGrant) {
		s.ko23 = served(mapper, gvkAIGateway)
		s.httpRoutes = served(mapper, gvkHTTPRoute)
		kinds = append(kinds, s.gatewayKinds()...)
	}
	for _, k := range kinds {
		if !served(mapper, k.gvk) {
			continue
		}
		if err := s.register(mgr, k.gvk, k.fn); err != nil {
			return nil, err
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		s.err = mgr.Start(runCtx)
	}()
	if !mgr.GetCache().WaitForCacheSync(runCtx) {
		cancel()
		<-s.done
		return nil, fmt.Errorf("kgostandin: caches did not sync: %v", s.err)
	}
	return s, nil
}

// Generation reports which KGO generation the stand-in behaves like.
func (s *StandIn) Generation() Generation { return s.gen }

// Stop stops the controllers and waits for them.
func (s *StandIn) Stop() error {
	s.cancel()
	<-s.done
	return s.err
}

func (s *StandIn) register(mgr ctrl.Manager, gvk schema.GroupVersionKind, fn func(context.Context, *unstructured.Unstructured) (reconcile.Result, error)) error {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	r := reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if err := s.cl.Get(ctx, req.NamespacedName, u); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		res, err := fn(ctx, u)
		s.opts.Logger.V(1).Info("reconciled", "kind", gvk.Kind, "object", req.String(), "requeueAfter", res.RequeueAfter, "error", err)
		return res, err
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("kgostandin-"+gvk.Group+"-"+gvk.Kind).
		// Spec and annotation changes (and deletions) start a reconcile; the
		// stand-in's own status writes do not, so an object at rest makes no
		// Konnect calls and tests that change Konnect under it (a revoked
		// token) see a stable state. Waits use RequeueAfter.
		For(obj, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: 2}).
		Complete(r)
}

// preferred is the newest served version of gvk's kind (gvk itself when the
// kind is not served).
func preferred(mapper meta.RESTMapper, gvk schema.GroupVersionKind) schema.GroupVersionKind {
	m, err := mapper.RESTMapping(gvk.GroupKind())
	if err != nil {
		return gvk
	}
	return m.GroupVersionKind
}

func served(mapper meta.RESTMapper, gvk schema.GroupVersionKind) bool {
	_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil
}
