package konnecttest

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specYAML is the Konnect API subset taken from sdk-konnect-go v0.50.0. It is
// embedded so the fake and the repository stay self-contained.
//
//go:embed openapi/konnect-v2-subset.openapi.yaml
var specYAML []byte

// Spec returns the embedded OpenAPI document the fake is held to.
func Spec() []byte { return bytes.Clone(specYAML) }

// ErrUnknownRoute is returned (wrapped) when a method and path match no
// operation of the spec.
var ErrUnknownRoute = errors.New("no operation in the spec matches")

// ErrUndocumentedStatus is returned (wrapped) when a response status is not
// listed for its operation. The fake tolerates it for error statuses, because
// the spec lists errors incompletely (no endpoint lists 429, the nodes
// endpoints list no error at all) while real Konnect answers them anyway.
var ErrUndocumentedStatus = errors.New("status not documented for the operation")

// Validator checks requests and responses against the embedded spec.
// It is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// NewValidator loads the embedded spec. The document's servers are dropped so
// that routing is by path only: the host is the transport's business (the SDK
// sends /v3/*/me to global.api.konghq.com, the rest to a regional host).
func NewValidator() (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("loading embedded Konnect spec: %w", err)
	}
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("building router for Konnect spec: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// defaultValidator backs the package-level ValidateResponse; the spec is
// parsed once per process.
var defaultValidator = sync.OnceValues(NewValidator)

// ValidateResponse validates a response against the embedded spec using a
// shared Validator. See (*Validator).ValidateResponse.
func ValidateResponse(method, path string, status int, header http.Header, body []byte) error {
	v, err := defaultValidator()
	if err != nil {
		return err
	}
	return v.ValidateResponse(method, path, status, header, body)
}

// route finds the spec operation for a request.
func (v *Validator) route(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %s %s: %v", ErrUnknownRoute, req.Method, req.URL.Path, err)
	}
	return route, params, nil
}

// options are shared by request and response validation. Authentication is
// only checked for shape here (a bearer token is present): whether the token
// is valid is the fake's own decision.
func (v *Validator) options() *openapi3filter.Options {
	o := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    requireBearer,
		// JSON Schema leaves "uuid" unasserted; Konnect rejects malformed IDs,
		// so the fake holds both sides to it.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
		},
	}
	// The default messages dump the whole schema; the pointer and the reason
	// are what a failing test needs.
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		msg := fmt.Sprintf("at %q: %s", "/"+strings.Join(err.JSONPointer(), "/"), err.Reason)
		if err.Origin != nil {
			// allOf/oneOf failures carry the real cause here.
			msg += ": " + err.Origin.Error()
		}
		return msg
	})
	return o
}

func requireBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return in.NewError(fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName))
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return in.NewError(errors.New("missing bearer token"))
	}
	return nil
}

// ValidateRequest validates a request (path, query, headers, security and
// body) against the spec. The body is read and restored, so the request can
// still be served afterwards. First it rewrites, in req itself, the filter
// shorthand filter[f]=v that Konnect accepts besides the spec's
// filter[f][eq]=v (see filters.go): the only way in which the fake is more
// lenient than the spec, and only where Konnect is too.
func (v *Validator) ValidateRequest(req *http.Request) error {
	route, params, err := v.route(req)
	if err != nil {
		return err
	}
	normaliseFilterShorthand(req, route)
	body, err := restoreBody(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    v.options(),
	}
	err = validateRequestGuarded(req.Context(), in)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if unknown := unknownFilterKeys(req, route); unknown != nil {
		return errors.Join(err, unknown)
	}
	return err
}

// validateRequestGuarded turns a panic of kin-openapi's query decoder into a
// validation error: v0.153.0 panics in deepSet on a deepObject sent in two
// shapes at once (filter[id]=a&filter[id][eq]=b), which a client can send.
func validateRequestGuarded(ctx context.Context, in *openapi3filter.RequestValidationInput) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &openapi3filter.RequestError{Input: in, Reason: fmt.Sprintf("the query cannot be decoded: %v", r)}
		}
	}()
	return openapi3filter.ValidateRequest(ctx, in)
}

// ValidateResponse validates one response to method+path (path may carry a
// query string) against the spec: the status must be listed for the
// operation, and the Content-Type and body must match what it lists.
func (v *Validator) ValidateResponse(method, path string, status int, header http.Header, body []byte) error {
	u, err := url.Parse(path)
	if err != nil {
		return fmt.Errorf("parsing path %q: %w", path, err)
	}
	req := (&http.Request{Method: method, URL: u, Header: http.Header{}, Host: "konnect.invalid"}).WithContext(context.Background())
	route, params, err := v.route(req)
	if err != nil {
		return err
	}
	return v.validateResponse(req, route, params, status, header, body)
}

func (v *Validator) validateResponse(req *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	if route.Operation.Responses.Status(status) == nil && route.Operation.Responses.Default() == nil {
		return fmt.Errorf("%w: %s %s answered %d", ErrUndocumentedStatus, req.Method, route.Path, status)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status:  status,
		Header:  header,
		Options: v.options(),
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// restoreBody reads the request body and puts an identical reader back.
func restoreBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}
