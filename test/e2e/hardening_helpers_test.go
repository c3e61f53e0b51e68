package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/webhook"
)

// Helpers of the hardening tests (issue 8).

// hardCutProxy is a TCP proxy to an address that can be cut: every open
// connection is closed and new ones are refused until it is restored. Put
// between the webhook and the API server, it interrupts every watch at once
// (client-go multiplexes them over one HTTP/2 connection), as an API server
// restart or a network partition does.
type hardCutProxy struct {
	addr   string
	target string
	l      net.Listener

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
	cuts  int
}

func newHardCutProxy(t *testing.T, target string) *hardCutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &hardCutProxy{addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { l.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *hardCutProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut { // cut while dialling
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut cuts (true) or restores (false) the proxy.
func (p *hardCutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cut && !p.cut {
		p.cuts++
	}
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// hardServing is a throw-away CA and a serving certificate for 127.0.0.1,
// written to a folder the webhook server reads.
type hardServing struct {
	dir  string
	pool *x509.CertPool
}

func newHardServing(t *testing.T) hardServing {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hardening CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return hardServing{dir: dir, pool: pool}
}

// hardWebhook is pkg/webhook's manager (informer cache and TLS server) run
// in the test against cfg, and a client for its endpoint.
type hardWebhook struct {
	url   string
	hc    *http.Client
	cache *webhook.Cache
}

func startHardWebhook(t *testing.T, cfg *rest.Config) *hardWebhook {
	t.Helper()
	srv := newHardServing(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	mgr, cache, err := webhook.NewManager(cfg, webhook.Options{Host: "127.0.0.1", Port: port, CertDir: srv.dir, MetricsAddr: "0", ProbeAddr: "0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(time.Minute):
			t.Error("the webhook manager did not stop within a minute")
		}
	})
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	require.True(t, cache.WaitForSync(sctx), "the webhook's caches did not sync")
	require.Eventually(t, func() bool { return mgr.GetWebhookServer().StartedChecker()(nil) == nil }, 30*time.Second, 20*time.Millisecond)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &hardWebhook{url: fmt.Sprintf("https://127.0.0.1:%d%s", port, webhook.Path), hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, cache: cache}
}

var hardCodes = regexp.MustCompile(`\[(KON[0-9]{4})\]`)

// hardVerdict is the webhook's answer: allowed or not, and the rule codes
// it named (denials and warnings).
type hardVerdict struct {
	Allowed bool
	Codes   []string
}

func (v hardVerdict) String() string {
	s := "denied"
	if v.Allowed {
		s = "allowed"
	}
	if len(v.Codes) > 0 {
		s += " " + strings.Join(v.Codes, ",")
	}
	return s
}

func (v hardVerdict) has(code string) bool {
	for _, c := range v.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// review sends a CREATE of object o (in ns) and returns the verdict.
func (w *hardWebhook) review(t *testing.T, ns string, o obj) hardVerdict {
	t.Helper()
	raw, err := json.Marshal(o)
	require.NoError(t, err)
	m, _ := o["metadata"].(obj)
	name, _ := m["name"].(string)
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "a6f0f0f0-0000-4000-8000-000000000001", Name: name, Namespace: ns,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	}
	body, err := json.Marshal(ar)
	require.NoError(t, err)
	resp, err := w.hc.Post(w.url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	var got admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(out, &got))
	require.NotNil(t, got.Response, "%s", out)
	v := hardVerdict{Allowed: got.Response.Allowed}
	text := strings.Join(got.Response.Warnings, "\n")
	if got.Response.Result != nil {
		text += "\n" + got.Response.Result.Message
	}
	seen := map[string]bool{}
	for _, m := range hardCodes.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			v.Codes = append(v.Codes, m[1])
		}
	}
	sort.Strings(v.Codes)
	return v
}

// hardKongService is a KongService named name in ns on control plane cp.
func hardKongService(ns, name, cp string) obj {
	return obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongService",
		"metadata": obj{"name": name, "namespace": ns},
		"spec":     obj{"name": name, "host": "echo.default.svc", "port": 80, "protocol": "http", "controlPlaneRef": cpRef(cp)}}
}

// hardStats summarizes durations.
type hardStats struct {
	n                    int
	median, p90, mean    time.Duration
	minimum, maximum     time.Duration
	sortedForPercentiles []time.Duration
}

func hardSummarize(d []time.Duration) hardStats {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	if len(s) == 0 {
		return hardStats{}
	}
	at := func(p int) time.Duration { return s[min(len(s)-1, max(0, (len(s)*p+99)/100-1))] }
	return hardStats{n: len(s), median: at(50), p90: at(90), mean: sum / time.Duration(len(s)), minimum: s[0], maximum: s[len(s)-1], sortedForPercentiles: s}
}

func (s hardStats) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("n=%d median %s p90 %s mean %s min %s max %s", s.n, ms(s.median), ms(s.p90), ms(s.mean), ms(s.minimum), ms(s.maximum))
}
