package cert

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

func TestIssueCreatesTLSSecretAndRegistrationNamingTheControlPlaneResource(t *testing.T) {
	e := standardEnv(t, "")
	out, errOut, err := e.run("issue", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)

	data := e.secretData("gw-cp-dp-cert")
	pair, err := cert.ValidatePair(data["tls.crt"], data["tls.key"], cert.Source{}, time.Now(), 0)
	require.NoError(t, err)
	assert.Equal(t, cert.ECDSAP256, pair.KeyType())
	assert.Equal(t, "gw-cp-dp-cert", pair.Cert.Subject.CommonName)
	sec := e.get(gvrSecret, "gw-cp-dp-cert")
	assert.Equal(t, "kubernetes.io/tls", secretType(sec))
	assert.Equal(t, "kubectl-konnect", sec.GetLabels()[dpcert.LabelManagedBy])

	regName := "gw-cp-dp-cert-" + cert.ShortFingerprint(pair.Cert)
	reg := e.get(gvrDPCert, regName)
	require.NotNil(t, reg, "registration %s", regName)
	assert.Equal(t, "konnectNamespacedRef", str(reg, "spec", "controlPlaneRef", "type"))
	assert.Equal(t, "gw-cp", str(reg, "spec", "controlPlaneRef", "konnectNamespacedRef", "name"), "the resource name, not the Konnect name")
	assert.Equal(t, string(cert.EncodeCertsPEM(pair.Cert)), str(reg, "spec", "cert"))

	assert.Equal(t, "kongdataplaneclientcertificate.configuration.konghq.com/"+regName+" created\nsecret/gw-cp-dp-cert created\n", out)
	assert.Contains(t, errOut, "uses pinned_client_certs (from Konnect): registering the self-signed certificate itself")
	assert.NotContains(t, out+errOut, "PRIVATE KEY", "no key without -o")
	assert.NotContains(t, out+errOut, e.token, "the token is never printed")

	writes, dry := e.takeWrites()
	assert.Equal(t, []string{"apply kongdataplaneclientcertificates/" + regName, "apply secrets/gw-cp-dp-cert"}, writes)
	assert.Equal(t, []string{"apply kongdataplaneclientcertificates/" + regName, "apply secrets/gw-cp-dp-cert"}, dry, "server-side dry-run preflight before the first write")
}

func TestIssueTwiceMakesZeroWritesAndSaysSo(t *testing.T) {
	e := standardEnv(t, "")
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	before := e.get(gvrSecret, "dp").GetResourceVersion()
	e.takeWrites()

	out, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	writes, dry := e.takeWrites()
	assert.Empty(t, writes, "an idempotent re-run writes nothing")
	assert.Empty(t, dry, "not even a dry run")
	assert.Equal(t, before, e.get(gvrSecret, "dp").GetResourceVersion())
	assert.Contains(t, out, "secret/dp unchanged")
	assert.Contains(t, errOut, "already holds a valid certificate")
	assert.Contains(t, errOut, "nothing changed")

	// Asking for another key type does not change anything silently either.
	_, errOut, err = e.run("issue", "dp", "--control-plane", "gw-cp", "--key-type", "rsa")
	require.NoError(t, err)
	writes, _ = e.takeWrites()
	assert.Empty(t, writes)
	assert.Contains(t, errOut, "the current certificate has a ecdsa-p256 key, not rsa-2048; kubectl konnect cert rotate dp")
}

func TestIssueRecreatesAMissingRegistrationOnly(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	regs := e.list(gvrDPCert)
	require.Len(t, regs, 1)
	require.NoError(t, e.dyn.Tracker().Delete(gvrDPCert, testNS, regs[0].GetName()))
	e.takeWrites()

	out, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	writes, _ := e.takeWrites()
	assert.Equal(t, []string{"apply kongdataplaneclientcertificates/" + regs[0].GetName()}, writes)
	assert.Contains(t, out, "secret/dp unchanged")
}

func TestIssueResolvesTheKonnectNameAndSaysSo(t *testing.T) {
	e := standardEnv(t, "")
	_, errOut, err := e.run("issue", "dp", "--control-plane", "Gateway CP")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, `note: "Gateway CP" is the Konnect name (spec.name) of KonnectGatewayControlPlane kong/gw-cp; controlPlaneRef uses its resource name "gw-cp"`)
	regs := e.list(gvrDPCert)
	require.Len(t, regs, 1)
	assert.Equal(t, "gw-cp", str(&regs[0], "spec", "controlPlaneRef", "konnectNamespacedRef", "name"))
}

