package check

import (
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/region"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Resources the checks read whose version is the same in every
// generation: KGO 1.4 (kubernetes-configuration v1.0.x), KGO 1.5/1.6 and
// kong-operator 2.x. KonnectGatewayControlPlane and the konnect.konghq.com
// KonnectExtension are read in the version the cluster serves (v1alpha2 on
// kong-operator 2.x): see Env.controlPlaneGVR and Env.extensionGVR.
var (
	gvrAuth           = schema.GroupVersionResource{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnectapiauthconfigurations"}
	gvrExtensionOld   = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1alpha1", Resource: "konnectextensions"}
	gvrDataPlane      = schema.GroupVersionResource{Group: "gateway-operator.konghq.com", Version: "v1beta1", Resource: "dataplanes"}
	gvrDPCertificates = schema.GroupVersionResource{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongdataplaneclientcertificates"}
)

const (
	groupKonnect         = "konnect.konghq.com"
	groupGatewayOperator = "gateway-operator.konghq.com"
	credentialLabel      = "konghq.com/credential"
	credentialValue      = "konnect"
	// selectorLabel is how KGO labels a DataPlane's pods with status.selector.
	selectorLabel = "gateway-operator.konghq.com/selector"
)

func str(u *unstructured.Unstructured, path ...string) string {
	if u == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(u.Object, path...)
	return v
}

func condition(u *unstructured.Unstructured, typ string) (status, reason, message string, found bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
			return status, reason, message, true
		}
	}
	return "", "", "", false
}

// served reports which resources of the group/versions we read are served.
func (e *Env) served(ctx context.Context) (map[schema.GroupVersionResource]bool, error) {
	return memo(e, "served", func() (map[schema.GroupVersionResource]bool, error) {
		out := map[schema.GroupVersionResource]bool{}
		gvs := map[schema.GroupVersion]bool{}
		for _, r := range []schema.GroupVersionResource{gvrAuth, kgoapi.ControlPlaneGVR(kgoapi.V1Alpha1), kgoapi.ControlPlaneGVR(kgoapi.V1Alpha2),
			gvrExtensionOld, gvrDataPlane, gvrDPCertificates} {
			gvs[r.GroupVersion()] = true
		}
		for gv := range gvs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			list, err := e.Discovery.ServerResourcesForGroupVersion(gv.String())
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("discovering %s: %w", gv, err)
			}
			for _, r := range list.APIResources {
				out[gv.WithResource(r.Name)] = true
			}
		}
		// The group versions above hold every kind rules.Served reads
		// (KongReferenceGrant is configuration.konghq.com/v1alpha1, the
		// event and AI gateways konnect.konghq.com/v1alpha1).
		facts := rules.ServedFromResources(slices.Collect(maps.Keys(out)))
		if facts.ControlPlaneV1Alpha2 {
			// The CRD names the exact kong-operator 2.x release.
			crd, err := kgoapi.ReadCRDVersion(ctx, e.Metadata)
			if err != nil {
				return nil, err
			}
			facts.CRDVersion, facts.CRDUnread = crd.Version, crd.Unread
		}
		e.releaseFacts, e.generation = facts, rules.GenerationFor(facts)
		return out, nil
	})
}

// isServed is the served facts as kgoapi's version pickers read them.
func isServed(served map[schema.GroupVersionResource]bool) func(schema.GroupVersionResource) bool {
	return func(r schema.GroupVersionResource) bool { return served[r] }
}

// controlPlaneGVR is the KonnectGatewayControlPlane resource to read:
// v1alpha2 where it is served (kong-operator 2.x stores v1alpha2 and
// converts the deprecated v1alpha1), else v1alpha1.
func (e *Env) controlPlaneGVR(ctx context.Context) (schema.GroupVersionResource, error) {
	served, err := e.served(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return kgoapi.ControlPlaneGVR(kgoapi.ControlPlaneVersion(isServed(served))), nil
}

// extensionGVR is the konnect.konghq.com KonnectExtension resource to read:
// v1alpha2 on kong-operator 2.x, v1alpha1 on KGO 1.5/1.6.
func (e *Env) extensionGVR(ctx context.Context) (schema.GroupVersionResource, error) {
	served, err := e.served(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return kgoapi.ExtensionGVR(kgoapi.ExtensionVersion(isServed(served))), nil
}

// Generation is the KGO generation found by discovery.
func (e *Env) Generation(ctx context.Context) (rules.Generation, error) {
	if _, err := e.served(ctx); err != nil {
		return rules.GenerationUnknown, err
	}
	return e.generation, nil
}

func (e *Env) res(gvr schema.GroupVersionResource, ns string) interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions, sub ...string) (*unstructured.Unstructured, error)
	List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error)
} {
	return e.Dynamic.Resource(gvr).Namespace(ns)
}

