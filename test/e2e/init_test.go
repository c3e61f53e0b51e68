package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// The tests of issue 4 (`kubectl konnect init`). TestInit runs the plugin as users do: built once
// into its temporary folder, on PATH, through the real kubectl, against the test ground of each CRD
// profile with the KGO stand-in and the fake Konnect.

// cpIDOf returns status.id of the KonnectGatewayControlPlane.
func initCPID(t *testing.T, env *testenv.Env, ns, name string) string {
	t.Helper()
	cp, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, name)
	require.NoError(t, err)
	id, _, _ := unstructured.NestedString(cp.Object, "status", "id")
	require.NotEmpty(t, id)
	return id
}

func initWaitConnected(t *testing.T, env *testenv.Env, cpID string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) > 0 }, waitTimeout, 100*time.Millisecond,
		"the data plane never connected to control plane %s in Konnect", cpID)
}

func TestInit(t *testing.T) {
	bin := initPluginDir(t)
	for _, p := range testenv.Profiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // each profile on its own API server and fake Konnect
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}

			t.Run("FullInitConnectsAndReRunWritesNothing", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "init-" + ns
				tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
				res := cli.mustRun(t, ns, tokenEnv, "", "init", "--control-plane", name, "--region", "us")
				t.Logf("first run:\n%s", res)
				require.NotContains(t, res.stdout+res.stderr, env.Token, "the token must never be printed")
				for _, want := range []string{
					"secret/konnect-auth-token created",
					"konnectapiauthconfiguration.konnect.konghq.com/konnect-auth created",
					"konnectgatewaycontrolplane.konnect.konghq.com/" + name + " created",
					"secret/" + name + "-dp-cert created",
					"dataplane.gateway-operator.konghq.com/" + name + " created",
					"kubectl konnect check -n " + ns,
				} {
					require.Contains(t, res.stdout, want)
				}
				cpID := initCPID(t, env, ns, name)
				require.Equal(t, initCPAPIVersion(p), initWrittenAs(t, env, ns, name))
				kcp, ok := env.Konnect.ControlPlaneByName(name)
				require.True(t, ok)
				require.Equal(t, kcp.ID, cpID)
				require.Contains(t, res.stdout, kcp.ControlPlaneEndpoint)
				require.Len(t, env.Konnect.DPCertificates(cpID), 1)
				initWaitConnected(t, env, cpID)

				// A re-run, with the token from the Secret the first run stored: zero writes.
				before := initSnapshot(t, env, ns)
				reqs := len(env.Konnect.Requests())
				res = cli.mustRun(t, ns, nil, "", "init", "--control-plane", name)
				t.Logf("re-run:\n%s", res)
				require.Equal(t, before, initSnapshot(t, env, ns), "a re-run must not write anything")
				require.Empty(t, initKonnectWrites(env, reqs), "a re-run must not write to Konnect")
				require.Contains(t, res.stdout, "nothing was written")
				require.NotContains(t, res.stdout, " created")
			})

			t.Run("TokenFromStdin", func(t *testing.T) {
				ns := env.Namespace(t)
				// No --region: the user's home region, said so.
				res := cli.mustRun(t, ns, nil, env.Token+"\n", "init", "--control-plane", "stdin-"+ns, "--token-stdin", "--no-dataplane")
				require.Contains(t, res.stderr, "Region us: your Konnect user's home region (pass --region to choose another)")
				require.Contains(t, res.stderr, "Konnect token (from standard input) is valid")
				require.NotContains(t, res.stdout+res.stderr, env.Token)
				sec, err := env.Get(context.Background(), initGVKSecret, ns, "konnect-auth-token")
				require.NoError(t, err)
				require.Equal(t, "konnect", sec.GetLabels()["konghq.com/credential"])
				require.Equal(t, base64.StdEncoding.EncodeToString([]byte(env.Token)), mustNested(t, sec, "data", "token"))
				auth, err := env.Get(context.Background(), testenv.GVKAuth, ns, "konnect-auth")
				require.NoError(t, err)
				require.Equal(t, "secretRef", mustNested(t, auth, "spec", "type"))
			})

			t.Run("DataPlaneFlagsAndNameOutput", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "flags-" + ns
				res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us",
					"--dataplane", "edge", "--replicas", "2", "--image", "kong/kong-gateway:3.10.0.1", "-o", "name")
				require.Contains(t, res.stdout, "dataplane.gateway-operator.konghq.com/edge\n")
				require.Contains(t, res.stdout, "secret/konnect-auth-token\n", "-o name shows no content, so it lists the Secrets too")
				dp, err := env.Get(context.Background(), testenv.GVKDataPlane, ns, "edge")
				require.NoError(t, err)
				replicas, _, _ := unstructured.NestedInt64(dp.Object, "spec", "deployment", "replicas")
				require.Equal(t, int64(2), replicas)
				containers, _, _ := unstructured.NestedSlice(dp.Object, "spec", "deployment", "podTemplateSpec", "spec", "containers")
				require.Equal(t, "kong/kong-gateway:3.10.0.1", containers[0].(map[string]any)["image"])
				cpID := initCPID(t, env, ns, name)
				require.Eventually(t, func() bool { return len(env.Konnect.Nodes(cpID)) == 2 }, waitTimeout, 100*time.Millisecond, "both replicas connect")
			})

			if p != testenv.KGO14 { // KGO 1.4 only takes a certificate Secret
				t.Run("AutomaticCertificateProvisioning", func(t *testing.T) {
					ns := env.Namespace(t)
					name := "auto-" + ns
					res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us", "--cert-provisioning", "automatic")
					require.NotContains(t, res.stdout, "kongdataplaneclientcertificate")
					require.NotContains(t, res.stdout, "-dp-cert")
					ext, err := env.Get(context.Background(), testenv.GVKKonnectExtension, ns, name)
					require.NoError(t, err)
					require.Equal(t, "Automatic", mustNested(t, ext, "spec", "clientAuth", "certificateSecret", "provisioning"))
					initWaitConnected(t, env, initCPID(t, env, ns, name))
				})
			}

			t.Run("DryRunClientRenderAppliesToTheSameEndState", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "render-" + ns
				tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
				render := []string{"init", "--control-plane", name, "--region", "us", "--dry-run=client", "-o", "yaml"}

				// Without --include-secrets: no token, no private key.
				res := cli.mustRun(t, ns, tokenEnv, "", render...)
				require.NotContains(t, res.stdout, env.Token)
				require.NotContains(t, res.stdout, base64.StdEncoding.EncodeToString([]byte(env.Token)))
				require.NotContains(t, res.stdout, "kind: Secret")
				require.Contains(t, res.stderr, "Left out of the output: secret/konnect-auth-token")

				res = cli.mustRun(t, ns, tokenEnv, "", append(render, "--include-secrets")...)
				require.Empty(t, initSnapshot(t, env, ns), "a client dry run must not write")
				_, exists := env.Konnect.ControlPlaneByName(name)
				require.False(t, exists, "a client dry run must not create the control plane")
				kinds := regexp.MustCompile(`(?m)^kind: (\w+)$`).FindAllStringSubmatch(res.stdout, -1)
				var order []string
				for _, k := range kinds {
					order = append(order, k[1])
				}
				want := []string{"Secret", "KonnectAPIAuthConfiguration", "KonnectGatewayControlPlane", "Secret", "KongDataPlaneClientCertificate", "KonnectExtension", "DataPlane"}
				if p == testenv.KGO14 {
					// KGO 1.4's KonnectExtension is made of the endpoint, which exists once KGO created the control plane.
					want = want[:5]
					require.Contains(t, res.stderr, "run this command again for the rest")
				}
				require.Equal(t, want, order, "every object, in apply order")
				// Each object in the version its generation reads: v1alpha2 on kong-operator 2.x, where
				// v1alpha1 KonnectGatewayControlPlanes are not converted and v1alpha1 KonnectExtensions not served.
				apiVersions := map[string]string{}
				for _, m := range regexp.MustCompile(`(?m)^apiVersion: (\S+)\nkind: (KonnectGatewayControlPlane|KonnectExtension)$`).FindAllStringSubmatch(res.stdout, -1) {
					apiVersions[m[2]] = m[1]
				}
				wantVersions := map[string]string{"KonnectGatewayControlPlane": "konnect.konghq.com/v1alpha1", "KonnectExtension": "konnect.konghq.com/v1alpha1"}
				switch p {
				case testenv.KGO14:
					wantVersions = map[string]string{"KonnectGatewayControlPlane": "konnect.konghq.com/v1alpha1"}
				case testenv.KO20, testenv.KO22, testenv.KO23:
					wantVersions = map[string]string{"KonnectGatewayControlPlane": "konnect.konghq.com/v1alpha2", "KonnectExtension": "konnect.konghq.com/v1alpha2"}
					require.Contains(t, res.stdout, "createControlPlaneRequest:\n    cluster_type: CLUSTER_TYPE_CONTROL_PLANE\n    name: "+name+"\n", res.stdout)
					require.Contains(t, res.stdout, "source: Origin")
				}
				require.Equal(t, wantVersions, apiVersions, res.stdout)
				env.MustKubectl(t, res.stdout, "apply", "-n", ns, "-f", "-")
				if p == testenv.KGO14 {
					env.WaitFor(t, testenv.GVKControlPlane, ns, name, waitTimeout, testenv.HasCondition("Programmed", "True"))
					res = cli.mustRun(t, ns, tokenEnv, "", append(render, "--include-secrets")...)
					require.Contains(t, res.stdout, "kind: KonnectExtension")
					require.Contains(t, res.stdout, "kind: DataPlane")
					env.MustKubectl(t, res.stdout, "apply", "-n", ns, "-f", "-")
				}
				env.WaitFor(t, testenv.GVKDataPlane, ns, name, waitTimeout, testenv.HasCondition("Ready", "True"))
				initWaitRegistered(t, env, ns)
				// The stand-in decides whether a data plane connects when it reconciles the DataPlane, while a
				// real data plane keeps retrying: everything was applied at once, so nudge it now that its
				// certificate is registered.
				env.MustKubectl(t, "", "annotate", "-n", ns, "dataplanes.gateway-operator.konghq.com/"+name, "e2e.kubectl-konnect.io/nudge=1")
				cpID := initCPID(t, env, ns, name)
				initWaitConnected(t, env, cpID)

				// The same end state: init agrees everything is in place and writes nothing.
				before := initSnapshot(t, env, ns)
				reqs := len(env.Konnect.Requests())
				res = cli.mustRun(t, ns, tokenEnv, "", "init", "--control-plane", name, "--region", "us")
				require.Contains(t, res.stdout, "nothing was written", res.String())
				require.Equal(t, before, initSnapshot(t, env, ns))
				require.Empty(t, initKonnectWrites(env, reqs))
				require.Len(t, env.Konnect.DPCertificates(cpID), 1)
			})

			t.Run("DryRunClientForANamespaceNotCreatedYet", func(t *testing.T) {
				ns := "not-yet-" + strings.ToLower(strings.ReplaceAll(string(p), ".", "-"))
				res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", "later-"+ns, "--region", "us", "--dry-run=client", "-o", "yaml")
				require.Contains(t, res.stderr, `namespace "`+ns+`" does not exist yet: rendering for it`)
				require.Contains(t, res.stdout, "namespace: "+ns)
				res = cli.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", "later-"+ns, "--region", "us")
				require.Equal(t, 1, res.code)
				require.Contains(t, res.stderr, `namespace "`+ns+`" does not exist: create it (kubectl create namespace `+ns+`)`)
			})

			t.Run("DryRunServerPersistsNothing", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "server-dry-" + ns
				res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us", "--dry-run=server")
				require.Contains(t, res.stdout, "konnectgatewaycontrolplane.konnect.konghq.com/"+name+" created (server dry run)")
				require.Contains(t, res.stdout, "nothing was persisted")
				require.Empty(t, initSnapshot(t, env, ns))
				_, exists := env.Konnect.ControlPlaneByName(name)
				require.False(t, exists)
			})

			t.Run("AdoptsAControlPlaneThatExistsInKonnect", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "Adopted CP " + ns
				seed := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: name})
				tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
				args := []string{"init", "--control-plane", name, "--region", "us"}

				// Without --adopt it is a name clash, found before KGO would hit 409.
				res := cli.run(t, ns, tokenEnv, "", args...)
				require.Equal(t, 1, res.code, res.String())
				require.Contains(t, res.stderr, `name clash: Konnect already has a control plane named "`+name+`" (ID `+seed.ID)
				require.Contains(t, res.stderr, "Pass --adopt to use that control plane")
				require.Empty(t, initSnapshot(t, env, ns), "nothing may be written before the clash is found")

				res = cli.mustRun(t, ns, tokenEnv, "", append(args, "--adopt")...)
				res2, _ := resourceNameForTest(name)
				if p == testenv.KGO14 {
					require.Contains(t, res.stderr, "KGO 1.4 cannot adopt a control plane it did not create")
					require.Contains(t, res.stderr, "registered in Konnect")
					require.Contains(t, res.stdout, "konnect-dp-client-certificate/")
					_, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, res2)
					require.Error(t, err, "KGO 1.4 gets no KonnectGatewayControlPlane for an adopted control plane")
				} else {
					require.Contains(t, res.stderr, "source: Mirror")
					cp := env.WaitFor(t, testenv.GVKControlPlane, ns, res2, waitTimeout, testenv.HasCondition("Programmed", "True"))
					require.Equal(t, "Mirror", mustNested(t, cp, "spec", "source"))
					require.Equal(t, seed.ID, mustNested(t, cp, "spec", "mirror", "konnect", "id"))
					require.Equal(t, seed.ID, mustNested(t, cp, "status", "id"))
					require.Equal(t, initCPAPIVersion(p), initWrittenAs(t, env, ns, res2), "init writes the Mirror in its generation's version")
				}
				require.Len(t, env.Konnect.DPCertificates(seed.ID), 1)
				initWaitConnected(t, env, seed.ID)
				cps := 0
				for _, c := range env.Konnect.ControlPlanes() {
					if c.Name == name {
						cps++
					}
				}
				require.Equal(t, 1, cps, "adoption must not create a second control plane")

				before := initSnapshot(t, env, ns)
				reqs := len(env.Konnect.Requests())
				// The re-run needs no --adopt: the adoption is in the cluster (a Mirror control plane, or on
				// KGO 1.4 the KonnectExtension pointing at the endpoint).
				res = cli.mustRun(t, ns, nil, "", args...)
				require.Contains(t, res.stdout, "nothing was written", res.String())
				require.Equal(t, before, initSnapshot(t, env, ns))
				require.Empty(t, initKonnectWrites(env, reqs))
			})

			t.Run("AdoptsAPKIControlPlaneWithAGeneratedCA", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "pki-" + ns
				seed := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: name, AuthType: konnecttest.AuthTypePKIClientCerts})
				args := []string{"init", "--control-plane", name, "--region", "us", "--adopt"}
				res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", args...)
				require.Contains(t, res.stdout, "secret/"+name+"-dp-cert-ca created")
				// What Konnect knows is the CA, not the data plane's certificate.
				certs := env.Konnect.DPCertificates(seed.ID)
				require.Len(t, certs, 1)
				ca, err := env.Get(context.Background(), initGVKSecret, ns, name+"-dp-cert-ca")
				require.NoError(t, err)
				caPEM, _ := base64.StdEncoding.DecodeString(mustNested(t, ca, "data", "tls.crt"))
				require.Equal(t, strings.TrimSpace(string(caPEM)), strings.TrimSpace(certs[0].Cert))
				initWaitConnected(t, env, seed.ID)
				before := initSnapshot(t, env, ns)
				res = cli.mustRun(t, ns, nil, "", args...)
				require.Contains(t, res.stdout, "nothing was written", res.String())
				require.Equal(t, before, initSnapshot(t, env, ns))
			})

			t.Run("UsesAControlPlaneOfTheNamespaceByItsKonnectName", func(t *testing.T) {
				ns := env.Namespace(t)
				crt, key := selfSignedPair(t, "unused")
				konnectName := "seeded-" + ns
				objs := seedBaseFor(p, env.Token, konnectName, "", crt, key)[:3] // token Secret, auth, control plane "gateway-cp"
				env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
				cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "gateway-cp", waitTimeout, testenv.HasCondition("Programmed", "True"))
				rv := cp.GetResourceVersion()

				res := cli.mustRun(t, ns, nil, "", "init", "--control-plane", konnectName, "--auth-name", "konnect-auth")
				require.Contains(t, res.stderr, `"`+konnectName+`" is the Konnect name of KonnectGatewayControlPlane`)
				require.Contains(t, res.stdout, "konnectgatewaycontrolplane.konnect.konghq.com/gateway-cp adopted")
				require.Contains(t, res.stdout, "konnectapiauthconfiguration.konnect.konghq.com/konnect-auth adopted")
				require.Contains(t, res.stdout, "secret/gateway-cp-dp-cert created")
				cp, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, "gateway-cp")
				require.NoError(t, err)
				require.Equal(t, rv, cp.GetResourceVersion(), "a control plane init did not create is used as it is")
				initWaitConnected(t, env, initCPID(t, env, ns, "gateway-cp"))
			})

			if p != testenv.KGO14 { // KGO 1.4 has no source: Mirror
				t.Run("UsesAMirrorOfTheNamespaceForItsKonnectControlPlane", func(t *testing.T) {
					ns := env.Namespace(t)
					name := "Team GW " + ns
					seed := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: name})
					crt, key := selfSignedPair(t, "unused")
					mirror := mirrorControlPlane(p, "team-mirror", seed.ID)
					objs := append(seedBaseFor(p, env.Token, "unused", "", crt, key)[:2], mirror) // token Secret, auth, the Mirror
					env.MustKubectl(t, manifest(t, objs...), "apply", "-n", ns, "-f", "-")
					env.WaitFor(t, testenv.GVKControlPlane, ns, "team-mirror", waitTimeout, testenv.HasCondition("Programmed", "True"))

					// No --adopt: the namespace has adopted it already, under another resource name.
					res := cli.mustRun(t, ns, nil, "", "init", "--control-plane", name, "--auth-name", "konnect-auth")
					require.Contains(t, res.stderr, "KonnectGatewayControlPlane "+ns+"/team-mirror is Konnect control plane \""+name+"\" ("+seed.ID+") already: using it")
					require.Contains(t, res.stdout, "konnectgatewaycontrolplane.konnect.konghq.com/team-mirror adopted")
					require.Contains(t, res.stdout, "konnectextension.konnect.konghq.com/team-mirror created")
					second, _ := resourceNameForTest(name)
					_, err := env.Get(context.Background(), testenv.GVKControlPlane, ns, second)
					require.Error(t, err, "no second KonnectGatewayControlPlane for the same control plane")
					ext, err := env.Get(context.Background(), testenv.GVKKonnectExtension, ns, "team-mirror")
					require.NoError(t, err)
					require.Equal(t, "team-mirror", mustNested(t, ext, "spec", "konnect", "controlPlane", "ref", "konnectNamespacedRef", "name"))
					require.Len(t, env.Konnect.DPCertificates(seed.ID), 1)
					initWaitConnected(t, env, seed.ID)
				})
			}

			t.Run("TimeoutExits124", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "slow-" + ns
				env.Konnect.InjectFault(konnecttest.Fault{Method: "POST", PathPrefix: "/v2/control-planes", Latency: 2 * time.Second})
				t.Cleanup(env.Konnect.ClearFaults)
				res := cli.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", name, "--region", "us", "--timeout", "700ms")
				require.Equal(t, 124, res.code, res.String())
				require.Contains(t, res.stderr, "timed out after")
				require.Contains(t, res.stderr, "waiting for KGO to program KonnectGatewayControlPlane "+name)
				env.Konnect.ClearFaults()
				cli.mustRun(t, ns, nil, "", "init", "--control-plane", name)
				initAssertConverged(t, env, ns, name)
			})

			t.Run("CtrlCExits130AndAReRunFinishes", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "ctrlc-" + ns
				env.Konnect.InjectFault(konnecttest.Fault{Method: "POST", PathPrefix: "/v2/control-planes", Latency: 5 * time.Second})
				t.Cleanup(env.Konnect.ClearFaults)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := cli.command(ctx, ns, []string{"KONNECT_TOKEN=" + env.Token}, "init", "--control-plane", name, "--region", "us")
				stderr, err := cmd.StderrPipe()
				require.NoError(t, err)
				require.NoError(t, cmd.Start())
				var lines []string
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines = append(lines, sc.Text())
					if strings.Contains(sc.Text(), "waiting for KGO to program") {
						require.NoError(t, cmd.Process.Signal(os.Interrupt)) // Ctrl-C while init waits
					}
				}
				err = cmd.Wait()
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, strings.Join(lines, "\n"))
				require.Equal(t, 130, ee.ExitCode(), strings.Join(lines, "\n"))
				require.Contains(t, strings.Join(lines, "\n"), "interrupted during step control-plane; everything done so far is kept: re-run the same command to finish")
				env.Konnect.ClearFaults()
				cli.mustRun(t, ns, nil, "", "init", "--control-plane", name)
				initAssertConverged(t, env, ns, name)
			})

			t.Run("BadInput", func(t *testing.T) {
				tokenEnv := []string{"KONNECT_TOKEN=" + env.Token}
				// kong-operator 2.x serves no KGO 1.4 KonnectExtension, so --kgo-version 1.4 is refused first there.
				autoOn14 := []string{"--cert-provisioning automatic needs KGO 1.5 or later"}
				wrongVersion := "2.x"
				if p.KongOperator2() {
					autoOn14 = []string{"--kgo-version 1.4: the cluster does not serve KonnectExtension (gateway-operator.konghq.com/v1alpha1), which KGO 1.4 acts on"}
					wrongVersion = "1.6"
				}
				cases := []struct {
					name    string
					env     []string
					setup   func(t *testing.T, ns string) []string // extra args
					args    []string
					message []string
				}{
					{name: "bad token", env: []string{"KONNECT_TOKEN=kpat_" + strings.Repeat("x", 40)},
						message: []string{"checking the token (GET /v3/organizations/me): 401 Unauthorized: the token is wrong, expired or revoked"}},
					{name: "revoked token", env: nil, setup: func(t *testing.T, ns string) []string {
						tok := env.Konnect.IssueToken()
						env.Konnect.RevokeToken(tok)
						return []string{"--token-file", writeTokenFile(t, tok)}
					}, message: []string{"401 Unauthorized: the token is wrong, expired or revoked"}},
					{name: "not a Konnect token", env: []string{"KONNECT_TOKEN=hunter2"},
						message: []string{"does not start with kpat_ (personal access token) or spat_ (system account token)"}},
					{name: "token on the command line", env: tokenEnv, args: []string{"--token", "kpat_secretvalue"},
						message: []string{"--token is not accepted: a token on the command line is visible to every user of this machine"}},
					{name: "no token", message: []string{"no Konnect token: set KONNECT_TOKEN, or pass --token-file FILE or --token-stdin"}},
					{name: "not a region", env: tokenEnv, args: []string{"--region", "eu-west-1"},
						message: []string{`--region "eu-west-1" is not a Konnect region: give its two-letter label, e.g. one of us, eu, au, me, in, sg (or --server-url for a custom domain)`}},
					{name: "wrong region", env: tokenEnv, args: []string{"--region", "eu"},
						message: []string{`wrong region? --region eu: your Konnect user's home region is "us"`, "Use --region us", "--allow-other-region"}},
					{name: "region refuses the token", env: tokenEnv, setup: func(t *testing.T, ns string) []string {
						// Every call until cleanup: the KGO stand-in also lists control planes
						// (as KGO does for a KonnectExtension) and must not use up a one-shot fault.
						env.Konnect.InjectFault(konnecttest.Fault{Method: "GET", PathPrefix: "/v2/control-planes", Status: 401, Times: -1})
						t.Cleanup(env.Konnect.ClearFaults)
						return nil
					}, message: []string{"the token is valid (GET /v3/organizations/me accepted it) but the us region API (us.api.konghq.com) refused it: wrong region?"}},
					{name: "missing role", env: nil, setup: func(t *testing.T, ns string) []string {
						tok := env.Konnect.IssueToken()
						env.Konnect.Forbid(tok, "GET", "/v2/control-planes")
						return []string{"--token-file", writeTokenFile(t, tok)}
					}, message: []string{"403 Forbidden: the token's user or system account lacks a role", "Control Planes Admin"}},
					{name: "KIC control plane in Konnect", env: tokenEnv, setup: func(t *testing.T, ns string) []string {
						env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "kic-" + ns, ClusterType: konnecttest.ClusterTypeK8sIngressController})
						return []string{"--control-plane", "kic-" + ns, "--adopt"}
					}, message: []string{"is a Kong Ingress Controller control plane (CLUSTER_TYPE_K8S_INGRESS_CONTROLLER)", "init will not build a DataPlane against it", "--no-dataplane"}},
					{name: "KIC cluster type asked", env: tokenEnv, args: []string{"--cluster-type", "kic"},
						message: []string{"is a Kong Ingress Controller control plane", "Use a hybrid control plane"}},
					{name: "group control plane in Konnect", env: tokenEnv, setup: func(t *testing.T, ns string) []string {
						env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "group-" + ns, ClusterType: konnecttest.ClusterTypeControlPlaneGroup})
						return []string{"--control-plane", "group-" + ns, "--adopt"}
					}, message: []string{"is a control plane group (CLUSTER_TYPE_CONTROL_PLANE_GROUP)"}},
					{name: "adopt a control plane Konnect does not have", env: tokenEnv, args: []string{"--adopt"},
						message: []string{"--adopt: Konnect has no control plane named"}},
					{name: "automatic certificates on KGO 1.4", env: tokenEnv, args: []string{"--kgo-version", "1.4", "--cert-provisioning", "automatic"},
						message: autoOn14},
					{name: "KGO version the cluster does not serve", env: tokenEnv, args: []string{"--kgo-version", wrongVersion},
						message: []string{"--kgo-version " + wrongVersion + ": the cluster does not serve KonnectExtension", "leave --kgo-version out"}},
					// Last: KGO retries this control plane in the background until it is deleted.
					{name: "name clash of a control plane in the namespace", env: nil, setup: func(t *testing.T, ns string) []string {
						taken := "taken-" + ns
						env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: taken})
						crt, key := selfSignedPair(t, "unused")
						env.MustKubectl(t, manifest(t, seedBaseFor(p, env.Token, taken, "", crt, key)[:3]...), "apply", "-n", ns, "-f", "-")
						// KGO keeps retrying (and getting 409) until the control plane goes: remove it after the case.
						t.Cleanup(func() {
							env.MustKubectl(t, "", "delete", "-n", ns, "konnectgatewaycontrolplanes.konnect.konghq.com", "gateway-cp", "--wait=true")
						})
						return []string{"--control-plane", "gateway-cp", "--auth-name", "konnect-auth"}
					}, message: []string{`name clash: Konnect already has a control plane named "taken-`, "is not programmed yet, and KGO will fail to create it with 409 Conflict"}},
				}
				if p != testenv.KGO14 { // a Mirror of a KIC control plane: its cluster type is Konnect's (status.clusterType on 2.x)
					kicMirror := cases[0]
					kicMirror.name, kicMirror.env, kicMirror.args = "KIC control plane mirrored in the namespace", nil, nil
					kicMirror.message = []string{"is a Kong Ingress Controller control plane (CLUSTER_TYPE_K8S_INGRESS_CONTROLLER)", "--no-dataplane"}
					kicMirror.setup = func(t *testing.T, ns string) []string {
						seed := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "kic-mirror-" + ns, ClusterType: konnecttest.ClusterTypeK8sIngressController})
						crt, key := selfSignedPair(t, "unused")
						mirror := mirrorControlPlane(p, "kic-mirror", seed.ID)
						env.MustKubectl(t, manifest(t, append(seedBaseFor(p, env.Token, "unused", "", crt, key)[:2], mirror)...), "apply", "-n", ns, "-f", "-")
						cp := env.WaitFor(t, testenv.GVKControlPlane, ns, "kic-mirror", waitTimeout, testenv.HasCondition("Programmed", "True"))
						if p.KongOperator2() {
							require.Equal(t, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", mustNested(t, cp, "status", "clusterType"))
						}
						return []string{"--control-plane", "kic-mirror", "--auth-name", "konnect-auth"}
					}
					cases = slices.Insert(cases, len(cases)-1, kicMirror)
				}
				for _, tc := range cases {
					t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
						ns := env.Namespace(t)
						args := []string{"init", "--region", "us", "--control-plane", "bad-" + ns}
						if tc.setup != nil {
							args = append(args, tc.setup(t, ns)...)
						}
						args = append(args, tc.args...)
						if idx := indexOf(args, "--region"); idx >= 0 && indexOf(args[idx+1:], "--region") >= 0 {
							args = append(args[:idx], args[idx+2:]...) // the case's --region wins
						}
						before := initSnapshot(t, env, ns)
						reqs := len(env.Konnect.Requests())
						res := cli.run(t, ns, tc.env, "", args...)
						t.Logf("%s", res.stderr)
						require.Equal(t, 1, res.code, res.String())
						for _, m := range tc.message {
							require.Contains(t, res.stderr, m)
						}
						require.NotContains(t, res.stdout+res.stderr, env.Token)
						require.NotContains(t, res.stdout+res.stderr, "secretvalue", "a refused --token value must not be echoed")
						// Nothing new, and nothing touched by init's field manager (KGO may still update the
						// statuses of objects a case set up, so resourceVersions are no measure here).
						require.ElementsMatch(t, keysOf(before), keysOf(initSnapshot(t, env, ns)), "a bad input must leave nothing behind")
						require.Empty(t, initManagedBy(t, env, ns), "a bad input must not write anything")
						// init never creates control planes itself (KGO does, and KGO retries the clash case's in the
						// background), so its writes are anything else.
						var writes []string
						for _, w := range initKonnectWrites(env, reqs) {
							if w != "POST /v2/control-planes" {
								writes = append(writes, w)
							}
						}
						require.Empty(t, writes, "a bad input must not write to Konnect")
					})
				}
			})

			t.Run("RBACForbiddenBeforeAnyWrite", func(t *testing.T) {
				ns := env.Namespace(t)
				user := "init-limited-" + ns
				kubeconfig, err := env.AddUser(user)
				require.NoError(t, err)
				// Reads everywhere in the namespace, but writes only Secrets.
				env.MustKubectl(t, manifest(t,
					obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("init-limited"), "rules": []any{
						obj{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"get", "list", "watch"}},
						obj{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"create", "patch"}},
					}},
					obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("init-limited"),
						"roleRef":  obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "init-limited"},
						"subjects": []any{obj{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}}},
				), "apply", "-n", ns, "-f", "-")
				limited := initCLI{env: env, binDir: bin, kubeconfig: kubeconfig}
				res := limited.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", "rbac-"+ns, "--region", "us")
				t.Logf("%s", res.stderr)
				require.Equal(t, 1, res.code, res.String())
				require.Contains(t, res.stderr, "forbidden: your Kubernetes user lacks permissions init needs in namespace "+ns)
				require.Contains(t, res.stderr, "create, patch konnectapiauthconfigurations.konnect.konghq.com")
				require.Contains(t, res.stderr, "create, patch dataplanes.gateway-operator.konghq.com")
				require.NotContains(t, res.stderr, "secrets\n", "Secrets may be written")
				require.Contains(t, res.stderr, "Nothing was written")
				snap := initSnapshot(t, env, ns)
				require.Empty(t, snap, "nothing may be written when a permission is missing")
			})
		})
	}

	t.Run("KGONotInstalled", func(t *testing.T) {
		env, err := testenv.NewWithoutKGO(context.Background(), testenv.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = env.Stop() })
		ns := "default"
		res := initCLI{env: env, binDir: bin}.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--control-plane", "gw", "--region", "us")
		require.Equal(t, 1, res.code, res.String())
		require.Contains(t, res.stderr, "KGO not installed: the cluster does not serve KonnectAPIAuthConfiguration (konnect.konghq.com/v1alpha1)")
		require.Contains(t, res.stderr, "helm upgrade --install kgo kong/gateway-operator")
		require.Empty(t, env.Konnect.Requests(), "nothing is asked of Konnect when KGO is not there")
	})
}

