// Package konnecttest is an in-memory fake of the Kong Konnect API (control
// planes, DP client certificates, DP nodes, organizations/me, users/me, and
// the core entities KGO writes under /v2/control-planes/{id}/core-entities),
// served over TLS on 127.0.0.1.
//
// Every request and every response is validated against the Konnect OpenAPI
// subset embedded from sdk-konnect-go, so a fake that drifts from the real
// API, or a client that sends what Konnect would reject, is reported instead
// of silently passing. The spec is openapi/konnect-v2-subset.openapi.yaml
// plus openapi/konnect-core-entities.openapi.yaml, which hack/konnect-subset
// generates from the operations in openapi/konnect-core-entities.ops. The
// one documented leniency is the filter shorthand Konnect accepts
// (filters.go). NewServer works outside tests (a demo binary can embed
// it); NewForTest turns each spec violation into a test failure.
package konnecttest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	region              string
	domain              string
	listenAddr          string
	onViolation         func(error)
	duplicateNameStatus int
	groupEntityStatus   int
}

// WithDuplicateNameStatus sets the status of the answer to a core entity
// whose name (or other unique field) is taken: 400 by default, as
// kong-operator's ops_errors.go documents for the APIs shared with Kong's
// Admin API; KGO handles 409 alike (see coreentities.go).
func WithDuplicateNameStatus(status int) Option {
	return func(c *config) { c.duplicateNameStatus = status }
}

// WithGroupEntityStatus sets the status of the answer to a core-entity write
// on a control plane group: 403 by default, a choice no public source
// settles (see coreentities.go).
func WithGroupEntityStatus(status int) Option {
	return func(c *config) { c.groupEntityStatus = status }
}

