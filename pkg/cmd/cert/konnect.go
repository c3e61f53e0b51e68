package cert

import (
	"context"
	"fmt"
	"strings"

	sdkkonnectgo "github.com/Kong/sdk-konnect-go"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// konnectFor builds a Konnect client for the control plane from its KonnectAPIAuthConfiguration, when
// the token is readable. The error explains why not; it never contains the token.
func (c *Clients) konnectFor(ctx context.Context, cp *controlPlane) (*sdkkonnectgo.SDK, error) {
	if cp.AuthRef == "" {
		return nil, fmt.Errorf("KonnectGatewayControlPlane %s/%s has no spec.konnect.authRef", cp.Namespace, cp.Name)
	}
	auth, err := c.get(ctx, gvrAuthConfig, cp.AuthRef)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("KonnectAPIAuthConfiguration %s/%s", c.Namespace, cp.AuthRef)
	if auth == nil {
		return nil, fmt.Errorf("%s does not exist", where)
	}
	server := str(auth, "spec", "serverURL")
	if server == "" {
		return nil, fmt.Errorf("%s has no spec.serverURL", where)
	}
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	var token string
	switch t := str(auth, "spec", "type"); t {
	case "token":
		token = str(auth, "spec", "token")
	case "secretRef":
		name, ns := str(auth, "spec", "secretRef", "name"), str(auth, "spec", "secretRef", "namespace")
		if ns == "" {
			ns = auth.GetNamespace()
		}
		if ns != c.Namespace {
			return nil, fmt.Errorf("%s: the token Secret is in namespace %q, which this command does not read", where, ns)
		}
		sec, err := c.get(ctx, gvrSecret, name)
		if err != nil {
			return nil, fmt.Errorf("%s: token Secret %s/%s is not readable: %w", where, ns, name, err)
		}
		if sec == nil {
			return nil, fmt.Errorf("%s: token Secret %s/%s does not exist", where, ns, name)
		}
		data, err := dpcert.SecretData(sec)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(data["token"]))
		if token == "" {
			return nil, fmt.Errorf("%s: token Secret %s/%s has no key \"token\"", where, ns, name)
		}
	default:
		return nil, fmt.Errorf("%s: spec.type %q is neither token nor secretRef", where, t)
	}
	if token == "" {
		return nil, fmt.Errorf("%s has no token", where)
	}
	hc := c.KonnectHTTPClient
	if hc == nil {
		// The default transport, or KUBECTL_KONNECT_CONNECT_TO / KUBECTL_KONNECT_CA_FILE when set.
		if hc, err = konnect.HTTPClientFromEnv(); err != nil {
			return nil, err
		}
	}
	return konnect.NewSDK(server, token, hc), nil
}

// authTypeOf decides between pinned_client_certs and pki_client_certs: Konnect's answer when it can be
// asked, else the auth_type the object requested, else Konnect's default. The second value explains
// where it came from.
func (c *Clients) authTypeOf(ctx context.Context, cp *controlPlane, sdk *sdkkonnectgo.SDK, sdkErr error) (string, string) {
	var why string
	switch {
	case sdk == nil:
		why = "Konnect not asked: " + sdkErr.Error()
	case cp.ID == "":
		why = "Konnect not asked: the control plane has no status.id yet"
	default:
		res, err := sdk.ControlPlanes.GetControlPlane(ctx, cp.ID)
		if err == nil && res.GetControlPlane() != nil {
			cfg := res.GetControlPlane().GetConfig()
			if at := string(cfg.GetAuthType()); at != "" {
				return at, "from Konnect"
			}
		}
		if err != nil {
			why = "Konnect could not be asked: " + err.Error()
		} else {
			why = "Konnect did not say"
		}
	}
	if cp.AuthType != "" {
		return cp.AuthType, fmt.Sprintf("from %s of KonnectGatewayControlPlane %s/%s (%s)", cp.field("auth_type"), cp.Namespace, cp.Name, why)
	}
	if cp.Mirror {
		return authTypePinned, fmt.Sprintf("Konnect's default: Mirror KonnectGatewayControlPlane %s/%s does not say (%s); pass --auth-type if the control plane uses %s",
			cp.Namespace, cp.Name, why, authTypePKI)
	}
	return authTypePinned, fmt.Sprintf("Konnect's default: %s is unset (%s)", cp.field("auth_type"), why)
}

// registeredInKonnect returns the SHA-256 fingerprints of the certificates pinned to the control plane.
func registeredInKonnect(ctx context.Context, sdk *sdkkonnectgo.SDK, cpID string) (map[string]bool, error) {
	res, err := sdk.DPCertificates.ListDpClientCertificates(ctx, cpID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, item := range res.GetListDataPlaneCertificatesResponse().GetItems() {
		if item.Cert == nil {
			continue
		}
		if fp, err := cert.FingerprintOfPEM([]byte(*item.Cert)); err == nil {
			out[fp] = true
		}
	}
	return out, nil
}
