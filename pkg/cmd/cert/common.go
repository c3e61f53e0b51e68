package cert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

const (
	kindControlPlane   = "KonnectGatewayControlPlane"
	kindAuthConfig     = "KonnectAPIAuthConfiguration"
	programmedType     = "Programmed"
	clusterTypeKIC     = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"
	clusterTypeGroup   = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
	authTypePinned     = "pinned_client_certs"
	authTypePKI        = "pki_client_certs"
	defaultRenewBefore = 30 * 24 * time.Hour
)

// GVRs of the kinds we read and write. The same group/versions serve KGO 1.4 (kubernetes-configuration
// v1.0.x), KGO 1.5/1.6 (v1.2-v1.4) and kong-operator 2.x (v2.x). KonnectGatewayControlPlane is the
// exception: kong-operator 2.x objects are read as v1alpha2 (see Clients.controlPlaneGVR).
var (
	gvrSecret     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrDPCert     = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongdataplaneclientcertificates"}
	gvrAuthConfig = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectapiauthconfigurations"}
)

// Factory is what the cert commands need from pkg/kube.Factory; tests substitute a fake. A factory that
// also has a KonnectHTTPClient() *http.Client method supplies the client for Konnect API calls; one
// that has a FreshDiscovery() method is asked which KonnectGatewayControlPlane version is served
// (without it, v1alpha1: KGO 1.x).
type Factory interface {
	Dynamic() (dynamic.Interface, error)
	Namespace() (string, bool, error)
}

type freshDiscoverer interface {
	FreshDiscovery() (discovery.DiscoveryInterface, error)
}

// Clients are the cluster and Konnect access shared by the cert verbs. Complete fills what is not set
// yet, so tests can preset a fake dynamic client and namespace.
type Clients struct {
	genericiooptions.IOStreams

	Namespace string
	Dynamic   dynamic.Interface
	// KonnectHTTPClient, when set, carries every Konnect API call (tests use the fake's client).
	KonnectHTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ControlPlaneVersion is the KonnectGatewayControlPlane version to read (kgoapi.V1Alpha1 or
	// V1Alpha2); discovered on first use when empty.
	ControlPlaneVersion string

	discover func() (discovery.DiscoveryInterface, error)
}

// Complete fills the namespace and the dynamic client from the factory. It is called from RunE only,
// so --help never reads the kubeconfig.
func (c *Clients) Complete(f Factory) error {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Namespace == "" {
		ns, _, err := f.Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		c.Namespace = ns
	}
	if hc, ok := f.(interface{ KonnectHTTPClient() *http.Client }); ok && c.KonnectHTTPClient == nil {
		c.KonnectHTTPClient = hc.KonnectHTTPClient()
	}
	if c.Dynamic == nil {
		d, err := f.Dynamic()
		if err != nil {
			return err
		}
		c.Dynamic = d
	}
	if fd, ok := f.(freshDiscoverer); ok && c.discover == nil {
		c.discover = fd.FreshDiscovery
	}
	return nil
}

// controlPlaneGVR is the KonnectGatewayControlPlane resource in the newest version the cluster serves:
// v1alpha2 on kong-operator 2.x (its storage version; v1alpha1 is deprecated and converted to it).
// Discovered once, when first needed.
func (c *Clients) controlPlaneGVR() (schema.GroupVersionResource, error) {
	if c.ControlPlaneVersion == "" {
		c.ControlPlaneVersion = kgoapi.V1Alpha1
		if c.discover != nil {
			dc, err := c.discover()
			if err == nil {
				c.ControlPlaneVersion, err = kgoapi.DiscoverControlPlaneVersion(dc)
			}
			if err != nil {
				c.ControlPlaneVersion = ""
				return schema.GroupVersionResource{}, err
			}
		}
	}
	return kgoapi.ControlPlaneGVR(c.ControlPlaneVersion), nil
}

// registersCertsOnGroups reports whether the operator registers a KongDataPlaneClientCertificate on a
// control plane group: kong-operator 2.2 and later only. Kong/kong-operator
// controller/konnect/reconciler_controlplaneref.go handleControlPlaneRef refuses every entity on a group
// through v2.1.9 and exempts KongDataPlaneClientCertificate from v2.2.0 (#3711); KGO 1.x always refuses.
// The 2.2 CRDs are told apart as rules.GenerationFor does, by KonnectEventGateway (new in 2.2.0).
// Without discovery (a factory that cannot discover) a v1alpha2 cluster is taken as the newest release.
func (c *Clients) registersCertsOnGroups(version string) (bool, error) {
	if version != kgoapi.V1Alpha2 {
		return false, nil
	}
	if c.discover == nil {
		return true, nil
	}
	dc, err := c.discover()
	if err != nil {
		return false, err
	}
	gv := schema.GroupVersion{Group: kgoapi.GroupKonnect, Version: kgoapi.V1Alpha1}
	list, err := dc.ServerResourcesForGroupVersion(gv.String())
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("discovering the kong-operator release (%s): %w", gv, err)
	}
	if list != nil {
		for _, r := range list.APIResources {
			if r.Name == resourceEventGateways {
				return true, nil
			}
		}
	}
	return false, nil
}