func TestIssueBadInputsFailWithTheFixAndWriteNothing(t *testing.T) {
	now := time.Now()
	expiredCA, err := cert.IssueCA(cert.Template{CommonName: "old-ca", Validity: time.Hour, Now: now.Add(-3 * time.Hour)})
	require.NoError(t, err)
	goodCA, err := cert.IssueCA(cert.Template{CommonName: "ca", Validity: 10 * cert.DefaultValidity, Now: now})
	require.NoError(t, err)
	otherCA, err := cert.IssueCA(cert.Template{CommonName: "ca2", Now: now})
	require.NoError(t, err)
	leaf, err := cert.IssueSelfSigned(cert.Template{CommonName: "leaf", Now: now})
	require.NoError(t, err)
	shortCA, err := cert.IssueCA(cert.Template{CommonName: "short-ca", Validity: 30 * 24 * time.Hour, Now: now})
	require.NoError(t, err)
	dir := t.TempDir()
	caCrt := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caCrt, goodCA.CertPEM, 0o600))
	unreadable := filepath.Join(dir, "unreadable.key")
	require.NoError(t, os.WriteFile(unreadable, goodCA.KeyPEM, 0o000))

	tlsData := func(kp *cert.KeyPair) map[string][]byte {
		return map[string][]byte{"tls.crt": kp.CertPEM, "tls.key": kp.KeyPEM}
	}
	tests := []struct {
		name  string
		extra []*unstructured.Unstructured
		args  []string
		want  []string
	}{
		{
			name: "unknown control plane suggests close names",
			args: []string{"issue", "dp", "--control-plane", "gw-cpp"},
			want: []string{`--control-plane "gw-cpp": no KonnectGatewayControlPlane in namespace "kong" has that resource name or Konnect name (spec.name); did you mean "gw-cp"?`, "kubectl get konnectgatewaycontrolplanes -n kong"},
		},
		{
			name:  "control plane of another namespace, found by search",
			extra: []*unstructured.Unstructured{controlPlaneObj("other", "east-cp", "East", "", "a", nil)},
			args:  []string{"issue", "dp", "--control-plane", "east-cp"},
			want:  []string{`KonnectGatewayControlPlane other/east-cp is in namespace "other", but the certificate goes to namespace "kong" and controlPlaneRef cannot cross namespaces: run with -n other`},
		},
		{
			name: "control plane of another namespace, given as ns/name",
			args: []string{"issue", "dp", "--control-plane", "other/gw-cp"},
			want: []string{"controlPlaneRef cannot cross namespaces: run with -n other"},
		},
		{
			name:  "KIC control plane",
			extra: []*unstructured.Unstructured{controlPlaneObj(testNS, "kic-cp", "KIC", "", "konnect-auth", map[string]any{"cluster_type": "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"})},
			args:  []string{"issue", "dp", "--control-plane", "kic-cp"},
			want:  []string{"is a Kong Ingress Controller control plane", "Konnect does not accept data-plane certificates for it"},
		},
		{
			name:  "Secret of another type",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "dp", "Opaque", nil, map[string][]byte{"password": []byte("x")})},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp"},
			want:  []string{"Secret kong/dp exists with type Opaque, not kubernetes.io/tls: choose another NAME, or pass --force to replace it"},
		},
		{
			name: "Secret with a foreign owner",
			extra: []*unstructured.Unstructured{func() *unstructured.Unstructured {
				u := rawSecret(testNS, "dp", "kubernetes.io/tls", nil, tlsData(leaf))
				u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "dp", UID: "u1"}})
				return u
			}()},
			args: []string{"issue", "dp", "--control-plane", "gw-cp"},
			want: []string{"Secret kong/dp belongs to its owner Certificate dp, not kubectl-konnect: choose another NAME, or pass --force to take it over"},
		},
		{
			name:  "Secret managed by another tool",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "dp", "kubernetes.io/tls", map[string]string{dpcert.LabelManagedBy: "Helm"}, tlsData(leaf))},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp"},
			want:  []string{"Secret kong/dp belongs to Helm (label app.kubernetes.io/managed-by), not kubectl-konnect"},
		},
		{
			name:  "expired CA",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "my-ca", "kubernetes.io/tls", nil, tlsData(expiredCA))},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "my-ca"},
			want:  []string{"--ca-secret kong/my-ca key tls.crt: the certificate expired at", "renew the CA, or leave out --ca-secret to generate a new one"},
		},
		{
			name:  "CA that is not a CA",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "my-ca", "kubernetes.io/tls", nil, tlsData(leaf))},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "my-ca"},
			want:  []string{`--ca-secret kong/my-ca key tls.crt: the certificate "leaf" is not a CA`, "point --ca-secret at a CA"},
		},
		{
			name:  "CA with another CA's key",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "my-ca", "kubernetes.io/tls", nil, map[string][]byte{"tls.crt": goodCA.CertPEM, "tls.key": otherCA.KeyPEM})},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "my-ca"},
			want:  []string{"--ca-secret kong/my-ca key tls.key: the ecdsa-p256 key does not belong to the certificate", "put the CA's own key in tls.key"},
		},
		{
			name: "missing CA Secret",
			args: []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "nope"},
			want: []string{"--ca-secret nope: there is no Secret kong/nope"},
		},
		{
			name:  "CA that expires before the certificate would",
			extra: []*unstructured.Unstructured{rawSecret(testNS, "my-ca", "kubernetes.io/tls", nil, tlsData(shortCA))},
			args:  []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "my-ca"},
			want:  []string{"--validity 1y: the certificate would be valid until", "after its CA expires", "shorten --validity"},
		},
		{
			name: "unreadable CA certificate file",
			args: []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-cert-file", filepath.Join(dir, "missing.crt"), "--ca-key-file", unreadable},
			want: []string{"--ca-cert-file: open " + filepath.Join(dir, "missing.crt") + ": no such file or directory: give a readable PEM file"},
		},
		{
			name: "unreadable CA key file",
			args: []string{"issue", "dp", "--control-plane", "gw-cp", "--ca-cert-file", caCrt, "--ca-key-file", filepath.Join(dir, "nokey")},
			want: []string{"--ca-key-file: open " + filepath.Join(dir, "nokey") + ": no such file or directory: give a readable PEM file"},
		},
		{
			name: "out-dir that is a file",
			args: []string{"issue", "dp", "--control-plane", "gw-cp", "--out-dir", caCrt},
			want: []string{"--out-dir " + caCrt + ":", "give a directory you can write to"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := standardEnv(t, "", tt.extra...)
			_, _, err := e.run(tt.args...)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			e.assertNothingWritten(t)
		})
	}
}

