package migrate

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/Kong/sdk-konnect-go/models/operations"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
)

// SecretGetter returns the Secret namespace/name, or nil when it does not
// exist.
type SecretGetter func(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error)

// KonnectAPI is Konnect through the official SDK, authenticated with the
// token of each KonnectAPIAuthConfiguration (inline, or from its labelled
// Secret, read with Secret).
type KonnectAPI struct {
	HTTPClient *http.Client
	Secret     SecretGetter
}

var _ Konnect = (*KonnectAPI)(nil)

// listPageSize is the page size of GET /v2/control-planes.
const listPageSize = 100

// ControlPlanes lists every control plane the token sees.
func (k *KonnectAPI) ControlPlanes(ctx context.Context, auth *unstructured.Unstructured) ([]ControlPlane, error) {
	server, token, err := k.credentials(ctx, auth)
	if err != nil {
		return nil, err
	}
	sdk := konnect.NewSDK(server, token, k.HTTPClient)
	var out []ControlPlane
	for page := int64(1); ; page++ {
		size := int64(listPageSize)
		res, err := sdk.ControlPlanes.ListControlPlanes(ctx, operations.ListControlPlanesRequest{PageSize: &size, PageNumber: &page})
		if err != nil {
			return nil, fmt.Errorf("listing control planes at %s: %w", server, err)
		}
		body := res.GetListControlPlanesResponse()
		if body == nil {
			return nil, fmt.Errorf("listing control planes at %s: the answer has no body", server)
		}
		data := body.GetData()
		for _, cp := range data {
			out = append(out, ControlPlane{ID: cp.ID, Name: cp.Name, ControlPlaneEndpoint: cp.Config.ControlPlaneEndpoint})
		}
		total := int(body.Meta.Page.Total)
		if len(data) < listPageSize || len(out) >= total {
			return out, nil
		}
	}
}

// credentials reads the server URL and token of a KonnectAPIAuthConfiguration.
// Errors never contain the token.
func (k *KonnectAPI) credentials(ctx context.Context, auth *unstructured.Unstructured) (server, token string, err error) {
	where := "KonnectAPIAuthConfiguration " + nsName(auth.GetNamespace(), auth.GetName())
	server, _, _ = unstructured.NestedString(auth.Object, "spec", "serverURL")
	if server == "" {
		return "", "", fmt.Errorf("%s has no spec.serverURL", where)
	}
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	switch t, _, _ := unstructured.NestedString(auth.Object, "spec", "type"); t {
	case "token":
		token, _, _ = unstructured.NestedString(auth.Object, "spec", "token")
	case "secretRef":
		name, _, _ := unstructured.NestedString(auth.Object, "spec", "secretRef", "name")
		ns, _, _ := unstructured.NestedString(auth.Object, "spec", "secretRef", "namespace")
		if ns == "" {
			ns = auth.GetNamespace()
		}
		if k.Secret == nil {
			return "", "", fmt.Errorf("%s: the token Secret %s cannot be read here", where, nsName(ns, name))
		}
		sec, err := k.Secret(ctx, ns, name)
		if err != nil {
			return "", "", fmt.Errorf("%s: reading the token Secret %s: %w", where, nsName(ns, name), err)
		}
		if sec == nil {
			return "", "", fmt.Errorf("%s: the token Secret %s does not exist", where, nsName(ns, name))
		}
		token = secretValue(sec, "token")
	default:
		return "", "", fmt.Errorf("%s: spec.type %q is neither token nor secretRef", where, t)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", "", fmt.Errorf("%s has no token", where)
	}
	return server, token, nil
}

// secretValue reads a key of a Secret from stringData (files) or data
// (base64, as the API server and files have it).
func secretValue(sec *unstructured.Unstructured, key string) string {
	if v, ok, _ := unstructured.NestedString(sec.Object, "stringData", key); ok {
		return v
	}
	if v, ok, _ := unstructured.NestedString(sec.Object, "data", key); ok {
		if b, err := decodeBase64(v); err == nil {
			return string(b)
		}
	}
	return ""
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}
