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
	if f == legacyFamily {
		return jsonResponse(status, legacyError{Message: detail})
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
	if f == legacyFamily {
		if len(params) > 0 {
			detail = fmt.Sprintf("%s: %s %s", detail, params[0].Field, params[0].Reason)
		}
		return jsonResponse(http.StatusBadRequest, legacyError{Message: detail})
	}
	if len(params) == 0 {
		params = []invalidParam{{Field: "body", Rule: "invalid", Source: "body", Reason: detail}}
	}
	return problemResponse(problem{
		Status:            http.StatusBadRequest,
		Title:             "Bad Request",
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
	var walk func(err error, source, field string)
	walk = func(err error, source, field string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, source, field)
			}
		case *openapi3filter.RequestError:
			if e.Parameter != nil {
				source, field = e.Parameter.In, e.Parameter.Name
			} else if e.RequestBody != nil {
				source = "body"
			}
			if e.Err == nil {
				add(invalidParam{Field: field, Rule: "invalid", Source: source, Reason: e.Reason})
				return
			}
			walk(e.Err, source, field)
		case *openapi3.SchemaError:
			if ptr := e.JSONPointer(); len(ptr) > 0 && source == "body" {
				field = strings.Join(ptr, ".")
			}
			add(invalidParam{Field: field, Rule: schemaRule(e.SchemaField), Source: source, Reason: e.Reason})
		default:
			add(invalidParam{Field: field, Rule: "invalid", Source: source, Reason: err.Error()})
		}
	}
	walk(err, "", "")
	return out
}

// schemaRule maps a failed JSON Schema keyword to the spec's InvalidRules.
func schemaRule(keyword string) string {
	switch keyword {
	case "required":
		return "required"
	case "type":
		return "type"
	case "additionalProperties":
		return "unknown_property"
	default:
		return "invalid"
	}
}