func TestIssueForceReplacesASecretOfAnotherType(t *testing.T) {
	e := standardEnv(t, "", rawSecret(testNS, "dp", "Opaque", nil, map[string][]byte{"password": []byte("x")}))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--force")
	require.NoError(t, err, errOut)
	assert.Equal(t, "kubernetes.io/tls", secretType(e.get(gvrSecret, "dp")))
	assert.Contains(t, errOut, "Replaced Secret kong/dp of type Opaque (--force)")
}

func TestIssueRefusesABrokenSecretOfOursAndPointsToRotate(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	other, err := cert.IssueSelfSigned(cert.Template{CommonName: "x"})
	require.NoError(t, err)
	sec := e.get(gvrSecret, "dp")
	require.NoError(t, unstructured.SetNestedField(sec.Object, b64(other.KeyPEM), "data", "tls.key"))
	require.NoError(t, e.dyn.Tracker().Update(gvrSecret, sec, testNS))
	e.takeWrites()

	_, _, err = e.run("issue", "dp", "--control-plane", "gw-cp")
	require.ErrorIs(t, err, cert.ErrKeyMismatch)
	assert.Contains(t, err.Error(), "Secret kong/dp key tls.key: the ecdsa-p256 key does not belong to the certificate in Secret kong/dp key tls.crt")
	assert.Contains(t, err.Error(), "run kubectl konnect cert rotate dp -n kong")
	writes, _ := e.takeWrites()
	assert.Empty(t, writes)
}

