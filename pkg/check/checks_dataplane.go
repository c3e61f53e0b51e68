package check

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// ago renders how long ago t was: "3s", "10m", "2h".
func ago(now, t time.Time) string { return cert.HumanDuration(now.Sub(t)) }

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func certificateChecks() []Check {
	return []Check{{
		ID:          IDCertificateSecret,
		Description: "data plane certificate Secret is present",
		Details:     "The Secret the KonnectExtension mounts as the data plane's cluster certificate: spec.konnectControlPlaneAPIAuthConfiguration.clusterCertificateSecretRef on KGO 1.4; on KGO >= 1.5 and kong-operator 2.x (konnect.konghq.com v1alpha1 and v1alpha2 alike) spec.clientAuth.certificateSecret.secretRef (Manual) or status.dataPlaneClientAuth.certificateSecretRef (Automatic). tls.crt and tls.key must parse and belong together.",
		Needs:       []string{IDKGOGeneration},
		Retry:       true, // KGO provisions Automatic certificates on its own time
		Run: func(ctx context.Context, e *Env) Result {
			x, err := e.extension(ctx)
			if err != nil {
				return Skipped("skipped: no KonnectExtension names the certificate: %v", err)
			}
			if !x.Active {
				gen, _ := e.Generation(ctx)
				return Skipped("skipped: the data plane's KonnectExtension %s is of group %s, which %s does not act on (see extension-found)", x.Name, x.Group, operatorName(gen))
			}
			if x.Obj == nil {
				return Skipped("skipped: %s %s does not exist", x.kind(), x.Name)
			}
			cs, err := e.certSecret(ctx)
			if err != nil {
				return failedFrom(err)
			}
			return Passed("Secret %s: CN %q, SHA-256 fingerprint %s", cs.Name, cs.Cert.Subject.CommonName, cert.ShortFingerprint(cs.Cert))
		},
	}, {
		ID:          IDCertificateExpiry,
		Description: "certificate is not about to expire",
		Details:     "Fails when the certificate expired or is not valid yet (Konnect refuses the data plane); warns when it expires within --renew-before.",
		Needs:       []string{IDCertificateSecret},
		Run: func(ctx context.Context, e *Env) Result {
			cs, err := e.certSecret(ctx)
			if err != nil {
				return failedFrom(err)
			}
			now, c := e.now(), cs.Cert
			hint := fmt.Sprintf("Issue a new certificate and register it before switching: kubectl konnect cert rotate %s -n %s (for Secrets made by kubectl konnect cert issue), then run the check again.", cs.Name, e.Namespace)
			switch {
			case now.Before(c.NotBefore):
				return Failed("Check this machine's clock, or issue a new certificate. "+hint, "not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
			case !now.Before(c.NotAfter):
				return Failed(hint, "expired on %s, %s ago: Konnect refuses the data plane", day(c.NotAfter), ago(now, c.NotAfter))
			case c.NotAfter.Sub(now) < e.RenewBefore:
				return Warned(hint, "expires on %s, in %s (less than --renew-before %s)", day(c.NotAfter), cert.HumanDuration(c.NotAfter.Sub(now)), cert.HumanDuration(e.RenewBefore))
			}
			return Passed("valid until %s (%s)", day(c.NotAfter), cert.HumanDuration(c.NotAfter.Sub(now)))
		},
	}, {
		ID:          IDCertificateRegistered,
		Description: "certificate is registered on the control plane in Konnect",
		Details:     "GET /v2/control-planes/{id}/dp-client-certificates, compared by SHA-256 fingerprint; with auth_type pki_client_certs a certificate signed by a registered CA passes. The same certificate pinned more than once warns and names the stale copies (two racing registrations leave one orphaned: seen with KGO 1.6.2). A KongDataPlaneClientCertificate of the namespace that holds the certificate is named with its Programmed condition, which says why KGO did not register it.",
		Needs:       []string{IDCertificateSecret, IDControlPlaneProgrammed, IDAuthTokenValid},
		Retry:       true, // KGO registers KongDataPlaneClientCertificates on its own time
		Run: func(ctx context.Context, e *Env) Result {
			cs, err := e.certSecret(ctx)
			if err != nil {
				return failedFrom(err)
			}
			regs, err := e.registeredCerts(ctx)
			if err != nil {
				return konnectPrereq(err)
			}
			cp, _ := e.controlPlane(ctx)
			for _, r := range regs {
				if r.Equal(cs.Cert) {
					if w, twice := pinnedTwice(ctx, e, cs.Cert); twice {
						return w
					}
					return Passed("fingerprint %s is %s pinned to control plane %s", cert.ShortFingerprint(cs.Cert), oneOf(len(regs), "certificate"), cp.GetName())
				}
			}
			if kcp, err := e.konnectControlPlane(ctx); err == nil && kcp.Config.AuthType == components.ControlPlaneAuthTypePkiClientCerts {
				for _, r := range regs {
					if cs.Cert.CheckSignatureFrom(r) == nil {
						return Passed("signed by the registered CA %q (fingerprint %s) of control plane %s (pki_client_certs)", r.Subject.CommonName, cert.ShortFingerprint(r), cp.GetName())
					}
				}
			}
			msg := fmt.Sprintf("fingerprint %s is not registered on control plane %s in Konnect, which has %s: Konnect refuses the data plane",
				cert.ShortFingerprint(cs.Cert), cp.GetName(), count(len(regs), "certificate"))
			hint := fmt.Sprintf("Register the certificate of Secret %s: a KongDataPlaneClientCertificate with spec.controlPlaneRef {type: konnectNamespacedRef, konnectNamespacedRef: {name: %s}} and spec.cert set to the Secret's tls.crt; or issue a registered pair with kubectl konnect cert issue NAME --control-plane %s -n %s and point the KonnectExtension at Secret NAME.",
				cs.Name, cp.GetName(), cp.GetName(), e.Namespace)
			// A registration in the cluster that KGO did not program explains why.
			if holders, err := e.list(ctx, gvrDPCertificates); err == nil {
				for _, h := range holders {
					certs, err := cert.DecodeCertsPEM([]byte(str(h, "spec", "cert")))
					if err != nil || len(certs) == 0 || !certs[0].Equal(cs.Cert) {
						continue
					}
					ref := str(h, "spec", "controlPlaneRef", "konnectNamespacedRef", "name")
					st, reason, cmsg, _ := condition(h, "Programmed")
					msg += fmt.Sprintf("; KongDataPlaneClientCertificate %s holds it (controlPlaneRef %s, Programmed=%s %s %s)", h.GetName(), ref, st, reason, cmsg)
					hint = fmt.Sprintf("KGO says why it did not register it: kubectl describe kongdataplaneclientcertificate %s -n %s", h.GetName(), e.Namespace)
				}
			}
			return Failed(hint, "%s", strings.TrimSpace(msg))
		},
	}}
}

func extensionChecks() []Check {
	return []Check{{
		ID:          IDExtensionFound,
		Description: "KonnectExtension of the group this KGO acts on",
		Details:     "The KonnectExtension named in the DataPlane's spec.extensions must be of the group this KGO acts on (gateway-operator.konghq.com on KGO 1.4, konnect.konghq.com on KGO >= 1.5: v1alpha1 on KGO 1.5/1.6, v1alpha2 on kong-operator 2.x, which serves no gateway-operator.konghq.com KonnectExtension) and exist.",
		Needs:       []string{IDKGOGeneration},
		Run: func(ctx context.Context, e *Env) Result {
			if _, err := e.dataPlane(ctx); err != nil {
				return Skipped("skipped: no DataPlane to read spec.extensions from: %v", err)
			}
			x, err := e.extension(ctx)
			if err != nil {
				return failedFrom(err)
			}
			gen, _ := e.Generation(ctx)
			if !x.Active {
				if gen == rules.GenerationKGO14 {
					return Failed(fmt.Sprintf("KGO 1.4 reads gateway-operator.konghq.com/v1alpha1 KonnectExtension: set group: gateway-operator.konghq.com in spec.extensions of DataPlane %s and create that KonnectExtension.", e.selectedDataPlane),
						"DataPlane %s uses KonnectExtension %s of group %s, which KGO 1.4 does not act on", e.selectedDataPlane, x.Name, x.Group)
				}
				gvr, err := e.extensionGVR(ctx)
				if err != nil {
					return failedFrom(err)
				}
				ignores := "ignores"
				if gen.KongOperator2() {
					ignores = "neither serves nor acts on"
				}
				msg := fmt.Sprintf("DataPlane %s uses KonnectExtension %s of group %s, which %s %s", e.selectedDataPlane, x.Name, x.Group, operatorName(gen), ignores)
				hint := fmt.Sprintf("Create a %s KonnectExtension with spec.konnect.controlPlane.ref {type: konnectNamespacedRef, konnectNamespacedRef: {name: %s}} and set group: konnect.konghq.com in spec.extensions of DataPlane %s.", gvr.GroupVersion(), e.controlPlaneNameOr("<control plane>"), e.selectedDataPlane)
				// The usual slip: the extension exists, but spec.extensions
				// leaves group out, which defaults to gateway-operator.konghq.com.
				if same, err := e.get(ctx, gvr, x.Name); err == nil && same != nil {
					hint = fmt.Sprintf("Set group: konnect.konghq.com in spec.extensions of DataPlane %s, where %s KonnectExtension %s exists (a group left out defaults to gateway-operator.konghq.com): kubectl patch dataplane %s -n %s --type json -p '[{\"op\":\"replace\",\"path\":\"/spec/extensions/%d/group\",\"value\":\"konnect.konghq.com\"}]'",
						e.selectedDataPlane, gvr.GroupVersion(), x.Name, e.selectedDataPlane, e.Namespace, x.Index)
				}
				return Failed(hint, "%s", msg)
			}
			if x.Obj == nil {
				return Failed(fmt.Sprintf("Create %s %s in namespace %s, or correct spec.extensions of DataPlane %s.", x.kind(), x.Name, e.Namespace, e.selectedDataPlane),
					"%s %s named by DataPlane %s does not exist", x.kind(), x.Name, e.selectedDataPlane)
			}
			return Passed("%s (%s), as %s expects", x.Name, x.Obj.GetAPIVersion(), gen)
		},
	}, {
		ID:          IDExtensionTarget,
		Description: "KonnectExtension points at the control plane",
		Details:     "KGO's ControlPlaneRefValid condition on a konnect.konghq.com KonnectExtension comes first: False fails the check, quoting KGO. KGO 1.4 builds the data plane's cluster endpoint <konnectID>.<controlPlaneRegion>.cp0.<serverHostname>: it must be the control plane's endpoint host; a wrong prefix is looked up among the organization's control planes to name where the data plane goes instead. KGO >= 1.5: spec.konnect.controlPlane.ref must name the control plane (konnectNamespacedRef) or its Konnect ID (konnectID; KGO 1.5/1.6 only, kong-operator 2.x takes konnectNamespacedRef alone), and status.konnect must agree with Konnect.",
		Needs:       []string{IDExtensionFound, IDControlPlaneFound},
		Run: func(ctx context.Context, e *Env) Result {
			x, err := e.extension(ctx)
			if err != nil {
				return failedFrom(err)
			}
			cp, err := e.controlPlane(ctx)
			if err != nil {
				return failedFrom(err)
			}
			if x.Group == groupGatewayOperator {
				// KGO 1.4 writes no status on this KonnectExtension.
				return legacyExtensionTarget(ctx, e, x.Obj, cp)
			}
			own := extensionTarget(ctx, e, x.Obj, cp)
			// ControlPlaneRefValid is KGO's verdict on this very reference
			// (KGO v1.5.1 controller/konnect/konnectextension_controller_utils.go
			// getKonnectControlPlane: False, reason Invalid, with the error of
			// resolving the control plane or of finding it in Konnect).
			kgo, no := kgoSaysNo(x.Obj, "KonnectExtension "+x.Name,
				fmt.Sprintf("kubectl describe konnectextension.konnect.konghq.com %s -n %s", x.Name, e.Namespace), "ControlPlaneRefValid")
			if !no {
				return own
			}
			if own.Status != Pass {
				kgo.Message += "; and " + own.Message
				if own.Hint != "" {
					kgo.Hint = own.Hint
				}
			}
			return kgo
		},
	}, {
		ID:          IDExtensionReady,
		Description: "KonnectExtension is Ready",
		Details:     "KGO >= 1.5 and kong-operator 2.x: condition Ready=True. KGO 1.4 writes no status on its KonnectExtension, so the check is skipped there.",
		Needs:       []string{IDExtensionFound},
		Retry:       true,
		Run: func(ctx context.Context, e *Env) Result {
			x, err := e.extension(ctx)
			if err != nil {
				return failedFrom(err)
			}
			if x.Group == groupGatewayOperator {
				return NotApplicable("KGO 1.4 reports no status on gateway-operator.konghq.com KonnectExtension")
			}
			st, reason, msg, found := condition(x.Obj, "Ready")
			hint := fmt.Sprintf("KGO says why in status.conditions: kubectl describe konnectextension.konnect.konghq.com %s -n %s", x.Name, e.Namespace)
			if !found {
				return Failed(hint, "no Ready condition: KGO has not reconciled KonnectExtension %s", x.Name)
			}
			if st != "True" {
				// Ready says little while KGO provisions ("provisioning in
				// progress"); the condition that is False says why.
				return Failed(hint, "Ready=%s (%s): %s%s", st, reason, msg, alsoFalse(x.Obj, "Ready"))
			}
			if r, no := kgoSaysNo(x.Obj, "KonnectExtension "+x.Name, fmt.Sprintf("kubectl describe konnectextension.konnect.konghq.com %s -n %s", x.Name, e.Namespace)); no {
				return r
			}
			return Passed("Ready")
		},
	}}
}

// operatorName names the operator of a generation, for messages.
func operatorName(gen rules.Generation) string {
	switch {
	case gen == rules.GenerationKGO14:
		return "KGO 1.4"
	case gen.KongOperator2():
		return "kong-operator 2.x"
	}
	return "KGO >= 1.5"
}

// legacyExtensionTarget checks a KGO 1.4 KonnectExtension: KGO builds the
// data plane's cluster endpoint <konnectID>.<region>.cp0.<serverHostname>,
// which must be the control plane's endpoint.
func legacyExtensionTarget(ctx context.Context, e *Env, ext, cp *unstructured.Unstructured) Result {
	ep, err := e.endpoint(ctx)
	if err != nil {
		return Skipped("skipped: the control plane's endpoint is not known, so konnectID cannot be compared: %v", err)
	}
	typ := str(ext, "spec", "controlPlaneRef", "type")
	id := str(ext, "spec", "controlPlaneRef", "konnectID")
	region := str(ext, "spec", "controlPlaneRegion")
	server := str(ext, "spec", "serverHostname")
	patch := fmt.Sprintf("kubectl patch konnectextension.gateway-operator.konghq.com %s -n %s --type merge -p '{\"spec\":{\"controlPlaneRef\":{\"type\":\"konnectID\",\"konnectID\":\"%s\"},\"controlPlaneRegion\":\"%s\",\"serverHostname\":\"%s\"}}'",
		ext.GetName(), e.Namespace, ep.Prefix, ep.Region, ep.ServerHostname)
	built := fmt.Sprintf("%s.%s.cp0.%s", id, region, server)
	if typ == "konnectID" && built == ep.Host {
		return Passed("konnectID %s, region %s, serverHostname %s: the endpoint %s of control plane %s", id, region, server, ep.URL, cp.GetName())
	}
	if typ != "konnectID" {
		return Failed("Point it at the control plane's endpoint: "+patch, "controlPlaneRef.type is %q; KGO 1.4 needs konnectID, the control plane's endpoint prefix", typ)
	}
	var diffs []string
	if id != ep.Prefix {
		d := fmt.Sprintf("konnectID %q is not the endpoint prefix %s of control plane %s", id, ep.Prefix, cp.GetName())
		if other := e.konnectControlPlaneByPrefix(ctx, id); other != "" {
			d += fmt.Sprintf(" (it is the prefix of %s)", other)
		} else if looksLikeUUID(id) {
			d += " (it looks like a control plane ID; KGO 1.4 wants the endpoint prefix)"
		}
		diffs = append(diffs, d)
	}
	if region != ep.Region {
		diffs = append(diffs, fmt.Sprintf("controlPlaneRegion %q is not %s", region, ep.Region))
	}
	if server != ep.ServerHostname {
		diffs = append(diffs, fmt.Sprintf("serverHostname %q is not %s", server, ep.ServerHostname))
	}
	return Failed("Point it at the control plane's endpoint: "+patch, "%s: the data plane dials %s, not %s", strings.Join(diffs, "; "), built, ep.Host)
}

func looksLikeUUID(s string) bool { return len(s) == 36 && strings.Count(s, "-") == 4 }

// extensionTarget checks a konnect.konghq.com KonnectExtension (KGO >= 1.5).
func extensionTarget(ctx context.Context, e *Env, ext, cp *unstructured.Unstructured) Result {
	ref := []string{"spec", "konnect", "controlPlane", "ref"}
	cpID := kgoapi.KonnectID(cp)
	switch typ := str(ext, append(ref, "type")...); typ {
	case "konnectNamespacedRef":
		name := str(ext, append(ref, "konnectNamespacedRef", "name")...)
		if name != cp.GetName() {
			return Failed(fmt.Sprintf("Point it at the control plane: kubectl patch konnectextension.konnect.konghq.com %s -n %s --type merge -p '{\"spec\":{\"konnect\":{\"controlPlane\":{\"ref\":{\"konnectNamespacedRef\":{\"name\":\"%s\"}}}}}}'", ext.GetName(), e.Namespace, cp.GetName()),
				"konnectNamespacedRef names KonnectGatewayControlPlane %s, not %s", name, cp.GetName())
		}
	case "konnectID":
		id := str(ext, append(ref, "konnectID")...)
		if cpID != "" && !strings.EqualFold(id, cpID) {
			msg := fmt.Sprintf("konnectID %s is not the ID %s of control plane %s", id, cpID, cp.GetName())
			if other := e.konnectControlPlaneName(ctx, id); other != "" {
				msg += fmt.Sprintf(" (it is Konnect control plane %q)", other)
			}
			return Failed(fmt.Sprintf("Point it at the control plane, by resource name: kubectl patch konnectextension.konnect.konghq.com %s -n %s --type merge -p '{\"spec\":{\"konnect\":{\"controlPlane\":{\"ref\":{\"konnectID\":\"%s\"}}}}}' (or use type konnectNamespacedRef with name %s).", ext.GetName(), e.Namespace, cpID, cp.GetName()),
				"%s", msg)
		}
	default:
		return Failed("Use controlPlane.ref type konnectNamespacedRef with the KonnectGatewayControlPlane's name.", "controlPlane.ref.type %q is not supported for data planes", typ)
	}
	// What KGO resolved must agree.
	if got := str(ext, "status", "konnect", "controlPlaneID"); got != "" && cpID != "" && !strings.EqualFold(got, cpID) {
		return Failed(fmt.Sprintf("kubectl describe konnectextension.konnect.konghq.com %s -n %s", ext.GetName(), e.Namespace),
			"status.konnect.controlPlaneID %s is not the ID %s of control plane %s", got, cpID, cp.GetName())
	}
	if ep, err := e.endpoint(ctx); err == nil {
		if got := str(ext, "status", "konnect", "endpoints", "controlPlane"); got != "" && got != ep.URL {
			return Failed(fmt.Sprintf("kubectl describe konnectextension.konnect.konghq.com %s -n %s", ext.GetName(), e.Namespace),
				"status.konnect.endpoints.controlPlane %s is not the endpoint %s Konnect gives control plane %s", got, ep.URL, cp.GetName())
		}
		return Passed("control plane %s (Konnect ID %s, endpoint %s)", cp.GetName(), cpID, ep.URL)
	}
	return Passed("control plane %s (Konnect ID %s)", cp.GetName(), cpID)
}

// konnectControlPlaneName is the Konnect name of control plane id, or "".
func (e *Env) konnectControlPlaneName(ctx context.Context, id string) string {
	ka, err := e.cpAuth(ctx)
	if err != nil {
		return ""
	}
	res, err := e.sdk(ka).ControlPlanes.GetControlPlane(ctx, id)
	if err != nil || res.GetControlPlane() == nil {
		return ""
	}
	return res.GetControlPlane().Name
}

// konnectControlPlaneByPrefix names the control plane of the organization
// whose endpoint prefix is prefix, or "".
func (e *Env) konnectControlPlaneByPrefix(ctx context.Context, prefix string) string {
	ka, err := e.cpAuth(ctx)
	if err != nil || prefix == "" {
		return ""
	}
	sdk := e.sdk(ka)
	for page := int64(1); page <= 20; page++ {
		res, err := sdk.ControlPlanes.ListControlPlanes(ctx, listCPRequest(page))
		if err != nil {
			return ""
		}
		items := res.GetListControlPlanesResponse().GetData()
		for _, cp := range items {
			if parseEndpoint(cp.Config.ControlPlaneEndpoint).Prefix == prefix {
				return fmt.Sprintf("Konnect control plane %q (ID %s)", cp.Name, cp.ID)
			}
		}
		if len(items) < 100 {
			break
		}
	}
	return ""
}

func dataPlaneChecks() []Check {
	return []Check{{
		ID:          IDDataPlaneFound,
		Description: "DataPlane found",
		Details:     "--dataplane, else the only DataPlane of the namespace. With --gateway, the one kong-operator made for the Gateway (label gateway-operator.konghq.com/managed-by=gateway and an ownerReference to the Gateway's uid, v2.2.3:pkg/utils/gateway/ownerrefs.go ListDataPlanesForGateway); it settles then, while kong-operator has not created it.",
		Needs:       []string{IDKGOGeneration},
		Run: func(ctx context.Context, e *Env) Result {
			dp, err := e.dataPlane(ctx)
			if err != nil {
				return failedFrom(err)
			}
			if img := proxyImage(dp); img != "" {
				return Passed("%s (image %s)", dp.GetName(), img)
			}
			return Passed("%s", dp.GetName())
		},
	}, {
		ID:          IDDataPlaneReady,
		Description: "DataPlane is Ready and its pods are ready",
		Details:     "The DataPlane's Ready condition and status.readyReplicas are KGO's verdict over its Deployment, so they decide. Its pods (label gateway-operator.konghq.com/selector=<status.selector>, else app=<name>) are listed to explain a data plane that is not ready and to know the hostnames of its nodes. Where no pod is visible (pods still being scheduled, or a test cluster without kubelets) the check passes on the status alone and says so: the connection check that follows is the proof that matters.",
		Needs:       []string{IDDataPlaneFound},
		Retry:       true,
		Run:         dataPlaneReady,
	}, {
		ID:          IDDataPlaneConnected,
		Description: "data plane is connected to Konnect",
		Details:     "GET /v2/control-planes/{id}/nodes, every page. A node belongs to the data plane when its hostname is one of the DataPlane's pods (a Kong node's hostname is its pod's name) or, without pods, when it is named after the DataPlane (<name>-... or dataplane-<name>-...). A node must have pinged within --max-ping-age. A node without a version, or with another version than the proxy image's tag, warns, and so do fewer connected nodes than ready replicas. DataPlane Ready does not mean connected: this is the check that tells.",
		Needs:       []string{IDDataPlaneFound, IDControlPlaneProgrammed, IDAuthTokenValid},
		Retry:       true,
		Run:         dataPlaneConnected,
	}}
}

// proxyImage is the image of the DataPlane's proxy container.
func proxyImage(dp *unstructured.Unstructured) string {
	cs, _, _ := unstructured.NestedSlice(dp.Object, "spec", "deployment", "podTemplateSpec", "spec", "containers")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if m["name"] == "proxy" {
			img, _ := m["image"].(string)
			return img
		}
	}
	return ""
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podTrouble says why a pod is not ready, from its containers' states.
func podTrouble(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return fmt.Sprintf("%s: container %s %s", p.Name, cs.Name, w.Reason)
		}
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("%s: container %s terminated (%s)", p.Name, cs.Name, t.Reason)
		}
	}
	return fmt.Sprintf("%s: %s", p.Name, p.Status.Phase)
}

