package konnecttest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Core entities: services, routes, upstreams, targets, plugins, consumers,
// consumer groups, certificates, CA certificates, SNIs, keys, key sets and
// vaults under /v2/control-planes/{controlPlaneId}/core-entities, as Kong
// Gateway Operator writes them (create, upsert with PUT, get, delete, list
// with size/offset pages, tags and name filters). Requests and responses are
// held to the generated spec part (openapi/konnect-core-entities.openapi.yaml).
//
// Konnect's refusals, and where each answer comes from:
//
//   - A write to a control plane of type CLUSTER_TYPE_K8S_INGRESS_CONTROLLER
//     (Kong Ingress Controller owns its configuration): 403 with
//     {"code": 7, "message": "usage constraint error", "details": [{"@type":
//     "type.googleapis.com/kong.admin.model.v1.ErrorDetail", "messages":
//     ["operation not permitted on KIC cluster"]}]}. Sources: Kong/kong-operator
//     PR #1115 (curl against Konnect, January 2025) and issue #791; kong-operator
//     v2.3.0-rc.3 controller/konnect/ops/ops_errors.go ErrorIsForbiddenError
//     quotes the same body; KGO >= 1.5 then sets Programmed=False with reason
//     FailedToCreate and does not retry. The SDK has no typed 403 for these
//     operations, so clients see an SDKError with this body.
//   - A duplicate name (of a service, route, upstream, plugin instance name,
//     consumer username/custom_id, consumer group, key set, vault prefix, SNI,
//     key kid in its set; a target in its upstream): kong-operator v2.3.0-rc.3
//     ops_errors.go (ErrorIsCreateConflict, SDKErrorIsConflict) says the
//     APIs shared with Kong's Admin API answer 400, not 409, with code 3
//     "data constraint error" and a detail "name (type: unique) constraint
//     failed"; KGO also accepts 409. The fake answers 400 by default;
//     WithDuplicateNameStatus(409) switches.
//   - An entity on a control plane group (CLUSTER_TYPE_CONTROL_PLANE_GROUP):
//     a group takes its configuration from its members, and KGO refuses such
//     entities before calling Konnect (kgo-konnect-facts.md), so no public
//     source shows Konnect's own answer. Chosen here: the KIC answer's shape,
//     403 "usage constraint error", "operation not permitted on control plane
//     group"; WithGroupEntityStatus switches the status.
//   - A certificate pinned twice (dp-client-certificates, see dpcerts.go) is
//     accepted: KGO 1.6.2 registered the same certificate twice against real
//     Konnect when two reconciles raced (issue 15), and both copies stayed.

// entityKind describes one collection of core entities.
type entityKind struct {
	collection string // path segment: services, ca_certificates, key-sets
	schema     string // components/schemas name: Service, CACertificate
	idParam    string // path parameter of the entity: ServiceId
	// parent is set for entities written through another: targets through
	// their upstream, SNIs through their certificate.
	parent *parentRef
	// unique fields: a second entity with the same value is refused.
	unique []string
}

type parentRef struct {
	collection string // upstreams
	param      string // UpstreamIdForTarget
	field      string // upstream: the entity's {"id": ...} reference
}

var (
	kindService       = &entityKind{collection: "services", schema: "Service", idParam: "ServiceId", unique: []string{"name"}}
	kindRoute         = &entityKind{collection: "routes", schema: "Route", idParam: "RouteId", unique: []string{"name"}}
	kindUpstream      = &entityKind{collection: "upstreams", schema: "Upstream", idParam: "UpstreamId", unique: []string{"name"}}
	kindTarget        = &entityKind{collection: "targets", schema: "Target", idParam: "TargetId", unique: []string{"target"}, parent: &parentRef{collection: "upstreams", param: "UpstreamIdForTarget", field: "upstream"}}
	kindPlugin        = &entityKind{collection: "plugins", schema: "Plugin", idParam: "PluginId", unique: []string{"instance_name"}}
	kindConsumer      = &entityKind{collection: "consumers", schema: "Consumer", idParam: "ConsumerId", unique: []string{"username", "custom_id"}}
	kindConsumerGroup = &entityKind{collection: "consumer_groups", schema: "ConsumerGroup", idParam: "ConsumerGroupId", unique: []string{"name"}}
	kindCertificate   = &entityKind{collection: "certificates", schema: "Certificate", idParam: "CertificateId"}
	kindCACertificate = &entityKind{collection: "ca_certificates", schema: "CACertificate", idParam: "CACertificateId"}
	kindSNI           = &entityKind{collection: "snis", schema: "SNI", idParam: "SNIId", unique: []string{"name"}, parent: &parentRef{collection: "certificates", param: "CertificateId", field: "certificate"}}
	kindKey           = &entityKind{collection: "keys", schema: "Key", idParam: "KeyId", unique: []string{"name"}}
	kindKeySet        = &entityKind{collection: "key-sets", schema: "KeySet", idParam: "KeySetId", unique: []string{"name"}}
	kindVault         = &entityKind{collection: "vaults", schema: "Vault", idParam: "VaultId", unique: []string{"prefix"}}
)

