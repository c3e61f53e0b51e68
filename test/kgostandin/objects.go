package kgostandin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

var (
	gvkAuth                = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectAPIAuthConfiguration"}
	gvkControlPlane        = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectGatewayControlPlane"}
	gvkKonnectExtension    = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectExtension"}
	gvkOldKonnectExtension = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v1alpha1", Kind: "KonnectExtension"}
	gvkDPCert              = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongDataPlaneClientCertificate"}
	gvkEventGateway        = schema.GroupVersionKind{Group: "konnect.konghq.com", Version: "v1alpha1", Kind: "KonnectEventGateway"}
	gvkService             = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongService"}
	gvkRoute               = schema.GroupVersionKind{Group: "configuration.konghq.com", Version: "v1alpha1", Kind: "KongRoute"}
	gvkDataPlane           = schema.GroupVersionKind{Group: "gateway-operator.konghq.com", Version: "v1beta1", Kind: "DataPlane"}
)

// Condition types and reasons as KGO spells them (kubernetes-configuration
// api/konnect/v1alpha1/konnect_conditions.go).
const (
	condProgrammed            = "Programmed"
	condAPIAuthValid          = "APIAuthValid"
	condAPIAuthResolvedRef    = "APIAuthResolvedRef"
	condControlPlaneRefValid  = "ControlPlaneRefValid"
	condKongServiceRefValid   = "KongServiceRefValid"
	condReady                 = "Ready"
	condCertProvisioned       = "DataPlaneCertificateProvisioned"
	condExtensionApplied      = "KonnectExtensionApplied"
	reasonProgrammed          = "Programmed"
	reasonAPIOpFailed         = "KonnectAPIOpFailed"
	reasonFalseExists         = "ConditionWithStatusFalseExists"
	reasonValid               = "Valid"
	reasonInvalid             = "Invalid"
	reasonRefNotFound         = "RefNotFound"
	reasonResolvedRef         = "ResolvedRef"
	reasonPending             = "Pending"
	reasonProvisioning        = "Provisioning"
	msgProvisioning           = "provisioning in progress"
	reasonProvisioned         = "Provisioned"
	reasonInvalidSecret       = "InvalidSecret"
	clusterTypeKIC            = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"
	clusterTypeGroup          = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
	credentialLabel           = "konghq.com/credential"
	credentialLabelValue      = "konnect"
	retryAfterMissingTargets  = 500 * time.Millisecond
	retryAfterKonnectFailures = 2 * time.Second
)

func str(u *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedString(u.Object, path...)
	return v
}

func conditionStatus(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// setCondition sets a condition, keeping lastTransitionTime when the status
// does not change so that an unchanged reconcile writes nothing.
func setCondition(u *unstructured.Unstructured, typ string, status bool, reason, msg string) {
	st := "False"
	if status {
		st = "True"
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	c := map[string]any{
		"type":               typ,
		"status":             st,
		"reason":             reason,
		"message":            msg,
		"observedGeneration": u.GetGeneration(),
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	}
	for i, old := range conds {
		m, _ := old.(map[string]any)
		if m["type"] != typ {
			continue
		}
		if m["status"] == st {
			c["lastTransitionTime"] = m["lastTransitionTime"]
		}
		conds[i] = c
		_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
		return
	}
	conds = append(conds, c)
	_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
}

func setStatus(u *unstructured.Unstructured, value any, path ...string) {
	_ = unstructured.SetNestedField(u.Object, value, append([]string{"status"}, path...)...)
}

// writeStatus writes u's status if it differs from before's.
func (s *StandIn) writeStatus(ctx context.Context, before, u *unstructured.Unstructured) error {
	if equality.Semantic.DeepEqual(before.Object["status"], u.Object["status"]) {
		return nil
	}
	return s.cl.Status().Update(ctx, u)
}

func (s *StandIn) get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u, s.cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u)
}

// addFinalizer adds the cleanup finalizer, writing the status first: the
// CRDs' CEL rules read self.status and fail on an object that has none.
func (s *StandIn) addFinalizer(ctx context.Context, before, u *unstructured.Unstructured) (bool, error) {
	for _, f := range u.GetFinalizers() {
		if f == CleanupFinalizer {
			return false, nil
		}
	}
	if err := s.writeStatus(ctx, before, u); err != nil {
		return false, err
	}
	u.SetFinalizers(append(u.GetFinalizers(), CleanupFinalizer))
	return true, s.cl.Update(ctx, u)
}

func (s *StandIn) removeFinalizer(ctx context.Context, u *unstructured.Unstructured) error {
	var keep []string
	for _, f := range u.GetFinalizers() {
		if f != CleanupFinalizer {
			keep = append(keep, f)
		}
	}
	u.SetFinalizers(keep)
	return s.cl.Update(ctx, u)
}

// authFor resolves a KonnectAPIAuthConfiguration to a Konnect client, as KGO
// does for every Konnect call: token inline or from a labelled Secret.
type konnectAuth struct {
	sdk       *sdkkonnectgo.SDK
	serverURL string
	orgID     string
}

