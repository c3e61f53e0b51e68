package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// Interruptions and faults, with init run in-process so the test can cancel it between steps and
// break the network under it. After each, a re-run must finish the job and duplicate nothing: one
// control plane in Konnect, one registered certificate, one registration and one certificate Secret
// in the cluster, and a data plane that connects.

// initAssertConverged checks the end state of a namespace init set up for control plane name.
func initAssertConverged(t *testing.T, env *testenv.Env, ns, name string) {
	t.Helper()
	n := 0
	for _, c := range env.Konnect.ControlPlanes() {
		if c.Name == name {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one control plane named %q in Konnect", name)
	cpID := initCPID(t, env, ns, name)
	require.Len(t, env.Konnect.DPCertificates(cpID), 1, "exactly one certificate registered in Konnect")
	regs := &unstructured.UnstructuredList{}
	regs.SetGroupVersionKind(testenv.GVKDataPlaneClientCert.GroupVersion().WithKind("KongDataPlaneClientCertificateList"))
	require.NoError(t, env.Client.List(context.Background(), regs, client.InNamespace(ns)))
	require.Len(t, regs.Items, 1, "exactly one KongDataPlaneClientCertificate")
	secrets := &unstructured.UnstructuredList{}
	secrets.SetGroupVersionKind(initGVKSecret.GroupVersion().WithKind("SecretList"))
	require.NoError(t, env.Client.List(context.Background(), secrets, client.InNamespace(ns), client.MatchingLabels{"cert.kubectl-konnect.io/role": "dataplane"}))
	require.Len(t, secrets.Items, 1, "exactly one data-plane certificate Secret")
	initWaitConnected(t, env, cpID)
}

// initRerun runs init again and requires it to succeed; with zeroWrites, also to write nothing.
func initRerun(t *testing.T, env *testenv.Env, ns, name string, zeroWrites bool) *initcmd.Options {
	t.Helper()
	o, out, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) { o.ControlPlane = name })
	require.NoError(t, o.Run(context.Background()), "re-run:\n%s%s", errOut, out)
	if zeroWrites {
		require.Zero(t, o.Stats.Writes, "a converged re-run writes nothing:\n%s", out)
	}
	return o
}

func TestInitResumesAfterAnInterruptionAtEachStep(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			for _, step := range initcmd.Steps {
				t.Run("after_"+step, func(t *testing.T) {
					ns := env.Namespace(t)
					name := "resume-" + ns
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
						o.ControlPlane = name
						o.AfterStep = func(s string) {
							if s == step {
								cancel() // Ctrl-C right after the step
							}
						}
					})
					err := o.Run(ctx)
					if step != initcmd.StepDataPlane {
						var ie *initcmd.InterruptedError
						require.ErrorAs(t, err, &ie, "stderr:\n%s", errOut)
						require.Equal(t, 130, ie.ExitCode())
						require.Contains(t, err.Error(), "re-run the same command to finish")
					}
					initRerun(t, env, ns, name, false)
					initAssertConverged(t, env, ns, name)
					initRerun(t, env, ns, name, true)
				})
			}
		})
	}
}

// faultyTransport fails the first request matching, before it reaches the API server (a dropped
// connection on the way to it).
type faultyTransport struct {
	base    http.RoundTripper
	match   func(*http.Request) bool
	tripped atomic.Bool
}

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.match(r) && f.tripped.CompareAndSwap(false, true) {
		return nil, errors.New("connection reset by peer (injected by the test)")
	}
	return f.base.RoundTrip(r)
}

