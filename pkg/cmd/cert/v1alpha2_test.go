package cert

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// kong-operator 2.x: KonnectGatewayControlPlane is read as v1alpha2, its Konnect fields in
// spec.createControlPlaneRequest; messages cite that path.

func TestIssueOnKO2ReadsTheV1Alpha2ControlPlane(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	out, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	fp, err := cert.FingerprintOfPEM(e.secretData("dp")["tls.crt"])
	require.NoError(t, err)
	reg := e.get(gvrDPCert, "dp-"+fp[:10])
	require.NotNil(t, reg)
	assert.Equal(t, "gw-cp", str(reg, "spec", "controlPlaneRef", "konnectNamespacedRef", "name"))
	assert.Equal(t, "kongdataplaneclientcertificate.configuration.konghq.com/dp-"+fp[:10]+" created\nsecret/dp created\n", out)
	assert.Contains(t, errOut, "uses pinned_client_certs (from Konnect)", "status.id of the v1alpha2 object was read")
	assert.NotContains(t, out+errOut, e.token)
	assert.Equal(t, 1, e.discoveries, "one discovery request")
}

func TestIssueOnKO2ResolvesTheKonnectNameFromTheCreateRequest(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	_, errOut, err := e.run("issue", "dp", "--control-plane", "Gateway CP")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, `note: "Gateway CP" is the Konnect name (spec.createControlPlaneRequest.name) of KonnectGatewayControlPlane kong/gw-cp; controlPlaneRef uses its resource name "gw-cp"`)
	regs := e.list(gvrDPCert)
	require.Len(t, regs, 1)
	assert.Equal(t, "gw-cp", str(&regs[0], "spec", "controlPlaneRef", "konnectNamespacedRef", "name"))
}

