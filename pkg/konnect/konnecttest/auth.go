package konnecttest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Organization is a Konnect organization; every token belongs to one, and
// control planes are only visible to tokens of their organization.
type Organization struct {
	ID        string
	Name      string
	OwnerID   string
	CreatedAt time.Time
}

// User is who a token authenticates as (users/me).
type User struct {
	ID        string
	Email     string
	FullName  string
	CreatedAt time.Time
	// HomeRegion is the region GET /v3/users/me infers for the user
	// (inferred_region); the server's region when empty.
	HomeRegion string
}

type tokenInfo struct {
	orgID  string
	user   User
	forbid []forbidRule
}

type forbidRule struct {
	method     string
	pathPrefix string
}

// TokenOption configures IssueToken.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	orgID      string
	prefix     string
	homeRegion string
}

// InOrganization issues the token in orgID (default: the server's default
// organization).
func InOrganization(orgID string) TokenOption { return func(t *tokenSpec) { t.orgID = orgID } }

// HomeRegion issues the token to a user whose home region is region, e.g. a
// Singapore organization's user ("sg"): GET /v3/users/me answers it as
// inferred_region. Default: the server's region (WithRegion).
func HomeRegion(region string) TokenOption { return func(t *tokenSpec) { t.homeRegion = region } }

// SystemAccount issues a system account access token (spat_) instead of a
// personal access token (kpat_).
func SystemAccount() TokenOption { return func(t *tokenSpec) { t.prefix = "spat_" } }

// AddOrganization creates an empty organization.
func (s *Server) AddOrganization(name string) Organization {
	now := timestamp()
	o := &Organization{ID: newUUID(), Name: name, OwnerID: newUUID(), CreatedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs[o.ID] = o
	return *o
}

// DefaultOrganization is the organization tokens and seeded control planes
// belong to unless told otherwise.
func (s *Server) DefaultOrganization() Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.orgs[s.defaultOrg]
}

// IssueToken returns a new valid token: "kpat_" (or "spat_" with
// SystemAccount) followed by 40 random alphanumeric characters. It panics if
// InOrganization names an unknown organization, a mistake in test setup.
func (s *Server) IssueToken(opts ...TokenOption) string {
	spec := tokenSpec{prefix: "kpat_"}
	for _, o := range opts {
		o(&spec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.orgID == "" {
		spec.orgID = s.defaultOrg
	}
	if _, ok := s.orgs[spec.orgID]; !ok {
		panic(fmt.Sprintf("konnecttest: IssueToken: unknown organization %q", spec.orgID))
	}
	tok := spec.prefix + randomAlnum(40)
	n := len(s.tokens) + 1
	s.tokens[tok] = &tokenInfo{
		orgID: spec.orgID,
		user: User{
			ID:         newUUID(),
			Email:      fmt.Sprintf("user%d@example.com", n),
			FullName:   fmt.Sprintf("Test User %d", n),
			CreatedAt:  timestamp(),
			HomeRegion: spec.homeRegion,
		},
	}
	return tok
}

// RevokeToken makes tok unknown: further calls with it get 401.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
}

// TokenUser returns the user tok authenticates as.
func (s *Server) TokenUser(tok string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, ok := s.tokens[tok]
	if !ok {
		return User{}, false
	}
	return ti.user, true
}

// Forbid makes calls with tok answer 403 when the method matches (""
// matches any) and the URL path starts with pathPrefix, as Konnect does
// for a token whose user lacks the role.
func (s *Server) Forbid(tok, method, pathPrefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tokens[tok]; ok {
		ti.forbid = append(ti.forbid, forbidRule{method: strings.ToUpper(method), pathPrefix: pathPrefix})
	}
}

// authenticate answers 401 for a missing or unknown token and 403 for a
// forbidden call. A missing token is not reported as a violation: answering
// it is Konnect's job, and tests need to exercise it.
func (s *Server) authenticate(c *call) (*tokenInfo, response, bool) {
	scheme, tok, _ := strings.Cut(c.req.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, ok := s.tokens[tok]
	if !strings.EqualFold(scheme, "bearer") || tok == "" || !ok {
		detail := "Invalid credentials"
		if c.family == legacyFamily {
			detail = "Unauthorized"
		}
		return nil, errorResponse(c.family, http.StatusUnauthorized, detail), false
	}
	for _, r := range ti.forbid {
		if (r.method == "" || r.method == c.req.Method) && strings.HasPrefix(c.req.URL.Path, r.pathPrefix) {
			detail := "You do not have permission to perform this action"
			if c.family == legacyFamily {
				detail = "Forbidden"
			}
			return nil, errorResponse(c.family, http.StatusForbidden, detail), false
		}
	}
	// Copy so handlers never race with Forbid/RevokeToken.
	cp := *ti
	return &cp, response{}, true
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newUUID returns a random RFC 9562 version 4 UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// timestamp is "now" at the millisecond precision Konnect returns.
func timestamp() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
