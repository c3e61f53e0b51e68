package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	checkcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/check"
	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// Konnect down (issue 8): `init` and `check` when Konnect answers 503 to
// everything (after the retries) or cannot be reached at all (nothing
// listens). Each says so in one clear message, writes nothing, and exits 1.

// hardClosedAddr is a local address nobody listens on: connections are
// refused at once.
func hardClosedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// hardUnreachableClient dials addr whatever host a URL names.
func hardUnreachableClient(addr string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

var hardPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

const (
	hardInitUnreachable = `error: Konnect: checking the token (GET /v3/organizations/me): error sending request: Get "https://global.api.konghq.com/v3/organizations/me": dial tcp 127.0.0.1:PORT: connect: connection refused: could not reach Konnect at us.api.konghq.com: check the network, proxy (HTTPS_PROXY) and --region/--server-url`
	hardInit503         = `Konnect: checking the token (GET /v3/organizations/me): 503 Service Unavailable: Konnect failed and still did after retrying with backoff: re-run later; init resumes where it stopped and duplicates nothing`
)

func TestHardeningInitKonnectDown(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			cli := initCLI{env: env, binDir: initPluginDir(t)}

			t.Run("UnreachableThroughKubectl", func(t *testing.T) {
				ns := env.Namespace(t)
				down := hardClosedAddr(t)
				res := cli.run(t, ns, []string{"KONNECT_TOKEN=" + env.Token, "KUBECTL_KONNECT_CONNECT_TO=" + down}, "",
					"init", "--control-plane", "down-"+ns, "--region", "us")
				t.Logf("%s", res)
				require.Equal(t, 1, res.code, "%s", res)
				require.Empty(t, res.stdout, "results go to stdout; there are none")
				lines := strings.Split(strings.TrimSpace(hardPort.ReplaceAllString(res.stderr, "127.0.0.1:PORT")), "\n")
				require.Equal(t, hardInitUnreachable, lines[len(lines)-1])
				require.Contains(t, res.stderr, "0 writes")
				require.Empty(t, initSnapshot(t, env, ns), "nothing may be written when Konnect is down")
			})

			t.Run("Unavailable503InProcess", func(t *testing.T) {
				ns := env.Namespace(t)
				env.Konnect.InjectFault(konnecttest.Fault{Status: http.StatusServiceUnavailable, Times: -1})
				defer env.Konnect.ClearFaults()
				from := len(env.Konnect.Requests())
				o, out, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) { o.ControlPlane = "down-" + ns })
				err := o.Run(context.Background())
				t.Logf("err: %v\nstdout: %s\nstderr: %s", err, out, errOut)
				require.Error(t, err)
				require.Equal(t, hardInit503, err.Error())
				require.Empty(t, out.String())
				require.Contains(t, errOut.String(), "0 writes")
				require.Empty(t, initSnapshot(t, env, ns), "nothing may be written when Konnect is down")
				require.Greater(t, len(env.Konnect.Requests())-from, 1, "a 503 is retried with backoff before giving up")
			})
		})
	}
}

// hardRunCheck is runCheck with a chosen Konnect HTTP client.
func hardRunCheck(t *testing.T, env *testenv.Env, ns string, hc *http.Client, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := &cobra.Command{Use: "konnect", SilenceUsage: true, SilenceErrors: true}
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(checkcmd.NewCommandWithOptions(kube.NewFactory(flags), &checkcmd.Options{IOStreams: streams, KonnectHTTPClient: hc}))
	root.SetArgs(append([]string{"check", "--kubeconfig", env.Kubeconfig, "-n", ns, "--renew-before", checkRenewBefore}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	var failed *checkcmd.FailedError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &failed):
		return out.String(), errOut.String(), 1
	}
	t.Fatalf("kubectl konnect check: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
	return "", "", -1
}

func TestHardeningCheckKonnectDown(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) { checkKonnectDown(t, p) })
	}
}

func checkKonnectDown(t *testing.T, p testenv.Profile) {
	env := testenv.Shared(t, p)
	ns := env.Namespace(t)
	seedForCheck(t, env, ns, checkSetup{connected: true})
	// The Konnect checks that need the token to be accepted are skipped,
	// naming why; the cluster's checks still run.
	skipped := []string{
		"- server URL's region matches the control plane: skipped: auth-token-valid did not pass",
		"- control plane exists in Konnect, with its endpoint: skipped: auth-token-valid did not pass",
		"- certificate is registered on the control plane in Konnect: skipped: auth-token-valid did not pass",
		"- data plane is connected to Konnect: skipped: auth-token-valid did not pass",
		"√ DataPlane is Ready and its pods are ready",
	}
	hint := "    hint: Check that this machine reaches https://us.api.konghq.com (proxy, firewall), then run the check again."
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) *http.Client
		want   string
	}{{
		name: "Unavailable503",
		client: func(t *testing.T) *http.Client {
			env.Konnect.InjectFault(konnecttest.Fault{Status: http.StatusServiceUnavailable, Times: -1})
			t.Cleanup(env.Konnect.ClearFaults)
			return env.Konnect.HTTPClient()
		},
		want: "× Konnect accepts the token: konnect-auth: asking Konnect who the token belongs to: Konnect answered 503 Service Unavailable",
	}, {
		name:   "Unreachable",
		client: func(t *testing.T) *http.Client { return hardUnreachableClient(hardClosedAddr(t)) },
		want:   `× Konnect accepts the token: konnect-auth: asking Konnect who the token belongs to: error sending request: Get "https://global.api.konghq.com/v3/organizations/me": dial tcp 127.0.0.1:PORT: connect: connection refused`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := hardRunCheck(t, env, ns, tc.client(t))
			t.Logf("exit %d\n%s\n%s", code, out, errOut)
			require.Equal(t, 1, code)
			lines := strings.Split(hardPort.ReplaceAllString(out, "127.0.0.1:PORT"), "\n")
			i := indexOf(lines, tc.want)
			require.GreaterOrEqual(t, i, 0, "want the line %q in:\n%s", tc.want, out)
			require.Equal(t, hint, lines[i+1])
			for _, s := range skipped {
				require.Contains(t, out, s)
			}
			require.Contains(t, out, "Status check results are × (1 failed,")
			require.NotContains(t, out+errOut, env.Token)
		})
	}
}
