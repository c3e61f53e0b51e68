package testenv

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterStandIn plays what a real cluster adds around the operator and an envtest API server has
// not: the Deployment controller and kubelets that make a Deployment's replicas available, and the
// cloud load balancer that gives a LoadBalancer Service an address. The real operator waits on
// both before it calls a DataPlane Ready (kong-operator controller/dataplane/controller_utils.go
// isDeploymentReady and controller_reconciler_utils.go dataPlaneIngressServiceIsReady @v2.1.9), so
// without them a hybrid Gateway is never Programmed. It never touches an operator's object.
func (e *Env) startClusterStandIn(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e.makeDeploymentsAvailable(ctx)
			e.giveLoadBalancersAnAddress(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (e *Env) makeDeploymentsAvailable(ctx context.Context) {
	var list appsv1.DeploymentList
	if err := e.Client.List(ctx, &list); err != nil {
		return
	}
	for i := range list.Items {
		d := &list.Items[i]
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		st := d.Status
		if st.ObservedGeneration == d.Generation && st.Replicas == want && st.AvailableReplicas == want && st.ReadyReplicas == want && st.UpdatedReplicas == want {
			continue
		}
		now := metav1.Now()
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want, ReadyReplicas: want, AvailableReplicas: want,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
			},
		}
		_ = e.Client.Status().Update(ctx, d)
	}
}

func (e *Env) giveLoadBalancersAnAddress(ctx context.Context) {
	var list corev1.ServiceList
	if err := e.Client.List(ctx, &list); err != nil {
		return
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer || len(s.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
		_ = e.Client.Status().Update(ctx, s)
	}
}