func TestIssueOnKO2BadControlPlanesCiteTheV1Alpha2Fields(t *testing.T) {
	tests := []struct {
		name  string
		extra []*unstructured.Unstructured
		args  []string
		want  string
	}{
		{
			name: "unknown control plane suggests the resource and the Konnect names",
			args: []string{"issue", "dp", "--control-plane", "Gateway"},
			want: `--control-plane "Gateway": no KonnectGatewayControlPlane in namespace "kong" has that resource name or Konnect name (spec.createControlPlaneRequest.name); did you mean "Gateway CP"?`,
		},
		{
			name:  "two control planes with that Konnect name",
			extra: []*unstructured.Unstructured{controlPlaneV2(testNS, "gw-cp-2", "", kgoapi.ControlPlaneRequest{Name: "Gateway CP", AuthRef: "konnect-auth"})},
			args:  []string{"issue", "dp", "--control-plane", "Gateway CP"},
			want:  `--control-plane "Gateway CP": 2 KonnectGatewayControlPlanes in namespace "kong" have that Konnect name (spec.createControlPlaneRequest.name): gw-cp, gw-cp-2; pass the resource name instead`,
		},
		{
			name:  "KIC control plane",
			extra: []*unstructured.Unstructured{controlPlaneV2(testNS, "kic-cp", "", kgoapi.ControlPlaneRequest{Name: "KIC", ClusterType: "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", AuthRef: "konnect-auth"})},
			args:  []string{"issue", "dp", "--control-plane", "kic-cp"},
			want:  "KonnectGatewayControlPlane kong/kic-cp is a Kong Ingress Controller control plane",
		},
		{
			name: "Mirror of a KIC control plane, as kong-operator found it",
			extra: []*unstructured.Unstructured{func() *unstructured.Unstructured {
				u := kgoapi.NewMirrorControlPlane(kgoapi.V1Alpha2, testNS, "kic-mirror", "8c5b3e62-1f0e-4a59-9a53-6f1e9b3f2a10", "konnect-auth")
				u.Object["status"] = map[string]any{"clusterType": "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"}
				return u
			}()},
			args: []string{"issue", "dp", "--control-plane", "kic-mirror"},
			want: "KonnectGatewayControlPlane kong/kic-mirror is a Kong Ingress Controller control plane",
		},
		{
			name:  "a v1alpha1 object is not what kong-operator 2.x reads",
			extra: []*unstructured.Unstructured{controlPlaneObj(testNS, "old-cp", "Old", "", "konnect-auth", nil)},
			args:  []string{"issue", "dp", "--control-plane", "old-cp"},
			want:  `--control-plane "old-cp": no KonnectGatewayControlPlane in namespace "kong" has that resource name or Konnect name (spec.createControlPlaneRequest.name)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := standardEnvFor(t, kgoapi.V1Alpha2, "", tt.extra...)
			out, _, err := e.run(tt.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, out)
			e.assertNothingWritten(t)
		})
	}
}

func TestIssueOnKO2AcceptsAProgrammedControlPlaneWithoutAName(t *testing.T) {
	// Programmed (status.id) is what counts: the name is only needed to create it.
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	u := e.get(gvrControlPlaneV2, "gw-cp")
	unstructured.RemoveNestedField(u.Object, "spec", "createControlPlaneRequest")
	require.NoError(t, e.dyn.Tracker().Update(gvrControlPlaneV2, u, testNS))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pinned_client_certs (from Konnect)")
	assert.NotNil(t, e.get(gvrSecret, "dp"))
}

func TestIssueOnKO2FallsBackToTheCreateRequestAuthType(t *testing.T) {
	e := newEnv(t)
	e.serveV1Alpha2()
	e.create(controlPlaneV2(testNS, "gw-cp", "", kgoapi.ControlPlaneRequest{Name: "Gateway CP", AuthType: "pki_client_certs", AuthRef: "missing-auth"}))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pki_client_certs (from spec.createControlPlaneRequest.auth_type of KonnectGatewayControlPlane kong/gw-cp (Konnect not asked: KonnectAPIAuthConfiguration kong/missing-auth does not exist))")
	require.NotNil(t, e.get(gvrSecret, "dp-ca"), "pki: a CA was generated")
}

func TestIssueOnKO2SaysWhichFieldsLeftTheAuthTypeOpen(t *testing.T) {
	e := newEnv(t)
	e.serveV1Alpha2()
	e.create(
		controlPlaneV2(testNS, "gw-cp", "", kgoapi.ControlPlaneRequest{Name: "Gateway CP", AuthRef: "missing-auth"}),
		kgoapi.NewMirrorControlPlane(kgoapi.V1Alpha2, testNS, "mirror", "8c5b3e62-1f0e-4a59-9a53-6f1e9b3f2a10", "missing-auth"),
	)
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pinned_client_certs (Konnect's default: spec.createControlPlaneRequest.auth_type is unset (Konnect not asked:")
	_, errOut, err = e.run("issue", "dp-mirror", "--control-plane", "mirror")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pinned_client_certs (Konnect's default: Mirror KonnectGatewayControlPlane kong/mirror does not say (Konnect not asked:")
	assert.Contains(t, errOut, "pass --auth-type if the control plane uses pki_client_certs")
}

func TestIssueOnAKO2MirrorAsksKonnectWithTheMirroredID(t *testing.T) {
	e := newEnv(t)
	e.serveV1Alpha2()
	cp := e.konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "Made elsewhere", AuthType: konnecttest.AuthTypePKIClientCerts})
	e.cpID, e.token = cp.ID, e.konnect.IssueToken()
	e.create(authToken(testNS, "konnect-auth", e.token), kgoapi.NewMirrorControlPlane(kgoapi.V1Alpha2, testNS, "mirror", cp.ID, "konnect-auth"))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "mirror")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, `Control plane kong/mirror uses pki_client_certs (from Konnect): registering the CA "dp-ca"`)
}

func TestIssueOnKO22RegistersOnAControlPlaneGroup(t *testing.T) {
	// kong-operator 2.2 and later register data-plane certificates on control-plane groups (KGO 1.x and
	// kong-operator 2.0/2.1 do not).
	e := standardEnvFor(t, kgoapi.V1Alpha2, "",
		controlPlaneV2(testNS, "group-cp", "", kgoapi.ControlPlaneRequest{Name: "Group", ClusterType: konnecttest.ClusterTypeControlPlaneGroup, AuthRef: "konnect-auth"}))
	e.serveKO22()
	out, errOut, err := e.run("issue", "dp", "--control-plane", "group-cp")
	require.NoError(t, err, errOut)
	fp, err := cert.FingerprintOfPEM(e.secretData("dp")["tls.crt"])
	require.NoError(t, err)
	assert.Contains(t, out, "dp-"+fp[:10]+" created")
	reg := e.get(gvrDPCert, "dp-"+fp[:10])
	require.NotNil(t, reg)
	assert.Equal(t, "group-cp", str(reg, "spec", "controlPlaneRef", "konnectNamespacedRef", "name"))
}

func TestIssueOnKGO1RefusesAControlPlaneGroupAndWritesNothing(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha1, "",
		kgoapi.NewOriginControlPlane(kgoapi.V1Alpha1, testNS, "group-cp", kgoapi.ControlPlaneRequest{Name: "Group", ClusterType: konnecttest.ClusterTypeControlPlaneGroup, AuthRef: "konnect-auth"}))
	out, _, err := e.run("issue", "dp", "--control-plane", "group-cp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "KonnectGatewayControlPlane kong/group-cp is a control plane group (CLUSTER_TYPE_CONTROL_PLANE_GROUP): KGO 1.x and kong-operator before 2.2 do not register data-plane certificates on groups")
	assert.Contains(t, err.Error(), "issue the certificate for each member of the group (spec.members)")
	assert.Empty(t, out)
	e.assertNothingWritten(t)
}

// kong-operator 2.0 and 2.1 serve v1alpha2 but still refuse the certificate on a group (KON1006).
func TestIssueOnKO20RefusesAControlPlaneGroupAndWritesNothing(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "",
		controlPlaneV2(testNS, "group-cp", "", kgoapi.ControlPlaneRequest{Name: "Group", ClusterType: konnecttest.ClusterTypeControlPlaneGroup, AuthRef: "konnect-auth"}))
	out, _, err := e.run("issue", "dp", "--control-plane", "group-cp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "KonnectGatewayControlPlane kong/group-cp is a control plane group (CLUSTER_TYPE_CONTROL_PLANE_GROUP): KGO 1.x and kong-operator before 2.2 do not register")
	assert.Empty(t, out)
	e.assertNothingWritten(t)
}

func TestListOnKO2ChecksKonnectThroughTheV1Alpha2ControlPlane(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	e.registerInKonnect(e.secretData("dp")["tls.crt"])
	res, errOut := e.listJSON()
	require.Len(t, res.Items, 1)
	assert.Equal(t, KonnectRegistered, res.Items[0].Konnect, errOut)
	assert.Equal(t, "gw-cp", res.Items[0].ControlPlane)
	assert.Empty(t, errOut)
}

func TestDiscoveryFailureIsSaidAndNothingIsWritten(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	e.discoveryErr = errors.New("connection refused")
	out, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "discovering which KonnectGatewayControlPlane version the cluster serves (konnect.konghq.com/v1alpha2): connection refused")
	assert.Empty(t, out)
	e.assertNothingWritten(t)
}

func TestListSaysWhenDiscoveryFailed(t *testing.T) {
	e := standardEnvFor(t, kgoapi.V1Alpha2, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	e.discoveryErr = errors.New("connection refused")
	res, errOut := e.listJSON()
	require.Len(t, res.Items, 1, "the certificates are still listed")
	assert.Equal(t, KonnectUnknown, res.Items[0].Konnect)
	assert.Contains(t, res.Items[0].KonnectDetail, "connection refused")
	assert.Contains(t, errOut, "note: not checked in Konnect for control plane gw-cp: discovering which KonnectGatewayControlPlane version the cluster serves")
}