// resourceEventGateways is KonnectEventGateway, served from kong-operator 2.2.0 on.
const resourceEventGateways = "konnecteventgateways"

func (c *Clients) res(gvr schema.GroupVersionResource) dynamic.ResourceInterface {
	return c.Dynamic.Resource(gvr).Namespace(c.Namespace)
}

// get returns the object, nil when it does not exist, or an error that says which CRD is missing.
func (c *Clients) get(ctx context.Context, gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	u, err := c.res(gvr).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if crdMissing(err) {
			return nil, crdMissingError(gvr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", gvr.Resource, c.Namespace, name, err)
	}
	return u, nil
}

func (c *Clients) list(ctx context.Context, gvr schema.GroupVersionResource, selector string) ([]unstructured.Unstructured, error) {
	l, err := c.res(gvr).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, crdMissingError(gvr)
		}
		return nil, fmt.Errorf("listing %s in namespace %s: %w", gvr.Resource, c.Namespace, err)
	}
	return l.Items, nil
}

// crdMissing tells a 404 for a missing resource type from a 404 for a missing object: the former has
// no object name in its details.
func crdMissing(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d == nil || d.Name == ""
}

func crdMissingError(gvr schema.GroupVersionResource) error {
	return fmt.Errorf("the cluster does not serve %s.%s/%s: install the Kong Gateway Operator CRDs (kubernetes-configuration) first",
		gvr.Resource, gvr.Group, gvr.Version)
}

// applyOpts are the server-side apply options: our field manager, forcing conflicts because the caller
// has already refused to take over foreign objects unless --force was given.
func applyOpts(serverDryRun bool) metav1.ApplyOptions {
	o := metav1.ApplyOptions{FieldManager: dpcert.FieldManager, Force: true}
	if serverDryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

func (c *Clients) apply(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, serverDryRun bool) (*unstructured.Unstructured, error) {
	out, err := c.res(gvr).Apply(ctx, u.GetName(), u, applyOpts(serverDryRun))
	if err != nil {
		return nil, fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), c.Namespace, u.GetName(), err)
	}
	return out, nil
}

func (c *Clients) delete(ctx context.Context, gvr schema.GroupVersionResource, name string, serverDryRun bool) error {
	o := metav1.DeleteOptions{}
	if serverDryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	err := c.res(gvr).Delete(ctx, name, o)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", gvr.Resource, c.Namespace, name, err)
	}
	return nil
}

func (c *Clients) progress(format string, args ...any) {
	if c.ErrOut != nil {
		fmt.Fprintf(c.ErrOut, format+"\n", args...)
	}
}

func (c *Clients) out() io.Writer {
	if c.Out == nil {
		return io.Discard
	}
	return c.Out
}

func secretType(u *unstructured.Unstructured) string {
	t, _, _ := unstructured.NestedString(u.Object, "type")
	if t == "" {
		return "Opaque"
	}
	return t
}

// upToDate says whether live already has everything desired has (labels, annotations, type, data,
// spec), so applying desired would change nothing. Extra labels or annotations on live are fine (other
// managers may own them); data and spec must be equal.
func upToDate(live, desired *unstructured.Unstructured) bool {
	if live == nil {
		return false
	}
	if !subset(desired.GetLabels(), live.GetLabels()) || !subset(desired.GetAnnotations(), live.GetAnnotations()) {
		return false
	}
	for _, f := range []string{"type", "data", "spec"} {
		if want, ok := desired.Object[f]; ok && !reflect.DeepEqual(want, live.Object[f]) {
			return false
		}
	}
	return true
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// conditionStatus returns the status, reason and message of condition t in status.conditions.
func conditionStatus(u *unstructured.Unstructured, t string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != t {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		return s, r, msg
	}
	return "", "", ""
}

func str(u *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, fields...)
	return s
}
