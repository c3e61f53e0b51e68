package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Status is what `webhook status` reports.
type Status struct {
	// Variant installed: detected from the objects (default when none).
	Variant Variant `json:"variant"`
	// Present and Missing objects of the variant, as kind.group/name.
	Present []string `json:"present"`
	Missing []string `json:"missing,omitempty"`
	// FailurePolicy of our webhook ("" when the configuration is missing).
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// CABundle: every webhook of the configuration that calls our Service
	// has a caBundle (set by the webhook itself, or cert-manager).
	CABundle bool `json:"caBundle"`
	// Endpoints the API server can call: ready addresses of the Service's
	// EndpointSlices on its webhook port.
	Endpoints []string `json:"endpoints"`
	// Replicas and ReadyReplicas of the Deployment.
	Replicas      int32 `json:"replicas"`
	ReadyReplicas int32 `json:"readyReplicas"`
	// CertSecret: the serving certificate's Secret exists.
	CertSecret bool `json:"certSecret"`
}

// Installed reports whether every object of the variant exists.
func (s *Status) Installed() bool { return len(s.Missing) == 0 && len(s.Present) > 0 }

// Ready reports whether the API server can call the webhook: the
// configuration exists with a caBundle, and the Service has a ready
// endpoint.
func (s *Status) Ready() bool {
	return s.FailurePolicy != "" && s.CABundle && len(s.Endpoints) > 0
}

// readiness is the one-line state install --wait reports.
func (s *Status) readiness() string {
	var parts []string
	switch {
	case s.FailurePolicy == "":
		parts = append(parts, "no ValidatingWebhookConfiguration")
	case !s.CABundle:
		parts = append(parts, "caBundle not set yet")
	default:
		parts = append(parts, "caBundle set")
	}
	parts = append(parts, fmt.Sprintf("%d ready endpoint(s)", len(s.Endpoints)))
	return strings.Join(parts, ", ")
}

// GetStatus reads the webhook's objects. It never reads a Secret's data:
// Secrets are fetched as metadata only.
func (c *clients) GetStatus(ctx context.Context) (*Status, error) {
	st := &Status{Variant: SelfManaged, Endpoints: []string{}}
	vwc, err := c.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, WebhookConfigName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		vwc = nil
	case err != nil:
		return nil, fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", WebhookConfigName, err)
	}
	if vwc != nil {
		if _, ok := vwc.Annotations["cert-manager.io/inject-ca-from"]; ok {
			st.Variant = CertManager
		}
		ours, withCA := 0, 0
		for _, wh := range vwc.Webhooks {
			svc := wh.ClientConfig.Service
			if svc == nil || svc.Name != ServiceName || svc.Namespace != Namespace {
				continue
			}
			ours++
			if len(wh.ClientConfig.CABundle) > 0 {
				withCA++
			}
			if wh.FailurePolicy != nil && st.FailurePolicy == "" {
				st.FailurePolicy = string(*wh.FailurePolicy)
			}
		}
		st.CABundle = ours > 0 && withCA == ours
		if ours > 0 && st.FailurePolicy == "" {
			st.FailurePolicy = "Fail" // the API's default
		}
	}
	objs, err := Render(st.Variant, "")
	if err != nil {
		return nil, err
	}
	for _, u := range objs {
		m, served, err := c.mapping(u)
		if err != nil {
			return nil, err
		}
		if served {
			_, err = c.metaResource(m, u).Get(ctx, u.GetName(), metav1.GetOptions{})
		}
		switch {
		case !served || apierrors.IsNotFound(err):
			st.Missing = append(st.Missing, ref(u))
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", ref(u), err)
		default:
			st.Present = append(st.Present, ref(u))
		}
	}
	dep, err := c.kube.AppsV1().Deployments(Namespace).Get(ctx, DeploymentName, metav1.GetOptions{})
	if err == nil {
		st.Replicas, st.ReadyReplicas = replicas(dep)
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Deployment %s/%s: %w", Namespace, DeploymentName, err)
	}
	if st.Endpoints, err = c.endpoints(ctx); err != nil {
		return nil, err
	}
	sec := certSecret()
	if m, served, err := c.mapping(sec); err == nil && served {
		_, err := c.metaResource(m, sec).Get(ctx, sec.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", Namespace, CertSecretName, err)
		}
		st.CertSecret = err == nil
	}
	return st, nil
}

func replicas(d *appsv1.Deployment) (want, ready int32) {
	want = 1
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return want, d.Status.ReadyReplicas
}

