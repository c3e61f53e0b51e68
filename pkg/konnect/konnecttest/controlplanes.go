package konnecttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cluster types and auth types of the spec's enums.
const (
	ClusterTypeControlPlane          = "CLUSTER_TYPE_CONTROL_PLANE"
	ClusterTypeK8sIngressController  = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"
	ClusterTypeControlPlaneGroup     = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
	ClusterTypeServerless            = "CLUSTER_TYPE_SERVERLESS"
	ClusterTypeKafkaNativeEventProxy = "CLUSTER_TYPE_KAFKA_NATIVE_EVENT_PROXY"
	ClusterTypeServerlessV1          = "CLUSTER_TYPE_SERVERLESS_V1"
	AuthTypePinnedClientCerts        = "pinned_client_certs"
	AuthTypePKIClientCerts           = "pki_client_certs"
)

const (
	defaultPageSize   = 100
	endpointPrefixLen = 10
)

// ClusterTypes lists every cluster type the spec allows.
var ClusterTypes = []string{
	ClusterTypeControlPlane,
	ClusterTypeK8sIngressController,
	ClusterTypeControlPlaneGroup,
	ClusterTypeServerless,
	ClusterTypeKafkaNativeEventProxy,
	ClusterTypeServerlessV1,
}

// AuthTypes lists every auth type the spec allows.
var AuthTypes = []string{AuthTypePinnedClientCerts, AuthTypePKIClientCerts}

// ProxyURL is where the data planes of a control plane can be reached.
type ProxyURL struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

// ControlPlane is a control plane as the fake stores it.
type ControlPlane struct {
	ID                   string
	OrgID                string
	Name                 string
	Description          string
	Labels               map[string]string
	ClusterType          string
	AuthType             string
	CloudGateway         bool
	ProxyURLs            []ProxyURL
	ControlPlaneEndpoint string
	TelemetryEndpoint    string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (cp ControlPlane) clone() ControlPlane {
	cp.Labels = maps.Clone(cp.Labels)
	cp.ProxyURLs = slices.Clone(cp.ProxyURLs)
	return cp
}

// ControlPlaneSeed describes a control plane to add directly, bypassing the
// API. Zero values get Konnect's defaults.
type ControlPlaneSeed struct {
	Name         string
	Description  string
	ClusterType  string // default CLUSTER_TYPE_CONTROL_PLANE
	AuthType     string // default pinned_client_certs
	CloudGateway bool
	Labels       map[string]string
	ProxyURLs    []ProxyURL
	// ID fixes the control plane ID (a UUID); random when empty.
	ID string
	// EndpointPrefix fixes the 10 lowercase hex characters of the
	// endpoints' host; random when empty.
	EndpointPrefix string
	// OrgID is the owning organization; the default organization when empty.
	OrgID string
}

type controlPlane struct {
	ControlPlane
	certs []*DPCertificate
	nodes []*Node
	// entities are the core entities by collection (coreentities.go).
	entities map[string][]map[string]any
}

var endpointPrefixRE = regexp.MustCompile(`^[0-9a-f]{10}$`)

// AddControlPlane adds a control plane without going through the API. It
// panics on a seed Konnect would refuse (duplicate name or ID, unknown
// cluster or auth type, bad endpoint prefix): that is a broken test setup.
func (s *Server) AddControlPlane(seed ControlPlaneSeed) ControlPlane {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seed.OrgID == "" {
		seed.OrgID = s.defaultOrg
	}
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("konnecttest: AddControlPlane: "+format, args...))
	}
	switch {
	case s.orgs[seed.OrgID] == nil:
		fail("unknown organization %q", seed.OrgID)
	case len(seed.Name) < 2:
		fail("name %q is shorter than 2 characters", seed.Name)
	case s.cpByName(seed.OrgID, seed.Name) != nil:
		fail("a control plane named %q already exists", seed.Name)
	case seed.ID != "" && s.cps[seed.ID] != nil:
		fail("a control plane with ID %q already exists", seed.ID)
	case seed.ClusterType != "" && !slices.Contains(ClusterTypes, seed.ClusterType):
		fail("unknown cluster type %q", seed.ClusterType)
	case seed.AuthType != "" && !slices.Contains(AuthTypes, seed.AuthType):
		fail("unknown auth type %q", seed.AuthType)
	case seed.EndpointPrefix != "" && !endpointPrefixRE.MatchString(seed.EndpointPrefix):
		fail("endpoint prefix %q is not 10 lowercase hex characters", seed.EndpointPrefix)
	}
	if msg := checkLabelKeys(seed.Labels); msg != "" {
		fail("%s", msg)
	}
	return s.createControlPlane(seed).clone()
}