// WithRegion sets the Konnect region the fake pretends to be (default "us").
// It shows in control plane endpoints and users/me.
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithServerDomain sets the domain of generated endpoints (default
// "konghq.com"), for custom-domain setups.
func WithServerDomain(domain string) Option { return func(c *config) { c.domain = domain } }

// WithViolationHandler is called, from the serving goroutine, with every spec
// violation: a request the spec forbids, a response the fake produced that
// the spec forbids, or an unknown route. Without it violations are logged.
func WithViolationHandler(f func(error)) Option { return func(c *config) { c.onViolation = f } }

// WithListenAddr makes the server listen on addr (default "127.0.0.1:0"),
// e.g. a fixed port for a demo.
func WithListenAddr(addr string) Option { return func(c *config) { c.listenAddr = addr } }

// RequestRecord is one round trip as the fake saw it. Tokens are never kept.
type RequestRecord struct {
	Method string
	Path   string
	Query  string
	// Host is the Host header, i.e. the host the client meant to reach before
	// HTTPClient pinned it to the fake (e.g. global.api.konghq.com for /v3/*/me).
	Host   string
	Status int
	// Fault is set when an injected fault produced the status.
	Fault bool
	// Dropped is set when the connection was closed instead of answering.
	Dropped bool
	// UserAgent tells the plugin's calls (kubectl-konnect/...) from an operator's.
	UserAgent string
	// At is when the request arrived.
	At time.Time
}

// Server is a running fake Konnect. All methods are safe for concurrent use.
type Server struct {
	cfg       config
	validator *Validator
	srv       *httptest.Server
	caPEM     []byte
	pool      *x509.CertPool
	client    *http.Client
	// handlers starts as a copy of the package's handlers; tests may swap one
	// to prove a broken fake is caught.
	handlers map[string]func(*Server, *call) response

	mu         sync.Mutex
	orgs       map[string]*Organization
	defaultOrg string
	tokens     map[string]*tokenInfo
	cps        map[string]*controlPlane
	cpOrder    []string
	faults     []*faultState
	requests   []RequestRecord
	violations []error
}

// NewServer starts a fake Konnect on 127.0.0.1 with a fresh self-signed
// certificate. Call Close when done.
func NewServer(opts ...Option) (*Server, error) {
	cfg := config{region: "us", domain: "konghq.com", listenAddr: "127.0.0.1:0",
		duplicateNameStatus: http.StatusBadRequest, groupEntityStatus: http.StatusForbidden}
	for _, o := range opts {
		o(&cfg)
	}
	v, err := NewValidator()
	if err != nil {
		return nil, err
	}
	if err := checkHandlersCoverSpec(v); err != nil {
		return nil, err
	}
	cert, caPEM, err := selfSignedCert(cfg.domain)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("konnecttest: listening on %s: %w", cfg.listenAddr, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	s := &Server{
		cfg:       cfg,
		validator: v,
		caPEM:     caPEM,
		pool:      pool,
		orgs:      map[string]*Organization{},
		tokens:    map[string]*tokenInfo{},
		cps:       map[string]*controlPlane{},
		handlers:  maps.Clone(handlers),
	}
	s.defaultOrg = s.AddOrganization("Konnect Test Org").ID

	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	// HTTP/1.1 only: DropResponseAfterApply relies on closing the connection.
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	// Aborted handlers (DropResponseAfterApply) are expected; keep logs quiet.
	s.srv.Config.ErrorLog = log.New(discard{}, "", 0)
	s.srv.StartTLS()
	s.client = s.newHTTPClient()
	return s, nil
}

// NewForTest starts a server for t, closes it on cleanup, and fails t with
// every spec violation (method, path and validation error).
func NewForTest(t testing.TB, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithViolationHandler(func(err error) {
		t.Errorf("konnecttest: spec violation: %v", err)
	})}, opts...)
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("konnecttest: starting fake Konnect: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, waiting for in-flight requests.
func (s *Server) Close() {
	s.client.CloseIdleConnections()
	s.srv.Close()
}

// URL is the base URL, https://127.0.0.1:PORT.
func (s *Server) URL() string { return s.srv.URL }

// Region is the region the fake serves.
func (s *Server) Region() string { return s.cfg.region }

// CertPool trusts the fake's certificate.
func (s *Server) CertPool() *x509.CertPool { return s.pool.Clone() }

// CACertPEM is the fake's self-signed certificate in PEM, for clients that
// take a CA bundle file.
func (s *Server) CACertPEM() []byte { return bytes.Clone(s.caPEM) }

// HTTPClient trusts the fake's certificate and sends every request to the
// fake whatever its URL host: the SDK forces global.api.konghq.com for
// /v3/*/me and rewrites hosts for custom domains, so pinning the host in the
// transport (passed with sdkkonnectgo.WithClient) is what keeps all calls
// local. The original host is kept in the Host header.
func (s *Server) HTTPClient() *http.Client { return s.client }

// SDK returns the official Konnect client wired to the fake with token.
func (s *Server) SDK(token string, opts ...sdkkonnectgo.SDKOption) *sdkkonnectgo.SDK {
	return konnect.NewSDK(s.URL(), token, s.HTTPClient(), opts...)
}

func (s *Server) newHTTPClient() *http.Client {
	base := &http.Transport{
		Proxy:               nil, // never leave the machine, whatever the environment says
		TLSClientConfig:     &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: &pinHostTransport{addr: s.srv.Listener.Addr().String(), base: base}}
}

type pinHostTransport struct {
	addr string
	base *http.Transport
}

func (p *pinHostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	r.URL.Scheme = "https"
	r.URL.Host = p.addr
	return p.base.RoundTrip(r)
}

func (p *pinHostTransport) CloseIdleConnections() { p.base.CloseIdleConnections() }

// Requests returns the round trips seen so far, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.requests...)
}

// ResetRequests forgets the recorded round trips.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Violations returns every spec violation seen so far.
func (s *Server) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// ViolationsError joins every spec violation seen so far into one error
// (nil when there is none), for a run that must fail on any: a test suite
// after its last test, a demo before it says it worked.
func (s *Server) ViolationsError() error {
	v := s.Violations()
	if len(v) == 0 {
		return nil
	}
	return fmt.Errorf("fake Konnect: %d OpenAPI spec violation(s): %w", len(v), errors.Join(v...))
}

func (s *Server) violation(err error) {
	s.mu.Lock()
	s.violations = append(s.violations, err)
	s.mu.Unlock()
	if s.cfg.onViolation != nil {
		s.cfg.onViolation(err)
		return
	}
	log.Printf("konnecttest: spec violation: %v", err)
}

// response is what a handler produces; it is validated before being written.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call is one request being served.
type call struct {
	req    *http.Request
	params map[string]string
	body   []byte
	family errorFamily
	tok    *tokenInfo
}

func (s *Server) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := restoreBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{req: req, body: body, family: familyOf(req.URL.Path)}
	rec := RequestRecord{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Host: req.Host, UserAgent: req.UserAgent(), At: time.Now()}

	route, params, routeErr := s.validator.route(req)
	var resp response
	var fault *Fault
	switch {
	case routeErr != nil:
		s.violation(fmt.Errorf("request %s %s: %w", req.Method, req.URL.Path, routeErr))
		resp = errorResponse(c.family, http.StatusNotFound, "No route matches "+req.Method+" "+req.URL.Path)
	default:
		c.params = params
		fault = s.takeFault(req)
		if fault != nil && fault.Latency > 0 {
			select {
			case <-time.After(fault.Latency):
			case <-req.Context().Done():
				return
			}
		}
		if fault != nil && fault.Status != 0 {
			resp = faultResponse(c.family, *fault)
			rec.Fault = true
		} else {
			resp = s.serveOperation(c, route.Operation.OperationID)
		}
		if err := s.validator.validateResponse(req, route, params, resp.status, resp.header, resp.body); err != nil &&
			// Error statuses the operation does not list are tolerated (see
			// ErrUndocumentedStatus); their bodies still come from errorResponse.
			!(errors.Is(err, ErrUndocumentedStatus) && resp.status >= 400) {
			s.violation(fmt.Errorf("response to %s %s (%d): %w", req.Method, req.URL.RequestURI(), resp.status, err))
		}
	}

	rec.Status = resp.status
	drop := fault != nil && fault.DropResponseAfterApply
	rec.Dropped = drop
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if drop {
		// The action is applied; now vanish like a proxy timing out.
		panic(http.ErrAbortHandler)
	}
	for k, vs := range resp.header {
		w.Header()[k] = vs
	}
	if len(resp.body) > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// serveOperation runs authentication, authorization, request validation and
// the operation's handler, in the order Konnect's edge does.
func (s *Server) serveOperation(c *call, operationID string) response {
	tok, resp, ok := s.authenticate(c)
	if !ok {
		return resp
	}
	c.tok = tok
	if err := s.validator.ValidateRequest(c.req); err != nil {
		s.violation(fmt.Errorf("request %s %s: %w", c.req.Method, c.req.URL.RequestURI(), err))
		return badRequest(c.family, "Request does not match the Konnect API spec", invalidParams(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[operationID](s, c)
}

// errorFamily selects the error body shape: the v2 control plane and v3
// identity APIs answer application/problem+json, while the older "CP legacy"
// endpoints (dp-client-certificates, nodes) answer application/json
// {"message": ...}. The SDK decodes each into its typed errors only when the
// content type matches.
type errorFamily int

const (
	problemFamily errorFamily = iota
	legacyFamily
	// coreFamily: the core-entities API, shared with Kong's Admin API,
	// answers 401 as {"message", "status"} (GatewayUnauthorizedError) and
	// other errors as {"code", "message", "details"} (coreentities.go).
	coreFamily
)

func familyOf(path string) errorFamily {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) >= 4 && seg[0] == "v2" && seg[1] == "control-planes" {
		switch seg[3] {
		case "dp-client-certificates", "nodes":
			return legacyFamily
		case "core-entities":
			return coreFamily
		}
	}
	return problemFamily
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
