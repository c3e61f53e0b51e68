package initcmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"
	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/Kong/sdk-konnect-go/models/operations"
	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/Kong/sdk-konnect-go/retry"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// konnectAPI is the part of Konnect that init uses, over the official SDK. Every method names the
// operation in its errors and translates Konnect's answers into advice (see konnectError).
type konnectAPI struct {
	sdk    *sdkkonnectgo.SDK
	server serverURL
	// home is the user's home region from /v3/users/me, when asked.
	home string
}

// RetryPolicy is how Konnect 429 and 5xx answers (and dropped connections of idempotent calls) are
// retried: exponential backoff honouring Retry-After. POSTs are never retried blindly.
type RetryPolicy struct {
	Initial, Max, MaxElapsed time.Duration
}

// DefaultRetryPolicy retries for up to 30 seconds.
var DefaultRetryPolicy = RetryPolicy{Initial: 500 * time.Millisecond, Max: 5 * time.Second, MaxElapsed: 30 * time.Second}

func (p RetryPolicy) config() retry.Config {
	return retry.Config{
		Strategy: "backoff",
		Backoff: &retry.BackoffStrategy{
			InitialInterval: int(p.Initial / time.Millisecond),
			MaxInterval:     int(p.Max / time.Millisecond),
			Exponent:        1.5,
			MaxElapsedTime:  int(p.MaxElapsed / time.Millisecond),
		},
		RetryConnectionErrors: true,
	}
}

var noRetries = retry.Config{Strategy: "none"}

func newKonnectAPI(server serverURL, token string, base *http.Client, policy RetryPolicy, calls *atomic.Int64) *konnectAPI {
	hc := &http.Client{Transport: &konnectTransport{base: transportOf(base), domain: server.domain, calls: calls}}
	if base != nil {
		hc.Timeout = base.Timeout
	}
	return &konnectAPI{
		sdk:    konnect.NewSDK(server.url(), token, hc, sdkkonnectgo.WithRetryConfig(policy.config())),
		server: server,
	}
}

func transportOf(c *http.Client) http.RoundTripper {
	if c != nil && c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// konnectTransport counts round trips, and sends the SDK's global
// calls (/v3/*/me, which the SDK pins to global.api.konghq.com) to the custom domain of --server-url.
type konnectTransport struct {
	base   http.RoundTripper
	domain string
	calls  *atomic.Int64
}

func (t *konnectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.domain != defaultDomain && r.URL.Host == "global.api."+defaultDomain {
		r.URL.Host = "global.api." + t.domain
		r.Host = r.URL.Host
	}
	if t.calls != nil {
		t.calls.Add(1)
	}
	return t.base.RoundTrip(r)
}

// organization is what /v3/organizations/me says.
type organization struct{ ID, Name string }

func (k *konnectAPI) organization(ctx context.Context) (organization, error) {
	res, err := k.sdk.Me.GetOrganizationsMe(ctx)
	if err != nil {
		return organization{}, k.explain("checking the token (GET /v3/organizations/me)", err, true)
	}
	o := res.GetMeOrganization()
	if o == nil || o.ID == nil {
		return organization{}, errors.New("Konnect did not say which organization the token belongs to (GET /v3/organizations/me)")
	}
	org := organization{ID: *o.ID}
	if o.Name != nil {
		org.Name = *o.Name
	}
	return org, nil
}

// homeRegion is the user's region from /v3/users/me; "" for system accounts or when Konnect does not say.
func (k *konnectAPI) homeRegion(ctx context.Context) string {
	if k.home != "" {
		return k.home
	}
	res, err := k.sdk.Me.GetUsersMe(ctx)
	if err != nil || res.GetUser() == nil || res.GetUser().GetInferredRegion() == nil {
		return ""
	}
	k.home = *res.GetUser().GetInferredRegion()
	return k.home
}

// controlPlaneByName returns the control plane named name in the region, or nil.
func (k *konnectAPI) controlPlaneByName(ctx context.Context, name string) (*components.ControlPlane, error) {
	res, err := k.sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{
		Filter: &components.ControlPlaneFilterParameters{Name: &components.ControlPlaneFilterParametersName{Eq: &name}},
	})
	if err != nil {
		return nil, k.explain(fmt.Sprintf("looking up control plane %q (GET /v2/control-planes)", name), err, false)
	}
	for _, cp := range res.GetListControlPlanesResponse().GetData() {
		if cp.Name == name {
			return &cp, nil
		}
	}
	return nil, nil
}

func (k *konnectAPI) controlPlane(ctx context.Context, id string) (*components.ControlPlane, error) {
	res, err := k.sdk.ControlPlanes.GetControlPlane(ctx, id)
	if err != nil {
		return nil, k.explain(fmt.Sprintf("reading control plane %s (GET /v2/control-planes/%s)", id, id), err, false)
	}
	if res.GetControlPlane() == nil {
		return nil, fmt.Errorf("Konnect returned no control plane for ID %s", id)
	}
	return res.GetControlPlane(), nil
}

// registeredCerts returns the IDs of the certificates pinned to the control plane, by SHA-256 fingerprint.
func (k *konnectAPI) registeredCerts(ctx context.Context, cpID string) (map[string]string, error) {
	res, err := k.sdk.DPCertificates.ListDpClientCertificates(ctx, cpID)
	if err != nil {
		return nil, k.explain(fmt.Sprintf("listing the data-plane certificates of control plane %s", cpID), err, false)
	}
	out := map[string]string{}
	for _, item := range res.GetListDataPlaneCertificatesResponse().GetItems() {
		if item.Cert == nil {
			continue
		}
		if fp, err := cert.FingerprintOfPEM([]byte(*item.Cert)); err == nil {
			id := ""
			if item.ID != nil {
				id = *item.ID
			}
			out[fp] = id
		}
	}
	return out, nil
}

