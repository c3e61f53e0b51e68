package initcmd

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// Operations in results.
const (
	opCreated    = "created"
	opConfigured = "configured"
	opUnchanged  = "unchanged"
	opAdopted    = "adopted"
	opOmitted    = "omitted"
)

func (r *run) suffix() string { return kube.DryRunSuffix(r.dry) }

func (r *run) record(gvr schema.GroupVersionResource, name, op string, u *unstructured.Unstructured, secret bool) {
	r.results = append(r.results, result{resource: resourceName(gvr), name: name, op: op, obj: u, secret: secret})
}

// ensure makes live hold desired: nothing when it already does (so a re-run writes nothing), else one
// server-side apply. It returns the object as it now is.
func (r *run) ensure(ctx context.Context, gvr schema.GroupVersionResource, live, desired *unstructured.Unstructured, secret bool) (*unstructured.Unstructured, error) {
	name := desired.GetName()
	kind := kinds[gvr]
	if upToDate(live, desired) {
		shown := live
		if r.dry == kube.DryRunClient {
			shown = desired // a render shows what we own, not what the server added
		}
		r.record(gvr, name, opUnchanged, shown, secret)
		r.p.ok("%s %s unchanged", kind, name)
		return live, nil
	}
	if live != nil && !ours(live) && !r.o.Force {
		return nil, r.foreignError(live)
	}
	op := opCreated
	if live != nil {
		op = opConfigured
	}
	if r.dry == kube.DryRunClient {
		r.record(gvr, name, op+r.suffix(), desired, secret)
		r.p.ok("%s %s %s%s", kind, name, op, r.suffix())
		return desired, nil
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if r.dry == kube.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := r.res(gvr).Apply(ctx, name, desired, opts)
	if err != nil {
		return nil, r.kubeErr("apply", gvr, name, err)
	}
	if r.dry == kube.DryRunNone {
		r.writes++
	}
	r.record(gvr, name, op+r.suffix(), got, secret)
	r.p.ok("%s %s %s%s", kind, name, op, r.suffix())
	return got, nil
}

// apply runs the steps in order. Each is idempotent, so an interrupted run is finished by a re-run.
func (r *run) apply(ctx context.Context) error {
	o := r.o
	if err := r.applyAuth(ctx); err != nil {
		return err
	}
	if err := r.applyControlPlane(ctx); err != nil {
		return err
	}
	if err := r.resolveEndpoint(ctx); err != nil {
		return err
	}
	if o.NoDataPlane {
		return nil
	}
	if err := r.applyCertificate(ctx); err != nil {
		return err
	}

	r.enter(StepExtension)
	var ext *unstructured.Unstructured
	certSecret := r.crt.secretName
	switch {
	case r.gen.mirrors():
		ext = extensionKonnect(r.gen, r.ns, r.extName, r.cp.res, certSecret)
	case r.ep != nil:
		ext = extensionKGO14(r.ns, r.extName, *r.ep, certSecret)
	}
	if ext == nil {
		r.p.warn("KonnectExtension %s and DataPlane %s are left out: KGO 1.4's KonnectExtension needs the control plane's endpoint, which Konnect assigns when KGO creates the control plane. "+
			"Apply this output, wait for KonnectGatewayControlPlane %s to be Programmed, then run this command again for the rest", r.extName, r.dpName, r.cp.res)
		r.record(r.gen.extensionGVR(), r.extName, opOmitted, nil, false)
		r.record(gvrDataPlane, r.dpName, opOmitted, nil, false)
		return nil
	}
	if err := r.checkImmutableRef(ext); err != nil {
		return err
	}
	if _, err := r.ensure(ctx, r.gen.extensionGVR(), r.liveExt, ext, false); err != nil {
		return err
	}
	r.leave(StepExtension)

	r.enter(StepDataPlane)
	dp := dataPlane(r.ns, r.dpName, r.gen, r.extName, o.Image, int64(o.Replicas))
	if _, err := r.ensure(ctx, gvrDataPlane, r.liveDP, dp, false); err != nil {
		return err
	}
	r.leave(StepDataPlane)
	r.step = ""
	return nil
}

// applyAuth writes the token Secret and the KonnectAPIAuthConfiguration: the first two steps of
// both roads.
func (r *run) applyAuth(ctx context.Context) error {
	o := r.o
	r.enter(StepToken)
	if !r.authAdopted && !o.InlineToken {
		desired := tokenSecret(r.ns, r.tokenSecretName(), r.tok.value)
		if l := r.liveTokenSecret; l != nil && !ours(l) && !o.Force {
			r.record(gvrSecret, l.GetName(), opAdopted, l, true)
			r.p.ok("Secret %s holds the token already (not created by kubectl konnect; left as it is)", l.GetName())
		} else if _, err := r.ensure(ctx, gvrSecret, r.liveTokenSecret, desired, true); err != nil {
			return err
		}
	}
	r.leave(StepToken)

	r.enter(StepAuth)
	if r.authAdopted {
		r.record(gvrAuth, r.liveAuth.GetName(), opAdopted, r.liveAuth, false)
	} else {
		inline := ""
		if o.InlineToken {
			inline = r.tok.value
			r.p.warn("--inline-token: the token is stored in KonnectAPIAuthConfiguration %s/%s spec.token, readable by anyone who may read that resource", r.ns, o.AuthName)
		}
		if _, err := r.ensure(ctx, gvrAuth, r.liveAuth, authConfig(r.ns, o.AuthName, r.server, r.tokenSecretName(), inline), inline != ""); err != nil {
			return err
		}
	}
	r.leave(StepAuth)
	return nil
}

// applyGateway is the Gateway road: auth, then the GatewayConfiguration, GatewayClass and Gateway;
// kong-operator makes the rest. It waits until the Gateway is Programmed and its control plane is
// programmed in Konnect, then reads the control plane's endpoint from Konnect.
func (r *run) applyGateway(ctx context.Context) error {
	if err := r.applyAuth(ctx); err != nil {
		return err
	}
	g := &r.gw
	for _, w := range []struct {
		step       string
		gvr        schema.GroupVersionResource
		live, want *unstructured.Unstructured
	}{
		{StepGatewayConfiguration, gvrGatewayConfiguration, g.liveConfig, g.config},
		{StepGatewayClass, gvrGatewayClass, g.liveClass, g.class},
		{StepGateway, gvrGateway, g.liveGW, g.gateway},
	} {
		r.enter(w.step)
		got, err := r.ensure(ctx, w.gvr, w.live, w.want, false)
		if err != nil {
			return err
		}
		if w.gvr == gvrGateway {
			g.liveGW = got
		}
		r.leave(w.step)
	}
	if r.dry != kube.DryRunNone {
		r.step = ""
		return nil
	}

	r.enter(StepGatewayProgrammed)
	gw, err := r.waitFor(ctx, gvrGateway, g.liveGW, fmt.Sprintf("kong-operator to program Gateway %s", g.liveGW.GetName()),
		fmt.Sprintf("Gateway %s programmed by kong-operator", g.liveGW.GetName()), func(u *unstructured.Unstructured) (bool, string, error) {
			return gatewayProgress(u)
		}, r.gatewayHint)
	if err != nil {
		return err
	}
	g.liveGW = gw
	cp, err := r.gatewayControlPlane(ctx, gw)
	if err != nil {
		return err
	}
	if cp == nil {
		return fmt.Errorf("Gateway %s/%s is Programmed, but no KonnectGatewayControlPlane in the namespace is labelled %s=%s and owned by it: is the Gateway hybrid (GatewayConfiguration %s spec.konnect)?",
			r.ns, gw.GetName(), labelGatewayName, gw.GetName(), str(g.config, "metadata", "name"))
	}
	if cp, err = r.waitControlPlane(ctx, cp); err != nil {
		return err
	}
	r.cp.live, r.cp.res, r.cp.mode = cp, cp.GetName(), cpExisting
	if n := kgoapi.KonnectName(cp); n != "" {
		r.cp.konnectName = n
	}
	r.leave(StepGatewayProgrammed)
	return r.resolveEndpoint(ctx)
}

// gatewayProgress reads kong-operator's Gateway conditions in the order it sets them
// (controller/gateway/controller.go Reconcile, v2.2.3): Accepted, then for a hybrid Gateway
// KonnectGatewayControlPlaneProgrammed and KonnectExtensionReady, then DataPlaneReady, GatewayService
// and Programmed.
// It reports the first that is not True.
func gatewayProgress(u *unstructured.Unstructured) (bool, string, error) {
	if st, _, _ := condition(u, "Programmed"); st == "True" && observedCurrent(u, "Programmed") {
		return true, "", nil
	}
	// ControlPlaneReady stands in for KonnectGatewayControlPlaneProgrammed while the control plane is
	// being created (provisionKonnectGatewayControlPlane writes it then), so it counts only when present.
	for _, typ := range []string{"Accepted", "ControlPlaneReady", "KonnectGatewayControlPlaneProgrammed", "KonnectExtensionReady", "DataPlaneReady", "GatewayService", "Programmed"} {
		st, _, _ := condition(u, typ)
		if typ == "ControlPlaneReady" && st == "" {
			continue
		}
		if st != "True" {
			return false, conditionText(u, typ), nil
		}
	}
	return false, conditionText(u, "Programmed") + " (of an earlier generation)", nil
}

// observedCurrent: the condition speaks of the Gateway's current spec.
func observedCurrent(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		g, ok := m["observedGeneration"].(int64)
		return !ok || g >= u.GetGeneration()
	}
	return false
}

