package kgoapi_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// crdMetadata is the metadata of a CRD file of test/crds, as the API server
// would return it for a metadata-only GET.
func crdMetadata(t *testing.T, dir string) *metav1.PartialObjectMetadata {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "test", "crds", dir, "konnect.konghq.com_konnectgatewaycontrolplanes.yaml"))
	require.NoError(t, err)
	var crd struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	require.NoError(t, yaml.Unmarshal(b, &crd))
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: crd.Metadata,
	}
}

func metadataClient(objs ...runtime.Object) *metadatafake.FakeMetadataClient {
	scheme := metadatafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(scheme)
	return metadatafake.NewSimpleMetadataClient(scheme, objs...)
}

// The shipped CRDs of kong-operator 2.0 (kubernetes-configuration v2.0.1),
// 2.2.3 and 2.3.0-rc.3 name their release; the generation follows it, and
// wins over what the kinds served would say.
func TestReadCRDVersionOfShippedCRDs(t *testing.T) {
	for dir, want := range map[string]rules.Generation{
		"kc-v2.0.1":      rules.GenerationKO20,
		"ko-v2.2.3":      rules.GenerationKO22,
		"ko-v2.3.0-rc.3": rules.GenerationKO23,
	} {
		t.Run(dir, func(t *testing.T) {
			got, err := kgoapi.ReadCRDVersion(context.Background(), metadataClient(crdMetadata(t, dir)))
			require.NoError(t, err)
			require.Empty(t, got.Unread)
			s := rules.Served{ControlPlaneV1Alpha2: true, KonnectExtension: true, CRDVersion: got.Version}
			require.Equal(t, want, rules.GenerationFor(s), "annotation %q", got.Version)
			require.Contains(t, s.ReleaseSource(), "the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is "+got.Version)
		})
	}
}

// A user who may not read CRDs, or a CRD gone since discovery: no error, the
// generation comes from the kinds served and the source says why.
func TestReadCRDVersionFallsBackToDiscovery(t *testing.T) {
	forbidden := metadataClient()
	forbidden.PrependReactor("get", "customresourcedefinitions", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, kgoapi.ControlPlaneCRDName, nil)
	})
	for name, tc := range map[string]struct {
		client *metadatafake.FakeMetadataClient
		unread string
	}{
		"forbidden": {forbidden, "reading CustomResourceDefinitions is forbidden"},
		"not found": {metadataClient(), "not found"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := kgoapi.ReadCRDVersion(context.Background(), tc.client)
			require.NoError(t, err)
			require.Equal(t, kgoapi.CRDVersion{Unread: tc.unread}, got)
			s := rules.Served{ControlPlaneV1Alpha2: true, KonnectExtension: true, ReferenceGrant: true, EventGateway: true, CRDUnread: got.Unread}
			require.Equal(t, rules.GenerationKO22, rules.GenerationFor(s))
			require.Equal(t, "from the kinds served: the KonnectGatewayControlPlane CRD could not be read ("+tc.unread+")", s.ReleaseSource())
		})
	}
	// kubernetes-configuration v1.5.3 (KGO 1.6) annotates its own version,
	// which names no KGO release: discovery decides.
	s := rules.Served{KonnectExtension: true, LegacyKonnectExtension: true, CRDVersion: "v1.5.3"}
	require.Equal(t, rules.GenerationKGO15Plus, rules.GenerationFor(s))
	require.Equal(t, "from the kinds served", s.ReleaseSource())
}

func TestServedFromResources(t *testing.T) {
	gvr := func(g, v, r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: v, Resource: r}
	}
	s := rules.ServedFromResources([]schema.GroupVersionResource{
		gvr("konnect.konghq.com", "v1alpha2", "konnectgatewaycontrolplanes"),
		gvr("konnect.konghq.com", "v1alpha2", "konnectextensions"),
		gvr("configuration.konghq.com", "v1alpha1", "kongreferencegrants"),
		gvr("konnect.konghq.com", "v1alpha1", "konnecteventgateways"),
	})
	require.Equal(t, rules.Served{ControlPlaneV1Alpha2: true, KonnectExtension: true, ReferenceGrant: true, EventGateway: true}, s)
	require.Equal(t, rules.GenerationKO22, rules.GenerationFor(s))
	s = rules.ServedFromResources([]schema.GroupVersionResource{gvr("gateway-operator.konghq.com", "v1alpha1", "konnectextensions"), gvr("konnect.konghq.com", "v1alpha1", "konnectgatewaycontrolplanes")})
	require.Equal(t, rules.GenerationKGO14, rules.GenerationFor(s))
}
