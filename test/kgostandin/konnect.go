package kgostandin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func requeueSoon() (reconcile.Result, error) {
	return reconcile.Result{RequeueAfter: retryAfterMissingTargets}, nil
}

func (s *StandIn) reconcileAuth(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	before := u.DeepCopy()
	ka, err := s.konnectAuthFor(ctx, u)
	if err == nil {
		var res *operations.GetOrganizationsMeResponse
		res, err = ka.sdk.Me.GetOrganizationsMe(ctx)
		if err == nil {
			org := res.GetMeOrganization()
			setStatus(u, ptr.Deref(org.GetID(), ""), "organizationID")
			setStatus(u, ka.serverURL, "serverURL")
			setCondition(u, condAPIAuthValid, true, reasonValid,
				fmt.Sprintf("Token is valid for Konnect organization %q", ptr.Deref(org.GetName(), "")))
			return reconcile.Result{}, s.writeStatus(ctx, before, u)
		}
	}
	setCondition(u, condAPIAuthValid, false, reasonInvalid, err.Error())
	if werr := s.writeStatus(ctx, before, u); werr != nil {
		return reconcile.Result{}, werr
	}
	return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
}

func (s *StandIn) reconcileControlPlane(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	if u.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, s.deleteControlPlane(ctx, u)
	}
	before := u.DeepCopy()
	authName, authNS := str(u, "spec", "konnect", "authRef", "name"), authNamespace(u)
	// An auth in another namespace needs a KongReferenceGrant there
	// (kong-operator >= 2.1, #2483; controller/konnect
	// handle_status_conditions.go handleAPIAuthStatusCondition: reason
	// RefNotPermitted, the crossnamespace error as message, v2.2.3).
	if authNS != u.GetNamespace() && !s.granted(ctx, authNS, u.GroupVersionKind().Group, "KonnectGatewayControlPlane", u.GetNamespace(), gvkAuth.Group, gvkAuth.Kind, authName) {
		setCondition(u, condAPIAuthResolvedRef, false, "RefNotPermitted", fmt.Sprintf(
			"cross-namespace reference to KonnectAPIAuthConfiguration %s in namespace %s from KonnectGatewayControlPlane.konnect.konghq.com in namespace %s is not granted by any KongReferenceGrant",
			authName, authNS, u.GetNamespace()))
		setCondition(u, condProgrammed, false, reasonFalseExists, "Some conditions have status set to False")
		if err := s.writeStatus(ctx, before, u); err != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	auth, err := s.get(ctx, gvkAuth, authNS, authName)
	if err != nil {
		if client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, err
		}
		setCondition(u, condAPIAuthResolvedRef, false, reasonRefNotFound,
			fmt.Sprintf("Referenced KonnectAPIAuthConfiguration %s/%s does not exist", authNS, authName))
		setCondition(u, condProgrammed, false, reasonFalseExists, "Some conditions have status set to False")
		if err := s.writeStatus(ctx, before, u); err != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	setCondition(u, condAPIAuthResolvedRef, true, reasonResolvedRef, "")
	if conditionStatus(auth, condAPIAuthValid) != "True" {
		setCondition(u, condAPIAuthValid, false, reasonInvalid,
			fmt.Sprintf("Referenced KonnectAPIAuthConfiguration %s/%s is invalid", authNS, authName))
		if err := s.writeStatus(ctx, before, u); err != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	setCondition(u, condAPIAuthValid, true, reasonValid, "")
	if added, err := s.addFinalizer(ctx, before, u); added || err != nil {
		if err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	ka, err := s.konnectAuthFor(ctx, auth)
	if err != nil {
		return reconcile.Result{}, err
	}

	var cp *components.ControlPlane
	if str(u, "spec", "source") == "Mirror" {
		cp, err = getControlPlane(ctx, ka, str(u, "spec", "mirror", "konnect", "id"))
	} else if id := str(u, "status", "id"); id != "" {
		cp, err = getControlPlane(ctx, ka, id)
	} else {
		cp, err = s.createControlPlane(ctx, ka, u)
	}
	if err != nil {
		setCondition(u, condProgrammed, false, reasonAPIOpFailed, err.Error())
		if werr := s.writeStatus(ctx, before, u); werr != nil {
			return reconcile.Result{}, werr
		}
		return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
	}
	setStatus(u, cp.ID, "id")
	setStatus(u, str(auth, "status", "organizationID"), "organizationID")
	setStatus(u, ka.serverURL, "serverURL")
	setStatus(u, map[string]any{
		"controlPlane": cp.Config.ControlPlaneEndpoint,
		"telemetry":    cp.Config.TelemetryEndpoint,
	}, "konnectEndpoints")
	setStatus(u, string(cp.Config.ClusterType), "clusterType") // v1alpha2; pruned by older CRDs
	setCondition(u, condProgrammed, true, reasonProgrammed, "")
	return reconcile.Result{}, s.writeStatus(ctx, before, u)
}

// controlPlaneRequest is where a KonnectGatewayControlPlane keeps what
// POST /v2/control-planes needs: spec (v1alpha1) or
// spec.createControlPlaneRequest (v1alpha2).
func controlPlaneRequest(u *unstructured.Unstructured) map[string]any {
	if m, ok, _ := unstructured.NestedMap(u.Object, "spec", "createControlPlaneRequest"); ok {
		return m
	}
	m, _, _ := unstructured.NestedMap(u.Object, "spec")
	return m
}

// getControlPlaneByID finds a control plane the way KGO >= 1.5 does for a
// KonnectExtension (controller/konnect/ops/ops_controlplane.go
// GetControlPlaneByID, v1.5.1..v2.3.0-rc.3): a list filtered by ID, whose
// errors become the ControlPlaneRefValid message verbatim.
func getControlPlaneByID(ctx context.Context, ka konnectAuth, id string) (*components.ControlPlane, error) {
	res, err := ka.sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
		Filter: &components.ControlPlaneFilterParameters{ID: &components.ID{Eq: &id}},
	})
	if err != nil || res == nil || res.ListControlPlanesResponse == nil {
		return nil, fmt.Errorf("failed listing for controlPlane with id %s: %w", id, err)
	}
	switch data := res.ListControlPlanesResponse.Data; len(data) {
	case 0:
		return nil, fmt.Errorf("failed listing controlPlanes by id: entity with ID %s not found on Konnect", id)
	case 1:
		return &data[0], nil
	}
	return nil, fmt.Errorf("failed listing controlPlanes by id: multiple entities with ID %s found on Konnect", id)
}