// ControlPlanes returns every control plane, of every organization, oldest
// first.
func (s *Server) ControlPlanes() []ControlPlane {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ControlPlane, 0, len(s.cpOrder))
	for _, id := range s.cpOrder {
		out = append(out, s.cps[id].clone())
	}
	return out
}

// ControlPlaneByName returns the oldest control plane named name, in any
// organization.
func (s *Server) ControlPlaneByName(name string) (ControlPlane, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.cpOrder {
		if cp := s.cps[id]; cp.Name == name {
			return cp.clone(), true
		}
	}
	return ControlPlane{}, false
}

// createControlPlane stores a validated seed. Callers hold s.mu.
func (s *Server) createControlPlane(seed ControlPlaneSeed) *controlPlane {
	now := timestamp()
	cp := &controlPlane{ControlPlane: ControlPlane{
		ID:           orDefault(seed.ID, newUUID()),
		OrgID:        seed.OrgID,
		Name:         seed.Name,
		Description:  seed.Description,
		Labels:       maps.Clone(seed.Labels),
		ClusterType:  orDefault(seed.ClusterType, ClusterTypeControlPlane),
		AuthType:     orDefault(seed.AuthType, AuthTypePinnedClientCerts),
		CloudGateway: seed.CloudGateway,
		ProxyURLs:    slices.Clone(seed.ProxyURLs),
		CreatedAt:    now,
		UpdatedAt:    now,
	}}
	if cp.Labels == nil {
		cp.Labels = map[string]string{}
	}
	prefix := orDefault(seed.EndpointPrefix, randomHex(endpointPrefixLen))
	cp.ControlPlaneEndpoint = fmt.Sprintf("https://%s.%s.cp0.%s", prefix, s.cfg.region, s.cfg.domain)
	cp.TelemetryEndpoint = fmt.Sprintf("https://%s.%s.tp0.%s", prefix, s.cfg.region, s.cfg.domain)
	s.cps[cp.ID] = cp
	s.cpOrder = append(s.cpOrder, cp.ID)
	return cp
}

func (s *Server) cpByName(orgID, name string) *controlPlane {
	for _, id := range s.cpOrder {
		if cp := s.cps[id]; cp.OrgID == orgID && cp.Name == name {
			return cp
		}
	}
	return nil
}

// lookupCP finds a control plane visible to the call's token.
func (s *Server) lookupCP(c *call) (*controlPlane, bool) {
	cp, ok := s.cps[c.params["controlPlaneId"]]
	if !ok || cp.OrgID != c.tok.orgID {
		return nil, false
	}
	return cp, true
}