// list returns the objects of a resource in the namespace, sorted by name.
func (e *Env) list(ctx context.Context, gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, error) {
	return e.listIn(ctx, gvr, e.Namespace)
}

// listIn returns the objects of a resource in namespace ns, sorted by name.
func (e *Env) listIn(ctx context.Context, gvr schema.GroupVersionResource, ns string) ([]*unstructured.Unstructured, error) {
	key := "list/" + gvr.String()
	if ns != e.Namespace {
		key += "/" + ns
	}
	return memo(e, key, func() ([]*unstructured.Unstructured, error) {
		l, err := e.res(gvr, ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s in namespace %s: %w", gvr.GroupResource(), ns, err)
		}
		return sortedItems(l), nil
	})
}

func sortedItems(l *unstructured.UnstructuredList) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(l.Items))
	for i := range l.Items {
		out = append(out, &l.Items[i])
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetNamespace() != out[j].GetNamespace() {
			return out[i].GetNamespace() < out[j].GetNamespace()
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out
}

// get returns an object, or nil when it does not exist.
func (e *Env) get(ctx context.Context, gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	return e.getIn(ctx, gvr, e.Namespace, name)
}

// getIn returns an object of namespace ns ("" for a cluster-scoped one), or
// nil when it does not exist.
func (e *Env) getIn(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	key := "get/" + gvr.String() + "/" + name
	if ns != e.Namespace {
		key = "get/" + gvr.String() + "/" + ns + "/" + name
	}
	return memo(e, key, func() (*unstructured.Unstructured, error) {
		u, err := e.res(gvr, ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			if ns == "" {
				return nil, fmt.Errorf("reading %s %s: %w", gvr.GroupResource(), name, err)
			}
			return nil, fmt.Errorf("reading %s %s/%s: %w", gvr.GroupResource(), ns, name, err)
		}
		return u, nil
	})
}

func names(objs []*unstructured.Unstructured) string {
	var n []string
	for _, o := range objs {
		n = append(n, o.GetName())
	}
	return strings.Join(n, ", ")
}

// pick is the object a flag names, or else the only one in the namespace.
// With several and no flag it returns them all for the caller to choose.
func (e *Env) pick(ctx context.Context, gvr schema.GroupVersionResource, kind, name, notFoundHint, noneHint string) (*unstructured.Unstructured, []*unstructured.Unstructured, error) {
	if name != "" {
		obj, err := e.get(ctx, gvr, name)
		if err != nil {
			return nil, nil, err
		}
		if obj == nil {
			return nil, nil, &problem{missing: true, msg: fmt.Sprintf("%s %s not found in namespace %s", kind, name, e.Namespace), hint: notFoundHint}
		}
		return obj, nil, nil
	}
	objs, err := e.list(ctx, gvr)
	if err != nil {
		return nil, nil, err
	}
	switch len(objs) {
	case 0:
		return nil, nil, &problem{missing: true, msg: fmt.Sprintf("no %s in namespace %s", kind, e.Namespace), hint: noneHint}
	case 1:
		return objs[0], nil, nil
	}
	return nil, objs, nil
}

// dataPlane is the DataPlane to check: --dataplane or the only one.
func (e *Env) dataPlane(ctx context.Context) (*unstructured.Unstructured, error) {
	return memo(e, "dataplane", func() (*unstructured.Unstructured, error) {
		if e.Gateway != "" {
			dp, err := e.gatewayChild(ctx, gvrDataPlane, "DataPlane")
			if err == nil {
				e.selectedDataPlane = dp.GetName()
			}
			return dp, err
		}
		dp, several, err := e.pick(ctx, gvrDataPlane, "DataPlane", e.DataPlane,
			fmt.Sprintf("List the data planes with: kubectl get dataplanes.gateway-operator.konghq.com -n %s", e.Namespace),
			"Pass the namespace of the data plane with -n, or create a DataPlane whose spec.extensions names a KonnectExtension (kubectl konnect init does all of it).")
		if err != nil {
			return nil, err
		}
		if dp == nil {
			return nil, problemf("Pick one with --dataplane NAME.", "%d DataPlanes in namespace %s (%s)", len(several), e.Namespace, names(several))
		}
		e.selectedDataPlane = dp.GetName()
		return dp, nil
	})
}

// extInfo is the KonnectExtension a DataPlane names.
type extInfo struct {
	Group string
	Name  string
	// Obj is nil when the KonnectExtension does not exist.
	Obj *unstructured.Unstructured
	// Active is whether this KGO generation acts on the extension's group.
	Active bool
	// Index is the extension's position in the DataPlane's spec.extensions.
	Index int
}

func (x extInfo) kind() string { return "konnectextension." + x.Group }

// extension is the KonnectExtension the data plane names.
func (e *Env) extension(ctx context.Context) (extInfo, error) {
	return memo(e, "extension", func() (extInfo, error) {
		dp, err := e.dataPlane(ctx)
		if err != nil {
			return extInfo{}, err
		}
		gen, err := e.Generation(ctx)
		if err != nil {
			return extInfo{}, err
		}
		legacyActive, _ := gen.LegacyKonnectExtensionActive()
		exts, _, _ := unstructured.NestedSlice(dp.Object, "spec", "extensions")
		var found []extInfo
		for i, x := range exts {
			m, _ := x.(map[string]any)
			if m["kind"] != "KonnectExtension" {
				continue
			}
			g, _ := m["group"].(string)
			if g == "" {
				g = groupGatewayOperator
			}
			n, _ := m["name"].(string)
			active := (g == groupGatewayOperator && legacyActive) || (g == groupKonnect && !legacyActive)
			found = append(found, extInfo{Group: g, Name: n, Active: active, Index: i})
		}
		if len(found) == 0 {
			return extInfo{}, &problem{missing: true, msg: fmt.Sprintf("DataPlane %s names no KonnectExtension in spec.extensions: it does not connect to Konnect", dp.GetName()),
				hint: fmt.Sprintf("Add {kind: KonnectExtension, group: %s, name: <extension>} to spec.extensions of DataPlane %s.", activeGroup(gen), dp.GetName())}
		}
		x := found[0]
		if i := slices.IndexFunc(found, func(x extInfo) bool { return x.Active }); i >= 0 {
			x = found[i]
		}
		gvr, err := e.extensionGVR(ctx)
		if err != nil {
			return extInfo{}, err
		}
		if x.Group == groupGatewayOperator {
			gvr = gvrExtensionOld
		}
		served, err := e.served(ctx)
		if err != nil {
			return extInfo{}, err
		}
		if served[gvr] {
			if x.Obj, err = e.get(ctx, gvr, x.Name); err != nil {
				return extInfo{}, err
			}
		}
		return x, nil
	})
}

func activeGroup(gen rules.Generation) string {
	if gen == rules.GenerationKGO14 {
		return groupGatewayOperator
	}
	return groupKonnect
}

// controlPlane is the KonnectGatewayControlPlane to check: --control-plane,
// the only one in the namespace, or the one the extension refers to.
func (e *Env) controlPlane(ctx context.Context) (*unstructured.Unstructured, error) {
	return memo(e, "controlplane", func() (*unstructured.Unstructured, error) {
		gvr, err := e.controlPlaneGVR(ctx)
		if err != nil {
			return nil, err
		}
		if e.Gateway != "" {
			cp, err := e.gatewayChild(ctx, gvr, "KonnectGatewayControlPlane")
			if err == nil {
				e.selectedControlPlane = cp.GetName()
			}
			return cp, err
		}
		cp, cps, err := e.pick(ctx, gvr, "KonnectGatewayControlPlane", e.ControlPlane,
			fmt.Sprintf("List them with: kubectl get konnectgatewaycontrolplanes.konnect.konghq.com -n %s", e.Namespace),
			"Create one that names the Konnect control plane and refers to a KonnectAPIAuthConfiguration (kubectl konnect init does it), or pass -n.")
		if err != nil {
			return nil, err
		}
		if cp != nil {
			e.selectedControlPlane = cp.GetName()
			return cp, nil
		}
		// Several: the one the data plane's KonnectExtension refers to.
		if x, err := e.extension(ctx); err == nil && x.Obj != nil && x.Group == groupKonnect {
			ref := []string{"spec", "konnect", "controlPlane", "ref"}
			for _, cp := range cps {
				if (str(x.Obj, append(ref, "type")...) == "konnectNamespacedRef" && str(x.Obj, append(ref, "konnectNamespacedRef", "name")...) == cp.GetName()) ||
					(str(x.Obj, append(ref, "type")...) == "konnectID" && kgoapi.KonnectID(cp) != "" && strings.EqualFold(str(x.Obj, append(ref, "konnectID")...), kgoapi.KonnectID(cp))) {
					e.selectedControlPlane = cp.GetName()
					return cp, nil
				}
			}
		}
		return nil, problemf("Pick one with --control-plane NAME.", "%d KonnectGatewayControlPlanes in namespace %s (%s) and none is named by the data plane's KonnectExtension", len(cps), e.Namespace, names(cps))
	})
}

// konnectAuth is a resolved KonnectAPIAuthConfiguration.
type konnectAuth struct {
	Obj       *unstructured.Unstructured
	ServerURL string // https://us.api.konghq.com
	Region    string // us, or "" when the host names none
	token     string
	// Source says where the token came from, e.g. "Secret konnect-token (key token)".
	Source string
}

// regionOf returns the region of a Konnect API server URL: its first label,
// when the operator accepts it as a region (pkg/konnect/region).
func regionOf(serverURL string) string {
	if h := region.ParseHost(serverURL); h.ValidRegion() {
		return h.Label
	}
	return ""
}

// authToken reads an auth configuration's token; the error says why it
// cannot be read and how to fix it.
func (e *Env) authToken(ctx context.Context, auth *unstructured.Unstructured) (konnectAuth, error) {
	return memo(e, "auth/"+e.nsName(auth.GetNamespace(), auth.GetName()), func() (konnectAuth, error) {
		ka := konnectAuth{Obj: auth}
		authNS := e.nsOf(auth)
		server := str(auth, "spec", "serverURL")
		if !strings.Contains(server, "://") {
			server = "https://" + server
		}
		ka.ServerURL = strings.TrimSuffix(server, "/")
		ka.Region = regionOf(ka.ServerURL)
		where := "KonnectAPIAuthConfiguration " + e.nsName(auth.GetNamespace(), auth.GetName())
		switch t := str(auth, "spec", "type"); t {
		case "token":
			ka.token = strings.TrimSpace(str(auth, "spec", "token"))
			ka.Source = "inline spec.token"
			if ka.token == "" {
				return ka, problemf(fmt.Sprintf("Set spec.token: kubectl patch konnectapiauthconfiguration %s -n %s --type merge -p '{\"spec\":{\"token\":\"<token>\"}}'", auth.GetName(), authNS),
					"%s: spec.token is empty", where)
			}
		case "secretRef":
			name, ns := str(auth, "spec", "secretRef", "name"), str(auth, "spec", "secretRef", "namespace")
			if ns == "" {
				ns = authNS
			}
			ka.Source = fmt.Sprintf("Secret %s (key token)", name)
			if ns != authNS {
				ka.Source = fmt.Sprintf("Secret %s/%s (key token)", ns, name)
			}
			sec, err := e.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return ka, problemf(fmt.Sprintf("Create it: kubectl create secret generic %s -n %s --from-literal=token=<token> && kubectl label secret %s -n %s %s=%s", name, ns, name, ns, credentialLabel, credentialValue),
					"%s: token Secret %s/%s does not exist", where, ns, name)
			}
			if err != nil {
				return ka, fmt.Errorf("%s: reading token Secret %s/%s: %w", where, ns, name, err)
			}
			if sec.Labels[credentialLabel] != credentialValue {
				return ka, problemf(fmt.Sprintf("KGO only reads labelled Secrets: kubectl label secret %s -n %s %s=%s", name, ns, credentialLabel, credentialValue),
					"%s: token Secret %s/%s lacks the label %s=%s", where, ns, name, credentialLabel, credentialValue)
			}
			if err := e.operatorCannotSee(ctx, sec, auth, "APIAuthValid", where+": token"); err != nil {
				return ka, err
			}
			tok, ok := sec.Data["token"]
			if !ok || strings.TrimSpace(string(tok)) == "" {
				return ka, problemf(fmt.Sprintf("Store the token under the key token: kubectl patch secret %s -n %s --type merge -p '{\"stringData\":{\"token\":\"<token>\"}}'", name, ns),
					"%s: token Secret %s/%s has no key token", where, ns, name)
			}
			ka.token = strings.TrimSpace(string(tok))
		default:
			return ka, problemf("Set spec.type to token (with spec.token) or secretRef (with spec.secretRef.name).",
				"%s: spec.type %q is neither token nor secretRef", where, t)
		}
		e.noteSecret(ka.token)
		return ka, nil
	})
}

