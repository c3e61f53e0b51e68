package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubectl-konnect/kubectl-konnect/hack/webhook-rss/fixture"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// loadStep is one rate of the load test.
type loadStep struct {
	rate int
	dur  time.Duration
}

var loadSteps = []loadStep{{200, 20 * time.Second}, {500, 20 * time.Second}, {1000, 20 * time.Second}, {2000, 60 * time.Second}}

// TestWebhookLoad drives the webhook as cmd/webhook runs it
// (webhook.NewManager: the informer cache on a real kube-apiserver, the TLS
// server reloading its certificate folder) at 200, 500 and 1000 requests a
// second, 20 s each, then 2000 requests a second for 60 s, from keep-alive HTTP/1.1 clients over loopback, while a
// goroutine creates, updates and deletes KongServices and control planes in
// the cluster (so the informers keep changing the cache) and the serving
// certificate is replaced twice, as the kubelet updates a Secret volume.
//
// Requests are sent open loop (at their scheduled time, whatever the
// previous ones do), and latency is measured from the scheduled time, so a
// stall shows as latency rather than as a lower rate. Every answer is
// checked: HTTP 200, the request's UID, allowed or denied (KON1001) as
// expected. Errors must be zero. One request in twenty opens a new
// connection (no keep-alive), so TLS handshakes keep happening across the
// rotations, and they must have seen every certificate. RSS is sampled
// every second; the idle RSS and live heap after the load are compared
// with before. The handler's own time comes from controller-runtime's
// histogram (decade buckets), to tell it from queueing for the CPU.
func TestWebhookLoad(t *testing.T) {
	e := sharedEnv(t)
	ctx := context.Background()
	ns := "load-" + rand.String(5)
	if err := e.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// The cluster the reviews refer to, and a crowd of 300 KongServices.
	mustCreate(t, e, controlPlane(ns, "cp-hybrid", "CLUSTER_TYPE_CONTROL_PLANE"))
	mustCreate(t, e, controlPlane(ns, "cp-kic", rules.ClusterTypeKIC))
	mustCreate(t, e, kongService(ns, "orders", "cp-hybrid"))
	for i := range 300 {
		mustCreate(t, e, kongService(ns, fmt.Sprintf("crowd-%d", i), "cp-hybrid"))
	}

	ca := newTestCA(t)
	dir := t.TempDir()
	certPEM, keyPEM := ca.serving(t, "serving-1")
	kubeletSwap(t, dir, 1, certPEM, keyPEM)
	port := freePort(t)
	mgr, cache, err := webhook.NewManager(e.Config, webhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(time.Minute):
			t.Error("manager did not stop within a minute")
		}
	})
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	if !cache.WaitForSync(sctx) {
		t.Fatal("the webhook's caches did not sync")
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, ok := cache.Get(rules.GKKongService, ns, "crowd-299"); ok {
			if err := mgr.GetWebhookServer().StartedChecker()(nil); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook did not start with the crowd in its cache within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	reviews := loadReviews(ns)
	lc := newLoadClient(ca, fmt.Sprintf("https://127.0.0.1:%d%s", port, webhook.Path))
	defer lc.tr.CloseIdleConnections()
	// Warm up, then the idle baseline.
	for i := range 200 {
		if err := lc.check(reviews[i%len(reviews)], i%20 == 0); err != nil {
			t.Fatalf("warm-up request: %v", err)
		}
	}
	rssIdleBefore, heapBefore := idleMemory()
	handlerBefore := handlerHistogram(t)
	loadBefore := loadAvg()

	// Churn: KongServices created, updated and deleted, KIC control planes
	// come and go, paced at 20 cycles a second (about 80 writes a second).
	churnCtx, stopChurn := context.WithCancel(ctx)
	var churnWrites, churnErrors atomic.Int64
	churnDone := make(chan struct{})
	go func() {
		defer close(churnDone)
		churn(churnCtx, e, ns, 20, &churnWrites, &churnErrors)
	}()

	// RSS every second.
	var rssMu sync.Mutex
	var rssSeries []float64
	rssCtx, stopRSS := context.WithCancel(ctx)
	go func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-rssCtx.Done():
				return
			case <-tk.C:
				rssMu.Lock()
				rssSeries = append(rssSeries, rssMiB())
				rssMu.Unlock()
			}
		}
	}()

	// Rotations: at 30 s and 50 s, each while the load runs.
	type rotation struct {
		cn      string
		at      time.Duration
		pickup  time.Duration
		pickErr error
	}
	rotations := []*rotation{{cn: "serving-2", at: 30 * time.Second}, {cn: "serving-3", at: 50 * time.Second}}
	began := time.Now()
	var rotWG sync.WaitGroup
	rotWG.Add(1)
	go func() {
		defer rotWG.Done()
		for i, r := range rotations {
			time.Sleep(time.Until(began.Add(r.at)))
			c, k := ca.serving(t, r.cn)
			kubeletSwap(t, dir, i+2, c, k)
			swapped := time.Now()
			r.pickErr = fmt.Errorf("the server still presented the old certificate after 30 s")
			for time.Since(swapped) < 30*time.Second {
				if leaf, err := servedCert(fmt.Sprintf("127.0.0.1:%d", port), ca.pool); err == nil && leaf.Subject.CommonName == r.cn {
					r.pickup, r.pickErr = time.Since(swapped), nil
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()

	var results []stepResult
	for _, s := range loadSteps {
		results = append(results, lc.run(s, reviews))
	}
	loadTime := time.Since(began)
	rotWG.Wait()
	stopChurn()
	<-churnDone
	stopRSS()
	loadAfter := loadAvg()
	handlerAfter := handlerHistogram(t)
	// The same state as the baseline: no open connections.
	lc.tr.CloseIdleConnections()
	time.Sleep(time.Second)
	rssIdleAfter, heapAfter := idleMemory()

	select {
	case err := <-stopped:
		t.Fatalf("the manager stopped during the load (a restart): %v", err)
	default:
	}

	// The report.
	total := 0
	t.Logf("LOAD %d KongServices cached at start (%d objects); churn %d writes (%d errors) in %s",
		302, cache.Len(), churnWrites.Load(), churnErrors.Load(), loadTime.Round(time.Second))
	t.Logf("LOAD %-8s %8s %9s %9s %9s %9s %9s %7s %9s", "rate/s", "sent", "achieved", "p50", "p99", "max", "svc-p99", "errors", "RSS-MiB")
	stepStart := 0 // the step's first RSS sample (one a second)
	for i, r := range results {
		var rssMax float64
		end := stepStart + int(loadSteps[i].dur/time.Second)
		rssMu.Lock()
		for _, v := range rssSeries[min(stepStart, len(rssSeries)):min(end, len(rssSeries))] {
			rssMax = max(rssMax, v)
		}
		rssMu.Unlock()
		stepStart = end
		t.Logf("LOAD %-8d %8d %9.0f %9s %9s %9s %9s %7d %9.1f", r.rate, r.sent, r.achieved,
			fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.max), fmtDur(r.svcP99), r.errors, rssMax)
		total += r.errors
	}
	for _, r := range rotations {
		if r.pickErr != nil {
			t.Errorf("rotation to %s at %s: %v", r.cn, r.at, r.pickErr)
		} else {
			t.Logf("LOAD rotation to %s at %s: presented after %s", r.cn, r.at, r.pickup.Round(time.Millisecond))
		}
	}
	t.Logf("LOAD handler time (controller-runtime histogram, this run): %s", handlerAfter.minus(handlerBefore))
	t.Logf("LOAD machine load average: %s before, %s after (2 cores, shared)", loadBefore, loadAfter)
	seen := lc.seenCNs()
	t.Logf("LOAD handshakes by certificate: %v", seen)
	rssMu.Lock()
	last := rssSeries[len(rssSeries)-min(len(rssSeries), int(loadSteps[len(loadSteps)-1].dur/time.Second)):]
	rssMu.Unlock()
	t.Logf("LOAD idle RSS %.1f MiB before, %.1f MiB after; live heap %.1f MiB before, %.1f MiB after; RSS during load %s; RSS slope over the last step %+.2f MiB/min",
		rssIdleBefore, rssIdleAfter, heapBefore, heapAfter, summarize(rssSeries), 60*slope(last))
	for _, e := range lc.firstErrors() {
		t.Errorf("LOAD error: %s", e)
	}
	if total != 0 {
		t.Errorf("%d failed admissions, want 0", total)
	}
	for _, cn := range []string{"serving-1", "serving-2", "serving-3"} {
		if seen[cn] == 0 {
			t.Errorf("no load handshake saw certificate %s: the rotation was not exercised under load", cn)
		}
	}
	// No growth trend: the live heap after the load, with the same cache,
	// within 25% (and 8 MiB) of before.
	if heapAfter > heapBefore*1.25 && heapAfter-heapBefore > 8 {
		t.Errorf("live heap grew from %.1f MiB to %.1f MiB across the load", heapBefore, heapAfter)
	}
}

func mustCreate(t testing.TB, e *testenv.Env, u *unstructured.Unstructured) {
	t.Helper()
	if err := e.Client.Create(context.Background(), u); err != nil {
		t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func controlPlane(ns, name, clusterType string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectGatewayControlPlane",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"name": ns + "-" + name, "cluster_type": clusterType,
			"konnect": map[string]any{"authRef": map[string]any{"name": "konnect-auth"}}},
	}}
}

func kongService(ns, name, cp string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongService",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"name": name, "host": "orders.internal", "port": int64(8080), "protocol": "http",
			"controlPlaneRef": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": cp}}},
	}}
}

