package konnecttest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// problem is the BaseError shape of application/problem+json answers. Every
// field the error schemas require (status, title, instance, detail) is set.
type problem struct {
	Status            int            `json:"status"`
	Title             string         `json:"title"`
	Type              string         `json:"type,omitempty"`
	Instance          string         `json:"instance"`
	Detail            string         `json:"detail"`
	InvalidParameters []invalidParam `json:"invalid_parameters,omitempty"`
}

// invalidParam is the spec's InvalidParameterStandard; it carries no
// minimum/maximum/choices so it matches exactly one branch of the oneOf.
type invalidParam struct {
	Field  string `json:"field"`
	Rule   string `json:"rule,omitempty"`
	Source string `json:"source,omitempty"`
	Reason string `json:"reason"`
}

type legacyError struct {
	Message string `json:"message"`
}

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		// Only fake-internal types are marshalled; this is a bug in the fake.
		panic(fmt.Sprintf("konnecttest: marshalling response: %v", err))
	}
	return response{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func noContent() response { return response{status: http.StatusNoContent, header: http.Header{}} }

// errorResponse builds an error in the shape of the endpoint's family.
func errorResponse(f errorFamily, status int, detail string) response {
	switch {
	case f == legacyFamily:
		return jsonResponse(status, legacyError{Message: detail})
	case f == coreFamily && status == http.StatusUnauthorized:
		return jsonResponse(status, map[string]any{"message": detail, "status": status})
	case f == coreFamily:
		return coreError(status, grpcCode(status), detail, nil)
	}
	return problemResponse(problem{
		Status:   status,
		Title:    http.StatusText(status),
		Type:     fmt.Sprintf("https://httpstatuses.com/%d", status),
		Instance: traceID(),
		Detail:   detail,
	})
}

func problemResponse(p problem) response {
	r := jsonResponse(p.Status, p)
	r.header.Set("Content-Type", "application/problem+json")
	return r
}

// badRequest answers 400; problem bodies need at least one invalid parameter.
func badRequest(f errorFamily, detail string, params []invalidParam) response {
	if f == coreFamily {
		var details []coreErrorDetail
		for _, p := range params {
			details = append(details, coreErrorDetail{Type: errorDetailType, Kind: "ERROR_TYPE_FIELD", Field: p.Field, Messages: []string{p.Reason}})
		}
		return coreError(http.StatusBadRequest, 3, "validation error", details)
	}
	if f == legacyFamily {
		if len(params) > 0 {
			detail = fmt.Sprintf("%s: %s %s", detail, params[0].Field, params[0].Reason)
		}
		return jsonResponse(http.StatusBadRequest, legacyError{Message: detail})
	}
	if len(params) == 0 {
		params = []invalidParam{{Field: "body", Rule: "invalid", Source: "body", Reason: detail}}
	}
	// Title as Konnect words it (the 400 body quoted in KGO v2.3.0-rc.3
	// controller/konnect/ops/ops_test.go).
	return problemResponse(problem{
		Status:            http.StatusBadRequest,
		Title:             "Invalid Request",
		Type:              "https://httpstatuses.com/400",
		Instance:          traceID(),
		Detail:            detail,
		InvalidParameters: params,
	})
}

func traceID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e18))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("kong:trace:%d", n.Int64()+1e18)
}

// invalidParams turns a kin-openapi request validation error into the
// spec's invalid_parameters list (deduplicated: the schema has uniqueItems).
func invalidParams(err error) []invalidParam {
	var out []invalidParam
	seen := map[invalidParam]bool{}
	add := func(p invalidParam) {
		if p.Field == "" {
			p.Field = p.Source
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	var param *openapi3.Parameter
	var walk func(err error, source, field string)
	walk = func(err error, source, field string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, source, field)
			}
		case interface{ Unwrap() []error }: // errors.Join
			for _, inner := range e.Unwrap() {
				walk(inner, source, field)
			}
		case *openapi3filter.RequestError:
			param = nil
			if e.Parameter != nil {
				param = e.Parameter
				source, field = e.Parameter.In, e.Parameter.Name
			} else if e.RequestBody != nil {
				source = "body"
			}
			if e.Err == nil {
				add(invalidParam{Field: field, Rule: "invalid", Source: source, Reason: e.Reason})
				return
			}
			walk(e.Err, source, field)
		case *openapi3filter.ParseError:
			// A query or path value that does not parse as its schema's
			// type: Konnect's rule is is_<type>.
			add(invalidParam{Field: field, Rule: parseRule(param, e), Source: source, Reason: e.Error()})
		case *openapi3.SchemaError:
			if ptr := e.JSONPointer(); len(ptr) > 0 && source == "body" {
				field = strings.Join(ptr, ".")
			}
			add(invalidParam{Field: field, Rule: schemaRule(e), Source: source, Reason: e.Reason})
		default:
			add(invalidParam{Field: field, Rule: "invalid", Source: source, Reason: err.Error()})
		}
	}
	walk(err, "", "")
	return out
}

// parseRule names the type a parameter value failed to parse as, following
// the error's path into a deepObject's properties.
func parseRule(p *openapi3.Parameter, e *openapi3filter.ParseError) string {
	inner := e
	for {
		next, ok := inner.Cause.(*openapi3filter.ParseError)
		if !ok {
			break
		}
		inner = next
	}
	if p == nil || p.Schema == nil || inner.Kind != openapi3filter.KindInvalidFormat {
		return "invalid"
	}
	schema := p.Schema.Value
	for _, step := range e.Path() {
		name, ok := step.(string)
		if !ok || schema == nil || schema.Properties[name] == nil {
			return "invalid"
		}
		schema = schema.Properties[name].Value
	}
	return schemaRule(&openapi3.SchemaError{SchemaField: "type", Schema: schema})
}

// schemaRule maps a failed JSON Schema keyword to the spec's InvalidRules.
//
// Only rules that every sdk-konnect-go release KGO pins can decode are used.
// sdk-konnect-go v0.1.24..v0.10.1 (KGO 1.4 to kong-operator 2.0.x) decode
// InvalidRules as a closed enum without "type" (models/components/invalidrules.go
// answers "invalid value for InvalidRules" to anything else), and the
// InvalidParameters union then fails as a whole, so the typed BadRequestError
// is lost; "type" only joined the enum in v0.19.0. Konnect itself names type
// failures is_<type> (e.g. "is_label", "is_uuid"; KGO v2.3.0-rc.3
// controller/konnect/ops/ops_test.go quotes a real 400 body), which all
// releases know.
func schemaRule(e *openapi3.SchemaError) string {
	switch e.SchemaField {
	case "required":
		return "required"
	case "type":
		if e.Schema != nil && e.Schema.Type != nil && len(e.Schema.Type.Slice()) == 1 {
			switch t := e.Schema.Type.Slice()[0]; t {
			case "array", "boolean", "integer", "null", "number", "object", "string":
				return "is_" + t
			}
		}
		return "invalid"
	case "format":
		if e.Schema != nil && e.Schema.Format == "uuid" {
			return "is_uuid"
		}
		return "invalid"
	case "additionalProperties":
		return "unknown_property"
	default:
		return "invalid"
	}
}

// grpcCode is the gRPC status code the core-entities API puts in "code".
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 3
	case http.StatusForbidden:
		return 7
	case http.StatusNotFound:
		return 5
	case http.StatusConflict:
		return 6
	case http.StatusTooManyRequests:
		return 8
	case http.StatusServiceUnavailable:
		return 14
	}
	return 13
}