func (e *Env) sdk(ka konnectAuth) *sdkkonnectgo.SDK {
	return konnect.NewSDK(ka.ServerURL, ka.token, e.KonnectHTTPClient)
}

// organization asks Konnect who the token belongs to (GET /v3/organizations/me).
func (e *Env) organization(ctx context.Context, ka konnectAuth) (*components.MeOrganization, error) {
	return memo(e, "org/"+e.nsName(ka.Obj.GetNamespace(), ka.Obj.GetName()), func() (*components.MeOrganization, error) {
		res, err := e.sdk(ka).Me.GetOrganizationsMe(ctx)
		if err != nil {
			return nil, err
		}
		return res.GetMeOrganization(), nil
	})
}

// nsOf is an object's namespace; the checked namespace for an object read
// without one.
func (e *Env) nsOf(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns
	}
	return e.Namespace
}

// nsName names an object for messages: its name in the checked namespace,
// namespace/name in another.
func (e *Env) nsName(ns, name string) string {
	if ns == "" || ns == e.Namespace {
		return name
	}
	return ns + "/" + name
}

// authRefOf is the KonnectAPIAuthConfiguration a control plane uses: its
// spec.konnect.authRef, whose namespace (kong-operator >= 2.1, with a
// KongReferenceGrant) defaults to the control plane's own
// (v2.2.3:controller/konnect/reconciler_apiauthref.go getCPAuthRefForRef).
func (e *Env) authRefOf(cp *unstructured.Unstructured) (ns, name string) {
	ns = str(cp, "spec", "konnect", "authRef", "namespace")
	if ns == "" {
		ns = e.nsOf(cp)
	}
	return ns, kgoapi.AuthRef(cp)
}