// registerCert registers certPEM with the control plane unless it is already there. The POST is sent
// once, never retried: if its answer is lost, the list says whether it landed.
func (k *konnectAPI) registerCert(ctx context.Context, cpID string, certPEM []byte) (created bool, err error) {
	fp, err := cert.FingerprintOfPEM(certPEM)
	if err != nil {
		return false, err
	}
	have, err := k.registeredCerts(ctx, cpID)
	if err != nil {
		return false, err
	}
	if _, ok := have[fp]; ok {
		return false, nil
	}
	_, postErr := k.sdk.DPCertificates.CreateDataplaneCertificate(ctx, cpID,
		&components.DataPlaneClientCertificateRequest{Cert: string(certPEM)}, operations.WithRetries(noRetries))
	if postErr == nil {
		return true, nil
	}
	// Did it land anyway (a dropped answer)? Ask before reporting a failure, so a re-run never
	// registers the certificate twice.
	if have, err := k.registeredCerts(ctx, cpID); err == nil {
		if _, ok := have[fp]; ok {
			return true, nil
		}
	}
	return false, k.explain(fmt.Sprintf("registering the data-plane certificate with control plane %s (POST /v2/control-planes/%s/dp-client-certificates)", cpID, cpID), postErr, false)
}

// statusOf returns the HTTP status of a Konnect SDK error, or 0.
func statusOf(err error) int {
	var (
		sdkErr *sdkerrors.SDKError
		base   *sdkerrors.BaseError
	)
	switch {
	case errors.As(err, &sdkErr):
		return sdkErr.StatusCode
	case errors.As(err, &base):
		return int(base.Status)
	case errorsAs[*sdkerrors.UnauthorizedError](err), errorsAs[*sdkerrors.KonnectCPLegacyUnauthorizedError](err),
		errorsAs[*sdkerrors.GatewayUnauthorizedError](err):
		return http.StatusUnauthorized
	case errorsAs[*sdkerrors.ForbiddenError](err), errorsAs[*sdkerrors.KonnectCPLegacyForbiddenError](err):
		return http.StatusForbidden
	case errorsAs[*sdkerrors.NotFoundError](err), errorsAs[*sdkerrors.KonnectCPLegacyNotFoundError](err):
		return http.StatusNotFound
	case errorsAs[*sdkerrors.ConflictError](err), errorsAs[*sdkerrors.KonnectCPLegacyConflictError](err):
		return http.StatusConflict
	case errorsAs[*sdkerrors.TooManyRequestsError](err), errorsAs[*sdkerrors.RateLimited](err):
		return http.StatusTooManyRequests
	case errorsAs[*sdkerrors.ServiceUnavailable](err):
		return http.StatusServiceUnavailable
	case errorsAs[*sdkerrors.InternalServerError](err):
		return http.StatusInternalServerError
	case errorsAs[*sdkerrors.BadRequestError](err), errorsAs[*sdkerrors.KonnectCPLegacyBadRequestError](err):
		return http.StatusBadRequest
	}
	return 0
}

func errorsAs[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// KonnectError is a Konnect API failure with the likely cause and what to do.
type KonnectError struct {
	Op     string
	Status int
	Advice string
	Err    error
}

func (e *KonnectError) Error() string {
	s := "Konnect: " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": %d %s", e.Status, http.StatusText(e.Status))
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Advice != "" {
		s += ": " + e.Advice
	}
	return s
}

func (e *KonnectError) Unwrap() error { return e.Err }

// explain turns an SDK error into a KonnectError naming the likely cause. tokenCheck is set for
// /v3/organizations/me, where a 401 can only mean the token itself.
func (k *konnectAPI) explain(op string, err error, tokenCheck bool) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st := statusOf(err)
	ke := &KonnectError{Op: op, Status: st, Err: err}
	region := k.server.region
	switch {
	case st == http.StatusUnauthorized && tokenCheck:
		ke.Advice = "the token is wrong, expired or revoked. Create a personal access token (kpat_...) at " +
			"https://cloud.konghq.com/global/account/tokens or a system account token (spat_...), and pass it with " +
			"KONNECT_TOKEN, --token-file or --token-stdin"
	case st == http.StatusUnauthorized:
		ke.Advice = fmt.Sprintf("the token is valid (GET /v3/organizations/me accepted it) but the %s region API (%s) refused it: "+
			"wrong region? Your organization may not use region %q", region, k.server.host(), region)
		if k.home != "" && k.home != region {
			ke.Advice += fmt.Sprintf("; your Konnect user's home region is %q: try --region %s", k.home, k.home)
		} else {
			ke.Advice += "; check --region (us, eu, au, me, in) or --server-url"
		}
	case st == http.StatusForbidden:
		ke.Advice = fmt.Sprintf("the token's user or system account lacks a role for this in region %s: it needs "+
			"Control Planes Admin (or Control Plane Creator to create one); assign it in Konnect under Organization > Teams "+
			"or System accounts, or use another token", region)
	case st == http.StatusTooManyRequests:
		ke.Advice = "Konnect is rate limiting this token and still was after retrying with backoff: wait a minute and re-run; init resumes where it stopped"
	case st >= 500:
		ke.Advice = "Konnect failed and still did after retrying with backoff: re-run later; init resumes where it stopped and duplicates nothing"
	case st == 0:
		var ne net.Error
		var ue *url.Error
		if errors.As(err, &ne) || errors.As(err, &ue) {
			ke.Advice = fmt.Sprintf("could not reach Konnect at %s: check the network, proxy (HTTPS_PROXY) and --region/--server-url", k.server.host())
		}
	}
	return ke
}
