package initcmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// run is one execution of init.
type run struct {
	o            *Options
	p            *progress
	ns           string
	dry          string
	gen          Generation
	konnectCalls atomic.Int64
	results      []result
	writes       int
	step         string

	// preflight
	tok    token
	server serverURL
	kc     *konnectAPI
	org    organization

	// plan
	liveAuth, liveTokenSecret *unstructured.Unstructured
	authAdopted               bool
	cp                        cpPlan
	crt                       certPlan
	extName, dpName           string
	liveExt, liveDP           *unstructured.Unstructured
	ep                        *endpoint
	epRaw, tpRaw              string

	// the Gateway road
	gw gatewayPlan
}

// result is one object (or Konnect registration) and what happened to it.
type result struct {
	resource string
	name     string
	op       string
	obj      *unstructured.Unstructured
	secret   bool
}

// Run does it. Progress goes to ErrOut, results to Out.
func (o *Options) Run(ctx context.Context) (err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Retry == (RetryPolicy{}) {
		o.Retry = DefaultRetryPolicy
	}
	if o.AuthName == "" {
		o.AuthName = "konnect-auth"
	}
	if o.clusterType == "" {
		o.clusterType = clusterTypeHybrid
	}
	if o.DryRun == "" {
		o.DryRun = kube.DryRunNone
	}
	if o.CertProvisioning == "" {
		o.CertProvisioning = "manual"
	}
	tty := isTerminal(o.ErrOut)
	if o.Terminal != nil {
		tty = *o.Terminal
	}
	color := o.Getenv("NO_COLOR") == "" && o.Getenv("TERM") != "dumb"
	r := &run{o: o, p: newProgress(o.ErrOut, tty && o.Getenv("TERM") != "dumb", color, o.Now), ns: o.Namespace, dry: o.DryRun}
	kubeBefore := o.kubeCalls.Load()
	start := o.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	defer func() {
		o.Stats = Stats{
			KubernetesCalls: o.kubeCalls.Load() - kubeBefore,
			KonnectCalls:    r.konnectCalls.Load(),
			Writes:          r.writes,
			Wall:            o.Now().Sub(start),
			Waiting:         r.p.waitedTotal(),
		}
		if err != nil {
			err = r.finalError(ctx, err)
		}
		fmt.Fprintf(r.p.w, "%s %s: %d Kubernetes and %d Konnect API calls, %d writes; %s of which %s waiting for KGO\n",
			markInfo, map[bool]string{true: "Done", false: "Stopped"}[err == nil], o.Stats.KubernetesCalls, o.Stats.KonnectCalls,
			o.Stats.Writes, fmtDuration(o.Stats.Wall), fmtDuration(o.Stats.Waiting))
	}()
	if o.Gateway != "" {
		// The Gateway road: refuse a release without hybrid Gateways before
		// anything is read from Konnect or written (gateway.go).
		if err := r.gatewayPreflight(); err != nil {
			return err
		}
		if err := r.preflight(ctx); err != nil {
			return err
		}
		if err := r.planGateway(ctx); err != nil {
			return err
		}
		if err := r.checkRBAC(ctx); err != nil {
			return err
		}
		if err := r.applyGateway(ctx); err != nil {
			return err
		}
		return r.report()
	}
	if err := r.preflight(ctx); err != nil {
		return err
	}
	if err := r.plan(ctx); err != nil {
		return err
	}
	if err := r.checkRBAC(ctx); err != nil {
		return err
	}
	if err := r.apply(ctx); err != nil {
		return err
	}
	return r.report()
}

// finalError turns a cancelled or expired context into an error that says where init stopped and that
// a re-run finishes the job.
func (r *run) finalError(ctx context.Context, err error) error {
	var te *TimeoutError
	if errors.As(err, &te) {
		return err
	}
	where := ""
	if r.step != "" {
		where = " during step " + r.step
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &TimeoutError{Err: fmt.Errorf("init did not finish within --timeout %s%s: %w; everything done so far is kept: re-run the same command (with a longer --timeout) to finish", r.o.Timeout, where, err)}
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return &InterruptedError{Err: fmt.Errorf("interrupted%s; everything done so far is kept: re-run the same command to finish", where)}
	}
	return err
}

