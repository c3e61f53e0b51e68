package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Kong/sdk-konnect-go/models/operations"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// Names of the webhook objects config/ installs.
const (
	WebhookConfigName = "kubectl-konnect-webhook"
	WebhookName       = "validate.konnect.kubectl-konnect.dev"
	webhookCertSecret = "kubectl-konnect-webhook-tls"
	installWebhook    = "Install it to catch wrong references at kubectl apply time: kubectl konnect webhook install (add --cert-manager to use cert-manager)."
)

func listCPRequest(page int64) operations.ListControlPlanesRequest {
	return operations.ListControlPlanesRequest{PageSize: ptr.To[int64](100), PageNumber: ptr.To(page)}
}

// webhook is our entry of the ValidatingWebhookConfiguration.
type webhookInfo struct {
	Config  *admissionregistrationv1.ValidatingWebhookConfiguration
	Webhook admissionregistrationv1.ValidatingWebhook
}

func (w webhookInfo) where() string {
	cc := w.Webhook.ClientConfig
	if cc.Service != nil {
		port := int32(443)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		return fmt.Sprintf("service %s/%s:%d%s", cc.Service.Namespace, cc.Service.Name, port, ptr.Deref(cc.Service.Path, ""))
	}
	return "url " + ptr.Deref(cc.URL, "")
}

func (e *Env) webhook(ctx context.Context) (webhookInfo, error) {
	return memo(e, "webhook", func() (webhookInfo, error) {
		vwc, err := e.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, WebhookConfigName, metav1.GetOptions{})
		if err != nil {
			return webhookInfo{}, err
		}
		for _, w := range vwc.Webhooks {
			if w.Name == WebhookName {
				return webhookInfo{Config: vwc, Webhook: w}, nil
			}
		}
		return webhookInfo{Config: vwc}, problemf("Re-apply the webhook's manifests: "+installWebhook,
			"ValidatingWebhookConfiguration %s has no webhook %s", WebhookConfigName, WebhookName)
	})
}

// servingCert is what the webhook presents, read over TLS for a URL
// clientConfig (nil for a service, which this machine cannot dial).
func (e *Env) dialWebhook(ctx context.Context, w webhookInfo) (*x509.Certificate, error) {
	return memo(e, "webhook-dial", func() (*x509.Certificate, error) {
		u, err := url.Parse(ptr.Deref(w.Webhook.ClientConfig.URL, ""))
		if err != nil {
			return nil, err
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "443")
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(w.Webhook.ClientConfig.CABundle)
		d := &tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
		if len(certs) == 0 {
			return nil, fmt.Errorf("%s presented no certificate", host)
		}
		return certs[0], nil
	})
}

// webhookSkip is the skip of a webhook check when the webhook cannot be read.
func webhookSkip(err error) Result {
	if apierrors.IsNotFound(err) {
		return NotApplicable("skipped: the webhook is not installed")
	}
	return NotApplicable("skipped: %v", err)
}

func webhookChecks() []Check {
	return []Check{{
		ID:          IDWebhookInstalled,
		Description: "kubectl-konnect admission webhook is installed",
		Details:     "ValidatingWebhookConfiguration kubectl-konnect-webhook with the webhook validate.konnect.kubectl-konnect.dev. A missing webhook is a warning: data planes work without it; it moves the errors KGO reports late, in status, to kubectl apply time.",
		Hint:        installWebhook,
		Run: func(ctx context.Context, e *Env) Result {
			w, err := e.webhook(ctx)
			switch {
			case apierrors.IsNotFound(err):
				return Warned("", "ValidatingWebhookConfiguration %s not found: wrong references are only reported later, by KGO in status", WebhookConfigName)
			case apierrors.IsForbidden(err):
				return Warned("Ask for get on validatingwebhookconfigurations, or run the check with more rights.", "not allowed to read ValidatingWebhookConfiguration %s", WebhookConfigName)
			case err != nil:
				return failedFrom(err)
			}
			fp := "Fail"
			if w.Webhook.FailurePolicy != nil {
				fp = string(*w.Webhook.FailurePolicy)
			}
			return Passed("%s: %s, failurePolicy %s", WebhookConfigName, w.where(), fp)
		},
	}, {
		ID:          IDWebhookServing,
		Description: "webhook endpoint is serving",
		Details:     "A clientConfig.service must exist and have ready endpoints (EndpointSlices). A clientConfig.url must complete a TLS handshake verified with the caBundle, from this machine.",
		Needs:       []string{IDWebhookInstalled},
		Retry:       true,
		Run: func(ctx context.Context, e *Env) Result {
			w, err := e.webhook(ctx)
			if err != nil {
				return webhookSkip(err)
			}
			if svc := w.Webhook.ClientConfig.Service; svc != nil {
				return serviceServing(ctx, e, svc)
			}
			if _, err := e.dialWebhook(ctx, w); err != nil {
				return Failed("Start the webhook, or correct clientConfig.url. (This machine dialled the URL; the API server may see the network differently.)",
					"%s: %v", w.where(), err)
			}
			return Passed("%s answers TLS, with a certificate of the caBundle", w.where())
		},
	}, {
		ID:          IDWebhookCertificate,
		Description: "webhook certificate is valid and not about to expire",
		Details:     "The caBundle's CA and the serving certificate (Secret kubectl-konnect-webhook-tls of the Service's namespace, or the certificate of the TLS handshake for a URL): not expired, not expiring within --renew-before, and verified by the caBundle for the Service's DNS name or the URL's host.",
		Needs:       []string{IDWebhookInstalled},
		Run:         webhookCertificate,
	}, {
		ID:          IDWebhookDryRun,
		Description: "webhook judges objects (server-side dry run)",
		Details:     "Two server-side dry runs (dryRun=All: nothing is stored, KGO sees nothing) of a KonnectAPIAuthConfiguration in the namespace: a valid one must be admitted, one with serverURL api.konghq.com must be denied with KON1501 by validate.konnect.kubectl-konnect.dev. With failurePolicy Ignore an unreachable webhook lets both in; this is what finds it.",
		Needs:       []string{IDWebhookInstalled, IDKGOCRDs},
		Retry:       true,
		Run:         webhookDryRun,
	}}
}

