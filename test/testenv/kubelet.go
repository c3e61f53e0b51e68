package testenv

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/kgostandin"
)

// clusterStandIn plays what a real cluster adds around the operator and an envtest API server has
// not: the Deployment controller and kubelets that make a Deployment's replicas available, and the
// cloud load balancer that gives a LoadBalancer Service an address. The real operator waits on
// both before it calls a DataPlane Ready (kong-operator controller/dataplane/controller_utils.go
// isDeploymentReady and controller_reconciler_utils.go dataPlaneIngressServiceIsReady @v2.1.9), so
// without them a hybrid Gateway is never Programmed. It also plays the data plane a Deployment's pods
// would run: one that presents its mounted certificate to the control plane named by
// KONG_CLUSTER_CONTROL_PLANE is registered as a Konnect node if Konnect accepts the certificate, and
// pings. It never touches an operator's object.
func (e *Env) startClusterStandIn(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			e.makeDeploymentsAvailable(ctx)
			e.giveLoadBalancersAnAddress(ctx)
			if i%10 == 0 {
				e.runDataPlanes(ctx)
			}
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

// runDataPlanes registers a node per replica of every Deployment whose proxy reaches Konnect with a
// certificate the control plane accepts, as Kong's data plane does when it connects.
func (e *Env) runDataPlanes(ctx context.Context) {
	var list appsv1.DeploymentList
	if err := e.Client.List(ctx, &list); err != nil {
		return
	}
	for i := range list.Items {
		d := &list.Items[i]
		for _, c := range d.Spec.Template.Spec.Containers {
			vars := map[string]string{}
			for _, v := range c.Env {
				vars[v.Name] = v.Value
			}
			host, _, _ := strings.Cut(vars["KONG_CLUSTER_CONTROL_PLANE"], ":")
			if host == "" || vars["KONG_CLUSTER_CERT"] == "" {
				continue
			}
			crt := e.mountedCert(ctx, d, c, vars["KONG_CLUSTER_CERT"])
			if crt == nil {
				continue
			}
			for _, cp := range e.Konnect.ControlPlanes() {
				u, err := url.Parse(cp.ControlPlaneEndpoint)
				if err != nil || u.Hostname() != host || !kgostandin.Accepted(crt, cp, e.Konnect.DPCertificates(cp.ID)) {
					continue
				}
				replicas := 1
				if d.Spec.Replicas != nil {
					replicas = int(*d.Spec.Replicas)
				}
				for r := range replicas {
					sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", d.UID, r))
					id, _ := uuid.FromBytes(sum[:16])
					e.Konnect.RegisterNode(cp.ID, konnecttest.Node{
						ID: id.String(), Hostname: fmt.Sprintf("%s-%d", d.Name, r),
						Version: kgostandin.KongVersionOfImage(c.Image), LastPing: time.Now(),
					})
				}
			}
		}
	}
}

// mountedCert is the certificate file path of container c reads, from the Secret volume mounted there.
func (e *Env) mountedCert(ctx context.Context, d *appsv1.Deployment, c corev1.Container, path string) *x509.Certificate {
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			var sec corev1.Secret
			if err := e.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: v.Secret.SecretName}, &sec); err != nil {
				return nil
			}
			block, _ := pem.Decode(sec.Data[filepath.Base(path)])
			if block == nil {
				return nil
			}
			crt, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil
			}
			return crt
		}
	}
	return nil
}
