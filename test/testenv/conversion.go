package testenv

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The conversion kong-operator 2.x serves for KonnectGatewayControlPlane
// (since 2.0.0, Kong/kong-operator#2023): a real install patches the CRD's
// spec.conversion to strategy Webhook at its /convert endpoint
// (config/crd/kong-operator/patches/zz_generated_conversion_webhook_konnectgatewaycontrolplanes.yaml).
// Without it, a v1alpha1 object with spec.name would be stored as v1alpha2
// without spec.createControlPlaneRequest: a property of raw CRDs, never of a
// cluster. The test ground serves the same conversion from its own code.

const controlPlaneCRDName = "konnectgatewaycontrolplanes.konnect.konghq.com"

// controlPlaneRequestFields are the v1alpha1 spec fields that v1alpha2 keeps
// under spec.createControlPlaneRequest (same JSON names on both sides).
var controlPlaneRequestFields = []string{"name", "description", "cluster_type", "auth_type", "cloud_gateway", "proxy_urls", "labels"}

// convertControlPlane converts a KonnectGatewayControlPlane between
// konnect.konghq.com/v1alpha1 and v1alpha2 following kong-operator's
// api/konnect/v1alpha1/konnect_gateway_controlplane_conversion.go
// (ConvertTo/ConvertFrom, same at v2.2.3 and v2.3.0-rc.3): the
// create-request fields move between spec and spec.createControlPlaneRequest
// (none for source Mirror), spec.source, spec.mirror.konnect.id,
// spec.members and spec.konnect.authRef.name carry over, and of status the
// conditions, id, serverURL, organizationID and konnectEndpoints. Everything
// else is dropped, as upstream drops it.
func convertControlPlane(in map[string]any, toAPIVersion string) (map[string]any, error) {
	from, _ := in["apiVersion"].(string)
	if from == toAPIVersion {
		return in, nil
	}
	const v1, v2 = "konnect.konghq.com/v1alpha1", "konnect.konghq.com/v1alpha2"
	if (from != v1 && from != v2) || (toAPIVersion != v1 && toAPIVersion != v2) {
		return nil, fmt.Errorf("KonnectGatewayControlPlane: cannot convert %s to %s", from, toAPIVersion)
	}
	spec, _ := in["spec"].(map[string]any)
	outSpec := map[string]any{}
	var request map[string]any
	if toAPIVersion == v2 {
		request = spec
	} else {
		request, _ = spec["createControlPlaneRequest"].(map[string]any)
	}
	req := map[string]any{}
	for _, f := range controlPlaneRequestFields {
		if v, ok := request[f]; ok {
			req[f] = v
		}
	}
	if toAPIVersion == v2 {
		// createControlPlaneRequestFromSpec: none for a mirror.
		if src, _ := spec["source"].(string); src != "Mirror" {
			if _, ok := req["name"]; !ok {
				req["name"] = "" // lo.FromPtr(spec.Name)
			}
			outSpec["createControlPlaneRequest"] = req
		}
	} else {
		for k, v := range req {
			outSpec[k] = v
		}
	}
	for _, f := range []string{"source", "members"} {
		if v, ok := spec[f]; ok {
			outSpec[f] = v
		}
	}
	if id, ok := nested(spec, "mirror", "konnect", "id"); ok {
		outSpec["mirror"] = map[string]any{"konnect": map[string]any{"id": id}}
	}
	authName, _ := nested(spec, "konnect", "authRef", "name")
	outSpec["konnect"] = map[string]any{"authRef": map[string]any{"name": authName}}

	out := map[string]any{"apiVersion": toAPIVersion, "kind": in["kind"], "metadata": in["metadata"], "spec": outSpec}
	if status, ok := in["status"].(map[string]any); ok {
		outStatus := map[string]any{}
		for _, f := range []string{"conditions", "id", "serverURL", "organizationID", "konnectEndpoints"} {
			if v, ok := status[f]; ok {
				outStatus[f] = v
			}
		}
		out["status"] = outStatus
	}
	return out, nil
}

