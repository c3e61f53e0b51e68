package webhook

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-konnect/kubectl-konnect/config"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// Names config/ gives the webhook's objects.
const (
	Namespace         = "kubectl-konnect-system"
	WebhookConfigName = "kubectl-konnect-webhook"
	ServiceName       = "kubectl-konnect-webhook"
	DeploymentName    = "kubectl-konnect-webhook"
	ContainerName     = "webhook"
	// CertSecretName is the Secret the webhook creates itself with
	// self-managed certificates (and cert-manager fills otherwise). It is
	// not among the manifests; uninstall removes it.
	CertSecretName = "kubectl-konnect-webhook-tls"
	// ImageRepository is where release builds of the webhook image go.
	ImageRepository = "ghcr.io/kubectl-konnect/webhook"
	// FieldManager owns what install applies (server-side apply).
	FieldManager = "kubectl-konnect"
	// PartOfLabel marks every object config/ installs; uninstall deletes
	// only objects that carry it (or that FieldManager applied).
	PartOfLabel = "app.kubernetes.io/part-of"
	PartOfValue = "kubectl-konnect"
)

// Variant is a kustomization of config/: where the serving certificate
// comes from.
type Variant string

const (
	// SelfManaged is config/default: the webhook makes its own CA and
	// serving certificate and sets the caBundle (--self-managed-certs).
	SelfManaged Variant = "default"
	// CertManager is config/cert-manager: a cert-manager Issuer and
	// Certificate, the caBundle injected by cert-manager's CA injector.
	CertManager Variant = "cert-manager"
)

// Variants lists the kustomizations install can apply.
var Variants = []Variant{SelfManaged, CertManager}

// Render builds the objects of a kustomization of config/, exactly what
// `kubectl apply -k config/<variant>` applies, in the order install applies
// them (the ValidatingWebhookConfiguration last). A non-empty image
// replaces the webhook container's image.
func Render(v Variant, image string) ([]*unstructured.Unstructured, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(config.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := config.FS.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", p), b)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded config/: %w", err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(mem, path.Join("/", string(v)))
	if err != nil {
		return nil, fmt.Errorf("rendering config/%s: %w", v, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range rm.Resources() {
		// Through JSON: kustomize's maps hold ints where unstructured
		// objects hold int64s.
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("config/%s: %w", v, err)
		}
		if image != "" && u.GetKind() == "Deployment" && u.GetName() == DeploymentName {
			if err := setImage(u, image); err != nil {
				return nil, err
			}
		}
		objs = append(objs, u)
	}
	SortForInstall(objs)
	return objs, nil
}

func setImage(u *unstructured.Unstructured, image string) error {
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	for i, c := range containers {
		m, ok := c.(map[string]any)
		if ok && m["name"] == ContainerName {
			m["image"] = image
			containers[i] = m
			return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
		}
	}
	return fmt.Errorf("the Deployment %s has no container %q to set the image of", DeploymentName, ContainerName)
}

var releaseVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// DefaultImage is the webhook image of this release (the image built from
// the same tag), or "" for a development build: the manifests' own image,
// pinned to the release config/ belongs to (never latest).
func DefaultImage() string {
	if releaseVersion.MatchString(version.Current()) {
		return ImageRepository + ":" + version.Current()
	}
	return ""
}

// installRank orders kinds so that nothing is applied before what it
// needs: the namespace first, then identities and RBAC, the Service and the
// workload, and the ValidatingWebhookConfiguration last, once there is
// something to call. Uninstall walks the same order backwards, except that
// the ValidatingWebhookConfiguration goes first.
//
// The certificate Secret, which the webhook writes itself, ranks right
// after the namespace: uninstall deletes it after the RBAC and the
// ServiceAccount, when a replica still shutting down can no longer
// re-create it.
var installRank = map[string]int{
	"Namespace":                      0,
	"Secret":                         1,
	"ServiceAccount":                 2,
	"ClusterRole":                    3,
	"ClusterRoleBinding":             4,
	"Role":                           5,
	"RoleBinding":                    6,
	"Service":                        7,
	"Issuer":                         8,
	"Certificate":                    9,
	"Deployment":                     10,
	"PodDisruptionBudget":            11,
	"ValidatingWebhookConfiguration": 100,
}

func rank(u *unstructured.Unstructured) int {
	if r, ok := installRank[u.GetKind()]; ok {
		return r
	}
	return 50
}

// SortForInstall sorts objects in install order (stable by name within a
// kind).
func SortForInstall(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		ri, rj := rank(objs[i]), rank(objs[j])
		if ri != rj {
			return ri < rj
		}
		if objs[i].GetKind() != objs[j].GetKind() {
			return objs[i].GetKind() < objs[j].GetKind()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// uninstallOrder is the order uninstall deletes objects in: the
// ValidatingWebhookConfiguration first (so that the API server stops calling
// the webhook before anything it needs goes away), then the rest in reverse
// install order, the namespace last.
func uninstallOrder(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	copy(out, objs)
	SortForInstall(out)
	var vwcs, rest []*unstructured.Unstructured
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].GetKind() == "ValidatingWebhookConfiguration" {
			vwcs = append(vwcs, out[i])
		} else {
			rest = append(rest, out[i])
		}
	}
	return append(vwcs, rest...)
}