// usesAuth reports whether control plane cp uses auth.
func (e *Env) usesAuth(cp, auth *unstructured.Unstructured) bool {
	if cp == nil {
		return false
	}
	ns, name := e.authRefOf(cp)
	return name == auth.GetName() && ns == e.nsOf(auth)
}

// auths are the KonnectAPIAuthConfigurations the auth checks read. With
// --gateway, the one the Gateway's control plane uses (or, before
// kong-operator created it, the one its GatewayConfiguration names), which
// may live in another namespace. Otherwise every one of the namespace, and
// the control plane's when its authRef names another namespace.
func (e *Env) auths(ctx context.Context) ([]*unstructured.Unstructured, error) {
	return memo(e, "auths", func() ([]*unstructured.Unstructured, error) {
		if e.Gateway != "" {
			return e.gatewayAuths(ctx)
		}
		out, err := e.list(ctx, gvrAuth)
		if err != nil {
			return nil, err
		}
		if cp, err := e.controlPlane(ctx); err == nil {
			if ns, name := e.authRefOf(cp); ns != e.Namespace && name != "" {
				if a, err := e.getIn(ctx, gvrAuth, ns, name); err == nil && a != nil {
					out = append(slices.Clone(out), a)
				}
			}
		}
		return out, nil
	})
}