// Wire types, shaped by #/components/schemas/ControlPlane: every required
// field (labels, description, config.proxy_urls, config.cloud_gateway, ...)
// is always present.
type cpJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Labels      map[string]string `json:"labels"`
	Config      cpConfigJSON      `json:"config"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

type cpConfigJSON struct {
	ControlPlaneEndpoint string     `json:"control_plane_endpoint"`
	TelemetryEndpoint    string     `json:"telemetry_endpoint"`
	ClusterType          string     `json:"cluster_type"`
	AuthType             string     `json:"auth_type"`
	CloudGateway         bool       `json:"cloud_gateway"`
	ProxyURLs            []ProxyURL `json:"proxy_urls"`
}

func toCPJSON(cp *controlPlane) cpJSON {
	return cpJSON{
		ID:          cp.ID,
		Name:        cp.Name,
		Description: cp.Description,
		Labels:      nonNilMap(cp.Labels),
		Config: cpConfigJSON{
			ControlPlaneEndpoint: cp.ControlPlaneEndpoint,
			TelemetryEndpoint:    cp.TelemetryEndpoint,
			ClusterType:          cp.ClusterType,
			AuthType:             cp.AuthType,
			CloudGateway:         cp.CloudGateway,
			ProxyURLs:            nonNilSlice(cp.ProxyURLs),
		},
		CreatedAt: formatTime(cp.CreatedAt),
		UpdatedAt: formatTime(cp.UpdatedAt),
	}
}

type pageMeta struct {
	Number int `json:"number"`
	Size   int `json:"size"`
	Total  int `json:"total"`
}

type listCPJSON struct {
	Meta struct {
		Page pageMeta `json:"page"`
	} `json:"meta"`
	Data []cpJSON `json:"data"`
}

func listControlPlanes(s *Server, c *call) response {
	q := c.req.URL.Query()
	size, number, bad := pageParams(q.Get("page[size]"), q.Get("page[number]"))
	if bad != nil {
		return badRequest(c.family, "Invalid pagination", bad)
	}
	var matched []*controlPlane
	for _, id := range s.cpOrder {
		if cp := s.cps[id]; cp.OrgID == c.tok.orgID && matchesFilters(cp, q) {
			matched = append(matched, cp)
		}
	}
	out := listCPJSON{Data: []cpJSON{}}
	out.Meta.Page = pageMeta{Number: number, Size: size, Total: len(matched)}
	start := min((number-1)*size, len(matched))
	for _, cp := range matched[start:min(start+size, len(matched))] {
		out.Data = append(out.Data, toCPJSON(cp))
	}
	return jsonResponse(http.StatusOK, out)
}

func pageParams(sizeStr, numberStr string) (size, number int, bad []invalidParam) {
	size, number = defaultPageSize, 1
	if sizeStr != "" {
		n, err := strconv.Atoi(sizeStr)
		if err != nil || n < 1 {
			bad = append(bad, invalidParam{Field: "page[size]", Rule: "invalid", Source: "query", Reason: "must be a positive integer"})
		}
		size = n
	}
	if numberStr != "" {
		n, err := strconv.Atoi(numberStr)
		if err != nil || n < 1 {
			bad = append(bad, invalidParam{Field: "page[number]", Rule: "invalid", Source: "query", Reason: "must be a positive integer"})
		}
		number = n
	}
	return size, number, bad
}

// matchesFilters implements the filter[...] deepObject parameters Konnect
// supports on names, IDs and cluster types, and the labels=key:value,key filter.
func matchesFilters(cp *controlPlane, q map[string][]string) bool {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if v, ok := get("filter[name][eq]"); ok && cp.Name != v {
		return false
	}
	if v, ok := get("filter[name][neq]"); ok && cp.Name == v {
		return false
	}
	if v, ok := get("filter[name][contains]"); ok && !strings.Contains(cp.Name, v) {
		return false
	}
	if v, ok := get("filter[id][eq]"); ok && cp.ID != v {
		return false
	}
	if v, ok := get("filter[id][oeq]"); ok && !slices.Contains(strings.Split(v, ","), cp.ID) {
		return false
	}
	if v, ok := get("filter[cluster_type][eq]"); ok && cp.ClusterType != v {
		return false
	}
	if v, ok := get("filter[cluster_type][neq]"); ok && cp.ClusterType == v {
		return false
	}
	if v, ok := get("filter[cluster_type][oeq]"); ok && !slices.Contains(strings.Split(v, ","), cp.ClusterType) {
		return false
	}
	if v, ok := get("filter[cloud_gateway]"); ok && strconv.FormatBool(cp.CloudGateway) != v {
		return false
	}
	if v, ok := get("labels"); ok {
		for _, term := range strings.Split(v, ",") {
			key, want, hasValue := strings.Cut(strings.TrimSpace(term), ":")
			got, exists := cp.Labels[key]
			if !exists || (hasValue && got != want) {
				return false
			}
		}
	}
	return true
}

type createCPRequest struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	ClusterType  string            `json:"cluster_type"`
	AuthType     string            `json:"auth_type"`
	CloudGateway bool              `json:"cloud_gateway"`
	ProxyURLs    []ProxyURL        `json:"proxy_urls"`
	Labels       map[string]string `json:"labels"`
}

func createControlPlane(s *Server, c *call) response {
	var in createCPRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		return badRequest(c.family, "Invalid JSON body", nil)
	}
	if msg := checkLabelKeys(in.Labels); msg != "" {
		return badRequest(c.family, "Invalid labels", []invalidParam{{Field: "labels", Rule: "is_label", Source: "body", Reason: msg}})
	}
	if s.cpByName(c.tok.orgID, in.Name) != nil {
		return conflictName(in.Name)
	}
	cp := s.createControlPlane(ControlPlaneSeed{
		Name:         in.Name,
		Description:  in.Description,
		ClusterType:  in.ClusterType,
		AuthType:     in.AuthType,
		CloudGateway: in.CloudGateway,
		ProxyURLs:    in.ProxyURLs,
		Labels:       in.Labels,
		OrgID:        c.tok.orgID,
	})
	return jsonResponse(http.StatusCreated, toCPJSON(cp))
}

func conflictName(name string) response {
	return errorResponse(problemFamily, http.StatusConflict, fmt.Sprintf("Key (org_id, name)=(%s) already exists.", name))
}

func cpNotFound(c *call) response {
	return errorResponse(c.family, http.StatusNotFound, fmt.Sprintf("ControlPlane with ID %s not found", c.params["controlPlaneId"]))
}

func getControlPlane(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	return jsonResponse(http.StatusOK, toCPJSON(cp))
}

type updateCPRequest struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	AuthType    *string            `json:"auth_type"`
	ProxyURLs   *[]ProxyURL        `json:"proxy_urls"`
	Labels      *map[string]string `json:"labels"`
}

func updateControlPlane(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	var in updateCPRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		return badRequest(c.family, "Invalid JSON body", nil)
	}
	if in.Labels != nil {
		if msg := checkLabelKeys(*in.Labels); msg != "" {
			return badRequest(c.family, "Invalid labels", []invalidParam{{Field: "labels", Rule: "is_label", Source: "body", Reason: msg}})
		}
	}
	if in.Name != nil && *in.Name != cp.Name && s.cpByName(cp.OrgID, *in.Name) != nil {
		return conflictName(*in.Name)
	}
	if in.Name != nil {
		cp.Name = *in.Name
	}
	if in.Description != nil {
		cp.Description = *in.Description
	}
	if in.AuthType != nil {
		cp.AuthType = *in.AuthType
	}
	if in.ProxyURLs != nil {
		cp.ProxyURLs = slices.Clone(*in.ProxyURLs)
	}
	if in.Labels != nil {
		// Labels are replaced as a whole, so a client can drop a label.
		cp.Labels = nonNilMap(maps.Clone(*in.Labels))
	}
	cp.UpdatedAt = timestamp()
	return jsonResponse(http.StatusOK, toCPJSON(cp))
}

func deleteControlPlane(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	// Certificates and nodes live inside the control plane and go with it.
	delete(s.cps, cp.ID)
	s.cpOrder = slices.DeleteFunc(s.cpOrder, func(id string) bool { return id == cp.ID })
	return noContent()
}

var reservedLabelPrefixes = []string{"kong", "konnect", "mesh", "kic", "_"}

// checkLabelKeys enforces the key rules the spec states in prose only.
func checkLabelKeys(labels map[string]string) string {
	for k := range labels {
		if len(k) < 1 || len(k) > 63 {
			return fmt.Sprintf("label key %q must be 1 to 63 characters long", k)
		}
		for _, p := range reservedLabelPrefixes {
			if strings.HasPrefix(k, p) {
				return fmt.Sprintf("label key %q must not start with any of: %s", k, strings.Join(reservedLabelPrefixes, ", "))
			}
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// nonNilMap and nonNilSlice keep required JSON fields as {} and [] rather than null.
func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
