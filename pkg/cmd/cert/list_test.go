package cert

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

func (e *env) registerInKonnect(pem []byte) {
	e.t.Helper()
	_, err := e.konnect.SDK(e.token).DPCertificates.CreateDataplaneCertificate(context.Background(), e.cpID,
		&components.DataPlaneClientCertificateRequest{Cert: string(pem)})
	require.NoError(e.t, err)
}

func (e *env) listJSON(args ...string) (ListResult, string) {
	e.t.Helper()
	out, errOut, err := e.run(append([]string{"list", "-o", "json"}, args...)...)
	require.NoError(e.t, err, errOut)
	var res ListResult
	require.NoError(e.t, json.Unmarshal([]byte(out), &res), out)
	return res, errOut
}

func TestListShowsFingerprintExpiryControlPlaneAndKonnectRegistration(t *testing.T) {
	ingress, err := cert.IssueSelfSigned(cert.Template{CommonName: "www.example.com"})
	require.NoError(t, err)
	manual, err := cert.IssueSelfSigned(cert.Template{CommonName: "by-hand"})
	require.NoError(t, err)
	e := standardEnv(t, "",
		rawSecret(testNS, "ingress-tls", "kubernetes.io/tls", nil, map[string][]byte{"tls.crt": ingress.CertPEM, "tls.key": ingress.KeyPEM}),
		rawDPCert(testNS, "manual", "gw-cp", string(manual.CertPEM)),
	)
	_, _, err = e.run("issue", "dp-a", "--control-plane", "gw-cp")
	require.NoError(t, err)
	_, _, err = e.run("issue", "dp-b", "--control-plane", "gw-cp", "--key-type", "rsa", "--validity", "90d")
	require.NoError(t, err)
	a := e.secretData("dp-a")
	e.registerInKonnect(a["tls.crt"])
	fpA, err := cert.FingerprintOfPEM(a["tls.crt"])
	require.NoError(t, err)
	fpB, err := cert.FingerprintOfPEM(e.secretData("dp-b")["tls.crt"])
	require.NoError(t, err)

	res, errOut := e.listJSON()
	assert.Equal(t, testNS, res.Namespace)
	require.Len(t, res.Items, 3, "dp-a, dp-b and the manual registration; not the ingress Secret")
	byName := map[string]ListItem{}
	for _, it := range res.Items {
		byName[it.Secret+"|"+it.Registration] = it
	}
	itA := byName["dp-a|dp-a-"+fpA[:10]]
	assert.Equal(t, fpA, itA.Fingerprint)
	assert.Equal(t, "gw-cp", itA.ControlPlane)
	assert.Equal(t, "ecdsa-p256", itA.KeyType)
	assert.Equal(t, "True", itA.Programmed)
	assert.Equal(t, KonnectRegistered, itA.Konnect)
	assert.WithinDuration(t, time.Now().Add(cert.DefaultValidity), itA.NotAfter, time.Minute)

	itB := byName["dp-b|dp-b-"+fpB[:10]]
	assert.Equal(t, "rsa-2048", itB.KeyType)
	assert.Equal(t, KonnectNotRegistered, itB.Konnect)
	assert.WithinDuration(t, time.Now().Add(90*24*time.Hour), itB.NotAfter, time.Minute)

	itM := byName["|manual"]
	assert.Equal(t, "by-hand", itM.CommonName)
	assert.Equal(t, KonnectNotRegistered, itM.Konnect)
	assert.Empty(t, errOut)

	// The table.
	out, _, err := e.run("list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4)
	assert.Regexp(t, `^SECRET\s+REGISTRATION\s+CONTROL PLANE\s+FINGERPRINT\s+KEY\s+EXPIRES\s+PROGRAMMED\s+KONNECT$`, lines[0])
	assert.Regexp(t, `^dp-a\s+dp-a-`+fpA[:10]+`\s+gw-cp\s+`+fpA[:16]+`\s+ecdsa-p256\s+\d{4}-\d\d-\d\d \(36[45]d\)\s+True\s+registered$`, lines[1])
	assert.Regexp(t, `^-\s+manual\s+gw-cp`, lines[3])
	assert.NotContains(t, out, "PRIVATE KEY")
	assert.NotContains(t, out, e.token)

	// Filtered by control plane; and without Konnect.
	res, _ = e.listJSON("--control-plane", "other")
	assert.Empty(t, res.Items)
	res, _ = e.listJSON("--konnect=false")
	for _, it := range res.Items {
		assert.Equal(t, KonnectNotChecked, it.Konnect)
	}
}

func TestListReadsTheTokenFromTheAuthSecretRef(t *testing.T) {
	e := newEnv(t)
	cp := e.konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "Gateway CP"})
	e.cpID, e.token = cp.ID, e.konnect.IssueToken()
	require.NoError(t, e.dyn.Tracker().Create(gvrSecret, rawSecret(testNS, "konnect-token", "Opaque",
		map[string]string{"konghq.com/credential": "konnect"}, map[string][]byte{"token": []byte(e.token)}), testNS))
	require.NoError(t, e.dyn.Tracker().Create(gvrAuthConfig, authSecretRef(testNS, "konnect-auth", "konnect-token"), testNS))
	require.NoError(t, e.dyn.Tracker().Create(gvrControlPlane, controlPlaneObj(testNS, "gw-cp", "Gateway CP", cp.ID, "konnect-auth", nil), testNS))
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	e.registerInKonnect(e.secretData("dp")["tls.crt"])

	res, errOut := e.listJSON()
	require.Len(t, res.Items, 1)
	assert.Equal(t, KonnectRegistered, res.Items[0].Konnect)
	assert.NotContains(t, errOut, e.token)
}

func TestListSaysWhyKonnectWasNotAsked(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.dyn.Tracker().Create(gvrControlPlane, controlPlaneObj(testNS, "gw-cp", "Gateway CP", "", "konnect-auth", nil), testNS))
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	res, errOut := e.listJSON()
	require.Len(t, res.Items, 1)
	assert.Equal(t, KonnectUnknown, res.Items[0].Konnect)
	assert.Contains(t, res.Items[0].KonnectDetail, "has no status.id yet")
	assert.Contains(t, errOut, "note: not checked in Konnect for control plane gw-cp: KonnectGatewayControlPlane kong/gw-cp has no status.id yet")
}

func TestListFlagsABrokenSecretOfOurs(t *testing.T) {
	e := standardEnv(t, "")
	_, _, err := e.run("issue", "dp", "--control-plane", "gw-cp")
	require.NoError(t, err)
	other, err := cert.IssueSelfSigned(cert.Template{CommonName: "x"})
	require.NoError(t, err)
	sec := e.get(gvrSecret, "dp")
	sec.Object["data"].(map[string]any)["tls.key"] = b64(other.KeyPEM)
	require.NoError(t, e.dyn.Tracker().Update(gvrSecret, sec, testNS))

	res, _ := e.listJSON()
	require.Len(t, res.Items, 1)
	assert.Contains(t, res.Items[0].Problem, "does not belong to the certificate")
}
