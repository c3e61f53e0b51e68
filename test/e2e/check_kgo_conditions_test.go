package e2e

import (
	"context"
	"testing"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/check"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestCheckQuotesKGOControlPlaneRefInvalid: the KonnectExtension names the
// control plane by its right Konnect ID, so nothing check can see from
// outside is wrong; but its authRef is a KonnectAPIAuthConfiguration of
// another organization, so KGO's lookup (GetControlPlaneByID) finds nothing
// and KGO sets ControlPlaneRefValid=False. check fails the extension's target
// quoting KGO's message, and Ready with it (issue 15: check passed here).
// konnectID exists on KGO 1.5/1.6 only.
func TestCheckQuotesKGOControlPlaneRefInvalid(t *testing.T) {
	p := testenv.KGO16
	env := testenv.Shared(t, p)
	ns := env.Namespace(t)
	other := env.Konnect.AddOrganization("Other Org " + ns)
	otherToken := env.Konnect.IssueToken(konnecttest.InOrganization(other.ID))
	// The control plane's ID is known once it is programmed: seed it first.
	cpID := seedForCheck(t, env, ns, checkSetup{skipExtension: true}).cpID
	objs := []obj{
		{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": meta("other-org"),
			"spec": obj{"type": "token", "token": otherToken, "serverURL": "us.api.konghq.com"}},
		{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectExtension", "metadata": meta("konnect-ext"),
			"spec": obj{
				"konnect": obj{
					"controlPlane":  obj{"ref": obj{"type": "konnectID", "konnectID": cpID}},
					"configuration": obj{"authRef": obj{"name": "other-org"}},
				},
				"clientAuth": obj{"certificateSecret": obj{"provisioning": "Manual", "secretRef": obj{"name": "dp-tls"}}},
			}},
		dataPlane(p),
	}
	env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
	env.WaitFor(t, testenv.GVKKonnectExtension, ns, "konnect-ext", waitTimeout, testenv.HasCondition("ControlPlaneRefValid", "False"))

	rep := checkBoth(t, env, ns, "extension-controlplane-ref-invalid."+string(p), 1)
	requireStatus(t, rep, map[string]check.Status{check.IDExtensionTarget: check.Fail, check.IDExtensionReady: check.Fail})
	got, _ := rep.Find(check.IDExtensionTarget)
	require.Contains(t, got.Message, "KGO reports on KonnectExtension konnect-ext: ControlPlaneRefValid=False (Invalid): failed listing controlPlanes by id: entity with ID "+cpID+" not found on Konnect")
	ready, _ := rep.Find(check.IDExtensionReady)
	require.Contains(t, ready.Message, "Ready=False (Provisioning): provisioning in progress; KGO also reports ControlPlaneRefValid=False")
}

// TestCheckWarnsCertificatePinnedTwice: the data plane's certificate is
// pinned twice to the control plane (KGO 1.6.2 did so when two reconciles
// raced): the check warns and names the copy that KGO does not manage.
func TestCheckWarnsCertificatePinnedTwice(t *testing.T) {
	eachProfile(t, func(t *testing.T, p testenv.Profile) {
		env := testenv.Shared(t, p)
		ns := env.Namespace(t)
		s := seedForCheck(t, env, ns, checkSetup{connected: true})
		pinned := env.Konnect.DPCertificates(s.cpID)
		require.Len(t, pinned, 1)
		res, err := env.Konnect.SDK(env.Token).DPCertificates.CreateDataplaneCertificate(context.Background(), s.cpID,
			&components.DataPlaneClientCertificateRequest{Cert: pinned[0].Cert})
		require.NoError(t, err)
		stale := *res.DataPlaneClientCertificateResponse.Item.ID

		rep := checkBoth(t, env, ns, "certificate-pinned-twice."+string(p), 0)
		requireStatus(t, rep, map[string]check.Status{check.IDCertificateRegistered: check.Warn, check.IDDataPlaneConnected: check.Pass})
		got, _ := rep.Find(check.IDCertificateRegistered)
		require.Contains(t, got.Message, "is pinned 2 times")
		require.Contains(t, got.Message, stale+" is stale")
		require.Contains(t, got.Message, pinned[0].ID+" (KongDataPlaneClientCertificate dp-cert) is the one to keep")
		require.Contains(t, got.Hint, "/dp-client-certificates/"+stale)
		require.NotContains(t, got.Hint, env.Token)
	})
}