// churn writes to the cluster at cycles per second until ctx ends; a cycle
// creates a KongService, updates the one created before and deletes the one
// before that, and every fifth cycle also creates or deletes a KIC control
// plane.
func churn(ctx context.Context, e *testenv.Env, ns string, cycles int, writes, errs *atomic.Int64) {
	interval := time.Second / time.Duration(cycles)
	next := time.Now()
	do := func(err error) {
		writes.Add(1)
		if err != nil && ctx.Err() == nil {
			errs.Add(1)
		}
	}
	for i := 0; ctx.Err() == nil; i++ {
		next = next.Add(interval)
		do(e.Client.Create(ctx, kongService(ns, fmt.Sprintf("churn-%d", i), "cp-hybrid")))
		if i >= 1 {
			u := kongService(ns, fmt.Sprintf("churn-%d", i-1), "cp-hybrid")
			do(e.Client.Patch(ctx, u, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"port":9090}}`))))
		}
		if i >= 2 {
			do(e.Client.Delete(ctx, kongService(ns, fmt.Sprintf("churn-%d", i-2), "cp-hybrid")))
		}
		if i%5 == 0 {
			cp := controlPlane(ns, fmt.Sprintf("churn-cp-%d", i/10), rules.ClusterTypeKIC)
			if (i/5)%2 == 0 {
				do(e.Client.Create(ctx, cp))
			} else {
				do(e.Client.Delete(ctx, cp))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
}

// loadReview is one request body and the answer it must get.
type loadReview struct {
	body    []byte
	allowed bool
	code    string
}

func loadReviews(ns string) []loadReview {
	cpRef := func(cp string) map[string]any {
		return map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": cp}}
	}
	svc := func(name, cp string) []byte {
		return fixture.AdmissionReview(fixture.APIObject("configuration.konghq.com/v1alpha1", "KongService", ns, name, "9c0b1c1e-0000-4000-8000-0000000000"+name[len(name)-2:],
			map[string]any{"spec": map[string]any{"name": name, "host": "payments.internal", "port": int64(8443), "protocol": "https", "controlPlaneRef": cpRef(cp)}}), "kongservices")
	}
	route := fixture.AdmissionReview(fixture.APIObject("configuration.konghq.com/v1alpha1", "KongRoute", ns, "orders-v2", "9c0b1c1e-0000-4000-8000-000000000003",
		map[string]any{"spec": map[string]any{"paths": []any{"/v2/orders"}, "methods": []any{"GET"},
			"serviceRef": map[string]any{"type": "namespacedRef", "namespacedRef": map[string]any{"name": "orders"}}}}), "kongroutes")
	return []loadReview{
		{body: svc("payments-01", "cp-hybrid"), allowed: true},
		{body: svc("payments-02", "cp-kic"), code: "KON1001"},
		{body: route, allowed: true},
	}
}

// loadClient sends reviews over keep-alive TLS connections and checks the
// answers.
type loadClient struct {
	url string
	tr  *http.Transport
	hc  *http.Client
	// fresh opens a connection per request: a TLS handshake each time.
	fresh *http.Client

	mu     sync.Mutex
	cns    map[string]int
	errors []string
}

const loadWorkers = 64

func newLoadClient(ca *testCA, url string) *loadClient {
	lc := &loadClient{url: url, cns: map[string]int{}}
	lc.tr = &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12,
			VerifyConnection: func(cs tls.ConnectionState) error {
				lc.mu.Lock()
				lc.cns[cs.PeerCertificates[0].Subject.CommonName]++
				lc.mu.Unlock()
				return nil
			}},
		MaxIdleConnsPerHost: loadWorkers,
		MaxConnsPerHost:     loadWorkers,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	lc.hc = &http.Client{Transport: lc.tr, Timeout: 10 * time.Second}
	fresh := lc.tr.Clone()
	fresh.DisableKeepAlives = true
	lc.fresh = &http.Client{Transport: fresh, Timeout: 10 * time.Second}
	return lc
}

// check sends one review and checks the answer; fresh sends it on a new
// connection.
func (lc *loadClient) check(r loadReview, fresh bool) error {
	hc := lc.hc
	if fresh {
		hc = lc.fresh
	}
	resp, err := hc.Post(lc.url, "application/json", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil || ar.Response == nil {
		return fmt.Errorf("not an AdmissionReview (%v): %s", err, body)
	}
	if ar.Response.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" {
		return fmt.Errorf("UID %q is not the request's", ar.Response.UID)
	}
	if ar.Response.Allowed != r.allowed {
		return fmt.Errorf("allowed=%v, want %v: %s", ar.Response.Allowed, r.allowed, body)
	}
	if !r.allowed && (ar.Response.Result == nil || !strings.Contains(ar.Response.Result.Message, "["+r.code+"]")) {
		return fmt.Errorf("want a %s denial: %s", r.code, body)
	}
	return nil
}

func (lc *loadClient) seenCNs() map[string]int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return maps.Clone(lc.cns)
}

func (lc *loadClient) firstErrors() []string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return slices.Clone(lc.errors)
}

type stepResult struct {
	rate, sent, errors int
	achieved           float64
	p50, p99, max      time.Duration
	svcP99             time.Duration
}

// run sends s.rate requests a second for s.dur, open loop.
func (lc *loadClient) run(s loadStep, reviews []loadReview) stepResult {
	n := int(float64(s.rate) * s.dur.Seconds())
	interval := time.Second / time.Duration(s.rate)
	lat := make([]time.Duration, n) // from the scheduled time
	svc := make([]time.Duration, n) // from the send
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, n)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if d := time.Until(j.due); d > 0 {
					time.Sleep(d)
				}
				sent := time.Now()
				err := lc.check(reviews[j.i%len(reviews)], j.i%20 == 0)
				done := time.Now()
				lat[j.i], svc[j.i] = done.Sub(j.due), done.Sub(sent)
				if err != nil {
					errs.Add(1)
					lc.mu.Lock()
					if len(lc.errors) < 10 {
						lc.errors = append(lc.errors, fmt.Sprintf("%d/s request %d: %v", s.rate, j.i, err))
					}
					lc.mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	for i := range n {
		jobs <- job{i: i, due: start.Add(time.Duration(i) * interval)}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	slices.Sort(svc)
	return stepResult{
		rate: s.rate, sent: n, errors: int(errs.Load()), achieved: float64(n) / elapsed.Seconds(),
		p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[n-1], svcP99: percentile(svc, 99),
	}
}

// rssMiB is this process's resident set (VmRSS).
func rssMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kib / 1024
		}
	}
	return 0
}

// idleMemory is RSS and the live heap after a collection that returns
// freed memory to the OS.
func idleMemory() (rss, heap float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return rssMiB(), float64(ms.HeapAlloc) / (1 << 20)
}

func summarize(series []float64) string {
	if len(series) == 0 {
		return "n/a"
	}
	lo, hi := series[0], series[0]
	for _, v := range series {
		lo, hi = min(lo, v), max(hi, v)
	}
	return fmt.Sprintf("first %.1f, last %.1f, min %.1f, max %.1f MiB over %d s", series[0], series[len(series)-1], lo, hi, len(series))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

// histogram is controller-runtime's webhook latency histogram: cumulative
// counts by upper bound.
type histogram struct {
	bounds []float64
	counts []uint64
	total  uint64
}

func handlerHistogram(t testing.TB) histogram {
	t.Helper()
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h histogram
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_webhook_latency_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			hist := m.GetHistogram()
			for i, b := range hist.GetBucket() {
				if len(h.bounds) <= i {
					h.bounds = append(h.bounds, b.GetUpperBound())
					h.counts = append(h.counts, 0)
				}
				h.counts[i] += b.GetCumulativeCount()
			}
			h.total += hist.GetSampleCount()
		}
	}
	return h
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), total: h.total - o.total}
	for i := range out.counts {
		if i < len(o.counts) {
			out.counts[i] -= o.counts[i]
		}
	}
	return out
}

func (h histogram) String() string {
	if h.total == 0 {
		return "no samples"
	}
	var parts []string
	for i, b := range h.bounds {
		if b < 1e-5 || b > 1.1 {
			continue
		}
		parts = append(parts, fmt.Sprintf("<=%s %.2f%%", time.Duration(math.Round(b*float64(time.Second))), 100*float64(h.counts[i])/float64(h.total)))
	}
	return fmt.Sprintf("%d requests; %s", h.total, strings.Join(parts, ", "))
}

// loadAvg is /proc/loadavg's 1-minute figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Fields(string(b))[0]
}

// slope is the least-squares slope of evenly spaced samples, per sample.
func slope(ys []float64) float64 {
	n := float64(len(ys))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}