// cpAuth is the resolved auth configuration of the control plane, with a
// token Konnect accepted.
func (e *Env) cpAuth(ctx context.Context) (konnectAuth, error) {
	return memo(e, "cpauth", func() (konnectAuth, error) {
		cp, err := e.controlPlane(ctx)
		if err != nil {
			return konnectAuth{}, err
		}
		ns, name := e.authRefOf(cp)
		auth, err := e.getIn(ctx, gvrAuth, ns, name)
		if err != nil {
			return konnectAuth{}, err
		}
		name = e.nsName(ns, name)
		if auth == nil {
			return konnectAuth{}, prereqf("KonnectAPIAuthConfiguration %s of control plane %s does not exist", name, cp.GetName())
		}
		ka, err := e.authToken(ctx, auth)
		if err != nil {
			return ka, prereqf("the token of KonnectAPIAuthConfiguration %s is not readable: %v", name, err)
		}
		if _, err := e.organization(ctx, ka); err != nil {
			_, msg := konnectError(err)
			return ka, prereqf("the token of KonnectAPIAuthConfiguration %s is not usable: %s", name, msg)
		}
		return ka, nil
	})
}

// controlPlaneID is the control plane's Konnect ID: status.id of the
// programmed control plane, or the ID a Mirror names.
func (e *Env) controlPlaneID(ctx context.Context) (string, error) {
	cp, err := e.controlPlane(ctx)
	if err != nil {
		return "", err
	}
	id := kgoapi.KonnectID(cp)
	if id == "" {
		return "", prereqf("KonnectGatewayControlPlane %s has no status.id yet", cp.GetName())
	}
	return id, nil
}