// coreOps maps each core-entity operationId to its kind and action.
var coreOps = map[string]struct {
	kind   *entityKind
	action string
}{}

func init() {
	plain := map[*entityKind]string{
		kindService: "service", kindRoute: "route", kindUpstream: "upstream", kindPlugin: "plugin",
		kindConsumer: "consumer", kindConsumerGroup: "consumer_group", kindCertificate: "certificate",
		kindCACertificate: "ca_certificate", kindKey: "key", kindKeySet: "key-set", kindVault: "vault",
	}
	for k, op := range plain {
		for _, a := range []string{"list", "create", "get", "upsert", "delete"} {
			coreOps[a+"-"+op] = struct {
				kind   *entityKind
				action string
			}{k, a}
		}
	}
	for _, a := range []string{"list", "create", "get", "upsert", "delete"} {
		coreOps[a+"-target-with-upstream"] = struct {
			kind   *entityKind
			action string
		}{kindTarget, a}
		coreOps[a+"-sni-with-certificate"] = struct {
			kind   *entityKind
			action string
		}{kindSNI, a}
	}
	// All SNIs of the control plane, whatever their certificate.
	coreOps["list-sni"] = struct {
		kind   *entityKind
		action string
	}{kindSNI, "list-all"}
	for id, op := range coreOps {
		handlers[id] = coreHandler(op.kind, op.action)
	}
}

func coreHandler(k *entityKind, action string) func(*Server, *call) response {
	return func(s *Server, c *call) response {
		cp, ok := s.lookupCP(c)
		if !ok {
			return coreError(http.StatusNotFound, 5, "control plane not found", nil)
		}
		switch action {
		case "list":
			return s.listEntities(c, cp, k, true)
		case "list-all":
			return s.listEntities(c, cp, k, false)
		case "get":
			return s.getEntity(c, cp, k)
		}
		if r, refused := s.refuseWrite(cp); refused {
			return r
		}
		switch action {
		case "create":
			return s.createEntity(c, cp, k)
		case "upsert":
			return s.upsertEntity(c, cp, k)
		case "delete":
			return s.deleteEntity(c, cp, k)
		}
		panic("konnecttest: unknown core-entity action " + action)
	}
}

// coreErrorDetail is one detail of Konnect's core-entity errors.
type coreErrorDetail struct {
	Type     string   `json:"@type"`
	Kind     string   `json:"type,omitempty"`
	Field    string   `json:"field,omitempty"`
	Messages []string `json:"messages"`
}

// coreError is the body shape of core-entity errors (the Kong admin model's
// gRPC-style status, as quoted in kong-operator ops_errors.go).
func coreError(status, code int, msg string, details []coreErrorDetail) response {
	body := map[string]any{"code": code, "message": msg}
	if details != nil {
		body["details"] = details
	}
	return jsonResponse(status, body)
}

const errorDetailType = "type.googleapis.com/kong.admin.model.v1.ErrorDetail"

func (s *Server) refuseWrite(cp *controlPlane) (response, bool) {
	switch cp.ClusterType {
	case ClusterTypeK8sIngressController:
		return coreError(http.StatusForbidden, 7, "usage constraint error",
			[]coreErrorDetail{{Type: errorDetailType, Messages: []string{"operation not permitted on KIC cluster"}}}), true
	case ClusterTypeControlPlaneGroup:
		return coreError(s.cfg.groupEntityStatus, 7, "usage constraint error",
			[]coreErrorDetail{{Type: errorDetailType, Messages: []string{"operation not permitted on control plane group"}}}), true
	}
	return response{}, false
}