// gatewayHint says, on timeout, what the GatewayClass and the auth configuration say: a class
// kong-operator did not accept, or a token Konnect refused, stops everything.
func (r *run) gatewayHint(ctx context.Context) string {
	var out string
	if c, err := r.get(ctx, gvrGatewayClass, r.gw.className); err == nil && c != nil {
		out += fmt.Sprintf("; GatewayClass %s says %s", c.GetName(), conditionText(c, "Accepted"))
	}
	if a, err := r.get(ctx, gvrAuth, r.o.AuthName); err == nil && a != nil {
		out += "; its KonnectAPIAuthConfiguration says " + conditionText(a, "APIAuthValid")
	}
	return out
}

func (r *run) applyControlPlane(ctx context.Context) error {
	r.enter(StepControlPlane)
	c := &r.cp
	switch c.mode {
	case cpCreate, cpMirror:
		u, err := r.ensure(ctx, r.gen.cpGVR(), c.live, c.desired, false)
		if err != nil {
			return err
		}
		if r.dry == kube.DryRunNone {
			c.live = u
		}
	case cpExisting:
		op := opUnchanged
		if !ours(c.live) {
			op = opAdopted
		}
		r.record(r.gen.cpGVR(), c.res, op, c.live, false)
		r.p.ok("KonnectGatewayControlPlane %s %s", c.res, op)
	case cpDirect:
		r.results = append(r.results, result{resource: "konnect-controlplane", name: c.konnectName, op: opAdopted})
	}
	if c.mode != cpDirect && r.dry == kube.DryRunNone && c.live != nil {
		u, err := r.waitControlPlane(ctx, c.live)
		if err != nil {
			return err
		}
		c.live = u
	}
	r.leave(StepControlPlane)
	return nil
}

