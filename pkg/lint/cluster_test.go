package lint

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

var (
	gvrCP     = schema.GroupVersionResource{Group: rules.GroupKonnect, Version: "v1alpha1", Resource: "konnectgatewaycontrolplanes"}
	gvrSvc    = schema.GroupVersionResource{Group: rules.GroupConfiguration, Version: "v1alpha1", Resource: "kongservices"}
	gvrSecret = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// fakeCluster serves KonnectGatewayControlPlane, KongService and Secret (and
// the KonnectExtension kinds the generation asks for).
func fakeCluster(t *testing.T, newExt, legacyExt bool, objs ...runtime.Object) (*Cluster, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{gvrCP.GroupVersion(), gvrSvc.GroupVersion(), gvrSecret.GroupVersion(),
		{Group: rules.GroupGatewayOperator, Version: "v1alpha1"}})
	mapper.Add(gvrCP.GroupVersion().WithKind("KonnectGatewayControlPlane"), meta.RESTScopeNamespace)
	mapper.Add(gvrSvc.GroupVersion().WithKind("KongService"), meta.RESTScopeNamespace)
	mapper.Add(gvrSecret.GroupVersion().WithKind("Secret"), meta.RESTScopeNamespace)
	if newExt {
		mapper.Add(schema.GroupVersionKind{Group: rules.GroupKonnect, Version: "v1alpha1", Kind: "KonnectExtension"}, meta.RESTScopeNamespace)
	}
	if legacyExt {
		mapper.Add(schema.GroupVersionKind{Group: rules.GroupGatewayOperator, Version: "v1alpha1", Kind: "KonnectExtension"}, meta.RESTScopeNamespace)
	}
	listKinds := map[schema.GroupVersionResource]string{
		gvrCP:  "KonnectGatewayControlPlaneList",
		gvrSvc: "KongServiceList",
		{Group: rules.GroupKonnect, Version: "v1alpha1", Resource: "konnectextensions"}:         "KonnectExtensionList",
		{Group: rules.GroupGatewayOperator, Version: "v1alpha1", Resource: "konnectextensions"}: "KonnectExtensionList",
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	scheme := runtime.NewScheme()
	require.NoError(t, metav1.AddMetaToScheme(scheme))
	secret := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "tok", Namespace: "team-a", Labels: map[string]string{rules.CredentialLabel: rules.CredentialLabelValue}},
	}
	md := metadatafake.NewSimpleMetadataClient(scheme, secret)
	return &Cluster{Mapper: mapper, Dynamic: dyn, Metadata: md}, dyn
}

func cp(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectGatewayControlPlane",
		"metadata": map[string]any{"name": name, "namespace": ns, "annotations": map[string]any{"big": "dropped"}},
		"spec":     map[string]any{"name": "konnect-" + name},
	}}
}

func TestClusterGenerationFromDiscovery(t *testing.T) {
	for _, tc := range []struct {
		newExt, legacyExt bool
		want              rules.Generation
	}{
		{true, true, rules.GenerationKGO15Plus},
		{false, true, rules.GenerationKGO14},
		{false, false, rules.GenerationUnknown},
	} {
		c, _ := fakeCluster(t, tc.newExt, tc.legacyExt)
		got, err := c.Generation()
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// kong-operator 2.x CRDs: KonnectGatewayControlPlane v1alpha1 and v1alpha2,
// KonnectExtension v1alpha2 only, no gateway-operator.konghq.com one.
func TestClusterGenerationFromDiscoveryKO20(t *testing.T) {
	v1, v2 := schema.GroupVersion{Group: rules.GroupKonnect, Version: "v1alpha1"}, schema.GroupVersion{Group: rules.GroupKonnect, Version: "v1alpha2"}
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{v2, v1})
	mapper.Add(v1.WithKind("KonnectGatewayControlPlane"), meta.RESTScopeNamespace)
	mapper.Add(v2.WithKind("KonnectGatewayControlPlane"), meta.RESTScopeNamespace)
	mapper.Add(v2.WithKind("KonnectExtension"), meta.RESTScopeNamespace)
	got, err := (&Cluster{Mapper: mapper}).Generation()
	require.NoError(t, err)
	assert.Equal(t, rules.GenerationKO20, got)

	// With the KonnectGatewayControlPlane CRD readable, its version
	// annotation names the release.
	scheme := runtime.NewScheme()
	require.NoError(t, metav1.AddMetaToScheme(scheme))
	crd := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: "konnectgatewaycontrolplanes.konnect.konghq.com",
			Annotations: map[string]string{"kubernetes-configuration.konghq.com/version": "v2.3.0-rc.3"}},
	}
	c := &Cluster{Mapper: mapper, Metadata: metadatafake.NewSimpleMetadataClient(scheme, crd)}
	got, err = c.Generation()
	require.NoError(t, err)
	assert.Equal(t, rules.GenerationKO23, got)
	// Not found (or forbidden): discovery decides, and the facts say why.
	c.Metadata = metadatafake.NewSimpleMetadataClient(scheme)
	served, err := c.Release(context.Background())
	require.NoError(t, err)
	assert.Equal(t, rules.GenerationKO20, rules.GenerationFor(served))
	assert.Equal(t, "not found", served.CRDUnread)
}

func TestClusterLiveListsLookupKindsInTheNamespacesStripped(t *testing.T) {
	c, _ := fakeCluster(t, true, true, cp("team-a", "a"), cp("team-b", "b"), cp("elsewhere", "c"))
	live, err := c.Live(context.Background(), []string{"team-a", "team-b"})
	require.NoError(t, err)
	assert.Empty(t, live.Untracked)
	var got []string
	for _, o := range live.Objects {
		got = append(got, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
		assert.Nil(t, o.GetAnnotations(), "stripped")
	}
	assert.ElementsMatch(t, []string{"KonnectGatewayControlPlane team-a/a", "KonnectGatewayControlPlane team-b/b", "Secret team-a/tok"}, got)
}

func TestClusterLiveUntracksForbiddenKinds(t *testing.T) {
	c, dyn := fakeCluster(t, true, true, cp("team-a", "a"))
	dyn.PrependReactor("list", "kongservices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(gvrSvc.GroupResource(), "", nil)
	})
	live, err := c.Live(context.Background(), []string{"team-a"})
	require.NoError(t, err)
	assert.Equal(t, []schema.GroupKind{rules.GKKongService}, live.Untracked)
	assert.Len(t, live.Objects, 2)

	dyn.PrependReactor("list", "konnectgatewaycontrolplanes", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is down")
	})
	_, err = c.Live(context.Background(), []string{"team-a"})
	assert.ErrorContains(t, err, "listing konnectgatewaycontrolplanes.konnect.konghq.com in namespace team-a: etcd is down")
}
