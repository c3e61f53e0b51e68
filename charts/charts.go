// Package charts renders, lints and installs the Helm chart of the webhook
// (charts/kubectl-konnect-webhook) with the Helm Go SDK, as `helm template`,
// `helm lint` and `helm install` do. The tests use it; no binary imports it.
package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// WebhookChart is the chart's folder under charts/.
const WebhookChart = "kubectl-konnect-webhook"

// Render is `helm template --namespace ns` of the chart in dir: the objects
// it installs, in the order of the manifest.
func Render(dir, releaseName, ns string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient
	inst.Replace = true
	inst.ReleaseName, inst.Namespace = releaseName, ns
	r, err := inst.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("rendering %s: unexpected release type %T", dir, r)
	}
	return decode(rel.Manifest)
}

func decode(manifest string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		// UnmarshalJSON keeps integers as int64, as the API machinery reads them.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
}

// Lint is `helm lint --strict` (warnings fail too) with the given values.
func Lint(dir string, vals map[string]any) error {
	l := action.NewLint()
	l.Strict = true
	res := l.Run([]string{dir}, vals)
	var msgs bytes.Buffer
	for _, m := range res.Messages {
		fmt.Fprintln(&msgs, m.Error())
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("helm lint %s: %w\n%s", dir, errors.Join(res.Errors...), msgs.String())
	}
	return nil
}

// Install is `helm install --namespace ns --create-namespace` of the chart
// in dir into the cluster getter reaches; it returns once everything is
// created (no wait: there may be no kubelet to start pods).
func Install(ctx context.Context, getter genericclioptions.RESTClientGetter, dir, releaseName, ns string, vals map[string]any) (*release.Release, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	cfg := action.NewConfiguration()
	if err := cfg.Init(getter, ns, "secret"); err != nil {
		return nil, err
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace = releaseName, ns
	inst.CreateNamespace = true
	inst.WaitStrategy = kube.HookOnlyStrategy
	r, err := inst.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("helm install %s: %w", dir, err)
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("helm install %s: unexpected release type %T", dir, r)
	}
	return rel, nil
}