func serviceServing(ctx context.Context, e *Env, svc *admissionregistrationv1.ServiceReference) Result {
	where := svc.Namespace + "/" + svc.Name
	podsHint := fmt.Sprintf("kubectl get pods -n %s -l app.kubernetes.io/name=kubectl-konnect-webhook; kubectl logs -n %s -l app.kubernetes.io/name=kubectl-konnect-webhook", svc.Namespace, svc.Namespace)
	if _, err := e.Kube.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return Failed("Re-apply the webhook's manifests: "+installWebhook, "Service %s does not exist: the API server cannot call the webhook", where)
		}
		return Warned("", "Service %s could not be read: %v", where, err)
	}
	slices, err := e.Kube.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name})
	if err != nil {
		return Warned("", "the endpoints of Service %s could not be read: %v", where, err)
	}
	ready := 0
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
			}
		}
	}
	if ready == 0 {
		return Failed(podsHint, "Service %s has no ready endpoint: no webhook pod is ready", where)
	}
	return Passed("Service %s has %d ready endpoints", where, ready)
}

func webhookCertificate(ctx context.Context, e *Env) Result {
	w, err := e.webhook(ctx)
	if err != nil {
		return webhookSkip(err)
	}
	now := e.now()
	caHint := "The webhook sets caBundle itself with --self-managed-certs (config/default); with config/cert-manager, cert-manager's CA injector does."
	cas, err := cert.DecodeCertsPEM(w.Webhook.ClientConfig.CABundle)
	if err != nil || len(cas) == 0 {
		return Failed(caHint, "clientConfig.caBundle of %s holds no certificate: the API server cannot verify the webhook", WebhookConfigName)
	}
	pool := x509.NewCertPool()
	caUntil := cas[0].NotAfter
	for _, c := range cas {
		pool.AddCert(c)
		if c.NotAfter.Before(caUntil) {
			caUntil = c.NotAfter
		}
	}
	var serving *x509.Certificate
	var dnsName, source string
	if svc := w.Webhook.ClientConfig.Service; svc != nil {
		dnsName = svc.Name + "." + svc.Namespace + ".svc"
		sec, err := e.Kube.CoreV1().Secrets(svc.Namespace).Get(ctx, webhookCertSecret, metav1.GetOptions{})
		if err == nil {
			if certs, err := cert.DecodeCertsPEM(sec.Data[corev1.TLSCertKey]); err == nil && len(certs) > 0 {
				serving, source = certs[0], "Secret "+svc.Namespace+"/"+webhookCertSecret
			}
		}
	} else {
		u, _ := url.Parse(ptr.Deref(w.Webhook.ClientConfig.URL, ""))
		if u != nil {
			dnsName = u.Hostname()
		}
		if c, err := e.dialWebhook(ctx, w); err == nil {
			serving, source = c, "the TLS handshake"
		}
	}
	renew := "The webhook renews its certificate 30 days before expiry (config/default) or cert-manager does; check that it runs: kubectl logs -n kubectl-konnect-system -l app.kubernetes.io/name=kubectl-konnect-webhook"
	expiry := func(what string, until time.Time) *Result {
		switch {
		case !now.Before(until):
			r := Failed(renew, "%s expired on %s", what, day(until))
			return &r
		case until.Sub(now) < e.RenewBefore:
			r := Warned(renew, "%s expires on %s, in %s (less than --renew-before %s)", what, day(until), cert.HumanDuration(until.Sub(now)), cert.HumanDuration(e.RenewBefore))
			return &r
		}
		return nil
	}
	if r := expiry("the caBundle CA", caUntil); r != nil {
		return *r
	}
	if serving == nil {
		return Passed("caBundle CA valid until %s; the serving certificate is not readable from here", day(caUntil))
	}
	if r := expiry("the serving certificate (from "+source+")", serving.NotAfter); r != nil {
		return *r
	}
	if _, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: dnsName, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return Failed(caHint, "the serving certificate (from %s) does not verify against the caBundle for %s: %v", source, dnsName, err)
	}
	return Passed("serving certificate for %s valid until %s (%s), signed by the caBundle CA (valid until %s)", dnsName, day(serving.NotAfter), cert.HumanDuration(serving.NotAfter.Sub(now)), day(caUntil))
}