// TimeoutError is a timeout; its exit code is 124, as for timeout(1).
type TimeoutError struct{ Err error }

func (e *TimeoutError) Error() string { return e.Err.Error() }
func (e *TimeoutError) Unwrap() error { return e.Err }

// ExitCode is 124.
func (e *TimeoutError) ExitCode() int { return 124 }

// InterruptedError is an interruption (Ctrl-C); its exit code is 130 (128 + SIGINT).
type InterruptedError struct{ Err error }

func (e *InterruptedError) Error() string { return e.Err.Error() }
func (e *InterruptedError) Unwrap() error { return e.Err }

// ExitCode is 130.
func (e *InterruptedError) ExitCode() int { return 130 }

func (r *run) res(gvr schema.GroupVersionResource) dynamic.ResourceInterface {
	if gvr == gvrNamespace || gvr == gvrGatewayClass {
		return r.o.Dynamic.Resource(gvr)
	}
	return r.o.Dynamic.Resource(gvr).Namespace(r.ns)
}

// get returns the object, or nil when it does not exist.
func (r *run) get(ctx context.Context, gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	u, err := r.res(gvr).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, r.kubeErr("get", gvr, name, err)
	}
	return u, nil
}

// kubeErr explains a Kubernetes API error: RBAC denials name the permission and how to check it.
func (r *run) kubeErr(verb string, gvr schema.GroupVersionResource, name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	what := fmt.Sprintf("%s %s/%s", kinds[gvr], r.ns, name)
	switch gvr {
	case gvrNamespace:
		what = "namespace " + name
	case gvrGatewayClass:
		what = "GatewayClass " + name
	}
	res := gvr.Resource
	if gvr.Group != "" {
		res += "." + gvr.Group
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s %s: forbidden: your Kubernetes user may not %s %s in namespace %s (check with: kubectl auth can-i %s %s -n %s); ask your cluster admin for a Role that allows it: %w",
			verb, what, verb, res, r.ns, verb, res, r.ns, err)
	case apierrors.IsInvalid(err):
		return fmt.Errorf("%s %s: the API server refused it: %w", verb, what, err)
	}
	return fmt.Errorf("%s %s: %w", verb, what, err)
}

func (r *run) enter(step string) { r.step = step }

func (r *run) leave(step string) {
	if r.o.AfterStep != nil {
		r.o.AfterStep(step)
	}
}