func TestInitResumesAfterFaults(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)

			t.Run("Konnect503WhileReadingTheEndpoint", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "k503-" + ns
				o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
					o.ControlPlane = name
					o.AfterStep = func(s string) {
						if s == initcmd.StepControlPlane {
							env.Konnect.InjectFault(konnecttest.Fault{Method: "GET", PathPrefix: "/v2/control-planes/" + initCPID(t, env, ns, name), Status: 503, Times: -1})
						}
					}
				})
				t.Cleanup(env.Konnect.ClearFaults)
				err := o.Run(context.Background())
				require.Error(t, err)
				require.Contains(t, err.Error(), "503 Service Unavailable: Konnect failed and still did after retrying with backoff: re-run later; init resumes where it stopped")
				retried := 0
				for _, r := range env.Konnect.Requests() {
					if r.Fault && r.Status == 503 {
						retried++
					}
				}
				require.Greater(t, retried, 1, "503 must be retried with backoff:\n%s", errOut)
				env.Konnect.ClearFaults()
				initRerun(t, env, ns, name, false)
				initAssertConverged(t, env, ns, name)
			})

			t.Run("Konnect429IsRetriedHonouringRetryAfter", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "k429-" + ns
				from := len(env.Konnect.Requests())
				env.Konnect.InjectFault(konnecttest.Fault{Method: "GET", PathPrefix: "/v3/organizations/me", Status: 429, RetryAfter: time.Second, Times: 2})
				t.Cleanup(env.Konnect.ClearFaults)
				o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
					o.ControlPlane = name
					o.Retry = initcmd.RetryPolicy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, MaxElapsed: 10 * time.Second}
				})
				start := time.Now()
				require.NoError(t, o.Run(context.Background()), "%s", errOut)
				var me []int
				for _, r := range env.Konnect.Requests()[from:] {
					if r.Path == "/v3/organizations/me" {
						me = append(me, r.Status)
					}
				}
				require.GreaterOrEqual(t, len(me), 3)
				require.Equal(t, []int{429, 429, 200}, me[:3], "two 429 answers, then success")
				require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "Retry-After: 1 was honoured twice")
				initAssertConverged(t, env, ns, name)
			})

			t.Run("ConnectionToTheAPIServerLostWhileRegisteringTheCertificate", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "knet-" + ns
				ft := &faultyTransport{match: func(r *http.Request) bool {
					return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/kongdataplaneclientcertificates/")
				}}
				cfg := rest.CopyConfig(env.Config)
				cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ft.base = rt; return ft }
				o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
					o.ControlPlane = name
					require.NoError(t, o.CompleteFromConfig(cfg, ns))
				})
				err := o.Run(context.Background())
				require.Error(t, err, "%s", errOut)
				require.Contains(t, err.Error(), "apply KongDataPlaneClientCertificate")
				require.True(t, ft.tripped.Load())
				// The certificate Secret was written before the registration: the re-run keeps its key.
				secrets := &unstructured.UnstructuredList{}
				secrets.SetGroupVersionKind(initGVKSecret.GroupVersion().WithKind("SecretList"))
				require.NoError(t, env.Client.List(context.Background(), secrets, client.InNamespace(ns), client.MatchingLabels{"cert.kubectl-konnect.io/role": "dataplane"}))
				require.Len(t, secrets.Items, 1)
				fp := secrets.Items[0].GetAnnotations()["cert.kubectl-konnect.io/fingerprint"]
				initRerun(t, env, ns, name, false)
				initAssertConverged(t, env, ns, name)
				require.NoError(t, env.Client.List(context.Background(), secrets, client.InNamespace(ns), client.MatchingLabels{"cert.kubectl-konnect.io/role": "dataplane"}))
				require.Equal(t, fp, secrets.Items[0].GetAnnotations()["cert.kubectl-konnect.io/fingerprint"], "the re-run reuses the key")
			})

			t.Run("TimeoutWhileWaitingForKGO", func(t *testing.T) {
				ns := env.Namespace(t)
				name := "ktimeout-" + ns
				o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
					o.ControlPlane = name
					o.Timeout = 400 * time.Millisecond
				})
				// Slow KGO down: its Konnect calls for new control planes take a second.
				env.Konnect.InjectFault(konnecttest.Fault{Method: "POST", PathPrefix: "/v2/control-planes", Latency: time.Second, Times: 1})
				t.Cleanup(env.Konnect.ClearFaults)
				err := o.Run(context.Background())
				var te *initcmd.TimeoutError
				require.ErrorAs(t, err, &te, "stderr:\n%s", errOut)
				require.Equal(t, 124, te.ExitCode())
				require.Contains(t, err.Error(), "waiting for KGO to program KonnectGatewayControlPlane "+name)
				require.Contains(t, err.Error(), "Is KGO running")
				initRerun(t, env, ns, name, false)
				initAssertConverged(t, env, ns, name)
			})

			if p == testenv.KGO14 {
				t.Run("KonnectAnswerLostAfterRegisteringTheCertificate", func(t *testing.T) {
					ns := env.Namespace(t)
					name := "klost-" + ns
					seed := env.Konnect.AddControlPlane(konnecttest.ControlPlaneSeed{Name: name})
					env.Konnect.InjectFault(konnecttest.Fault{Method: "POST", PathPrefix: "/v2/control-planes/" + seed.ID + "/dp-client-certificates", DropResponseAfterApply: true})
					t.Cleanup(env.Konnect.ClearFaults)
					o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) { o.ControlPlane = name; o.Adopt = true })
					require.NoError(t, o.Run(context.Background()), "%s", errOut)
					require.Len(t, env.Konnect.DPCertificates(seed.ID), 1, "the lost answer must not lead to a second registration")
					initWaitConnected(t, env, seed.ID)
					from := len(env.Konnect.Requests())
					o, _, _ = initInProcess(t, env, ns, func(o *initcmd.Options) { o.ControlPlane = name; o.Adopt = true })
					require.NoError(t, o.Run(context.Background()))
					require.Empty(t, initKonnectWrites(env, from))
					require.Len(t, env.Konnect.DPCertificates(seed.ID), 1)
				})
			}
		})
	}
}

