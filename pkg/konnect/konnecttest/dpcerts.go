package konnecttest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// DPCertificate is a data plane client certificate pinned to a control plane.
type DPCertificate struct {
	ID        string
	Cert      string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DPCertificates returns the certificates pinned to control plane cpID,
// oldest first (nil for an unknown control plane).
func (s *Server) DPCertificates(cpID string) []DPCertificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[cpID]
	if !ok {
		return nil
	}
	out := make([]DPCertificate, 0, len(cp.certs))
	for _, c := range cp.certs {
		out = append(out, *c)
	}
	return out
}

// Timestamps of this legacy API are integers (Unix seconds), unlike the v2
// control plane API's RFC 3339 strings.
type dpCertJSON struct {
	ID        string `json:"id"`
	Cert      string `json:"cert"`
	Title     string `json:"title,omitempty"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
}

func toDPCertJSON(c *DPCertificate) dpCertJSON {
	return dpCertJSON{ID: c.ID, Cert: c.Cert, Title: c.Title, CreatedAt: c.CreatedAt.Unix(), UpdatedAt: c.UpdatedAt.Unix()}
}

type dpCertItemJSON struct {
	Item dpCertJSON `json:"item"`
}

type dpCertListJSON struct {
	Items []dpCertJSON `json:"items"`
	Page  struct {
		TotalCount int `json:"total_count"`
	} `json:"page"`
}

type dpCertRequest struct {
	Cert  string `json:"cert"`
	Title string `json:"title"`
}

// parseCertRequest decodes the body and insists on a PEM X.509 certificate,
// which Konnect requires (the spec only says "string").
func parseCertRequest(c *call) (dpCertRequest, *response) {
	var in dpCertRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		r := badRequest(c.family, "Invalid JSON body", nil)
		return in, &r
	}
	block, _ := pem.Decode([]byte(in.Cert))
	if block == nil || block.Type != "CERTIFICATE" {
		r := badRequest(c.family, "cert must be a PEM encoded certificate", nil)
		return in, &r
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		r := badRequest(c.family, fmt.Sprintf("cert is not a valid X.509 certificate: %v", err), nil)
		return in, &r
	}
	return in, nil
}

func listDPCertificates(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	out := dpCertListJSON{Items: []dpCertJSON{}}
	for _, cert := range cp.certs {
		out.Items = append(out.Items, toDPCertJSON(cert))
	}
	out.Page.TotalCount = len(cp.certs)
	return jsonResponse(http.StatusOK, out)
}

func createDPCertificate(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	in, bad := parseCertRequest(c)
	if bad != nil {
		return *bad
	}
	now := timestamp()
	// Pinning the same certificate twice is allowed, as in Konnect: tests
	// that a client does not double-register rely on seeing both copies.
	cert := &DPCertificate{ID: newUUID(), Cert: in.Cert, Title: in.Title, CreatedAt: now, UpdatedAt: now}
	cp.certs = append(cp.certs, cert)
	return jsonResponse(http.StatusCreated, dpCertItemJSON{Item: toDPCertJSON(cert)})
}

func (cp *controlPlane) cert(id string) (*DPCertificate, int) {
	i := slices.IndexFunc(cp.certs, func(c *DPCertificate) bool { return c.ID == id })
	if i < 0 {
		return nil, -1
	}
	return cp.certs[i], i
}

func certNotFound(c *call) response {
	return errorResponse(c.family, http.StatusNotFound, "Not Found")
}

func getDPCertificate(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	cert, _ := cp.cert(c.params["certificateId"])
	if cert == nil {
		return certNotFound(c)
	}
	return jsonResponse(http.StatusOK, dpCertItemJSON{Item: toDPCertJSON(cert)})
}

func updateDPCertificate(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	cert, _ := cp.cert(c.params["certificateId"])
	if cert == nil {
		return certNotFound(c)
	}
	in, bad := parseCertRequest(c)
	if bad != nil {
		return *bad
	}
	cert.Cert, cert.Title, cert.UpdatedAt = in.Cert, in.Title, timestamp()
	return jsonResponse(http.StatusOK, dpCertItemJSON{Item: toDPCertJSON(cert)})
}

func deleteDPCertificate(s *Server, c *call) response {
	cp, ok := s.lookupCP(c)
	if !ok {
		return cpNotFound(c)
	}
	_, i := cp.cert(c.params["certificateId"])
	if i < 0 {
		return certNotFound(c)
	}
	cp.certs = slices.Delete(cp.certs, i, i+1)
	return noContent()
}