// dataPlaneReady: the DataPlane's Ready condition and replica counts are
// KGO's verdict over its Deployment, so they decide; the pods are listed to
// explain a data plane that is not ready, and to name the hostnames the
// connection check looks for. Without any pod (a cluster where no kubelet
// runs them, like the test ground, or pods still being scheduled) the check
// reports what the status says: pods are not required for a pass, since
// the connection check that follows is the real proof.
func dataPlaneReady(ctx context.Context, e *Env) Result {
	dp, err := e.dataPlane(ctx)
	if err != nil {
		return failedFrom(err)
	}
	hint := fmt.Sprintf("KGO says why in status.conditions: kubectl describe dataplane %s -n %s", dp.GetName(), e.Namespace)
	st, reason, msg, found := condition(dp, "Ready")
	if !found {
		return Failed("Is KGO running? "+hint, "DataPlane %s has no Ready condition: KGO has not reconciled it", dp.GetName())
	}
	if st != "True" {
		return Failed(hint, "Ready=%s (%s): %s%s", st, reason, msg, alsoFalse(dp, "Ready"))
	}
	if r, no := kgoSaysNo(dp, "DataPlane "+dp.GetName(), fmt.Sprintf("kubectl describe dataplane %s -n %s", dp.GetName(), e.Namespace)); no {
		return r
	}
	replicas, _, _ := unstructured.NestedInt64(dp.Object, "status", "replicas")
	ready, _, _ := unstructured.NestedInt64(dp.Object, "status", "readyReplicas")
	pods, sel, err := e.pods(ctx)
	if err != nil {
		return Warned("", "Ready, %d/%d replicas ready; the pods could not be listed: %v", ready, replicas, err)
	}
	if len(pods) == 0 {
		if replicas > 0 && ready < replicas {
			return Warned(hint, "Ready, but %d/%d replicas ready per DataPlane status, and no pod with label %s", ready, replicas, sel)
		}
		return Passed("Ready, %d/%d replicas ready per DataPlane status (no pod with label %s is visible, so the status is all there is to read)", ready, replicas, sel)
	}
	var notReady []string
	for _, p := range pods {
		if !podReady(p) {
			notReady = append(notReady, podTrouble(p))
		}
	}
	if len(notReady) > 0 {
		return Failed(fmt.Sprintf("kubectl describe pod -n %s -l %s; kubectl logs -n %s -l %s -c proxy", e.Namespace, sel, e.Namespace, sel),
			"%d/%d pods ready: %s", len(pods)-len(notReady), len(pods), strings.Join(notReady, "; "))
	}
	return Passed("Ready, %d/%d pods ready", len(pods), len(pods))
}

