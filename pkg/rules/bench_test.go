package rules

import (
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// benchObjects builds n cached objects spread over namespaces of 1,000
// objects, each namespace a realistic mix: control planes (some KIC), auth
// configurations, Secrets, services, routes, consumers, consumer groups,
// plugins and KonnectExtensions.
func benchObjects(n int) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, 0, n)
	mk := func(apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
		o := map[string]any{
			"apiVersion": apiVersion, "kind": kind,
			"metadata": map[string]any{
				"name": name, "namespace": ns, "uid": fmt.Sprintf("uid-%s-%s", ns, name), "resourceVersion": "1",
				"labels":      map[string]any{"app.kubernetes.io/managed-by": "argocd", "team": ns},
				"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": `{"a":"b"}`},
			},
		}
		for k, v := range fields {
			o[k] = v
		}
		return &unstructured.Unstructured{Object: o}
	}
	ref := func(cp string) map[string]any {
		return map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": cp}}
	}
	for i := 0; len(objs) < n; i++ {
		ns := fmt.Sprintf("ns-%d", i/100)
		cp := fmt.Sprintf("cp-%d", i/10)
		var o *unstructured.Unstructured
		switch i % 10 {
		case 0:
			spec := map[string]any{"name": "konnect-" + cp, "konnect": map[string]any{"authRef": map[string]any{"name": "auth"}}}
			if i%100 == 0 {
				spec["cluster_type"] = ClusterTypeKIC
			}
			o = mk("konnect.konghq.com/v1alpha1", "KonnectGatewayControlPlane", ns, cp, map[string]any{
				"spec": spec, "status": map[string]any{"id": fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)},
			})
		case 1:
			o = mk("konnect.konghq.com/v1alpha1", "KonnectAPIAuthConfiguration", ns, fmt.Sprintf("auth-%d", i),
				map[string]any{"spec": map[string]any{"type": "token", "token": "kpat_x", "serverURL": "us.api.konghq.com"}})
		case 2:
			o = mk("v1", "Secret", ns, fmt.Sprintf("secret-%d", i), map[string]any{
				"type": "kubernetes.io/tls", "data": map[string]any{"tls.crt": "LS0tLS1CRUdJTi4uLg==", "tls.key": "LS0tLS1CRUdJTi4uLg=="},
			})
		case 3, 4:
			o = mk("configuration.konghq.com/v1alpha1", "KongService", ns, fmt.Sprintf("svc-%d", i),
				map[string]any{"spec": map[string]any{"host": "example.com", "controlPlaneRef": ref(cp)}})
		case 5, 6:
			o = mk("configuration.konghq.com/v1alpha1", "KongRoute", ns, fmt.Sprintf("route-%d", i), map[string]any{"spec": map[string]any{
				"paths":      []any{"/x"},
				"serviceRef": map[string]any{"type": "namespacedRef", "namespacedRef": map[string]any{"name": fmt.Sprintf("svc-%d", i-2)}},
			}})
		case 7:
			o = mk("configuration.konghq.com/v1", "KongConsumer", ns, fmt.Sprintf("consumer-%d", i),
				map[string]any{"username": "u", "spec": map[string]any{"controlPlaneRef": ref(cp)}})
		case 8:
			o = mk("configuration.konghq.com/v1beta1", "KongConsumerGroup", ns, fmt.Sprintf("group-%d", i),
				map[string]any{"spec": map[string]any{"controlPlaneRef": ref(cp)}})
		case 9:
			o = mk("configuration.konghq.com/v1", "KongPlugin", ns, fmt.Sprintf("plugin-%d", i),
				map[string]any{"plugin": "rate-limiting", "config": map[string]any{"minute": 5}})
		}
		objs = append(objs, o)
	}
	return objs
}