func (s *StandIn) tokenOf(ctx context.Context, auth *unstructured.Unstructured) (string, error) {
	switch t := str(auth, "spec", "type"); t {
	case "token":
		return str(auth, "spec", "token"), nil
	case "secretRef":
		name := str(auth, "spec", "secretRef", "name")
		ns := str(auth, "spec", "secretRef", "namespace")
		if ns == "" {
			ns = auth.GetNamespace()
		}
		// The texts are kong-operator's (controller/konnect/reconciler_konnectapiauth.go
		// getTokenFromKonnectAPIAuthConfiguration @v2.1.9; KGO 1.6.2 says the same).
		nn := types.NamespacedName{Namespace: ns, Name: name}
		var sec corev1.Secret
		if err := s.getSecret(ctx, nn, &sec); err != nil {
			return "", fmt.Errorf("failed to get Secret %s: %w", nn, err)
		}
		if sec.Labels[credentialLabel] != credentialLabelValue {
			return "", fmt.Errorf("secret %s does not have label %s: %s", nn, credentialLabel, credentialLabelValue)
		}
		tok, ok := sec.Data["token"]
		if !ok {
			return "", fmt.Errorf("Secret %s/%s does not have key token", ns, name)
		}
		return strings.TrimSpace(string(tok)), nil
	default:
		return "", fmt.Errorf("unknown type %q", t)
	}
}

// serverURLOf returns the https URL of spec.serverURL and checks that its
// first label names a region, which is how KGO derives the region: any two
// lowercase letters, or global (Kong/gateway-operator
// controller/konnect/server/region.go NewRegion @v1.5.1, v1.6.2; the same in
// Kong/kong-operator @v2.0.1..v2.3.0-rc.3), so Singapore's sg too.
func serverURLOf(auth *unstructured.Unstructured) (string, error) {
	raw := str(auth, "spec", "serverURL")
	host := strings.TrimPrefix(strings.TrimPrefix(raw, "https://"), "http://")
	host = strings.TrimSuffix(host, "/")
	region, _, _ := strings.Cut(host, ".")
	if region != "global" && !regionLabel.MatchString(region) {
		return "", fmt.Errorf("can't determine the Konnect region from server URL %q: its first label must be a two-letter region", raw)
	}
	return "https://" + host, nil
}

var regionLabel = regexp.MustCompile(`^[a-z]{2}$`)

func (s *StandIn) konnectAuthFor(ctx context.Context, auth *unstructured.Unstructured) (konnectAuth, error) {
	url, err := serverURLOf(auth)
	if err != nil {
		return konnectAuth{}, err
	}
	tok, err := s.tokenOf(ctx, auth)
	if err != nil {
		return konnectAuth{}, err
	}
	return konnectAuth{
		sdk:       konnect.NewSDK(url, tok, s.httpClient),
		serverURL: url,
		orgID:     str(auth, "status", "organizationID"),
	}, nil
}

// authNamespace is where a control plane's auth lives: authRef.namespace
// (kong-operator >= 2.1, with a KongReferenceGrant), else its own.
func authNamespace(cp *unstructured.Unstructured) string {
	if ns := str(cp, "spec", "konnect", "authRef", "namespace"); ns != "" {
		return ns
	}
	return cp.GetNamespace()
}

// controlPlaneAuth resolves the KonnectAPIAuthConfiguration of a programmed
// KonnectGatewayControlPlane.
func (s *StandIn) controlPlaneAuth(ctx context.Context, cp *unstructured.Unstructured) (konnectAuth, error) {
	auth, err := s.get(ctx, gvkAuth, authNamespace(cp), str(cp, "spec", "konnect", "authRef", "name"))
	if err != nil {
		return konnectAuth{}, err
	}
	return s.konnectAuthFor(ctx, auth)
}

// resolveControlPlane follows spec.controlPlaneRef of an entity. On failure
// it sets ControlPlaneRefValid=False on u and returns nil.
func (s *StandIn) resolveControlPlane(ctx context.Context, u *unstructured.Unstructured, refPath ...string) (*unstructured.Unstructured, error) {
	ref, _, _ := unstructured.NestedMap(u.Object, refPath...)
	typ, _ := ref["type"].(string)
	if typ != "konnectNamespacedRef" {
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid, fmt.Sprintf("controlPlaneRef type %q is not supported", typ))
		return nil, nil
	}
	name, _, _ := unstructured.NestedString(ref, "konnectNamespacedRef", "name")
	cp, err := s.get(ctx, s.cpGVK, u.GetNamespace(), name)
	if err != nil {
		if client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid,
			fmt.Sprintf("Referenced ControlPlane %s/%s does not exist", u.GetNamespace(), name))
		return nil, nil
	}
	if str(cp, "status", "id") == "" || conditionStatus(cp, condProgrammed) != "True" {
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid,
			fmt.Sprintf("Referenced ControlPlane %s/%s is not programmed yet", u.GetNamespace(), name))
		return nil, nil
	}
	return cp, nil
}

// getSecret reads a Secret as the operator's cache holds it. kong-operator 2.x caches only Secrets
// labelled konghq.com/secret=true (its default --secret-label-selector; modules/manager
// cache_options.go), so any other Secret is not found, with the cache reader's error text; KGO 1.x
// reads them all.
func (s *StandIn) getSecret(ctx context.Context, nn types.NamespacedName, sec *corev1.Secret) error {
	err := s.cl.Get(ctx, nn, sec)
	if s.gen != KO20 {
		return err
	}
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	if err != nil || !kgoapi.OperatorCanSeeSecret(sec.Labels, true) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "Secret"}, nn.Name)
	}
	return nil
}