func getControlPlane(ctx context.Context, ka konnectAuth, id string) (*components.ControlPlane, error) {
	res, err := ka.sdk.ControlPlanes.GetControlPlane(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("failed to get control plane %s: %w", id, err)
	}
	return res.GetControlPlane(), nil
}

// createControlPlane creates the control plane with the k8s-* labels KGO
// uses; on a name conflict it adopts the control plane only if those labels
// say it is this object's, as KGO does.
func (s *StandIn) createControlPlane(ctx context.Context, ka konnectAuth, u *unstructured.Unstructured) (*components.ControlPlane, error) {
	spec := controlPlaneRequest(u)
	labels := map[string]string{}
	if m, ok, _ := unstructured.NestedStringMap(spec, "labels"); ok {
		for k, v := range m {
			labels[k] = v
		}
	}
	labels["k8s-uid"] = string(u.GetUID())
	labels["k8s-name"] = u.GetName()
	labels["k8s-namespace"] = u.GetNamespace()
	labels["k8s-kind"] = "KonnectGatewayControlPlane"
	field := func(name string) string { v, _, _ := unstructured.NestedString(spec, name); return v }
	name := field("name")
	if name == "" {
		// Konnect refuses a nameless control plane (400); the fake would
		// report the request as a spec violation. E.g. a v1alpha1 object on
		// kong-operator 2.x, kept as v1alpha2 without its spec.name.
		return nil, fmt.Errorf("failed to create control plane: the object names none (spec.name, or spec.createControlPlaneRequest.name in v1alpha2)")
	}
	req := components.CreateControlPlaneRequest{Name: name, Labels: labels}
	if d := field("description"); d != "" {
		req.Description = &d
	}
	if ct := field("cluster_type"); ct != "" {
		req.ClusterType = components.CreateControlPlaneRequestClusterType(ct).ToPointer()
	}
	if at := field("auth_type"); at != "" {
		req.AuthType = components.AuthType(at).ToPointer()
	}
	if cg, ok, _ := unstructured.NestedBool(spec, "cloud_gateway"); ok {
		req.CloudGateway = &cg
	}
	res, err := ka.sdk.ControlPlanes.CreateControlPlane(ctx, req)
	if err == nil {
		return res.GetControlPlane(), nil
	}
	var conflict *sdkerrors.ConflictError
	if !errors.As(err, &conflict) {
		return nil, fmt.Errorf("failed to create control plane %q: %w", name, err)
	}
	list, lerr := ka.sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
		Filter: &components.ControlPlaneFilterParameters{Name: &components.ControlPlaneFilterParametersName{Eq: &name}},
	})
	if lerr != nil {
		return nil, fmt.Errorf("failed to create control plane %q: %w; and to list it: %v", name, err, lerr)
	}
	for _, cp := range list.GetListControlPlanesResponse().GetData() {
		if cp.Labels["k8s-uid"] == string(u.GetUID()) {
			return &cp, nil
		}
	}
	return nil, fmt.Errorf("failed to create control plane %q: %w", name, err)
}