// preflight reads what the cluster serves, the token, the region and the organization. It writes nothing.
func (r *run) preflight(ctx context.Context) error {
	o := r.o
	srv, err := discoverServed(o.Discovery)
	if err != nil {
		return err
	}
	var crd kgoapi.CRDVersion
	if srv[gvrCPV1alpha2] {
		// kong-operator 2.x: the CRD names the exact release.
		if crd, err = kgoapi.ReadCRDVersion(ctx, o.Metadata); err != nil {
			return err
		}
	}
	if r.gen, err = srv.generation(o.KGOVersion, !o.NoDataPlane, crd); err != nil {
		return err
	}
	how := srv.facts(crd).ReleaseSource()
	if o.KGOVersion != "" {
		how = "--kgo-version " + o.KGOVersion
	}
	if o.Image == "" {
		o.Image = r.gen.defaultImage()
	}
	r.p.info("%s API (%s): KonnectGatewayControlPlane %s, KonnectExtension %s", r.gen, how, r.gen.cpGVR().GroupVersion(), r.gen.extensionGVR().GroupVersion())
	if r.gen == KGO14 && o.CertProvisioning == "automatic" {
		return errors.New("--cert-provisioning automatic needs KGO 1.5 or later (konnect.konghq.com KonnectExtension); KGO 1.4 only takes a certificate Secret: leave the flag out")
	}

	if ns, err := r.res(gvrNamespace).Get(ctx, r.ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if r.dry != kube.DryRunClient {
			return fmt.Errorf("namespace %q does not exist: create it (kubectl create namespace %s) or choose another with -n", r.ns, r.ns)
		}
		r.p.warn("namespace %q does not exist yet: rendering for it; create it before applying the output", r.ns)
	} else if err == nil && ns.GetDeletionTimestamp() != nil {
		return fmt.Errorf("namespace %q is being deleted: choose another with -n", r.ns)
	}

	// What an earlier run (or the user) left: the token and region come from there on a re-run.
	if r.liveAuth, err = r.get(ctx, gvrAuth, o.AuthName); err != nil {
		return err
	}
	if r.tok, err = o.readToken(); err != nil {
		return err
	}
	if r.tok.value == "" {
		if r.tok, err = r.storedToken(ctx); err != nil {
			return err
		}
	}

	hc, err := o.konnectHTTPClient()
	if err != nil {
		return err
	}
	// The region: the flags, else the existing auth configuration (its serverURL is immutable), else
	// the user's home region. /v3/*/me is global, so any region's client can ask.
	var liveServer *serverURL
	if r.liveAuth != nil {
		s, err := parseServerURL(str(r.liveAuth, "spec", "serverURL"), fmt.Sprintf("KonnectAPIAuthConfiguration %s/%s spec.serverURL", r.ns, o.AuthName))
		if err != nil {
			return err
		}
		liveServer = &s
	}
	explicit := true
	switch {
	case o.ServerURL != "":
		r.server, _ = parseServerURL(o.ServerURL, "--server-url")
	case o.Region != "":
		r.server, _ = parseRegion(o.Region)
	case liveServer != nil:
		r.server, explicit = *liveServer, false
	default:
		r.server, explicit = serverURL{region: "us", domain: defaultDomain}, false
	}
	if note := unknownGeoNote(r.server.region); note != "" && explicit {
		r.p.warn("%s", note)
	}
	r.kc = newKonnectAPI(r.server, r.tok.value, hc, o.Retry, &r.konnectCalls)
	if r.org, err = r.kc.organization(ctx); err != nil {
		return err
	}
	if !explicit && liveServer == nil {
		home := r.kc.homeRegion(ctx)
		if home == "" {
			return errors.New("--region is required: Konnect does not tell the home region of a system account token; use --region (" + strings.Join(region.KnownGeos, ", ") + ", or another two-letter region) or --server-url")
		}
		if _, err := parseRegion(home); err != nil {
			return fmt.Errorf("your Konnect user's home region is %q, which init does not know: pass --region or --server-url", home)
		}
		r.server = serverURL{region: home, domain: defaultDomain}
		r.kc = newKonnectAPI(r.server, r.tok.value, hc, o.Retry, &r.konnectCalls)
		r.kc.home = home
		r.p.info("Region %s: your Konnect user's home region (pass --region to choose another)", home)
	}
	if liveServer != nil && liveServer.host() != r.server.host() {
		return fmt.Errorf("wrong region? KonnectAPIAuthConfiguration %s/%s talks to %s, and its serverURL cannot change, but this run asks for %s: "+
			"use --region %s (or no --region), or give a new --auth-name for a control plane in %s",
			r.ns, o.AuthName, liveServer.host(), r.server.host(), liveServer.region, r.server.region)
	}
	name := r.org.Name
	if name == "" {
		name = r.org.ID
	}
	r.p.ok("Konnect token (from %s) is valid for organization %q (%s), region %s (%s)", r.tok.source, name, r.org.ID, r.server.region, r.server.host())
	return nil
}