// konnectControlPlane is the control plane as Konnect has it.
func (e *Env) konnectControlPlane(ctx context.Context) (*components.ControlPlane, error) {
	return memo(e, "konnect-cp", func() (*components.ControlPlane, error) {
		id, err := e.controlPlaneID(ctx)
		if err != nil {
			return nil, err
		}
		ka, err := e.cpAuth(ctx)
		if err != nil {
			return nil, err
		}
		res, err := e.sdk(ka).ControlPlanes.GetControlPlane(ctx, id)
		if err != nil {
			return nil, err
		}
		if res.GetControlPlane() == nil {
			return nil, fmt.Errorf("Konnect returned no control plane %s", id)
		}
		return res.GetControlPlane(), nil
	})
}

// endpoint is the control plane's endpoint host split as KGO 1.4 reads it:
// <prefix>.<region>.cp0.<server hostname>.
type endpoint struct {
	URL, Host, Prefix, Region, ServerHostname string
}

func parseEndpoint(raw string) endpoint {
	ep := endpoint{URL: raw}
	u, err := url.Parse(raw)
	if err != nil {
		return ep
	}
	ep.Host = u.Hostname()
	parts := strings.SplitN(ep.Host, ".", 4)
	if len(parts) == 4 {
		ep.Prefix, ep.Region, ep.ServerHostname = parts[0], parts[1], parts[3]
	}
	return ep
}

func (e *Env) endpoint(ctx context.Context) (endpoint, error) {
	kcp, err := e.konnectControlPlane(ctx)
	if err != nil {
		return endpoint{}, err
	}
	return parseEndpoint(kcp.Config.ControlPlaneEndpoint), nil
}

// certSecret is the data plane's client certificate Secret.
type certSecret struct {
	Name   string
	Secret *corev1.Secret
	Cert   *x509.Certificate
}

