package konnecttest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The equality shorthand of query filters: a documented extension of the spec.
//
// Konnect accepts a filter's "equals" operator in two forms, filter[f][eq]=v
// and the shorthand filter[f]=v. The spec the fake is held to (sdk-konnect-go
// v0.50.0) lists only the object form, but older sdk-konnect-go releases, the
// ones Kong Gateway Operator pins, generate the shorthand:
//   - sdk-konnect-go v0.2.22 (KGO v1.5.x) models/components/stringfieldequalsfilter.go:
//     StringFieldEqualsFilter is a union of a plain string and {eq: string};
//     KGO v1.5.1 controller/konnect/ops/ops_controlplane.go GetControlPlaneByID
//     builds it with CreateStringFieldEqualsFilterStr(id), which the SDK sends
//     as GET /v2/control-planes?filter[id]=<id>.
//   - KGO v1.6.x (sdk-konnect-go v0.2.28) and kong-operator 2.x send
//     filter[id][eq]=<id>.
//
// Real Konnect answers both with 200 (measured with KGO v1.5.1, issue 15). So
// that validation stays on for everything else, the fake does not relax the
// spec: before validating, it rewrites filter[f]=v to filter[f][eq]=v, and only
// where the operation's spec accepts filter[f][eq] (a deepObject "filter"
// whose property f is an object with "eq", or a flat "filter[f][eq]"
// parameter as on the core-entities lists). Anything else, including a
// shorthand on a field without "eq" or a value the "eq" schema refuses, is
// still validated as sent.

// filterShorthandRE matches a query key of exactly one bracket level.
var filterShorthandRE = regexp.MustCompile(`^filter\[([^\[\]]+)\]$`)

// normaliseFilterShorthand rewrites the shorthand filter[f]=v of req's query
// into filter[f][eq]=v where the operation of route accepts the latter. It
// reports whether anything was rewritten.
func normaliseFilterShorthand(req *http.Request, route *routers.Route) bool {
	if route == nil || route.Operation == nil || !strings.Contains(req.URL.RawQuery, "filter") {
		return false
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		// Malformed queries are validation's business.
		return false
	}
	changed := false
	for key, values := range q {
		m := filterShorthandRE.FindStringSubmatch(key)
		if m == nil || !acceptsEqFilter(route, m[1]) {
			continue
		}
		eqKey := "filter[" + m[1] + "][eq]"
		if _, both := q[eqKey]; both {
			continue // ambiguous: leave it to validation
		}
		q[eqKey] = values
		delete(q, key)
		changed = true
	}
	if changed {
		req.URL.RawQuery = q.Encode()
	}
	return changed
}

// acceptsEqFilter tells whether the operation of route takes filter[field][eq].
func acceptsEqFilter(route *routers.Route, field string) bool {
	params := append(openapi3.Parameters{}, route.PathItem.Parameters...)
	params = append(params, route.Operation.Parameters...)
	for _, ref := range params {
		p := ref.Value
		if p == nil || p.In != openapi3.ParameterInQuery {
			continue
		}
		if p.Name == "filter["+field+"][eq]" {
			return true
		}
		if p.Name != "filter" || p.Style != openapi3.SerializationDeepObject || p.Schema == nil || p.Schema.Value == nil {
			continue
		}
		prop := p.Schema.Value.Properties[field]
		if prop == nil || prop.Value == nil || !prop.Value.Type.Is(openapi3.TypeObject) {
			continue
		}
		if _, ok := prop.Value.Properties["eq"]; ok {
			return true
		}
	}
	return false
}

// filterKeyRE splits filter[field] and filter[field][operator].
var filterKeyRE = regexp.MustCompile(`^filter\[([^\[\]]+)\](?:\[([^\[\]]+)\])?$`)

// unknownFilterKeys reports the filter[...] keys of req's query that the
// operation's deepObject "filter" schema does not define (a field, or an
// operator of a field). kin-openapi decodes only the properties a schema
// names and drops the rest silently, so without this a filter Konnect
// refuses would be answered as if it had not been sent.
func unknownFilterKeys(req *http.Request, route *routers.Route) error {
	if route == nil || route.Operation == nil || !strings.Contains(req.URL.RawQuery, "filter") {
		return nil
	}
	var filter *openapi3.Parameter
	for _, ref := range route.Operation.Parameters {
		if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery && p.Name == "filter" &&
			p.Style == openapi3.SerializationDeepObject && p.Schema != nil && p.Schema.Value != nil {
			filter = p
		}
	}
	if filter == nil {
		return nil
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return nil
	}
	var errs openapi3.MultiError
	for key := range q {
		m := filterKeyRE.FindStringSubmatch(key)
		if m == nil {
			continue
		}
		prop := filter.Schema.Value.Properties[m[1]]
		reason := ""
		switch {
		case prop == nil || prop.Value == nil:
			reason = fmt.Sprintf("unknown filter field %q", m[1])
		case m[2] != "" && !prop.Value.Type.Is(openapi3.TypeObject):
			reason = fmt.Sprintf("filter field %q takes no operator", m[1])
		case m[2] != "" && prop.Value.Properties[m[2]] == nil:
			reason = fmt.Sprintf("filter field %q has no operator %q", m[1], m[2])
		default:
			continue
		}
		errs = append(errs, &openapi3filter.RequestError{
			Parameter: filter,
			Err:       &openapi3.SchemaError{SchemaField: "additionalProperties", Reason: reason},
		})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