// waitControlPlane waits for KGO to program the control plane: Programmed=True and status.id.
func (r *run) waitControlPlane(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	what := fmt.Sprintf("KGO to program KonnectGatewayControlPlane %s", u.GetName())
	return r.waitFor(ctx, r.gen.cpGVR(), u, what, fmt.Sprintf("KonnectGatewayControlPlane %s programmed by KGO", u.GetName()), func(u *unstructured.Unstructured) (bool, string, error) {
		st, reason, msg := condition(u, "Programmed")
		if st == "True" && str(u, "status", "id") != "" {
			return true, "", nil
		}
		if st == "False" && reason == "KonnectAPIOpFailed" && (strings.Contains(msg, "409") || strings.Contains(msg, "onflict")) {
			return false, "", fmt.Errorf("KGO could not create control plane %q in Konnect: the name is taken (409 Conflict): %s. Delete KonnectGatewayControlPlane %s/%s and re-run with --adopt to use the existing one, or choose another --control-plane name",
				r.cp.konnectName, msg, r.ns, u.GetName())
		}
		return false, conditionText(u, "Programmed"), nil
	}, func(ctx context.Context) string {
		// On timeout, say what the auth configuration says too: an invalid token stops everything.
		a, err := r.get(ctx, gvrAuth, kgoapi.AuthRef(u))
		if err != nil || a == nil {
			return ""
		}
		return "; its KonnectAPIAuthConfiguration says " + conditionText(a, "APIAuthValid")
	})
}