// storedToken reads the token an earlier run stored: from the KonnectAPIAuthConfiguration's Secret
// (or inline token).
func (r *run) storedToken(ctx context.Context) (token, error) {
	none := errors.New("no Konnect token: set KONNECT_TOKEN, or pass --token-file FILE or --token-stdin " +
		"(a token is needed to check it and to look up the control plane in Konnect; a re-run reads the one stored by the first run)")
	a := r.liveAuth
	if a == nil {
		return token{}, none
	}
	where := fmt.Sprintf("KonnectAPIAuthConfiguration %s/%s", r.ns, a.GetName())
	switch str(a, "spec", "type") {
	case "token":
		t := token{value: str(a, "spec", "token"), source: where}
		return t, checkToken(t)
	case "secretRef":
		name := str(a, "spec", "secretRef", "name")
		if ns := str(a, "spec", "secretRef", "namespace"); ns != "" && ns != r.ns {
			return token{}, fmt.Errorf("%s reads its token from namespace %s, which init does not read: %w", where, ns, none)
		}
		s, err := r.get(ctx, gvrSecret, name)
		if err != nil {
			return token{}, err
		}
		if s == nil {
			return token{}, fmt.Errorf("%s refers to Secret %s/%s, which does not exist: %w", where, r.ns, name, none)
		}
		r.liveTokenSecret = s
		data, _ := dpcert.SecretData(s)
		t := token{value: strings.TrimSpace(string(data["token"])), source: fmt.Sprintf("Secret %s/%s", r.ns, name)}
		return t, checkToken(t)
	}
	return token{}, none
}

func str(u *unstructured.Unstructured, fields ...string) string {
	if u == nil {
		return ""
	}
	s, _, _ := unstructured.NestedString(u.Object, fields...)
	return s
}

// cpMode is how the control plane is obtained.
type cpMode int

const (
	cpCreate   cpMode = iota // a new KonnectGatewayControlPlane; KGO creates it in Konnect
	cpExisting               // a KonnectGatewayControlPlane in the namespace, used as it is
	cpMirror                 // adopted from Konnect with source: Mirror (KGO >= 1.5)
	cpDirect                 // adopted from Konnect without a KonnectGatewayControlPlane (KGO 1.4)
)

type cpPlan struct {
	mode        cpMode
	res         string // resource name; what controlPlaneRef names
	konnectName string
	live        *unstructured.Unstructured
	desired     *unstructured.Unstructured
	konnect     *components.ControlPlane
	clusterType string
	authType    string
}

func (c *cpPlan) id() string {
	if c.konnect != nil {
		return c.konnect.ID
	}
	if c.live == nil {
		return ""
	}
	return kgoapi.KonnectID(c.live)
}

// plan reads everything init may write and decides what to do. It writes nothing.
func (r *run) plan(ctx context.Context) error {
	if err := r.planAuth(ctx); err != nil {
		return err
	}
	if err := r.planControlPlane(ctx); err != nil {
		return err
	}
	if r.o.NoDataPlane {
		return nil
	}
	r.extName = r.cp.res
	r.dpName = r.o.DataPlane
	if r.dpName == "" {
		r.dpName = r.cp.res
	}
	if err := r.planCertificate(ctx); err != nil {
		return err
	}
	var err error
	if r.liveExt, err = r.get(ctx, r.gen.extensionGVR(), r.extName); err != nil {
		return err
	}
	if r.liveDP, err = r.get(ctx, gvrDataPlane, r.dpName); err != nil {
		return err
	}
	for _, l := range []*unstructured.Unstructured{r.liveExt, r.liveDP} {
		if l != nil && !ours(l) && !r.o.Force {
			return r.foreignError(l)
		}
	}
	return nil
}

func (r *run) foreignError(live *unstructured.Unstructured) error {
	return fmt.Errorf("%s %s/%s exists and was not created by kubectl konnect (it has no label %s=%s): init will not change it; "+
		"choose other names (--control-plane, --dataplane, --auth-name), or pass --force to take it over",
		live.GetKind(), live.GetNamespace(), live.GetName(), labelManagedBy, managedBy)
}

func (r *run) tokenSecretName() string { return r.o.AuthName + "-token" }