var konCode = regexp.MustCompile(`\[(KON\d{4})\]`)

// dryRunAuth is a KonnectAPIAuthConfiguration that is never stored: the
// token is no token, and serverURL decides whether the webhook denies it.
func dryRunAuth(ns, serverURL string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvrAuth.GroupVersion().String(),
		"kind":       "KonnectAPIAuthConfiguration",
		"metadata":   map[string]any{"generateName": "kubectl-konnect-check-", "namespace": ns},
		"spec": map[string]any{
			"type":      "token",
			"token":     "kpat_kubectlkonnectcheckdryrunnotarealtoken000",
			"serverURL": serverURL,
		},
	}}
}

// webhookDryRun proves the webhook is wired: the API server admits a valid
// object and denies, with a KON code, one the webhook's rule KON1501
// refuses (a serverURL with no region), both as dryRun=All so nothing is
// stored and KGO sees nothing. With failurePolicy Ignore an unreachable
// webhook admits both, which is exactly what this detects.
func webhookDryRun(ctx context.Context, e *Env) Result {
	w, err := e.webhook(ctx)
	if err != nil {
		return webhookSkip(err)
	}
	if sel := w.Webhook.NamespaceSelector; sel != nil {
		ns, err := e.Kube.CoreV1().Namespaces().Get(ctx, e.Namespace, metav1.GetOptions{})
		if err == nil {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err == nil && !s.Matches(labels.Set(ns.Labels)) {
				return Warned("Objects in this namespace are not checked at admission; keep Konnect objects in a namespace the webhook covers.",
					"namespace %s is outside the webhook's namespaceSelector", e.Namespace)
			}
		}
	}
	res := e.Dynamic.Resource(gvrAuth).Namespace(e.Namespace)
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "kubectl-konnect-check"}
	if _, err := res.Create(ctx, dryRunAuth(e.Namespace, "us.api.konghq.com"), opts); err != nil {
		if apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "admission webhook") {
			return Warned("Run the check with rights to create KonnectAPIAuthConfigurations (nothing is stored: dryRun=All).",
				"not allowed to create a KonnectAPIAuthConfiguration, even as a dry run, so the webhook could not be tried: %v", err)
		}
		return Failed("The webhook refuses valid objects: kubectl logs -n kubectl-konnect-system -l app.kubernetes.io/name=kubectl-konnect-webhook",
			"a valid KonnectAPIAuthConfiguration was refused: %v", err)
	}
	_, err = res.Create(ctx, dryRunAuth(e.Namespace, "api.konghq.com"), opts)
	if err == nil {
		return Failed(fmt.Sprintf("The API server did not call the webhook, or failed to and failurePolicy Ignore let the object in. Check the endpoint and the caBundle (checks above), the API server's log, and: kubectl get validatingwebhookconfiguration %s -o yaml", WebhookConfigName),
			"a KonnectAPIAuthConfiguration with serverURL api.konghq.com, which the webhook denies (KON1501), was admitted")
	}
	m := konCode.FindStringSubmatch(err.Error())
	if m == nil || !strings.Contains(err.Error(), WebhookName) {
		return Failed("", "the invalid KonnectAPIAuthConfiguration was refused, but not by webhook %s with a KON code: %v", WebhookName, err)
	}
	return Passed("a valid KonnectAPIAuthConfiguration was admitted and one with serverURL api.konghq.com denied with %s (dryRun=All, nothing stored)", m[1])
}