// resolveEndpoint reads the control plane from the Konnect API: its endpoints (which KGO 1.4's
// KonnectExtension is made of), cluster type and auth type.
func (r *run) resolveEndpoint(ctx context.Context) error {
	r.enter(StepEndpoint)
	c := &r.cp
	id := c.id()
	if id == "" {
		r.p.info("Endpoint: known once KGO has created the control plane in Konnect (dry run)")
		r.leave(StepEndpoint)
		return nil
	}
	if c.konnect == nil || !strings.EqualFold(c.konnect.ID, id) {
		kcp, err := r.kc.controlPlane(ctx, id)
		if err != nil {
			return err
		}
		c.konnect = kcp
		c.clusterType = string(kcp.Config.ClusterType)
		if !r.o.NoDataPlane {
			if err := clusterTypeError(c.konnectName, c.clusterType, "in Konnect"); err != nil {
				return err
			}
		}
		if at := string(kcp.Config.AuthType); at != c.authType && r.crt.live == nil && r.crt.secret != nil {
			// A new control plane turned out to use another auth type than planned: plan the certificate again.
			c.authType = at
			if err := r.planCertificate(ctx); err != nil {
				return err
			}
		}
	}
	r.epRaw, r.tpRaw = c.konnect.Config.ControlPlaneEndpoint, c.konnect.Config.TelemetryEndpoint
	if r.gen == KGO14 {
		ep, err := parseEndpoint(r.epRaw)
		if err != nil {
			return err
		}
		r.ep = &ep
	}
	r.p.ok("Control plane %q is %s; endpoint %s (from the Konnect API)", c.konnectName, id, r.epRaw)
	r.leave(StepEndpoint)
	return nil
}

func (r *run) applyCertificate(ctx context.Context) error {
	r.enter(StepCertificate)
	defer r.leave(StepCertificate)
	if r.o.CertProvisioning == "automatic" {
		r.p.info("Certificate: KGO makes and registers it (--cert-provisioning automatic)")
		return nil
	}
	p := &r.crt
	if !p.keep {
		c := p.c.Pair.Cert
		r.p.info("New data-plane certificate: %s CN=%s, fingerprint %s, valid until %s", p.c.Pair.KeyType(), c.Subject.CommonName,
			cert.ShortFingerprint(c), c.NotAfter.UTC().Format(time.RFC3339))
	}
	if p.caSecret != nil {
		if _, err := r.ensure(ctx, gvrSecret, p.liveCA, p.caSecret, true); err != nil {
			return err
		}
	}
	// The Secret first: once it holds the key, every re-run reuses it, so an interruption can never
	// lead to a second certificate.
	if _, err := r.ensure(ctx, gvrSecret, p.live, p.secret, true); err != nil {
		return err
	}
	if r.cp.mode == cpDirect {
		id := r.cp.id()
		if r.dry != kube.DryRunNone {
			r.p.info("Would register certificate %s with control plane %s through the Konnect API (dry run)", cert.ShortFingerprint(p.c.Registered), id)
			r.results = append(r.results, result{resource: "konnect-dp-client-certificate", name: cert.ShortFingerprint(p.c.Registered), op: opCreated + r.suffix()})
			return nil
		}
		created, err := r.kc.registerCert(ctx, id, cert.EncodeCertsPEM(p.c.Registered))
		if err != nil {
			return err
		}
		op, what := opUnchanged, "was registered in Konnect already"
		if created {
			op, what = opCreated, "registered in Konnect"
			r.writes++
		}
		r.results = append(r.results, result{resource: "konnect-dp-client-certificate", name: cert.ShortFingerprint(p.c.Registered), op: op})
		r.p.ok("Certificate %s %s (control plane %s)", cert.ShortFingerprint(p.c.Registered), what, id)
		return nil
	}
	u, err := r.ensure(ctx, gvrDPCert, p.liveReg, p.registration, false)
	if err != nil {
		return err
	}
	if r.dry == kube.DryRunNone {
		if _, err := r.waitFor(ctx, gvrDPCert, u, fmt.Sprintf("KGO to register KongDataPlaneClientCertificate %s in Konnect", u.GetName()),
			fmt.Sprintf("KongDataPlaneClientCertificate %s registered in Konnect by KGO", u.GetName()), func(u *unstructured.Unstructured) (bool, string, error) {
				st, _, _ := condition(u, "Programmed")
				return st == "True", conditionText(u, "Programmed"), nil
			}, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkImmutableRef refuses to change the control plane of an existing KonnectExtension: the CRD
// makes it immutable, and the API server's message would not say what to do.
func (r *run) checkImmutableRef(desired *unstructured.Unstructured) error {
	live := r.liveExt
	if live == nil {
		return nil
	}
	path := []string{"spec", "konnect", "controlPlane", "ref"}
	if r.gen == KGO14 {
		path = []string{"spec", "controlPlaneRef"}
	}
	have, _, _ := unstructured.NestedFieldNoCopy(live.Object, path...)
	want, _, _ := unstructured.NestedFieldNoCopy(desired.Object, path...)
	if have == nil || reflect.DeepEqual(have, want) {
		return nil
	}
	return fmt.Errorf("KonnectExtension %s/%s points at another control plane (%s: %v), and that reference cannot change: delete it (kubectl delete %s %s -n %s) and re-run, or pick another --control-plane",
		r.ns, live.GetName(), strings.Join(path, "."), have, resourceName(r.gen.extensionGVR()), live.GetName(), r.ns)
}

func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
			return
		}
	}
	return "", "", ""
}