// planAuth decides about the token Secret and the KonnectAPIAuthConfiguration. An auth configuration
// that init did not create is used as it is when it is for the same organization.
func (r *run) planAuth(ctx context.Context) error {
	a := r.liveAuth
	if a == nil || ours(a) {
		if !r.o.InlineToken && r.liveTokenSecret == nil {
			s, err := r.get(ctx, gvrSecret, r.tokenSecretName())
			if err != nil {
				return err
			}
			r.liveTokenSecret = s
		}
		if s := r.liveTokenSecret; s != nil && !ours(s) && !r.o.Force {
			data, _ := dpcert.SecretData(s)
			if strings.TrimSpace(string(data["token"])) != r.tok.value {
				return r.foreignError(s)
			}
		}
		if a != nil {
			if id := str(a, "status", "organizationID"); id != "" && id != r.org.ID {
				return fmt.Errorf("KonnectAPIAuthConfiguration %s/%s is for Konnect organization %s, but the token is for %s (%q): give a new --auth-name for this organization",
					r.ns, a.GetName(), id, r.org.ID, r.org.Name)
			}
		}
		return nil
	}
	// Someone else's auth configuration: use it if it is for this organization.
	if id := str(a, "status", "organizationID"); id != "" && id != r.org.ID {
		return fmt.Errorf("KonnectAPIAuthConfiguration %s/%s (not created by kubectl konnect) is for Konnect organization %s, but the token is for %s: give another --auth-name",
			r.ns, a.GetName(), id, r.org.ID)
	}
	if r.o.Force {
		return nil
	}
	r.authAdopted = true
	r.p.info("Using KonnectAPIAuthConfiguration %s/%s as it is (not created by kubectl konnect)", r.ns, a.GetName())
	return nil
}