// Entities returns the core entities of a collection ("services", "routes",
// "targets", "snis", ...) of control plane cpID, oldest first, as JSON
// objects.
func (s *Server) Entities(cpID, collection string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[cpID]
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, e := range cp.entities[collection] {
		out = append(out, maps.Clone(e))
	}
	return out
}

func (cp *controlPlane) findEntity(k *entityKind, idOrName, parentID string) (map[string]any, int) {
	for i, e := range cp.entities[k.collection] {
		if parentID != "" && refID(e, k.parent.field) != parentID {
			continue
		}
		if e["id"] == idOrName || (len(k.unique) > 0 && e[k.unique[0]] == idOrName && idOrName != "") {
			return e, i
		}
	}
	return nil, -1
}

func refID(e map[string]any, field string) string {
	m, _ := e[field].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// parentOf resolves the parent of a nested call; "" when k has none.
func (s *Server) parentOf(c *call, cp *controlPlane, k *entityKind) (string, *response) {
	if k.parent == nil {
		return "", nil
	}
	parent := &entityKind{collection: k.parent.collection, unique: []string{"name"}}
	p, _ := cp.findEntity(parent, c.params[k.parent.param], "")
	if p == nil {
		r := coreError(http.StatusNotFound, 5, fmt.Sprintf("%s %s not found", strings.TrimSuffix(k.parent.collection, "s"), c.params[k.parent.param]), nil)
		return "", &r
	}
	id, _ := p["id"].(string)
	return id, nil
}

// conflict finds another entity holding one of e's unique values.
func (s *Server) conflict(cp *controlPlane, k *entityKind, e map[string]any, parentID string) *response {
	for _, f := range k.unique {
		v, ok := e[f]
		if !ok || v == nil || v == "" {
			continue
		}
		for _, other := range cp.entities[k.collection] {
			if other["id"] == e["id"] || (parentID != "" && refID(other, k.parent.field) != parentID) {
				continue
			}
			if other[f] == v {
				msg := fmt.Sprintf("%s (type: unique) constraint failed", f)
				r := coreError(s.cfg.duplicateNameStatus, 3, "data constraint error",
					[]coreErrorDetail{{Type: errorDetailType, Kind: "ERROR_TYPE_REFERENCE", Field: f, Messages: []string{msg}}})
				return &r
			}
		}
	}
	return nil
}

func (s *Server) stamp(k *entityKind, e map[string]any, created bool) {
	props := s.validator.schemaProperties(k.schema)
	now := timestamp().Unix()
	if _, ok := props["created_at"]; ok && created {
		e["created_at"] = now
	}
	if _, ok := props["updated_at"]; ok {
		e["updated_at"] = now
	}
}

func decodeEntity(c *call) (map[string]any, *response) {
	var e map[string]any
	if err := json.Unmarshal(c.body, &e); err != nil || e == nil {
		r := coreError(http.StatusBadRequest, 3, "invalid JSON body", nil)
		return nil, &r
	}
	return e, nil
}

func (s *Server) createEntity(c *call, cp *controlPlane, k *entityKind) response {
	parentID, bad := s.parentOf(c, cp, k)
	if bad != nil {
		return *bad
	}
	e, bad := decodeEntity(c)
	if bad != nil {
		return *bad
	}
	if id, _ := e["id"].(string); id == "" {
		e["id"] = newUUID()
	} else if existing, _ := cp.findEntity(k, id, ""); existing != nil {
		return coreError(s.cfg.duplicateNameStatus, 3, "data constraint error",
			[]coreErrorDetail{{Type: errorDetailType, Kind: "ERROR_TYPE_REFERENCE", Field: "id", Messages: []string{"id (type: unique) constraint failed"}}})
	}
	if parentID != "" {
		e[k.parent.field] = map[string]any{"id": parentID}
	}
	if r := s.conflict(cp, k, e, parentID); r != nil {
		return *r
	}
	s.stamp(k, e, true)
	if cp.entities == nil {
		cp.entities = map[string][]map[string]any{}
	}
	cp.entities[k.collection] = append(cp.entities[k.collection], e)
	return jsonResponse(http.StatusCreated, e)
}

func (s *Server) getEntity(c *call, cp *controlPlane, k *entityKind) response {
	parentID, bad := s.parentOf(c, cp, k)
	if bad != nil {
		return *bad
	}
	e, _ := cp.findEntity(k, c.params[k.idParam], parentID)
	if e == nil {
		return coreError(http.StatusNotFound, 5, "not found", nil)
	}
	return jsonResponse(http.StatusOK, e)
}

func (s *Server) upsertEntity(c *call, cp *controlPlane, k *entityKind) response {
	parentID, bad := s.parentOf(c, cp, k)
	if bad != nil {
		return *bad
	}
	e, bad := decodeEntity(c)
	if bad != nil {
		return *bad
	}
	existing, i := cp.findEntity(k, c.params[k.idParam], parentID)
	if existing != nil {
		e["id"] = existing["id"]
		if v, ok := existing["created_at"]; ok {
			e["created_at"] = v
		}
	} else {
		// PUT on a new ID creates the entity with that ID (upsert).
		e["id"] = c.params[k.idParam]
	}
	if parentID != "" {
		e[k.parent.field] = map[string]any{"id": parentID}
	}
	if r := s.conflict(cp, k, e, parentID); r != nil {
		return *r
	}
	s.stamp(k, e, existing == nil)
	if cp.entities == nil {
		cp.entities = map[string][]map[string]any{}
	}
	if existing != nil {
		cp.entities[k.collection][i] = e
	} else {
		cp.entities[k.collection] = append(cp.entities[k.collection], e)
	}
	return jsonResponse(http.StatusOK, e)
}

func (s *Server) deleteEntity(c *call, cp *controlPlane, k *entityKind) response {
	parentID, bad := s.parentOf(c, cp, k)
	if bad != nil {
		return *bad
	}
	// "Successfully deleted ... or the resource didn't exist": 204 either way.
	if _, i := cp.findEntity(k, c.params[k.idParam], parentID); i >= 0 {
		cp.entities[k.collection] = slices.Delete(cp.entities[k.collection], i, i+1)
	}
	return noContent()
}

// listEntities serves a page: size (default 100, at most 1000), an opaque
// offset, tags ("a,b" all of them, "a/b" any of them), filter[name][eq] and
// filter[name][contains] where the operation has them, custom_id for
// consumers.
func (s *Server) listEntities(c *call, cp *controlPlane, k *entityKind, nested bool) response {
	parentID := ""
	if nested {
		var bad *response
		if parentID, bad = s.parentOf(c, cp, k); bad != nil {
			return *bad
		}
	}
	q := c.req.URL.Query()
	size := 100
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return coreError(http.StatusBadRequest, 3, "size must be an integer from 1 to 1000", nil)
		}
		size = n
	}
	start := 0
	if v := q.Get("offset"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return coreError(http.StatusBadRequest, 3, "invalid offset", nil)
		}
		start = n
	}
	var matched []map[string]any
	for _, e := range cp.entities[k.collection] {
		if parentID != "" && refID(e, k.parent.field) != parentID {
			continue
		}
		if !matchesEntityFilters(e, q) {
			continue
		}
		matched = append(matched, e)
	}
	start = min(start, len(matched))
	end := min(start+size, len(matched))
	out := map[string]any{"data": nonNilSlice(matched[start:end])}
	if end < len(matched) {
		off := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		out["offset"] = off
		next := *c.req.URL
		nq := next.Query()
		nq.Set("offset", off)
		next.RawQuery = nq.Encode()
		out["next"] = next.RequestURI()
	}
	return jsonResponse(http.StatusOK, out)
}

func matchesEntityFilters(e map[string]any, q map[string][]string) bool {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	name, _ := e["name"].(string)
	if v, ok := get("filter[name][eq]"); ok && name != v {
		return false
	}
	if v, ok := get("filter[name][contains]"); ok && !strings.Contains(name, v) {
		return false
	}
	if v, ok := get("custom_id"); ok && e["custom_id"] != v {
		return false
	}
	if v, ok := get("tags"); ok && v != "" {
		var tags []string
		if raw, _ := e["tags"].([]any); raw != nil {
			for _, t := range raw {
				if s, ok := t.(string); ok {
					tags = append(tags, s)
				}
			}
		}
		if strings.Contains(v, "/") {
			if !slices.ContainsFunc(strings.Split(v, "/"), func(t string) bool { return slices.Contains(tags, t) }) {
				return false
			}
		} else {
			for _, t := range strings.Split(v, ",") {
				if !slices.Contains(tags, t) {
					return false
				}
			}
		}
	}
	return true
}