// initWaitRegistered waits until KGO programmed every KongDataPlaneClientCertificate of ns.
func initWaitRegistered(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(testenv.GVKDataPlaneClientCert.GroupVersion().WithKind("KongDataPlaneClientCertificateList"))
	require.NoError(t, env.Client.List(context.Background(), l, client.InNamespace(ns)))
	require.NotEmpty(t, l.Items)
	for _, u := range l.Items {
		env.WaitFor(t, testenv.GVKDataPlaneClientCert, ns, u.GetName(), waitTimeout, testenv.HasCondition("Programmed", "True"))
	}
}

func mustNested(t *testing.T, u *unstructured.Unstructured, fields ...string) string {
	t.Helper()
	s, ok, err := unstructured.NestedString(u.Object, fields...)
	require.NoError(t, err)
	require.True(t, ok, "%s %s has no %s", u.GetKind(), u.GetName(), strings.Join(fields, "."))
	return s
}

func writeTokenFile(t *testing.T, tok string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(tok+"\n"), 0o600))
	return path
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// resourceNameForTest is how init names resources after a Konnect name with blanks or capitals.
func resourceNameForTest(konnectName string) (string, bool) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(konnectName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-"), true
}

// TestInitRegionSG (issue 19): Singapore is a Konnect geo and KGO accepts any two-letter region, so
// `init --region sg` of a Singapore organization's user (home region sg, GET /v3/users/me) validates
// the token at sg.api.konghq.com, writes serverURL sg.api.konghq.com, the KGO stand-in accepts it and
// the data plane connects. One profile is enough: the region handling is the same on every release
// (pkg/konnect/region).
func TestInitRegionSG(t *testing.T) {
	bin := initPluginDir(t)
	env := testenv.Shared(t, testenv.KO22)
	cli := initCLI{env: env, binDir: bin}
	ns := env.Namespace(t)
	name := "sg-" + ns
	token := env.Konnect.IssueToken(konnecttest.HomeRegion("sg"))
	reqs := len(env.Konnect.Requests())
	res := cli.mustRun(t, ns, []string{"KONNECT_TOKEN=" + token}, "", "init", "--control-plane", name, "--region", "sg")
	t.Logf("init --region sg:\n%s", res)
	require.NotContains(t, res.stdout+res.stderr, token, "the token must never be printed")
	require.NotContains(t, res.stderr, "none of the Konnect geos", "sg is a known geo: no warning")
	for _, want := range []string{
		"konnectapiauthconfiguration.konnect.konghq.com/konnect-auth created",
		"konnectgatewaycontrolplane.konnect.konghq.com/" + name + " created",
		"dataplane.gateway-operator.konghq.com/" + name + " created",
	} {
		require.Contains(t, res.stdout, want)
	}
	auth, err := env.Get(context.Background(), testenv.GVKAuth, ns, "konnect-auth")
	require.NoError(t, err)
	require.Equal(t, "sg.api.konghq.com", strings.TrimPrefix(mustNested(t, auth, "spec", "serverURL"), "https://"))
	env.WaitFor(t, testenv.GVKAuth, ns, "konnect-auth", waitTimeout, testenv.HasCondition("APIAuthValid", "True"))

	// init and the operator both talked to the Singapore host.
	var sgHosts int
	for _, r := range env.Konnect.Requests()[reqs:] {
		if r.Host == "sg.api.konghq.com" {
			sgHosts++
		}
	}
	require.NotZero(t, sgHosts, "no request reached sg.api.konghq.com")
	cpID := initCPID(t, env, ns, name)
	kcp, ok := env.Konnect.ControlPlaneByName(name)
	require.True(t, ok)
	require.Equal(t, kcp.ID, cpID)
	initWaitConnected(t, env, cpID)
}