// planControlPlane finds the control plane: a KonnectGatewayControlPlane in the namespace (by resource
// name, then by Konnect name), else one in Konnect (adopted with --adopt, a name clash without), else
// a new one. It refuses KIC and group control planes when a data plane is wanted.
func (r *run) planControlPlane(ctx context.Context) error {
	o := r.o
	c := &r.cp
	c.konnectName = strings.TrimSpace(o.ControlPlane)
	res, _ := resourceNameFor(c.konnectName)
	cpGVR := r.gen.cpGVR()
	live, err := r.get(ctx, cpGVR, res)
	if err != nil {
		return err
	}
	var listed []unstructured.Unstructured
	if live == nil {
		l, err := r.res(cpGVR).List(ctx, metav1.ListOptions{})
		switch {
		case apierrors.IsForbidden(err):
			r.p.warn("may not list KonnectGatewayControlPlanes in namespace %s, so a control plane whose Konnect name is %q cannot be found by that name; pass its resource name to use it", r.ns, c.konnectName)
			l = &unstructured.UnstructuredList{}
		case err != nil:
			return r.kubeErr("list", cpGVR, "", err)
		}
		for i := range l.Items {
			if kgoapi.KonnectName(&l.Items[i]) == c.konnectName {
				live = &l.Items[i]
				r.p.info("%q is the Konnect name of KonnectGatewayControlPlane %s/%s: using it", c.konnectName, r.ns, live.GetName())
				break
			}
		}
		listed = l.Items
	}
	// The control plane of that name in Konnect, once asked (nil: Konnect has none).
	var byName *components.ControlPlane
	askedByName := false
	if live == nil && len(listed) > 0 {
		// A Mirror has no Konnect name in its spec: find one of the namespace that mirrors (or a
		// KonnectGatewayControlPlane that created) Konnect's control plane of that name, rather than
		// adopting it a second time.
		if byName, err = r.kc.controlPlaneByName(ctx, c.konnectName); err != nil {
			return err
		}
		askedByName = true
		for i := range listed {
			if byName != nil && kgoapi.KonnectID(&listed[i]) == strings.ToLower(byName.ID) {
				live, c.konnect = &listed[i], byName
				r.p.info("KonnectGatewayControlPlane %s/%s is Konnect control plane %q (%s) already: using it", r.ns, live.GetName(), c.konnectName, byName.ID)
				break
			}
		}
	}

	if live != nil {
		c.mode, c.live, c.res = cpExisting, live, live.GetName()
		if n := kgoapi.KonnectName(live); n != "" {
			c.konnectName = n
		}
		// A Mirror's cluster type is what kong-operator 2.x read from Konnect (status.clusterType) until
		// Konnect answers below.
		c.clusterType = kgoapi.ClusterType(live)
		c.authType = kgoapi.AuthType(live)
		if !ours(live) {
			r.p.info("Using KonnectGatewayControlPlane %s/%s as it is (not created by kubectl konnect)", r.ns, c.res)
		}
		if ref := kgoapi.AuthRef(live); ref != o.AuthName && !r.authAdopted {
			r.p.warn("KonnectGatewayControlPlane %s/%s authenticates with KonnectAPIAuthConfiguration %s, not %s", r.ns, c.res, ref, o.AuthName)
		}
		switch id := c.id(); {
		case c.konnect != nil:
			// Found in Konnect by its name above.
		case id != "":
			kcp, err := r.kc.controlPlane(ctx, id)
			var ke *KonnectError
			if errors.As(err, &ke) && ke.Status == http.StatusNotFound {
				return fmt.Errorf("KonnectGatewayControlPlane %s/%s refers to control plane %s, which Konnect (%s) does not have: it was deleted in Konnect, or belongs to another region or organization; "+
					"delete the resource (kubectl delete konnectgatewaycontrolplane %s -n %s) and re-run", r.ns, c.res, id, r.server.region, c.res, r.ns)
			}
			if err != nil {
				return err
			}
			c.konnect = kcp
		default:
			kcp, err := r.kc.controlPlaneByName(ctx, c.konnectName)
			if err != nil {
				return err
			}
			if kcp != nil && kcp.Labels["k8s-uid"] != string(live.GetUID()) {
				return r.clashError(kcp, fmt.Sprintf("KonnectGatewayControlPlane %s/%s is not programmed yet, and KGO will fail to create it with 409 Conflict", r.ns, c.res))
			}
		}
	} else {
		c.res = res
		kcp := byName
		if !askedByName {
			if kcp, err = r.kc.controlPlaneByName(ctx, c.konnectName); err != nil {
				return err
			}
		}
		adopted, err := r.adoptedBefore(ctx, kcp)
		if err != nil {
			return err
		}
		switch {
		case kcp != nil && !o.Adopt && !adopted:
			return r.clashError(kcp, "a new KonnectGatewayControlPlane with that name would fail with 409 Conflict when KGO creates it")
		case kcp != nil && r.gen.mirrors():
			ok, merr := mirrorSupported(ctx, r.o.Discovery, cpGVR)
			if merr != nil {
				r.p.warn("could not read the KonnectGatewayControlPlane schema (%v); assuming it has source: Mirror", merr)
			} else if !ok {
				return fmt.Errorf("--adopt: the served KonnectGatewayControlPlane has no source: Mirror (kubernetes-configuration < v1.2), so KGO cannot adopt control plane %q: upgrade KGO's CRDs, or choose a new name", c.konnectName)
			}
			c.mode, c.konnect = cpMirror, kcp
			c.desired = controlPlaneMirror(r.gen, r.ns, c.res, kcp.ID, o.AuthName)
			r.p.info("Adopting Konnect control plane %q (%s) for %s: KonnectGatewayControlPlane %s (%s) with source: Mirror; KGO reads it and never changes or deletes it in Konnect",
				c.konnectName, kcp.ID, r.gen, c.res, cpGVR.GroupVersion())
		case kcp != nil:
			c.mode, c.konnect, c.res = cpDirect, kcp, res
			r.p.info("Adopting Konnect control plane %q (%s) for KGO 1.4: KGO 1.4 cannot adopt a control plane it did not create (no source: Mirror before KGO 1.5, "+
				"and a KonnectGatewayControlPlane of that name would get 409 Conflict), so init registers the certificate through the Konnect API and points the "+
				"KonnectExtension at the control plane's endpoint; no KonnectGatewayControlPlane is made, so Kong entities (KongService, ...) cannot target it from this cluster",
				c.konnectName, kcp.ID)
		case o.Adopt:
			msg := fmt.Sprintf("--adopt: Konnect has no control plane named %q in region %s", c.konnectName, r.server.region)
			if home := r.kc.homeRegion(ctx); home != "" && home != r.server.region {
				msg += fmt.Sprintf(" (your home region is %s: --region %s?)", home, home)
			}
			return errors.New(msg + ": check the name (it is case-sensitive), or leave out --adopt to create it")
		default:
			if err := r.checkHomeRegion(ctx); err != nil {
				return err
			}
			c.mode = cpCreate
			c.clusterType = o.clusterType
			c.desired = controlPlaneOrigin(r.gen, r.ns, c.res, c.konnectName, o.clusterType, o.AuthName)
			if c.res != c.konnectName {
				r.p.info("Control plane %q gets the resource name %s", c.konnectName, c.res)
			}
		}
	}
	if c.konnect != nil {
		c.clusterType = string(c.konnect.Config.ClusterType)
		c.authType = string(c.konnect.Config.AuthType)
	}
	if o.ClusterType != "" && c.mode != cpCreate && c.clusterType != "" && c.clusterType != o.clusterType && o.clusterType != clusterTypeHybrid {
		return fmt.Errorf("--cluster-type %s: control plane %q is of type %s, which cannot change", o.ClusterType, c.konnectName, c.clusterType)
	}
	if !o.NoDataPlane {
		if err := clusterTypeError(c.konnectName, c.clusterType, "in Konnect"); err != nil && c.clusterType != "" {
			return err
		}
	}
	return nil
}

