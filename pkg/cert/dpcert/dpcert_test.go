package dpcert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

func TestDataPlaneCertSecretRoundTripsPinnedAndPKI(t *testing.T) {
	now := time.Now()
	leaf, err := cert.IssueSelfSigned(cert.Template{CommonName: "dp", Now: now})
	require.NoError(t, err)

	u := DataPlaneCertSecret("ns", "dp-cert", "gw-cp", DataPlaneCert{Pair: leaf, Registered: leaf.Cert})
	assert.Equal(t, SecretTypeTLS, u.Object["type"])
	// kong-operator 2.x reads only Secrets labelled konghq.com/secret=true, and its
	// KonnectExtension controller watches only those labelled konghq.com/konnect-dp-cert.
	assert.Equal(t, map[string]string{LabelManagedBy: ManagedByValue, LabelRole: RoleDataPlane, LabelControlPlane: "gw-cp",
		kgoapi.SecretLabel: "true", kgoapi.DataPlaneCertLabel: "true"}, u.GetLabels())
	assert.Equal(t, RegisteredLeaf, u.GetAnnotations()[AnnoRegistered])
	got, err := ReadDataPlaneCertSecret(u, now, time.Hour)
	require.NoError(t, err)
	assert.True(t, got.Registered.Equal(leaf.Cert))
	assert.Empty(t, got.CAPEM)

	ca, err := cert.IssueCA(cert.Template{CommonName: CASecretName("dp-cert"), Now: now})
	require.NoError(t, err)
	signed, err := cert.IssueSigned(cert.Template{CommonName: "dp", Now: now}, ca)
	require.NoError(t, err)
	u = DataPlaneCertSecret("ns", "dp-cert", "gw-cp", DataPlaneCert{Pair: signed, CAPEM: ca.CertPEM, Registered: ca.Cert, CASecret: CASecretName("dp-cert")})
	assert.Equal(t, RegisteredCA, u.GetAnnotations()[AnnoRegistered])
	assert.Equal(t, "dp-cert-ca", u.GetAnnotations()[AnnoCASecret])
	got, err = ReadDataPlaneCertSecret(u, now, time.Hour)
	require.NoError(t, err)
	assert.True(t, got.Registered.Equal(ca.Cert))
	assert.Equal(t, ca.CertPEM, got.CAPEM)
	assert.Equal(t, "dp-cert-ca", got.CASecret)

	caSecret := CASecret("ns", "dp-cert", ca)
	assert.Equal(t, "dp-cert-ca", caSecret.GetName())
	assert.Equal(t, map[string]string{LabelManagedBy: ManagedByValue, LabelRole: RoleCA, LabelSecret: "dp-cert"}, caSecret.GetLabels())
	data, err := SecretData(caSecret)
	require.NoError(t, err)
	assert.Equal(t, ca.KeyPEM, data[KeyTLSKey])
}

func TestRegistrationNamesTheControlPlaneResource(t *testing.T) {
	leaf, err := cert.IssueSelfSigned(cert.Template{CommonName: "dp"})
	require.NoError(t, err)
	u := Registration("ns", "dp-cert", "gw-cp", leaf.Cert)
	assert.Equal(t, KindDPCert, u.GetKind())
	assert.Equal(t, "dp-cert-"+cert.ShortFingerprint(leaf.Cert), u.GetName())
	assert.Equal(t, RegistrationName("dp-cert", leaf.Cert), u.GetName())
	ref, _, _ := unstructured.NestedString(u.Object, "spec", "controlPlaneRef", "konnectNamespacedRef", "name")
	assert.Equal(t, "gw-cp", ref)
	assert.Equal(t, "dp-cert", u.GetLabels()[LabelSecret])
	assert.Equal(t, "gw-cp-dp-cert", DefaultSecretName("gw-cp"))
}

func TestForeignOwner(t *testing.T) {
	secret := func(mutate func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret"}}
		mutate(u)
		return u
	}
	assert.Empty(t, ForeignOwner(secret(func(u *unstructured.Unstructured) {
		u.SetLabels(map[string]string{LabelManagedBy: ManagedByValue})
	})))
	assert.Equal(t, "its owner Certificate c", ForeignOwner(secret(func(u *unstructured.Unstructured) {
		u.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Certificate", Name: "c"}})
	})))
	assert.Equal(t, "helm (label "+LabelManagedBy+")", ForeignOwner(secret(func(u *unstructured.Unstructured) {
		u.SetLabels(map[string]string{LabelManagedBy: "helm"})
	})))
	assert.Equal(t, "field manager kubectl-client-side-apply", ForeignOwner(secret(func(u *unstructured.Unstructured) {
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldManager}, {Manager: "kubectl-client-side-apply"}})
	})))
	assert.Equal(t, "someone else (it has no "+LabelManagedBy+"="+ManagedByValue+" label)", ForeignOwner(secret(func(*unstructured.Unstructured) {})))
}
