package kgostandin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Core entities, written as KGO writes them (KGO v1.5.1
// controller/konnect/ops/ops.go Create, ops_kongservice.go createService,
// ops_kongroute.go createRoute; the same in kong-operator 2.x):
//   - create with the SDK (CreateService, CreateRoute) when status.konnect.id
//     is empty, else upsert (UpsertService, UpsertRoute: PUT);
//   - tags k8s-uid, k8s-name, k8s-namespace, k8s-kind on every entity, by
//     which a create that conflicts is matched and adopted (ErrorIsCreateConflict
//     then getKongServiceForUID);
//   - an SDK error sets Programmed=False with reason FailedToCreate (or
//     FailedToUpdate) and the error as message, and is not retried (ops.go:
//     SetKonnectEntityProgrammedConditionFalse with the *SDKError).

const (
	reasonFailedToCreate = "FailedToCreate"
	reasonFailedToUpdate = "FailedToUpdate"
)

// entitySpec is the object's spec as Kong's JSON, without the Kubernetes
// references.
func entitySpec(u *unstructured.Unstructured) map[string]any {
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	for _, k := range []string{"controlPlaneRef", "serviceRef", "adopt"} {
		delete(spec, k)
	}
	return spec
}

func uidTags(u *unstructured.Unstructured) []string {
	return []string{
		"k8s-uid:" + string(u.GetUID()), "k8s-name:" + u.GetName(), "k8s-namespace:" + u.GetNamespace(),
		"k8s-kind:" + u.GetKind(),
	}
}

// into converts a JSON-shaped map into an SDK type.
func into(m map[string]any, out any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// entityOps is what differs between entity kinds.
type entityOps struct {
	create    func(ctx context.Context) (string, error)
	upsert    func(ctx context.Context, id string) error
	findByUID func(ctx context.Context) (string, error)
}

// program writes u to Konnect and sets its status: the shared part of KGO's
// ops.Create/ops.Update.
func (s *StandIn) program(ctx context.Context, before, u, cp *unstructured.Unstructured, ka konnectAuth, ops entityOps) (reconcile.Result, error) {
	id := str(u, "status", "konnect", "id")
	var err error
	reason := reasonFailedToCreate
	if id == "" {
		id, err = ops.create(ctx)
		if isCreateConflict(err) {
			// KGO adopts the entity its tags say is this object's.
			if found, ferr := ops.findByUID(ctx); ferr == nil && found != "" {
				id, err = found, nil
			}
		}
	} else {
		reason = reasonFailedToUpdate
		err = ops.upsert(ctx, id)
	}
	var sdkErr *sdkerrors.SDKError
	switch {
	case errors.As(err, &sdkErr):
		setCondition(u, condProgrammed, false, reason, sdkErr.Error())
		return reconcile.Result{}, s.writeStatus(ctx, before, u)
	case err != nil:
		setCondition(u, condProgrammed, false, reason, err.Error())
		if werr := s.writeStatus(ctx, before, u); werr != nil {
			return reconcile.Result{}, werr
		}
		return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
	}
	s.setEntityStatus(u, cp, ka, id)
	setCondition(u, condProgrammed, true, reasonProgrammed, "")
	return reconcile.Result{}, s.writeStatus(ctx, before, u)
}

// isCreateConflict follows kong-operator's ops_errors.go ErrorIsCreateConflict:
// 409, or a 400 whose body says "data constraint error" (code 3).
func isCreateConflict(err error) bool {
	var sdkErr *sdkerrors.SDKError
	if !errors.As(err, &sdkErr) {
		return false
	}
	return sdkErr.StatusCode == http.StatusConflict ||
		(sdkErr.StatusCode == http.StatusBadRequest && strings.Contains(sdkErr.Body, `"data constraint error"`))
}

// controlPlaneFor resolves the control plane of an entity and applies the
// checks KGO makes before calling Konnect. ok is false when u's status was
// written and reconciling stops there.
func (s *StandIn) controlPlaneFor(ctx context.Context, before, u *unstructured.Unstructured) (cp *unstructured.Unstructured, ka konnectAuth, res reconcile.Result, ok bool, err error) {
	cp, err = s.resolveControlPlane(ctx, u, "spec", "controlPlaneRef")
	if err != nil {
		return nil, ka, res, false, err
	}
	if cp == nil {
		if err := s.writeStatus(ctx, before, u); err != nil {
			return nil, ka, res, false, err
		}
		res, err = requeueSoon()
		return nil, ka, res, false, err
	}
	if ka, err = s.controlPlaneAuth(ctx, cp); err != nil {
		return nil, ka, res, false, err
	}
	kcp, err := getControlPlane(ctx, ka, str(cp, "status", "id"))
	if err != nil {
		return nil, ka, reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, false, nil
	}
	ref := u.GetNamespace() + "/" + cp.GetName()
	// KGO refuses a group, and KGO 1.4 a KIC control plane, itself
	// (kgo-konnect-facts.md); KGO >= 1.5 lets Konnect answer for KIC.
	if ct := string(kcp.Config.ClusterType); ct == clusterTypeGroup || (ct == clusterTypeKIC && s.gen == KGO14) {
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid,
			fmt.Sprintf("Attaching to ControlPlane %s with cluster type %s is not supported", ref, ct))
		setCondition(u, condProgrammed, false, reasonFalseExists, "Some conditions have status set to False")
		return nil, ka, reconcile.Result{}, false, s.writeStatus(ctx, before, u)
	}
	setCondition(u, condControlPlaneRefValid, true, reasonValid, "")
	return cp, ka, reconcile.Result{}, true, nil
}

// reconcileService programs a KongService in Konnect.
func (s *StandIn) reconcileService(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	before := u.DeepCopy()
	cp, ka, res, ok, err := s.controlPlaneFor(ctx, before, u)
	if !ok || err != nil {
		return res, err
	}
	cpID := str(cp, "status", "id")
	body := func() (components.Service, error) {
		var svc components.Service
		spec := entitySpec(u)
		spec["tags"] = append(stringsOf(spec["tags"]), uidTags(u)...)
		return svc, into(spec, &svc)
	}
	return s.program(ctx, before, u, cp, ka, entityOps{
		create: func(ctx context.Context) (string, error) {
			svc, err := body()
			if err != nil {
				return "", err
			}
			r, err := ka.sdk.Services.CreateService(ctx, cpID, svc)
			if err != nil {
				return "", err
			}
			return *r.Service.ID, nil
		},
		upsert: func(ctx context.Context, id string) error {
			svc, err := body()
			if err != nil {
				return err
			}
			_, err = ka.sdk.Services.UpsertService(ctx, operations.UpsertServiceRequest{ControlPlaneID: cpID, ServiceID: id, Service: svc})
			return err
		},
		findByUID: func(ctx context.Context) (string, error) {
			r, err := ka.sdk.Services.ListService(ctx, operations.ListServiceRequest{ControlPlaneID: cpID, Tags: ptrTo("k8s-uid:" + string(u.GetUID()))})
			if err != nil || len(r.Object.Data) == 0 {
				return "", err
			}
			return *r.Object.Data[0].ID, nil
		},
	})
}

// reconcileRoute programs a KongRoute in Konnect, on its KongService's
// control plane (or its own controlPlaneRef without a service).
func (s *StandIn) reconcileRoute(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	before := u.DeepCopy()
	var cp *unstructured.Unstructured
	var ka konnectAuth
	serviceID := ""
	if svcName := str(u, "spec", "serviceRef", "namespacedRef", "name"); svcName != "" {
		svc, err := s.get(ctx, gvkService, u.GetNamespace(), svcName)
		if client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, err
		}
		if err != nil || conditionStatus(svc, condProgrammed) != "True" {
			msg := fmt.Sprintf("Referenced KongService %s/%s does not exist", u.GetNamespace(), svcName)
			if err == nil {
				msg = fmt.Sprintf("Referenced KongService %s/%s is not programmed yet", u.GetNamespace(), svcName)
			}
			setCondition(u, condKongServiceRefValid, false, reasonInvalid, msg)
			if err := s.writeStatus(ctx, before, u); err != nil {
				return reconcile.Result{}, err
			}
			return requeueSoon()
		}
		setCondition(u, condKongServiceRefValid, true, reasonValid, "")
		serviceID = str(svc, "status", "konnect", "id")
		cp, err = s.resolveControlPlane(ctx, svc, "spec", "controlPlaneRef")
		if err != nil || cp == nil {
			return requeueSoon()
		}
		if ka, err = s.controlPlaneAuth(ctx, cp); err != nil {
			return reconcile.Result{}, err
		}
		setStatus(u, serviceID, "konnect", "serviceID")
	} else {
		var res reconcile.Result
		var ok bool
		var err error
		if cp, ka, res, ok, err = s.controlPlaneFor(ctx, before, u); !ok || err != nil {
			return res, err
		}
	}
	cpID := str(cp, "status", "id")
	body := func() (components.Route, error) {
		var rj components.RouteJSON
		spec := entitySpec(u)
		spec["tags"] = append(stringsOf(spec["tags"]), uidTags(u)...)
		if serviceID != "" {
			spec["service"] = map[string]any{"id": serviceID}
		}
		if err := into(spec, &rj); err != nil {
			return components.Route{}, err
		}
		return components.CreateRouteRouteJSON(rj), nil
	}
	return s.program(ctx, before, u, cp, ka, entityOps{
		create: func(ctx context.Context) (string, error) {
			r, err := body()
			if err != nil {
				return "", err
			}
			res, err := ka.sdk.Routes.CreateRoute(ctx, cpID, r)
			if err != nil {
				return "", err
			}
			return routeID(res.Route), nil
		},
		upsert: func(ctx context.Context, id string) error {
			r, err := body()
			if err != nil {
				return err
			}
			_, err = ka.sdk.Routes.UpsertRoute(ctx, operations.UpsertRouteRequest{ControlPlaneID: cpID, RouteID: id, Route: r})
			return err
		},
		findByUID: func(ctx context.Context) (string, error) {
			res, err := ka.sdk.Routes.ListRoute(ctx, operations.ListRouteRequest{ControlPlaneID: cpID, Tags: ptrTo("k8s-uid:" + string(u.GetUID()))})
			if err != nil || len(res.Object.Data) == 0 {
				return "", err
			}
			return routeID(&res.Object.Data[0]), nil
		},
	})
}

func routeID(r *components.Route) string {
	if r == nil || r.RouteJSON == nil || r.RouteJSON.ID == nil {
		return ""
	}
	return *r.RouteJSON.ID
}

func stringsOf(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