// endpoints are the addresses the API server may call: what it resolves a
// webhook Service to (with --enable-aggregator-routing, or through kube-proxy
// otherwise), the ready endpoints of the Service's port.
func (c *clients) endpoints(ctx context.Context) ([]string, error) {
	svc, err := c.kube.CoreV1().Services(Namespace).Get(ctx, ServiceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Service %s/%s: %w", Namespace, ServiceName, err)
	}
	portName := ""
	if len(svc.Spec.Ports) > 0 {
		portName = svc.Spec.Ports[0].Name
	}
	slices, err := c.kube.DiscoveryV1().EndpointSlices(Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + ServiceName})
	if err != nil {
		return nil, fmt.Errorf("listing the EndpointSlices of Service %s/%s: %w", Namespace, ServiceName, err)
	}
	out := []string{}
	for _, sl := range slices.Items {
		for _, p := range sl.Ports {
			if p.Port == nil || (p.Name != nil && *p.Name != portName) || (p.Name == nil && portName != "") {
				continue
			}
			for _, ep := range sl.Endpoints {
				if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
					continue
				}
				out = append(out, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port))))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// StatusOptions of `webhook status`.
type StatusOptions struct {
	genericiooptions.IOStreams
	Output string
}

// NotInstalledError is status's answer when objects are missing; exit code 1.
type NotInstalledError struct{ Missing int }

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("the webhook is not installed (%d object(s) missing): kubectl konnect webhook install", e.Missing)
}

func newStatusCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StatusOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Say whether the webhook is installed and whether the API server can call it",
		Long: `status reads the webhook's objects: which of the manifests' objects exist, the failurePolicy,
whether the caBundle is set, the Service's ready endpoints (what the API server calls) and the
Deployment's ready replicas. The webhook is ready when the ValidatingWebhookConfiguration has a
caBundle and the Service a ready endpoint. Secrets are read as metadata only.

Exit code 0 when every object is installed (ready or not), 1 otherwise.`,
		Example: `  kubectl konnect webhook status
  kubectl konnect webhook status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch o.Output {
			case "", "text", "json":
			default:
				return fmt.Errorf("-o %q is not supported: use text or json", o.Output)
			}
			c, err := newClients(f)
			if err != nil {
				return err
			}
			st, err := c.GetStatus(cmd.Context())
			if err != nil {
				return err
			}
			if o.Output == "json" {
				enc := json.NewEncoder(o.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				printStatus(o.Out, st)
			}
			if !st.Installed() {
				return &NotInstalledError{Missing: len(st.Missing)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: text or json.")
	return cmd
}

func printStatus(w io.Writer, st *Status) {
	total := len(st.Present) + len(st.Missing)
	fmt.Fprintf(w, "Webhook %s (config/%s)\n", WebhookConfigName, st.Variant)
	fmt.Fprintf(w, "  installed      %d of %d objects\n", len(st.Present), total)
	if len(st.Missing) > 0 {
		fmt.Fprintf(w, "  missing        %s\n", strings.Join(st.Missing, ", "))
	}
	if st.FailurePolicy != "" {
		note := ""
		if st.FailurePolicy == "Ignore" {
			note = " (while the webhook is down, requests are admitted unchecked)"
		}
		fmt.Fprintf(w, "  failurePolicy  %s%s\n", st.FailurePolicy, note)
		if st.CABundle {
			fmt.Fprintln(w, "  caBundle       set")
		} else {
			fmt.Fprintln(w, "  caBundle       not set (the webhook sets it when it starts; cert-manager's CA injector with config/cert-manager)")
		}
	}
	if len(st.Endpoints) > 0 {
		fmt.Fprintf(w, "  endpoints      %d ready: %s\n", len(st.Endpoints), strings.Join(st.Endpoints, ", "))
	} else {
		fmt.Fprintln(w, "  endpoints      none ready")
	}
	fmt.Fprintf(w, "  replicas       %d of %d ready\n", st.ReadyReplicas, st.Replicas)
	if st.CertSecret {
		fmt.Fprintf(w, "  certificate    Secret %s/%s present\n", Namespace, CertSecretName)
	} else {
		fmt.Fprintf(w, "  certificate    Secret %s/%s missing\n", Namespace, CertSecretName)
	}
	switch {
	case !st.Installed():
		fmt.Fprintln(w, "Not installed: kubectl konnect webhook install")
	case st.Ready():
		fmt.Fprintln(w, "Ready: the API server calls the webhook.")
	default:
		fmt.Fprintln(w, "Installed, not ready: the API server cannot call the webhook yet ("+st.readiness()+"); requests are admitted unchecked meanwhile.")
	}
}