// certSecretName is the Secret the extension mounts as the data plane's
// cluster certificate, by generation.
func (e *Env) certSecretName(ctx context.Context) (string, error) {
	x, err := e.extension(ctx)
	if err != nil {
		return "", err
	}
	if x.Obj == nil {
		return "", fmt.Errorf("%s %s does not exist", x.kind(), x.Name)
	}
	if x.Group == groupGatewayOperator {
		name := str(x.Obj, "spec", "konnectControlPlaneAPIAuthConfiguration", "clusterCertificateSecretRef", "name")
		if name == "" {
			return "", problemf("Set spec.konnectControlPlaneAPIAuthConfiguration.clusterCertificateSecretRef.name to the data plane's kubernetes.io/tls Secret.",
				"KonnectExtension %s names no certificate Secret", x.Name)
		}
		return name, nil
	}
	if str(x.Obj, "spec", "clientAuth", "certificateSecret", "provisioning") == "Manual" {
		return str(x.Obj, "spec", "clientAuth", "certificateSecret", "secretRef", "name"), nil
	}
	name := str(x.Obj, "status", "dataPlaneClientAuth", "certificateSecretRef", "name")
	if name == "" {
		return "", problemf(fmt.Sprintf("KGO provisions the certificate once the control plane is programmed: kubectl describe konnectextension.konnect.konghq.com %s -n %s", x.Name, e.Namespace),
			"KonnectExtension %s uses Automatic provisioning and KGO has not provisioned a certificate yet (no status.dataPlaneClientAuth.certificateSecretRef)", x.Name)
	}
	return name, nil
}

func (e *Env) certSecret(ctx context.Context) (certSecret, error) {
	return memo(e, "certsecret", func() (certSecret, error) {
		name, err := e.certSecretName(ctx)
		if err != nil {
			return certSecret{}, err
		}
		cs := certSecret{Name: name}
		sec, err := e.Kube.CoreV1().Secrets(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return cs, problemf(fmt.Sprintf("Create the data plane's certificate and its Secret: kubectl konnect cert issue %s --control-plane %s -n %s", name, e.controlPlaneNameOr("<control plane>"), e.Namespace),
				"Secret %s does not exist", name)
		}
		if err != nil {
			return cs, fmt.Errorf("reading Secret %s/%s: %w", e.Namespace, name, err)
		}
		cs.Secret = sec
		if x, _ := e.extension(ctx); x.Obj != nil && x.Group != groupGatewayOperator &&
			str(x.Obj, "spec", "clientAuth", "certificateSecret", "provisioning") == "Manual" {
			if err := e.operatorCannotSee(ctx, sec, x.Obj, "DataPlaneCertificateProvisioned", "KonnectExtension "+x.Name+": certificate"); err != nil {
				return cs, err
			}
		}
		crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
		if len(crt) == 0 || len(key) == 0 {
			return cs, problemf("The Secret must be a kubernetes.io/tls Secret with tls.crt and tls.key: kubectl create secret tls "+name+" -n "+e.Namespace+" --cert=tls.crt --key=tls.key",
				"Secret %s has no tls.crt or no tls.key", name)
		}
		kp, err := cert.ParsePair(crt, key, cert.Source{Cert: "Secret " + name + " key tls.crt", Key: "Secret " + name + " key tls.key"})
		if err != nil {
			return cs, problemf("Replace tls.crt and tls.key with a matching certificate and key, e.g. a new pair: kubectl konnect cert issue NAME --control-plane "+e.controlPlaneNameOr("<control plane>")+" -n "+e.Namespace,
				"%v", err)
		}
		cs.Cert = kp.Cert
		return cs, nil
	})
}

func (e *Env) controlPlaneNameOr(def string) string {
	if e.selectedControlPlane != "" {
		return e.selectedControlPlane
	}
	return def
}

// registeredCerts are the certificates pinned to the control plane in Konnect.
func (e *Env) registeredCerts(ctx context.Context) ([]*x509.Certificate, error) {
	pins, err := e.pinnedCerts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*x509.Certificate, 0, len(pins))
	for _, p := range pins {
		out = append(out, p.Cert)
	}
	return out, nil
}

// pinnedCert is one certificate pinned to the control plane in Konnect.
type pinnedCert struct {
	ID        string
	CreatedAt int64 // unix seconds
	Cert      *x509.Certificate
}