// adoptedBefore says whether an earlier run adopted kcp without a KonnectGatewayControlPlane (KGO 1.4):
// then our KonnectExtension named after it points at its endpoint, and a re-run needs no --adopt.
func (r *run) adoptedBefore(ctx context.Context, kcp *components.ControlPlane) (bool, error) {
	if kcp == nil || r.gen != KGO14 || r.o.NoDataPlane {
		return false, nil
	}
	ext, err := r.get(ctx, gvrExtOperator, r.cp.res)
	if err != nil || !ours(ext) {
		return false, err
	}
	ep, err := parseEndpoint(kcp.Config.ControlPlaneEndpoint)
	if err != nil {
		return false, nil
	}
	return str(ext, "spec", "controlPlaneRef", "konnectID") == ep.prefix, nil
}

func (r *run) clashError(kcp *components.ControlPlane, consequence string) error {
	who := ""
	if ns, name := kcp.Labels["k8s-namespace"], kcp.Labels["k8s-name"]; ns != "" && name != "" {
		who = fmt.Sprintf(", created by KGO for KonnectGatewayControlPlane %s/%s (maybe in another cluster)", ns, name)
	}
	return fmt.Errorf("name clash: Konnect already has a control plane named %q (ID %s, %s, created %s%s); %s. "+
		"Pass --adopt to use that control plane, or choose another --control-plane name",
		kcp.Name, kcp.ID, kcp.Config.ClusterType, kcp.CreatedAt.UTC().Format(time.RFC3339), who, consequence)
}

// checkHomeRegion stops the classic wrong-region mistake before a control plane is created in a region
// where the user's others are not.
func (r *run) checkHomeRegion(ctx context.Context) error {
	if r.o.AllowOtherRegion || (r.o.Region == "" && r.o.ServerURL == "") {
		return nil
	}
	home := r.kc.homeRegion(ctx)
	if home == "" || home == r.server.region {
		return nil
	}
	return fmt.Errorf("wrong region? --region %s: your Konnect user's home region is %q (GET /v3/users/me), and control plane %q does not exist in %s, so init would create it there. "+
		"Use --region %s if that is where your control planes are, or pass --allow-other-region to create it in %s on purpose",
		r.server.region, home, r.cp.konnectName, r.server.region, home, r.server.region)
}

// certPlan is the data plane's certificate: kept from the Secret, or new.
type certPlan struct {
	secretName   string
	live         *unstructured.Unstructured
	c            dpcert.DataPlaneCert
	keep         bool
	secret       *unstructured.Unstructured
	caSecret     *unstructured.Unstructured
	liveCA       *unstructured.Unstructured
	registration *unstructured.Unstructured
	liveReg      *unstructured.Unstructured
}