// benchRequests are objects under review in namespace ns-0, hitting the
// lookups of the common rules: a KIC denial, a did-you-mean, a route with
// both refs, a binding with targets, a consumer with groups, an extension
// and a DataPlane.
func benchRequests(t testing.TB) []*unstructured.Unstructured {
	return parse(t, `
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: new-svc, namespace: ns-0}
spec: {host: x, controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: cp-0}}}
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata: {name: new-svc-2, namespace: ns-0}
spec: {host: x, controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: konnect-cp-1}}}
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongRoute
metadata: {name: new-route, namespace: ns-0}
spec:
  paths: [/y]
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: cp-2}}
  serviceRef: {type: namespacedRef, namespacedRef: {name: svc-13}}
---
apiVersion: configuration.konghq.com/v1alpha1
kind: KongPluginBinding
metadata: {name: new-binding, namespace: ns-0}
spec:
  pluginRef: {name: plugin-19}
  controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: cp-1}}
  targets:
    routeRef: {kind: KongRoute, group: configuration.konghq.com, name: route-15}
    serviceRef: {kind: KongService, group: configuration.konghq.com, name: svc-13}
    consumerRef: {name: consumer-17}
---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata: {name: new-consumer, namespace: ns-0}
username: n
consumerGroups: [group-18, group-28]
spec: {controlPlaneRef: {type: konnectNamespacedRef, konnectNamespacedRef: {name: cp-1}}}
---
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectAPIAuthConfiguration
metadata: {name: new-auth, namespace: ns-0}
spec: {type: secretRef, secretRef: {name: secret-12}, serverURL: api.konghq.com}
---
apiVersion: konnect.konghq.com/v1alpha1
kind: KonnectExtension
metadata: {name: new-ext, namespace: ns-0}
spec:
  konnect: {controlPlane: {ref: {type: konnectNamespacedRef, konnectNamespacedRef: {name: cp-1}}}}
  clientAuth: {certificateSecret: {provisioning: Manual, secretRef: {name: secret-12}}}
---
apiVersion: gateway-operator.konghq.com/v1beta1
kind: DataPlane
metadata: {name: new-dp, namespace: ns-0}
spec:
  extensions: [{kind: KonnectExtension, group: konnect.konghq.com, name: missing-ext}]
`)
}

var benchSizes = []int{100, 10_000, 100_000}

// BenchmarkEvaluate measures one Evaluate (one admission request) with
// 100, 10,000 and 100,000 cached objects; the time per op must stay flat
// because rules only use Get and ByIndex.
func BenchmarkEvaluate(b *testing.B) {
	reqs := benchRequests(b)
	for _, n := range benchSizes {
		store := NewStore(GenerationKGO15Plus, benchObjects(n)...)
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				Evaluate(reqs[i%len(reqs)], store, Options{})
				i++
			}
		})
	}
}

// BenchmarkStoreMemory reports the heap a Store of stripped objects takes
// per object (metric B/object), for sizing the webhook.
func BenchmarkStoreMemory(b *testing.B) {
	for _, n := range []int{10_000} {
		objs := benchObjects(n)
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			var perObject float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := NewStore(GenerationKGO15Plus, objs...)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perObject = float64(after.HeapAlloc-before.HeapAlloc) / float64(s.Len())
				runtime.KeepAlive(s)
			}
			b.ReportMetric(perObject, "B/object")
		})
	}
}

// The benchmark's requests find what they should, so that it measures the
// rules' real paths.
func TestBenchmarkRequestsExerciseTheRules(t *testing.T) {
	store := NewStore(GenerationKGO15Plus, benchObjects(1000)...)
	var got []string
	for _, r := range benchRequests(t) {
		got = append(got, codes(Findings(r, store, Options{}))...)
	}
	// The binding and the extension are valid: their lookups run, nothing fires.
	want := []string{"KON1001", "KON1003", "KON1101", "KON1301", "KON1501", "KON1502", "KON1503", "KON1801"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("want %v, got %v", want, got)
	}
}