func conditionText(u *unstructured.Unstructured, typ string) string {
	st, reason, msg := condition(u, typ)
	if st == "" {
		return "no " + typ + " condition yet"
	}
	s := typ + "=" + st
	if reason != "" {
		s += " (" + reason + ")"
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// waitFor watches the object until done says so, showing its status; on timeout the error carries the
// last status and the hint. A watch is one round trip however long the wait; where watching is not
// allowed, it polls.
func (r *run) waitFor(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, what, doneMsg string,
	done func(*unstructured.Unstructured) (bool, string, error), hint func(context.Context) string) (*unstructured.Unstructured, error) {
	ok, last, err := done(u)
	if err != nil || ok {
		return u, err
	}
	name := u.GetName()
	began := r.o.Now()
	werr := r.p.wait(ctx, what, func(ctx context.Context, status func(string)) error {
		status(last)
		rv := u.GetResourceVersion()
		poll := false
		for {
			if poll {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(500 * time.Millisecond):
				}
				got, err := r.get(ctx, gvr, name)
				if err != nil {
					return err
				}
				if got == nil {
					return fmt.Errorf("%s %s/%s was deleted while init waited for it", kinds[gvr], r.ns, name)
				}
				u = got
				if ok, last, err = done(u); err != nil || ok {
					return err
				}
				status(last)
				continue
			}
			w, err := r.res(gvr).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: rv})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) {
					poll = true
					continue
				}
				return r.kubeErr("watch", gvr, name, err)
			}
			for ev := range w.ResultChan() {
				switch ev.Type {
				case watch.Added, watch.Modified:
					nu, isU := ev.Object.(*unstructured.Unstructured)
					if !isU {
						continue
					}
					u, rv = nu, nu.GetResourceVersion()
					if ok, last, err = done(u); err != nil || ok {
						w.Stop()
						return err
					}
					status(last)
				case watch.Deleted:
					w.Stop()
					return fmt.Errorf("%s %s/%s was deleted while init waited for it", kinds[gvr], r.ns, name)
				case watch.Error:
					// Usually 410 Gone: the resourceVersion is too old. Read the object afresh.
					got, err := r.get(ctx, gvr, name)
					if err != nil {
						w.Stop()
						return err
					}
					if got != nil {
						u, rv = got, got.GetResourceVersion()
						if ok, last, err = done(u); err != nil || ok {
							w.Stop()
							return err
						}
					}
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	})
	if werr == nil {
		r.p.ok("%s (after %s)", doneMsg, fmtDuration(r.o.Now().Sub(began)))
		return u, nil
	}
	if errors.Is(werr, context.DeadlineExceeded) {
		extra := ""
		if hint != nil {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			extra = hint(hctx)
			cancel()
		}
		return nil, &TimeoutError{Err: fmt.Errorf("timed out after %s waiting for %s: last seen %s%s. Is KGO running, with its Konnect controllers enabled? (kubectl get pods -A -l app.kubernetes.io/name=gateway-operator). "+
			"Everything done so far is kept: re-run the same command to go on", fmtDuration(r.o.Now().Sub(began)), what, last, extra)}
	}
	return nil, werr
}