func TestIssuePKIControlPlaneGetsAGeneratedCARegistered(t *testing.T) {
	e := standardEnv(t, konnecttest.AuthTypePKIClientCerts)
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pki_client_certs (from Konnect): registering the CA \"dp-ca\"")

	ca := e.secretData("dp-ca")
	caPair, err := cert.ValidateCA(ca["tls.crt"], ca["tls.key"], cert.Source{}, time.Now())
	require.NoError(t, err)
	data := e.secretData("dp")
	leaf, err := cert.ValidatePair(data["tls.crt"], data["tls.key"], cert.Source{}, time.Now(), 0)
	require.NoError(t, err)
	require.NoError(t, cert.VerifyChain(leaf.Cert, caPair.Cert, time.Now()))
	assert.Equal(t, string(ca["tls.crt"]), string(data["ca.crt"]))

	reg := e.get(gvrDPCert, "dp-"+cert.ShortFingerprint(caPair.Cert))
	require.NotNil(t, reg, "the CA is registered")
	assert.Equal(t, string(ca["tls.crt"]), str(reg, "spec", "cert"))

	// Rotating the leaf keeps the CA and its registration.
	e.takeWrites()
	_, errOut, err = e.run("rotate", "dp")
	require.NoError(t, err, errOut)
	writes, _ := e.takeWrites()
	assert.Equal(t, []string{"apply secrets/dp"}, writes)
	data2 := e.secretData("dp")
	assert.NotEqual(t, string(data["tls.crt"]), string(data2["tls.crt"]))
}

func TestIssueWithAUserCAOnAPinnedControlPlaneRegistersTheLeaf(t *testing.T) {
	ca, err := cert.IssueCA(cert.Template{CommonName: "corp-ca", Validity: 5 * cert.DefaultValidity})
	require.NoError(t, err)
	e := standardEnv(t, "", rawSecret(testNS, "corp-ca", "kubernetes.io/tls", nil, map[string][]byte{"tls.crt": ca.CertPEM, "tls.key": ca.KeyPEM}))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "corp-ca")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "Konnect does not use the CA in this mode")
	data := e.secretData("dp")
	certs, err := cert.DecodeCertsPEM(data["tls.crt"])
	require.NoError(t, err)
	require.NoError(t, cert.VerifyChain(certs[0], ca.Cert, time.Now()))
	require.NotNil(t, e.get(gvrDPCert, "dp-"+cert.ShortFingerprint(certs[0])))

	// And a re-run changes nothing.
	e.takeWrites()
	_, _, err = e.run("issue", "dp", "--control-plane", "gw-cp", "--ca-secret", "corp-ca")
	require.NoError(t, err)
	writes, _ := e.takeWrites()
	assert.Empty(t, writes)
}

func TestAuthTypeFallsBackToSpecWhenKonnectCannotBeAsked(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.dyn.Tracker().Create(gvrControlPlane,
		controlPlaneObj(testNS, "gw-cp", "Gateway CP", "", "missing-auth", map[string]any{"auth_type": "pki_client_certs"}), testNS))
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err, errOut)
	assert.Contains(t, errOut, "uses pki_client_certs (from spec.auth_type of KonnectGatewayControlPlane kong/gw-cp (Konnect not asked: KonnectAPIAuthConfiguration kong/missing-auth does not exist))")
	require.NotNil(t, e.get(gvrSecret, "dp-ca"))
}

func TestRotateRegistersTheNewCertificateBeforeRemovingTheOld(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--key-type", "ecdsa", "--curve", "P-384", "--common-name", "edge")
	require.NoError(t, err)
	oldData := e.secretData("dp")
	oldFP, err := cert.FingerprintOfPEM(oldData["tls.crt"])
	require.NoError(t, err)
	oldReg := "dp-" + oldFP[:10]
	e.takeWrites()

	out, errOut, err := e.run("rotate", "dp")
	require.NoError(t, err, errOut)
	newData := e.secretData("dp")
	newPair, err := cert.ValidatePair(newData["tls.crt"], newData["tls.key"], cert.Source{}, time.Now(), 0)
	require.NoError(t, err)
	assert.NotEqual(t, oldFP, newPair.Fingerprint())
	assert.Equal(t, cert.ECDSAP384, newPair.KeyType(), "the key type is kept")
	assert.Equal(t, "edge", newPair.Cert.Subject.CommonName, "the common name is kept")
	newReg := "dp-" + cert.ShortFingerprint(newPair.Cert)

	writes, _ := e.takeWrites()
	assert.Equal(t, []string{
		"apply kongdataplaneclientcertificates/" + newReg,
		"apply secrets/dp",
		"delete kongdataplaneclientcertificates/" + oldReg,
	}, writes, "new registration, then the Secret, then the old registration goes")
	assert.Nil(t, e.get(gvrDPCert, oldReg))
	assert.Contains(t, out, "kongdataplaneclientcertificate.configuration.konghq.com/"+oldReg+" deleted")
	assert.Contains(t, errOut, "Waiting up to 2m0s for KGO to program")
}

