package konnecttest

import "net/http"

type meOrgJSON struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	OwnerID             string `json:"owner_id"`
	LoginPath           string `json:"login_path"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
	State               string `json:"state"`
	RetentionPeriodDays int    `json:"retention_period_days"`
}

func getOrganizationsMe(s *Server, c *call) response {
	o := s.orgs[c.tok.orgID]
	return jsonResponse(http.StatusOK, meOrgJSON{
		ID:                  o.ID,
		Name:                o.Name,
		OwnerID:             o.OwnerID,
		LoginPath:           "", // blank unless SSO is set up
		CreatedAt:           formatTime(o.CreatedAt),
		UpdatedAt:           formatTime(o.CreatedAt),
		State:               "active",
		RetentionPeriodDays: 90,
	})
}

type userJSON struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	FullName       string `json:"full_name"`
	PreferredName  string `json:"preferred_name"`
	Active         bool   `json:"active"`
	InferredRegion string `json:"inferred_region"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

func getUsersMe(s *Server, c *call) response {
	u := c.tok.user
	region := orDefault(u.HomeRegion, s.cfg.region)
	return jsonResponse(http.StatusOK, userJSON{
		ID:             u.ID,
		Email:          u.Email,
		FullName:       u.FullName,
		PreferredName:  u.FullName,
		Active:         true,
		InferredRegion: region,
		CreatedAt:      formatTime(u.CreatedAt),
		UpdatedAt:      formatTime(u.CreatedAt),
	})
}