// planCertificate keeps a valid certificate from an earlier run (or `cert issue`) and otherwise makes a
// new one: self-signed for pinned_client_certs, signed by a new CA for pki_client_certs. The objects
// are those `cert issue` writes, so `cert list` and `cert rotate` work on them.
func (r *run) planCertificate(ctx context.Context) error {
	if r.o.CertProvisioning == "automatic" {
		return nil
	}
	p := &r.crt
	p.secretName = certSecretName(r.cp.res)
	live, err := r.get(ctx, gvrSecret, p.secretName)
	if err != nil {
		return err
	}
	p.live = live
	now := r.o.Now()
	if live != nil {
		if owner := dpcert.ForeignOwner(live); owner != "" && !r.o.Force {
			return fmt.Errorf("Secret %s/%s exists and belongs to %s, not kubectl konnect: init will not replace its key; move it away, or pass --force", r.ns, p.secretName, owner)
		}
		c, err := dpcert.ReadDataPlaneCertSecret(live, now, 30*24*time.Hour)
		switch {
		case err == nil:
		case errors.Is(err, cert.ErrExpiresSoon):
			r.p.warn("%v", err)
		default:
			return fmt.Errorf("the data plane's certificate is not usable: %w", err)
		}
		if r.cp.authType == authTypePKI && c.Registered.Equal(c.Pair.Cert) {
			return fmt.Errorf("control plane %q uses pki_client_certs, but Secret %s/%s holds a self-signed certificate: run kubectl konnect cert rotate %s -n %s --auth-type pki_client_certs, then init again",
				r.cp.konnectName, r.ns, p.secretName, p.secretName, r.ns)
		}
		p.c, p.keep = c, true
	} else {
		tmpl := cert.Template{CommonName: p.secretName, Now: now}
		if r.cp.authType == authTypePKI {
			caTmpl := tmpl
			caTmpl.CommonName = dpcert.CASecretName(p.secretName)
			caTmpl.Validity = 5 * 365 * 24 * time.Hour
			ca, err := cert.IssueCA(caTmpl)
			if err != nil {
				return err
			}
			pair, err := cert.IssueSigned(tmpl, ca)
			if err != nil {
				return err
			}
			p.c = dpcert.DataPlaneCert{Pair: pair, CAPEM: ca.CertPEM, Registered: ca.Cert, CASecret: dpcert.CASecretName(p.secretName)}
			p.caSecret = dpcert.CASecret(r.ns, p.secretName, ca)
			if p.liveCA, err = r.get(ctx, gvrSecret, p.caSecret.GetName()); err != nil {
				return err
			}
		} else {
			pair, err := cert.IssueSelfSigned(tmpl)
			if err != nil {
				return err
			}
			p.c = dpcert.DataPlaneCert{Pair: pair, Registered: pair.Cert}
		}
	}
	p.secret = dpcert.DataPlaneCertSecret(r.ns, p.secretName, r.cp.res, p.c)
	if r.cp.mode != cpDirect {
		p.registration = dpcert.Registration(r.ns, p.secretName, r.cp.res, p.c.Registered)
		if p.liveReg, err = r.get(ctx, gvrDPCert, p.registration.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// certSecretName is the Secret `cert issue` would use for the control plane, shortened (with a hash,
// so it stays the same on every run) when it would not fit the 63 characters of the label value that
// ties the certificate's registration to it.
func certSecretName(controlPlane string) string {
	name := dpcert.DefaultSecretName(controlPlane)
	if len(name) <= validation.LabelValueMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(controlPlane))
	suffix := "-" + hex.EncodeToString(sum[:4])
	keep := validation.LabelValueMaxLength - len(dpcert.DefaultSecretName(suffix))
	return dpcert.DefaultSecretName(strings.TrimRight(controlPlane[:keep], "-") + suffix)
}