func TestRotateThatTimesOutKeepsTheOldCertificateAndExits124(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	oldData := e.secretData("dp")
	oldRegs := e.list(gvrDPCert)
	e.takeWrites()
	e.setProgram(false)

	_, _, err = e.run("rotate", "dp", "--wait", "1s")
	require.Error(t, err)
	var te *TimeoutError
	require.True(t, errors.As(err, &te))
	assert.Equal(t, 124, te.ExitCode())
	assert.Contains(t, err.Error(), "was not programmed within 1s (no status yet)")
	assert.Contains(t, err.Error(), "The old certificate stays in place and the new registration is removed")

	assert.Equal(t, oldData, e.secretData("dp"), "the Secret is untouched")
	regs := e.list(gvrDPCert)
	require.Len(t, regs, 1)
	assert.Equal(t, oldRegs[0].GetName(), regs[0].GetName(), "only the old registration is left")
}

func TestRotateKeepOldLeavesTheOldRegistration(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	_, errOut, err := e.run("rotate", "dp", "--keep-old")
	require.NoError(t, err)
	assert.Len(t, e.list(gvrDPCert), 2)
	assert.Contains(t, errOut, "registers an older certificate of Secret dp; remove it once no data plane uses it")
}

func TestRotateWithoutASecretSaysToIssue(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("rotate", "dp")
	require.EqualError(t, err, "there is no Secret kong/dp to rotate: create it with kubectl konnect cert issue dp --control-plane <control plane>")
}

func TestDryRunClientWritesNothingAndPrintsTheObjects(t *testing.T) {
	e := standardEnv(t, "")
	out, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--dry-run=client", "-o", "json")
	require.NoError(t, err, errOut)
	e.assertNothingWritten(t)
	assert.Nil(t, e.get(gvrSecret, "dp"))

	var list struct {
		Kind  string                   `json:"kind"`
		Items []map[string]interface{} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 2)
	assert.Equal(t, dpcert.KindDPCert, list.Items[0]["kind"])
	assert.Equal(t, "Secret", list.Items[1]["kind"])
	assert.Contains(t, errOut, "note: the output holds the private key of Secret kong/dp")

	out, _, err = e.run("issue", "dp", "--control-plane", "gw-cp", "--dry-run=client")
	require.NoError(t, err)
	assert.Contains(t, out, "secret/dp created (dry run)")
	assert.NotContains(t, out, "PRIVATE KEY")
}

func TestDryRunServerOnlySendsDryRunRequests(t *testing.T) {
	e := standardEnv(t, "")
	out, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--dry-run=server", "-o", "yaml")
	require.NoError(t, err, errOut)
	writes, dry := e.takeWrites()
	assert.Empty(t, writes)
	assert.Len(t, dry, 2)
	assert.Nil(t, e.get(gvrSecret, "dp"))
	assert.Contains(t, out, "kind: List")
	assert.Contains(t, out, "tls.key:", "-o asked for the objects, Secret included")
}

func TestOutDirWritesTheKeyWithMode0600(t *testing.T) {
	e := standardEnv(t, "")
	dir := filepath.Join(t.TempDir(), "certs")
	_, errOut, err := e.run("issue", "dp", "--control-plane", "gw-cp", "--out-dir", dir)
	require.NoError(t, err, errOut)
	data := e.secretData("dp")
	key, err := os.ReadFile(filepath.Join(dir, "tls.key"))
	require.NoError(t, err)
	assert.Equal(t, data["tls.key"], key)
	crt, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, data["tls.crt"], crt)
	st, err := os.Stat(filepath.Join(dir, "tls.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary files left")

	// Files of another certificate are not overwritten without --force.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), []byte("other"), 0o600))
	_, _, err = e.run("issue", "dp", "--control-plane", "gw-cp", "--out-dir", dir)
	require.ErrorContains(t, err, "tls.key exists with other content: move it away, or pass --force to overwrite it")
}