// pinnedCerts are the control plane's pinned certificates that parse, in
// Konnect's order.
func (e *Env) pinnedCerts(ctx context.Context) ([]pinnedCert, error) {
	return memo(e, "registered", func() ([]pinnedCert, error) {
		id, err := e.controlPlaneID(ctx)
		if err != nil {
			return nil, err
		}
		ka, err := e.cpAuth(ctx)
		if err != nil {
			return nil, err
		}
		res, err := e.sdk(ka).DPCertificates.ListDpClientCertificates(ctx, id)
		if err != nil {
			return nil, err
		}
		var out []pinnedCert
		for _, item := range res.GetListDataPlaneCertificatesResponse().GetItems() {
			certs, err := cert.DecodeCertsPEM([]byte(ptr.Deref(item.GetCert(), "")))
			if err == nil && len(certs) > 0 {
				out = append(out, pinnedCert{ID: ptr.Deref(item.GetID(), ""), CreatedAt: ptr.Deref(item.GetCreatedAt(), 0), Cert: certs[0]})
			}
		}
		return out, nil
	})
}

// pods are the data plane's pods.
func (e *Env) pods(ctx context.Context) ([]corev1.Pod, string, error) {
	type podsFact struct {
		pods     []corev1.Pod
		selector string
	}
	f, err := memo(e, "pods", func() (podsFact, error) {
		dp, err := e.dataPlane(ctx)
		if err != nil {
			return podsFact{}, err
		}
		sel := "app=" + dp.GetName()
		if s := str(dp, "status", "selector"); s != "" {
			sel = selectorLabel + "=" + s
		}
		l, err := e.Kube.CoreV1().Pods(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return podsFact{selector: sel}, fmt.Errorf("listing pods %s: %w", sel, err)
		}
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
		return podsFact{pods: l.Items, selector: sel}, nil
	})
	return f.pods, f.selector, err
}

// nodes are the control plane's data plane nodes in Konnect, every page.
func (e *Env) nodes(ctx context.Context) ([]components.ListNodesItems, error) {
	return memo(e, "nodes", func() ([]components.ListNodesItems, error) {
		id, err := e.controlPlaneID(ctx)
		if err != nil {
			return nil, err
		}
		ka, err := e.cpAuth(ctx)
		if err != nil {
			return nil, err
		}
		sdk := e.sdk(ka)
		var out []components.ListNodesItems
		req := operations.ListDataplaneNodesRequest{ControlPlaneID: id, PageSize: ptr.To[int64](100)}
		for range 100 { // at most 10,000 nodes
			res, err := sdk.DPNodes.ListDataplaneNodes(ctx, req)
			if err != nil {
				return nil, err
			}
			l := res.GetListNodes()
			out = append(out, l.GetItems()...)
			next := ptr.Deref(l.GetPage().GetNext(), "")
			if next == "" || len(l.GetItems()) == 0 {
				break
			}
			req.PageAfter = &next
		}
		return out, nil
	})
}

// objName names an object for messages (see nsName).
func (e *Env) objName(u *unstructured.Unstructured) string { return e.nsName(e.nsOf(u), u.GetName()) }

// operatorCannotSee is the problem of a Secret that kong-operator 2.x cannot read because it lacks
// the label of the operator's Secret selector (kgoapi.SecretLabel): the operator's cache does not hold
// it, so to the operator it does not exist. It quotes what the operator said on obj's condition
// condType, and nil when the operator can read the Secret.
func (e *Env) operatorCannotSee(ctx context.Context, sec *corev1.Secret, obj *unstructured.Unstructured, condType, what string) error {
	gen, err := e.Generation(ctx)
	if err != nil || kgoapi.OperatorCanSeeSecret(sec.Labels, gen.KongOperator2()) {
		return nil
	}
	said := ""
	if status, reason, msg, ok := condition(obj, condType); ok && status == "False" {
		said = fmt.Sprintf("; the operator says %s=False %s: %s", condType, reason, msg)
	}
	return problemf(fmt.Sprintf("kong-operator reads only Secrets labelled %s=%s (its --secret-label-selector): kubectl label secret %s -n %s %s=%s",
		kgoapi.SecretLabel, kgoapi.SecretLabelValue, sec.Name, sec.Namespace, kgoapi.SecretLabel, kgoapi.SecretLabelValue),
		"%s Secret %s/%s lacks the label %s=%s, so kong-operator cannot see it%s",
		what, sec.Namespace, sec.Name, kgoapi.SecretLabel, kgoapi.SecretLabelValue, said)
}