// matchesDataPlane tells whether a Konnect node is one of the data plane's
// replicas: a node's hostname is its pod's name. Without pods, hostnames
// are matched by the DataPlane's name: KGO names pods dataplane-<name>-...
func matchesDataPlane(hostname, dpName string, pods []corev1.Pod) bool {
	if len(pods) > 0 {
		return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == hostname })
	}
	return hostname == dpName || strings.HasPrefix(hostname, dpName+"-") || strings.HasPrefix(hostname, "dataplane-"+dpName+"-")
}

// imageVersion is the Kong version of an image tag, e.g. 3.9.1.0 of
// kong/kong-gateway:3.9.1.0, or "" when the tag is no version.
func imageVersion(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	tag := image[i+1:]
	if tag == "" || tag[0] < '0' || tag[0] > '9' {
		return ""
	}
	return tag
}

func dataPlaneConnected(ctx context.Context, e *Env) Result {
	dp, err := e.dataPlane(ctx)
	if err != nil {
		return failedFrom(err)
	}
	nodes, err := e.nodes(ctx)
	if err != nil {
		return konnectPrereq(err)
	}
	cp, _ := e.controlPlane(ctx)
	pods, sel, _ := e.pods(ctx)
	logs := fmt.Sprintf("kubectl logs -n %s -l %s -c proxy | grep -i -E 'clustering|control_plane|certificate'", e.Namespace, sel)
	now := e.now()
	var mine []components.ListNodesItems
	var others []string
	for _, n := range nodes {
		h := ptr.Deref(n.GetHostname(), "")
		if matchesDataPlane(h, dp.GetName(), pods) {
			mine = append(mine, n)
		} else {
			others = append(others, h)
		}
	}
	if len(mine) == 0 {
		msg := fmt.Sprintf("control plane %s has no data plane nodes in Konnect", cp.GetName())
		if len(others) > 0 {
			msg = fmt.Sprintf("none of the %s of control plane %s in Konnect belongs to DataPlane %s (%s)",
				count(len(nodes), "node"), cp.GetName(), dp.GetName(), strings.Join(firstN(others, 3), ", "))
		}
		msg += fmt.Sprintf(": DataPlane %s never connected (DataPlane Ready does not mean connected)", dp.GetName())
		return Failed(fmt.Sprintf("The data plane cannot reach the control plane or is refused by it; its log says which: %s. Look at certificate-registered and extension-target above.", logs), "%s", msg)
	}
	slices.SortFunc(mine, func(a, b components.ListNodesItems) int {
		return strings.Compare(ptr.Deref(a.GetHostname(), ""), ptr.Deref(b.GetHostname(), ""))
	})
	var fresh, stale, desc []string
	var versionWarn []string
	want := imageVersion(proxyImage(dp))
	for _, n := range mine {
		h := ptr.Deref(n.GetHostname(), "")
		last := time.Unix(ptr.Deref(n.GetLastPing(), 0), 0)
		v := ptr.Deref(n.GetVersion(), "")
		if now.Sub(last) > e.MaxPingAge {
			stale = append(stale, fmt.Sprintf("node %s last pinged %s ago", h, ago(now, last)))
			continue
		}
		fresh = append(fresh, h)
		switch {
		case v == "":
			versionWarn = append(versionWarn, fmt.Sprintf("node %s reports no version", h))
		case want != "" && !strings.HasPrefix(v, want) && !strings.HasPrefix(want, v):
			versionWarn = append(versionWarn, fmt.Sprintf("node %s runs Kong %s, the DataPlane's image is %s (a rollout in progress?)", h, v, proxyImage(dp)))
		}
		desc = append(desc, fmt.Sprintf("node %s (Kong %s, last ping %s ago)", h, v, ago(now, last)))
	}
	if len(fresh) == 0 {
		return Failed(fmt.Sprintf("The data plane lost its connection to Konnect; its log says why: %s. Raise --max-ping-age if pings are slow but regular.", logs),
			"%s, longer than %s (--max-ping-age): the data plane is not connected now", strings.Join(stale, ", "), e.MaxPingAge)
	}
	msg := strings.Join(desc, ", ")
	if len(stale) > 0 {
		msg += "; stale: " + strings.Join(stale, ", ")
	}
	if len(versionWarn) > 0 {
		return Warned("The nodes should run the DataPlane's image; check its rollout: kubectl describe dataplane "+dp.GetName()+" -n "+e.Namespace, "%s; %s", msg, strings.Join(versionWarn, "; "))
	}
	readyReplicas, found, _ := unstructured.NestedInt64(dp.Object, "status", "readyReplicas")
	if found && int64(len(fresh)) < readyReplicas {
		return Warned("Some replicas are not connected; their log says why: "+logs, "%d of %d ready replicas connected: %s", len(fresh), readyReplicas, msg)
	}
	return Passed("%s", msg)
}