func TestValidateNamesTheFlagToFix(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"issue"}, "--control-plane is required"},
		{[]string{"issue", "Bad_Name", "--control-plane", "x"}, `NAME "Bad_Name" is not a valid Secret name`},
		{[]string{"issue", strings.Repeat("a", 64), "--control-plane", "x"}, "use at most 63"},
		{[]string{"issue", "--control-plane", "x", "--key-type", "dsa"}, `--key-type "dsa" is not supported: use ecdsa (default) or rsa`},
		{[]string{"issue", "--control-plane", "x", "--curve", "P-521"}, `--curve "P-521" is not supported: use P-256 (default) or P-384`},
		{[]string{"issue", "--control-plane", "x", "--key-size", "4096"}, "--key-size applies to --key-type rsa only"},
		{[]string{"issue", "--control-plane", "x", "--key-type", "rsa", "--curve", "P-384"}, "--curve applies to --key-type ecdsa only"},
		{[]string{"issue", "--control-plane", "x", "--key-type", "rsa", "--key-size", "1024"}, "--key-size 1024 is not supported: use 2048, 3072 or 4096"},
		{[]string{"issue", "--control-plane", "x", "--validity", "10m"}, "--validity 10m0s is too short"},
		{[]string{"issue", "--control-plane", "x", "--validity", "soon"}, `"soon" is not a duration`},
		{[]string{"issue", "--control-plane", "x", "--validity", "6y"}, "--ca-validity 5y is shorter than --validity 6y"},
		{[]string{"issue", "--control-plane", "x", "--ca-secret", "a", "--ca-cert-file", "b", "--ca-key-file", "c"}, "use one"},
		{[]string{"issue", "--control-plane", "x", "--ca-cert-file", "b"}, "--ca-cert-file and --ca-key-file go together"},
		{[]string{"issue", "--control-plane", "x", "--auth-type", "mtls"}, `--auth-type "mtls" is not supported`},
		{[]string{"issue", "--control-plane", "x", "--dry-run", "maybe"}, `--dry-run "maybe" is not supported`},
		{[]string{"issue", "--control-plane", "x", "-o", "xml"}, `-o "xml": unable to match a printer`},
		{[]string{"rotate"}, "accepts 1 arg(s)"},
		{[]string{"list", "-o", "wide"}, `--output "wide" is not supported`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e := newEnv(t)
			_, _, err := e.run(tt.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, e.touched, "flag errors are found before the cluster is asked")
		})
	}
}

func TestHelpNeverTouchesTheCluster(t *testing.T) {
	for _, verb := range []string{"issue", "rotate", "list"} {
		e := newEnv(t)
		out, _, err := e.run(verb, "--help")
		require.NoError(t, err)
		assert.Contains(t, out, "kubectl konnect cert "+verb+"")
		assert.False(t, e.touched)
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1y": 365 * day, "90d": 90 * day, "1y30d": 395 * day, "720h": 720 * time.Hour, "1y12h": year + 12*time.Hour, "36h30m": 36*time.Hour + 30*time.Minute,
	} {
		got, err := parseLifetime(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "y", "1w", "abc", "1y2"} {
		_, err := parseLifetime(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "1y", formatLifetime(year))
	assert.Equal(t, "90d", formatLifetime(90*day))
	assert.Equal(t, "1h0m0s", formatLifetime(time.Hour))
}

func TestCloseNames(t *testing.T) {
	cands := []string{"gw-cp", "Gateway CP", "east-cp", "staging"}
	assert.Equal(t, []string{"gw-cp"}, closeNames("gw-cpp", cands))
	assert.Equal(t, []string{"Gateway CP"}, closeNames("gateway", cands))
	assert.Empty(t, closeNames("zzzzzzzz", cands))
	assert.Equal(t, `"a"`, quoteJoin([]string{"a"}))
	assert.Equal(t, `"a", "b" or "c"`, quoteJoin([]string{"a", "b", "c"}))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