func (s *StandIn) deleteControlPlane(ctx context.Context, u *unstructured.Unstructured) error {
	if id := str(u, "status", "id"); id != "" && str(u, "spec", "source") != "Mirror" {
		ka, err := s.controlPlaneAuth(ctx, u)
		if err == nil {
			_, err = ka.sdk.ControlPlanes.DeleteControlPlane(ctx, id)
		}
		var nf *sdkerrors.NotFoundError
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("deleting control plane %s in Konnect: %w", id, err)
		}
	}
	return s.removeFinalizer(ctx, u)
}

func normalizePEM(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

func (s *StandIn) reconcileDPCert(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	if u.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, s.deleteDPCert(ctx, u)
	}
	before := u.DeepCopy()
	cp, err := s.resolveControlPlane(ctx, u, "spec", "controlPlaneRef")
	if err != nil {
		return reconcile.Result{}, err
	}
	if cp == nil {
		if err := s.writeStatus(ctx, before, u); err != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	if ct, _, _ := unstructured.NestedString(controlPlaneRequest(cp), "cluster_type"); ct == clusterTypeGroup && !s.certsOnGroups {
		// Only kong-operator >= 2.2 registers certificates on control-plane groups.
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid,
			fmt.Sprintf("Attaching to ControlPlane %s/%s with cluster type %s is not supported", u.GetNamespace(), cp.GetName(), ct))
		return reconcile.Result{}, s.writeStatus(ctx, before, u)
	}
	setCondition(u, condControlPlaneRefValid, true, reasonValid, "")
	if added, err := s.addFinalizer(ctx, before, u); added || err != nil {
		if err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	ka, err := s.controlPlaneAuth(ctx, cp)
	if err != nil {
		return reconcile.Result{}, err
	}
	cpID := str(cp, "status", "id")
	want := normalizePEM(str(u, "spec", "cert"))
	// List and compare before creating: a blind POST after a lost response
	// would register the certificate twice.
	id := ""
	list, err := ka.sdk.DPCertificates.ListDpClientCertificates(ctx, cpID)
	if err == nil {
		for _, c := range list.GetListDataPlaneCertificatesResponse().GetItems() {
			if normalizePEM(ptr.Deref(c.GetCert(), "")) == want {
				id = ptr.Deref(c.GetID(), "")
			}
		}
		if id == "" {
			var created *operations.CreateDataplaneCertificateResponse
			created, err = ka.sdk.DPCertificates.CreateDataplaneCertificate(ctx, cpID, &components.DataPlaneClientCertificateRequest{Cert: str(u, "spec", "cert")})
			if err == nil {
				id = ptr.Deref(created.GetDataPlaneClientCertificateResponse().GetItem().GetID(), "")
			}
		}
	}
	if err != nil {
		setCondition(u, condProgrammed, false, reasonAPIOpFailed, fmt.Sprintf("failed to register the certificate in Konnect: %v", err))
		if werr := s.writeStatus(ctx, before, u); werr != nil {
			return reconcile.Result{}, werr
		}
		return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
	}
	s.setEntityStatus(u, cp, ka, id)
	setCondition(u, condProgrammed, true, reasonProgrammed, "")
	return reconcile.Result{}, s.writeStatus(ctx, before, u)
}

func (s *StandIn) deleteDPCert(ctx context.Context, u *unstructured.Unstructured) error {
	id, cpID := str(u, "status", "konnect", "id"), str(u, "status", "konnect", "controlPlaneID")
	if id != "" && cpID != "" {
		cp, err := s.resolveControlPlane(ctx, u, "spec", "controlPlaneRef")
		if err == nil && cp != nil {
			ka, err := s.controlPlaneAuth(ctx, cp)
			if err == nil {
				_, err = ka.sdk.DPCertificates.DeleteDataplaneCertificate(ctx, cpID, id)
			}
			var nf *sdkerrors.KonnectCPLegacyNotFoundError
			if err != nil && !errors.As(err, &nf) {
				return fmt.Errorf("deleting certificate %s in Konnect: %w", id, err)
			}
		}
	}
	return s.removeFinalizer(ctx, u)
}

func (s *StandIn) setEntityStatus(u, cp *unstructured.Unstructured, ka konnectAuth, id string) {
	if id == "" {
		id = str(u, "status", "konnect", "id")
	}
	if id == "" {
		id = uuid.NewString()
	}
	setStatus(u, id, "konnect", "id")
	setStatus(u, str(cp, "status", "id"), "konnect", "controlPlaneID")
	setStatus(u, str(cp, "status", "organizationID"), "konnect", "organizationID")
	setStatus(u, ka.serverURL, "konnect", "serverURL")
}