// count is "no nodes", "1 node", "3 nodes".
func count(n int, noun string) string {
	switch n {
	case 0:
		return "no " + noun + "s"
	case 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// oneOf is "the only certificate" or "one of the 3 certificates".
func oneOf(n int, noun string) string {
	if n == 1 {
		return "the only " + noun
	}
	return fmt.Sprintf("one of the %d %ss", n, noun)
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}

// pinnedTwice warns when c is pinned more than once to the control plane.
// KGO 1.6.2 was seen registering one certificate twice when two reconciles
// raced (issue 15): Konnect keeps both, one of them orphaned, and a later
// rotation that deletes "the" copy leaves the other pinned. The copy a
// KongDataPlaneClientCertificate of the namespace records in status.konnect.id is
// the one KGO manages; the others are stale (with none or all of them
// recorded, the oldest is kept and the newer ones are named).
func pinnedTwice(ctx context.Context, e *Env, c *x509.Certificate) (Result, bool) {
	pins, err := e.pinnedCerts(ctx)
	if err != nil {
		return Result{}, false
	}
	var same []pinnedCert
	for _, p := range pins {
		if p.Cert.Equal(c) {
			same = append(same, p)
		}
	}
	if len(same) < 2 {
		return Result{}, false
	}
	managed := map[string]string{} // Konnect ID -> KongDataPlaneClientCertificate
	if holders, err := e.list(ctx, gvrDPCertificates); err == nil {
		for _, h := range holders {
			// KGO records the Konnect ID of what it registered in status.konnect.id.
			if id := str(h, "status", "konnect", "id"); id != "" {
				managed[id] = h.GetName()
			}
		}
	}
	slices.SortStableFunc(same, func(a, b pinnedCert) int { return cmp.Compare(a.CreatedAt, b.CreatedAt) })
	keep := same[0].ID
	for _, p := range same {
		if managed[p.ID] != "" {
			keep = p.ID
			break
		}
	}
	var stale, kept []string
	for _, p := range same {
		if p.ID == keep {
			kept = append(kept, p.ID)
			if name := managed[p.ID]; name != "" {
				kept[0] += " (KongDataPlaneClientCertificate " + name + ")"
			}
			continue
		}
		stale = append(stale, p.ID)
	}
	cp, _ := e.controlPlane(ctx)
	cpID, _ := e.controlPlaneID(ctx)
	server := "https://<region>.api.konghq.com"
	if ka, err := e.cpAuth(ctx); err == nil && ka.ServerURL != "" {
		server = ka.ServerURL
	}
	var cmds []string
	for _, id := range stale {
		cmds = append(cmds, fmt.Sprintf("curl -X DELETE -H \"Authorization: Bearer $KONNECT_TOKEN\" %s/v2/control-planes/%s/dp-client-certificates/%s", server, cpID, id))
	}
	return Warned("Remove the stale copy in Konnect, e.g. with the API: "+strings.Join(cmds, "; "),
		"fingerprint %s is pinned %d times to control plane %s: %s is the one to keep, %s stale (an orphaned duplicate registration)",
		cert.ShortFingerprint(c), len(same), cp.GetName(), kept[0], strings.Join(stale, ", ")+map[bool]string{true: " is", false: " are"}[len(stale) == 1]), true
}