func nested(m map[string]any, path ...string) (any, bool) {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// serveConversion answers ConversionReview v1 requests for the
// KonnectGatewayControlPlane CRD.
func serveConversion(w http.ResponseWriter, r *http.Request) {
	review := apiextensionsv1.ConversionReview{}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, fmt.Sprintf("not a ConversionReview: %v", err), http.StatusBadRequest)
		return
	}
	resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for _, raw := range review.Request.Objects {
		var in map[string]any
		err := json.Unmarshal(raw.Raw, &in)
		var out map[string]any
		if err == nil {
			out, err = convertControlPlane(in, review.Request.DesiredAPIVersion)
		}
		var b []byte
		if err == nil {
			b, err = json.Marshal(out)
		}
		if err != nil {
			resp.ConvertedObjects = nil
			resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
			break
		}
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: b})
	}
	review.Request = nil
	review.Response = resp
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// conversionServer is the test ground's conversion webhook: HTTPS on
// 127.0.0.1 with a self-signed certificate, the CRD's caBundle.
type conversionServer struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func startConversionServer() *conversionServer {
	c := &conversionServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/convert", func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		serveConversion(w, r)
	})
	c.srv = httptest.NewTLSServer(mux)
	return c
}

func (c *conversionServer) caBundle() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
}

func (c *conversionServer) Close() { c.srv.Close() }

// installConversion points the KonnectGatewayControlPlane CRD's conversion
// at c, as kong-operator's install does with its kustomize patch (read from
// patches/ beside the CRDs when shipped, e.g. test/crds/ko-v2.2.3/patches;
// kubernetes-configuration v2.0.1 ships none, so ko-2.0 gets the same
// stanza). Only the client config differs: a URL instead of kong-operator's
// Service. It is done after envtest's install, which clears the conversion
// of every CRD whose Go type is not in its scheme.
func installConversion(ctx context.Context, cfg *rest.Config, dirs []string, c *conversionServer) error {
	conv, err := shippedConversion(dirs)
	if err != nil {
		return err
	}
	url := c.srv.URL + "/convert"
	conv.Webhook.ClientConfig = &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: c.caBundle()}
	sch := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(sch); err != nil {
		return err
	}
	cl, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		return err
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := cl.Get(ctx, client.ObjectKey{Name: controlPlaneCRDName}, crd); err != nil {
			return err
		}
		crd.Spec.Conversion = conv
		return cl.Update(ctx, crd)
	}); err != nil {
		return fmt.Errorf("registering the %s conversion webhook: %w", controlPlaneCRDName, err)
	}
	// The API server swaps the CRD's storage asynchronously: wait until a
	// dry-run create of a v1alpha1 object reaches the webhook.
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1",
		"kind":       "KonnectGatewayControlPlane",
		"metadata":   map[string]any{"name": "conversion-probe", "namespace": "default"},
		"spec":       map[string]any{"name": "probe", "konnect": map[string]any{"authRef": map[string]any{"name": "probe"}}},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for c.calls.Load() == 0 {
		if err := cl.Create(ctx, probe.DeepCopy(), client.DryRunAll); err != nil && c.calls.Load() == 0 && time.Now().After(deadline) {
			return fmt.Errorf("the %s conversion webhook is never called: %w", controlPlaneCRDName, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s conversion webhook is never called", controlPlaneCRDName)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func shippedConversion(dirs []string) (*apiextensionsv1.CustomResourceConversion, error) {
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "patches", "zz_generated_conversion_webhook_konnectgatewaycontrolplanes.yaml"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patch := apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, &patch); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		if c := patch.Spec.Conversion; c != nil && c.Strategy == apiextensionsv1.WebhookConverter && c.Webhook != nil {
			return c, nil
		}
		return nil, fmt.Errorf("%s: the KonnectGatewayControlPlane patch sets no webhook conversion", d)
	}
	return &apiextensionsv1.CustomResourceConversion{
		Strategy: apiextensionsv1.WebhookConverter,
		Webhook:  &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"}},
	}, nil
}
