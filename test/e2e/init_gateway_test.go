package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestInitGatewayRefusedWithoutHybridGateways (issue 16, Must show 3): on a
// release without hybrid Gateways (KGO 1.x, kong-operator 2.0), `init
// --gateway` refuses through kubectl before it calls Konnect or writes
// anything, and says why.
func TestInitGatewayRefusedWithoutHybridGateways(t *testing.T) {
	bin := initPluginDir(t)
	want := map[testenv.Profile]string{
		testenv.KGO14: "KGO 1.4",
		testenv.KGO16: "KGO 1.5/1.6",
		testenv.KO20:  "kong-operator 2.0",
	}
	for _, p := range testenv.Profiles {
		release, ok := want[p]
		if !ok {
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: bin}
			ns := env.Namespace(t)
			reqs := len(env.Konnect.Requests())
			res := cli.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token}, "", "init", "--gateway", "demo", "--region", "us")
			t.Logf("%s", res)
			require.Equal(t, 1, res.code, "%s", res)
			for _, s := range []string{
				"--gateway demo: the cluster serves the CRDs of " + release,
				"needs kong-operator 2.1 or later",
				"Nothing was written",
				"leave --gateway out to connect a DataPlane",
			} {
				require.Contains(t, res.stderr, s)
			}
			require.NotContains(t, res.stdout+res.stderr, env.Token)
			require.Empty(t, initSnapshot(t, env, ns), "nothing may be written")
			require.Equal(t, reqs, len(env.Konnect.Requests()), "no Konnect call before the refusal")
		})
	}
}