// TestInitCustomDomain points init at a Konnect on a custom domain (KONG_CUSTOM_DOMAIN-style): the
// global /v3/*/me calls go to that domain too, and KGO 1.4's KonnectExtension spells the custom host.
func TestInitCustomDomain(t *testing.T) {
	for _, p := range testenv.EdgeProfiles {
		t.Run(string(p), func(t *testing.T) {
			env := testenv.Shared(t, p)
			ns := env.Namespace(t)
			fake := konnecttest.NewForTest(t, konnecttest.WithServerDomain("konnect.example.com"), konnecttest.WithRegion("eu"))
			tok := fake.IssueToken()
			seed := fake.AddControlPlane(konnecttest.ControlPlaneSeed{Name: "custom-" + ns})
			require.True(t, strings.HasSuffix(seed.ControlPlaneEndpoint, ".eu.cp0.konnect.example.com"), seed.ControlPlaneEndpoint)
			o, out, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) {
				o.KonnectHTTPClient = fake.HTTPClient()
				o.Getenv = func(k string) string {
					if k == initcmd.EnvToken {
						return tok
					}
					return ""
				}
				o.Region, o.ServerURL = "", "https://eu.api.konnect.example.com"
				o.ControlPlane, o.Adopt = seed.Name, true
				o.DryRun = "client"
				*o.PrintFlags.OutputFormat = "yaml"
			})
			require.NoError(t, o.Run(context.Background()), "%s", errOut)
			docs := map[string]map[string]any{}
			for _, d := range strings.Split(out.String(), "\n---\n") {
				m := map[string]any{}
				require.NoError(t, yaml.Unmarshal([]byte(d), &m))
				docs[fmt.Sprint(m["kind"])] = m
			}
			auth := docs["KonnectAPIAuthConfiguration"]
			require.Equal(t, "eu.api.konnect.example.com", auth["spec"].(map[string]any)["serverURL"])
			if p == testenv.KGO14 {
				spec := docs["KonnectExtension"]["spec"].(map[string]any)
				require.Equal(t, "konnect.example.com", spec["serverHostname"])
				require.Equal(t, "eu", spec["controlPlaneRegion"])
				require.Equal(t, strings.Split(strings.TrimPrefix(seed.ControlPlaneEndpoint, "https://"), ".")[0], spec["controlPlaneRef"].(map[string]any)["konnectID"])
			} else {
				spec := docs["KonnectGatewayControlPlane"]["spec"].(map[string]any)
				require.Equal(t, "Mirror", spec["source"])
			}
			hosts := map[string]bool{}
			for _, r := range fake.Requests() {
				hosts[r.Host] = true
			}
			require.True(t, hosts["global.api.konnect.example.com"], "the /v3/*/me calls go to the custom domain: %v", hosts)
			require.True(t, hosts["eu.api.konnect.example.com"], "%v", hosts)
			require.False(t, hosts["global.api.konghq.com"], "%v", hosts)
			require.Empty(t, initSnapshot(t, env, ns))
		})
	}
}

// TestInitMeasurements runs init on the local stack and reports its API round trips and its wall
// time without the waits for the KGO stand-in. With INIT_MEASUREMENTS_OUT set, the figures are
// appended to that file.
func TestInitMeasurements(t *testing.T) {
	var report strings.Builder
	for _, p := range testenv.EdgeProfiles {
		env := testenv.Shared(t, p)
		type fig struct {
			k8s, konnect, writes int64
			own, wait            time.Duration
		}
		var first, rerun []fig
		for i := 0; i < 3; i++ {
			ns := env.Namespace(t)
			name := "measure-" + ns
			for j, dst := range []*[]fig{&first, &rerun} {
				o, _, errOut := initInProcess(t, env, ns, func(o *initcmd.Options) { o.ControlPlane = name })
				if j == 1 {
					o.Getenv = func(string) string { return "" } // the token from the stored Secret, as a user's re-run
				}
				require.NoError(t, o.Run(context.Background()), "%s", errOut)
				s := o.Stats
				*dst = append(*dst, fig{s.KubernetesCalls, s.KonnectCalls, int64(s.Writes), s.Wall - s.Waiting, s.Waiting})
			}
		}
		med := func(fs []fig) fig {
			sort.Slice(fs, func(i, j int) bool { return fs[i].own < fs[j].own })
			return fs[len(fs)/2]
		}
		for _, row := range []struct {
			what string
			f    fig
		}{{"first run (empty namespace)", med(first)}, {"re-run (all in place)", med(rerun)}} {
			fmt.Fprintf(&report, "%s %-28s Kubernetes round trips %3d, Konnect round trips %2d, writes %d, wall time without waits %6s (waits for the stand-in %s)\n",
				p, row.what, row.f.k8s, row.f.konnect, row.f.writes, row.f.own.Round(time.Millisecond), row.f.wait.Round(time.Millisecond))
		}
	}
	t.Log("\n" + report.String())
	if path := os.Getenv("INIT_MEASUREMENTS_OUT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, err = io.WriteString(f, report.String())
		require.NoError(t, err)
	}
}
