package konnecttest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Node is a data plane node record of a control plane.
type Node struct {
	ID         string // default: a random UUID (the spec requires UUIDs in URLs)
	Hostname   string // default: "dp-<first 8 characters of ID>"
	Version    string // default: "3.9.1.0"
	Type       string // default: "kong-proxy"
	ConfigHash string // default: 32 random hex characters
	LastPing   time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// CompatibilityState default: "COMPATIBILITY_STATE_FULLY_COMPATIBLE".
	CompatibilityState string
}

// RegisterNode records n as a data plane of control plane cpID, as if it had
// connected, and returns it with defaults filled. Registering an existing ID
// again updates that node (a heartbeat). It panics if cpID is unknown, a
// broken test setup.
func (s *Server) RegisterNode(cpID string, n Node) Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[cpID]
	if !ok {
		panic(fmt.Sprintf("konnecttest: RegisterNode: unknown control plane %q", cpID))
	}
	now := timestamp()
	n.ID = orDefault(n.ID, newUUID())
	n.Hostname = orDefault(n.Hostname, "dp-"+n.ID[:min(8, len(n.ID))])
	n.Version = orDefault(n.Version, "3.9.1.0")
	n.Type = orDefault(n.Type, "kong-proxy")
	n.ConfigHash = orDefault(n.ConfigHash, randomHex(32))
	n.CompatibilityState = orDefault(n.CompatibilityState, "COMPATIBILITY_STATE_FULLY_COMPATIBLE")
	if n.LastPing.IsZero() {
		n.LastPing = now
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.LastPing
	}
	if existing, i := cp.node(n.ID); existing != nil {
		if n.CreatedAt.IsZero() {
			n.CreatedAt = existing.CreatedAt
		}
		cp.nodes[i] = &n
		return n
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = n.LastPing
	}
	cp.nodes = append(cp.nodes, &n)
	return n
}

// Nodes returns the node records of control plane cpID, oldest first.
func (s *Server) Nodes(cpID string) []Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[cpID]
	if !ok {
		return nil
	}
	out := make([]Node, 0, len(cp.nodes))
	for _, n := range cp.nodes {
		out = append(out, *n)
	}
	return out
}

func (cp *controlPlane) node(id string) (*Node, int) {
	i := slices.IndexFunc(cp.nodes, func(n *Node) bool { return n.ID == id })
	if i < 0 {
		return nil, -1
	}
	return cp.nodes[i], i
}

// The spec requires no node field; all are filled as Konnect does, with
// Unix-second integer timestamps.
type nodeJSON struct {
	ID                  string         `json:"id"`
	Version             string         `json:"version"`
	Hostname            string         `json:"hostname"`
	LastPing            int64          `json:"last_ping"`
	Type                string         `json:"type"`
	CreatedAt           int64          `json:"created_at"`
	UpdatedAt           int64          `json:"updated_at"`
	ConfigHash          string         `json:"config_hash"`
	CompatibilityStatus compatibilityJ `json:"compatibility_status"`
}

type compatibilityJ struct {
	State string `json:"state"`
}

func toNodeJSON(n *Node) nodeJSON {
	return nodeJSON{
		ID:                  n.ID,
		Version:             n.Version,
		Hostname:            n.Hostname,
		LastPing:            n.LastPing.Unix(),
		Type:                n.Type,
		CreatedAt:           n.CreatedAt.Unix(),
		UpdatedAt:           n.UpdatedAt.Unix(),
		ConfigHash:          n.ConfigHash,
		CompatibilityStatus: compatibilityJ{State: n.CompatibilityState},
	}
}

type nodeListJSON struct {
	Items []nodeJSON `json:"items"`
	Page  struct {
		TotalCount int    `json:"total_count"`
		Next       string `json:"next,omitempty"`
	} `json:"page"`
}

// listNodes pages with page[size] and an opaque page[after] cursor (the ID of
// the last node of the previous page); page.next is set while more remain.
func listNodes(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	q := c.req.URL.Query()
	size := defaultPageSize
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest(c.family, "page[size] must be a positive integer", nil)
		}
		size = n
	}
	start := 0
	if after := q.Get("page[after]"); after != "" {
		_, i := cp.node(after)
		if i < 0 {
			return badRequest(c.family, "page[after] is not a valid cursor", nil)
		}
		start = i + 1
	}
	end := min(start+size, len(cp.nodes))
	out := nodeListJSON{Items: []nodeJSON{}}
	for _, n := range cp.nodes[start:end] {
		out.Items = append(out.Items, toNodeJSON(n))
	}
	out.Page.TotalCount = len(cp.nodes)
	if end < len(cp.nodes) && end > 0 {
		out.Page.Next = cp.nodes[end-1].ID
	}
	return jsonResponse(http.StatusOK, out)
}

func getNode(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	n, _ := cp.node(c.params["nodeId"])
	if n == nil {
		return errorResponse(c.family, http.StatusNotFound, "Not Found")
	}
	return jsonResponse(http.StatusOK, struct {
		Item nodeJSON `json:"item"`
	}{toNodeJSON(n)})
}

func deleteNode(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	_, i := cp.node(c.params["nodeId"])
	if i < 0 {
		return errorResponse(c.family, http.StatusNotFound, "Not Found")
	}
	cp.nodes = slices.Delete(cp.nodes, i, i+1)
	return noContent()
}
