package initcmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Kong/sdk-konnect-go/models/sdkerrors"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
)

func TestParseServerURL(t *testing.T) {
	for _, tc := range []struct {
		in, host, region, domain, err string
	}{
		{in: "https://eu.api.konghq.com", host: "eu.api.konghq.com", region: "eu", domain: "konghq.com"},
		{in: "us.api.konghq.com", host: "us.api.konghq.com", region: "us", domain: "konghq.com"},
		{in: "https://AU.api.konghq.com/", host: "au.api.konghq.com", region: "au", domain: "konghq.com"},
		{in: "https://in.api.konnect.example.com", host: "in.api.konnect.example.com", region: "in", domain: "konnect.example.com"},
		{in: "http://us.api.konghq.com", err: "only reached over https"},
		{in: "https://api.konghq.com", err: "not <region>.api.<domain>"},
		{in: "https://global.api.konghq.com", err: "global.api is Konnect's global API"},
		// KGO accepts any two-letter region (controller/konnect/server/region.go NewRegion): Singapore, and a geo Konnect adds tomorrow.
		{in: "https://sg.api.konghq.com", host: "sg.api.konghq.com", region: "sg", domain: "konghq.com"},
		{in: "https://xx.api.konghq.com", host: "xx.api.konghq.com", region: "xx", domain: "konghq.com"},
		{in: "https://usa.api.konghq.com", err: `"usa" is not a Konnect region`},
		{in: "https://us.api.konghq.com:8443", err: "without port, path or query"},
		{in: "https://us.api.konghq.com/v2", err: "without port, path or query"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := parseServerURL(tc.in, "--server-url")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, "--server-url")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.host, s.host())
			assert.Equal(t, tc.region, s.region)
			assert.Equal(t, tc.domain, s.domain)
		})
	}
	_, err := parseRegion("EU")
	require.NoError(t, err)
	sg, err := parseRegion("sg")
	require.NoError(t, err)
	assert.Equal(t, "sg.api.konghq.com", sg.host())
	assert.Empty(t, unknownGeoNote("sg"))
	assert.Contains(t, unknownGeoNote("xx"), "Konnect has no API listing its control-plane geos")
	_, err = parseRegion("global")
	require.ErrorContains(t, err, "e.g. one of us, eu, au, me, in, sg")
	_, err = parseRegion("u1")
	require.ErrorContains(t, err, "not a Konnect region")
}

func TestParseEndpoint(t *testing.T) {
	ep, err := parseEndpoint("https://b89939e7f0.us.cp0.konghq.com")
	require.NoError(t, err)
	assert.Equal(t, endpoint{prefix: "b89939e7f0", region: "us", server: "konghq.com"}, ep)
	ep, err = parseEndpoint("https://0123456789.eu.cp0.konnect.example.com:443")
	require.NoError(t, err)
	assert.Equal(t, endpoint{prefix: "0123456789", region: "eu", server: "konnect.example.com"}, ep)
	_, err = parseEndpoint("https://cp.example.com")
	require.ErrorContains(t, err, "the only shape KGO 1.4's KonnectExtension can express: upgrade to KGO 1.5")
	_, err = parseEndpoint("::")
	require.ErrorContains(t, err, "is not a URL")
}

func TestResourceNameFor(t *testing.T) {
	for in, want := range map[string]string{
		"gw":                    "gw",
		"My Gateway":            "my-gateway",
		"  Prod / EU -- 2 ":     "prod-eu-2",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
		"Ünïcode Gâteway":       "n-code-g-teway",
	} {
		got, err := resourceNameFor(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := resourceNameFor("!!!")
	require.ErrorContains(t, err, "has no letters or digits")
}

func TestCertSecretNameFitsALabelValue(t *testing.T) {
	assert.Equal(t, "gw-dp-cert", certSecretName("gw"))
	long := strings.Repeat("x", 60)
	got := certSecretName(long)
	assert.LessOrEqual(t, len(got), 63)
	assert.True(t, strings.HasSuffix(got, "-dp-cert"))
	assert.Equal(t, got, certSecretName(long), "the same on every run")
	assert.NotEqual(t, got, certSecretName(strings.Repeat("x", 59)+"y"), "different control planes get different Secrets")
}

func TestUpToDate(t *testing.T) {
	desired := dataPlane("ns", "dp", KGO15, "ext", "kong/kong-gateway:3.9.1.0", 2)
	live := desired.DeepCopy()
	// What the API server and KGO add does not count.
	live.SetResourceVersion("42")
	live.SetLabels(map[string]string{labelManagedBy: managedBy, "extra": "x"})
	spec := live.Object["spec"].(map[string]any)
	spec["network"] = map[string]any{"services": map[string]any{}}
	containers := spec["deployment"].(map[string]any)["podTemplateSpec"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	containers[0].(map[string]any)["imagePullPolicy"] = "IfNotPresent"
	spec["deployment"].(map[string]any)["replicas"] = float64(2) // JSON numbers
	assert.True(t, upToDate(live, desired))

	changed := desired.DeepCopy()
	changed.Object["spec"].(map[string]any)["deployment"].(map[string]any)["replicas"] = int64(3)
	assert.False(t, upToDate(live, changed))
	assert.False(t, upToDate(nil, desired))
	noLabel := live.DeepCopy()
	noLabel.SetLabels(nil)
	assert.False(t, upToDate(noLabel, desired), "our label must be there")

	tok := tokenSecret("ns", "t", "kpat_a")
	assert.False(t, upToDate(tokenSecret("ns", "t", "kpat_b"), tok), "another token is a change")
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte("  kpat_filetoken\n"), 0o600))
	open := filepath.Join(dir, "open")
	require.NoError(t, os.WriteFile(open, []byte("spat_opentoken\n"), 0o644))
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvToken {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name       string
		o          func(o *Options)
		stdin      string
		want, err  string
		source     string
		warnSubstr string
	}{
		{name: "env", o: func(o *Options) { o.Getenv = env("kpat_envtoken") }, want: "kpat_envtoken", source: EnvToken},
		{name: "file", o: func(o *Options) { o.TokenFile = good }, want: "kpat_filetoken", source: "--token-file " + good},
		{name: "file readable by others", o: func(o *Options) { o.TokenFile = open }, want: "spat_opentoken", warnSubstr: "readable by other users"},
		{name: "stdin", o: func(o *Options) { o.TokenStdin = true }, stdin: "kpat_stdintoken\n", want: "kpat_stdintoken", source: "standard input"},
		{name: "none", o: func(*Options) {}, want: ""},
		{name: "two sources", o: func(o *Options) { o.Getenv = env("kpat_a"); o.TokenFile = good }, err: "the token is given by KONNECT_TOKEN and --token-file: give it one way only"},
		{name: "missing file", o: func(o *Options) { o.TokenFile = filepath.Join(dir, "nope") }, err: "--token-file: "},
		{name: "not a token", o: func(o *Options) { o.Getenv = env("hello") }, err: "does not start with kpat_"},
		{name: "two lines", o: func(o *Options) { o.TokenStdin = true }, stdin: "kpat_a\nkpat_b\n", err: "contains blanks or several lines"},
		{name: "empty stdin", o: func(o *Options) { o.TokenStdin = true }, stdin: "\n", err: "the token from standard input is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			o := &Options{IOStreams: genericiooptions.IOStreams{In: strings.NewReader(tc.stdin), ErrOut: &errOut}}
			tc.o(o)
			tok, err := o.readToken()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, tok.value)
			if tc.source != "" {
				assert.Equal(t, tc.source, tok.source)
			}
			if tc.warnSubstr != "" {
				assert.Contains(t, errOut.String(), tc.warnSubstr)
			}
			if tok.value != "" {
				assert.NotContains(t, errOut.String(), tok.value, "the token is never printed")
			}
		})
	}
}

// TestTokenFlagIsRefusedWithoutEchoingTheToken goes through cobra and pflag, which would print a
// rejected flag value: the value must not appear anywhere.
func TestTokenFlagIsRefusedWithoutEchoingTheToken(t *testing.T) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(nil, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--control-plane", "gw", "--token", "kpat_topsecret"})
	err := cmd.Execute()
	require.Error(t, err)
	assert.ErrorIs(t, err, errTokenFlag)
	assert.NotContains(t, err.Error()+out.String()+errOut.String(), "kpat_topsecret")
}

func TestValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(o *Options)
		err  string
	}{
		{"no control plane", func(o *Options) { o.ControlPlane = "" }, "--control-plane is required"},
		{"bad cluster type", func(o *Options) { o.ClusterType = "serverless" }, "--cluster-type \"serverless\" is not supported"},
		{"group without --no-dataplane", func(o *Options) { o.ClusterType = "group" }, "is a control plane group"},
		{"region and server URL", func(o *Options) { o.Region, o.ServerURL = "us", "https://us.api.konghq.com" }, "--region and --server-url both"},
		{"bad server URL", func(o *Options) { o.ServerURL = "https://konghq.com" }, "--server-url \"https://konghq.com\""},
		{"bad dataplane name", func(o *Options) { o.DataPlane = "Data_Plane" }, "--dataplane \"Data_Plane\" is not a valid DataPlane name"},
		{"negative replicas", func(o *Options) { o.Replicas = -1 }, "--replicas -1 is negative"},
		{"bad provisioning", func(o *Options) { o.CertProvisioning = "magic" }, "--cert-provisioning \"magic\""},
		{"bad dry run", func(o *Options) { o.DryRun = "maybe" }, "--dry-run \"maybe\""},
		{"include secrets without -o", func(o *Options) { o.IncludeSecrets = true }, "--include-secrets only matters with -o"},
		{"bad output", func(o *Options) { *o.PrintFlags.OutputFormat = "wide" }, "-o \"wide\" is not supported"},
		{"zero timeout", func(o *Options) { o.Timeout = 0 }, "--timeout 0s"},
		{"unusable control plane name", func(o *Options) { o.ControlPlane = "!!" }, "has no letters or digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions(genericiooptions.IOStreams{})
			o.ControlPlane = "gw"
			tc.set(o)
			require.ErrorContains(t, o.Validate(), tc.err)
		})
	}
	o := NewOptions(genericiooptions.IOStreams{})
	o.ControlPlane, o.ClusterType, o.NoDataPlane = "gw", "kic", true
	require.NoError(t, o.Validate(), "a KIC control plane without a data plane is fine")
	assert.Equal(t, clusterTypeKIC, o.clusterType)
}

func TestGeneration(t *testing.T) {
	kgo14 := served{gvrAuth: true, gvrCP: true, gvrDPCert: true, gvrDataPlane: true, gvrExtOperator: true}
	kgo16 := served{gvrAuth: true, gvrCP: true, gvrDPCert: true, gvrDataPlane: true, gvrExtOperator: true, gvrExtKonnect: true}

	g, err := kgo14.generation("", true, kgoapi.CRDVersion{})
	require.NoError(t, err)
	assert.Equal(t, KGO14, g)
	g, err = kgo16.generation("", true, kgoapi.CRDVersion{})
	require.NoError(t, err)
	assert.Equal(t, KGO15, g, "konnect.konghq.com wins: KGO >= 1.5 ignores the old group")
	g, err = kgo16.generation("v1.4.2", true, kgoapi.CRDVersion{})
	require.NoError(t, err)
	assert.Equal(t, KGO14, g, "--kgo-version overrides")
	_, err = kgo14.generation("1.6", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, "--kgo-version 1.6: the cluster does not serve KonnectExtension (konnect.konghq.com/v1alpha1)")
	_, err = kgo16.generation("2.0", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, "--kgo-version 2.0: the cluster does not serve KonnectExtension (konnect.konghq.com/v1alpha2), which kong-operator 2.0 acts on")
	require.ErrorContains(t, err, "the cluster serves the CRDs of KGO 1.5/1.6")
	_, err = kgo16.generation("3.0", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, `--kgo-version "3.0" is not supported: use 1.4, 1.5, 1.6 (Kong Gateway Operator), 2.0, 2.1, 2.2, 2.3 (kong-operator)`)

	var ni *NotInstalledError
	_, err = served{}.generation("", true, kgoapi.CRDVersion{})
	require.ErrorAs(t, err, &ni)
	require.ErrorContains(t, err, "KGO not installed: the cluster does not serve KonnectAPIAuthConfiguration (konnect.konghq.com/v1alpha1), KonnectGatewayControlPlane")
	require.ErrorContains(t, err, "helm upgrade --install kgo kong/gateway-operator")

	// kong-operator 2.x: KonnectGatewayControlPlane v1alpha1 (deprecated, converted) and v1alpha2,
	// KonnectExtension v1alpha2 only.
	ko20 := served{gvrAuth: true, gvrCP: true, gvrCPV1alpha2: true, gvrDPCert: true, gvrDataPlane: true, gvrExtKonnectV1alpha2: true}
	g, err = ko20.generation("", true, kgoapi.CRDVersion{})
	require.NoError(t, err)
	assert.Equal(t, KO20, g)
	assert.Equal(t, "kong-operator 2.0", g.String())
	assert.Equal(t, gvrCPV1alpha2, g.cpGVR(), "v1alpha2, the version kong-operator 2.x stores")
	assert.Equal(t, gvrExtKonnectV1alpha2, g.extensionGVR())
	for _, v := range []string{"2.0", "v2.0.1", "2.x", "2"} {
		g, err = ko20.generation(v, true, kgoapi.CRDVersion{})
		require.NoError(t, err, v)
		assert.Equal(t, KO20, g, v)
	}
	_, err = ko20.generation("1.6", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, "--kgo-version 1.6: the cluster does not serve KonnectExtension (konnect.konghq.com/v1alpha1), which KGO 1.5/1.6 acts on: leave --kgo-version out (the cluster serves the CRDs of kong-operator 2.0)")
	_, err = ko20.generation("1.4", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, "does not serve KonnectExtension (gateway-operator.konghq.com/v1alpha1)")
	g, err = served{gvrAuth: true, gvrCPV1alpha2: true, gvrDPCert: true, gvrExtKonnectV1alpha2: true}.generation("", false, kgoapi.CRDVersion{})
	require.NoError(t, err, "v1alpha2 alone (v1alpha1 no longer served) is kong-operator 2.x too")
	assert.Equal(t, KO20, g)
	_, err = served{gvrAuth: true, gvrCP: true, gvrCPV1alpha2: true, gvrDPCert: true, gvrDataPlane: true}.generation("", true, kgoapi.CRDVersion{})
	require.ErrorAs(t, err, &ni)
	require.ErrorContains(t, err, "does not serve KonnectExtension (konnect.konghq.com/v1alpha2)")
	assert.Equal(t, KGO15, kgo16.detect(kgoapi.CRDVersion{Version: "v1.5.3"}), "kubernetes-configuration v1.5.3 names no KGO release")
	assert.Equal(t, gvrCP, KGO15.cpGVR())
	assert.True(t, KGO15.mirrors() && KO20.mirrors() && !KGO14.mirrors(), "KGO 1.4 has no source: Mirror")
	ok, err := mirrorSupported(context.Background(), nil, KO20.cpGVR())
	require.NoError(t, err)
	assert.True(t, ok, "v1alpha2 always has source: Mirror: no OpenAPI round trip")

	noDP := served{gvrAuth: true, gvrCP: true, gvrDPCert: true, gvrExtKonnect: true}
	_, err = noDP.generation("", true, kgoapi.CRDVersion{})
	require.ErrorContains(t, err, "DataPlane (gateway-operator.konghq.com/v1beta1)")
	_, err = noDP.generation("", false, kgoapi.CRDVersion{})
	require.NoError(t, err, "--no-dataplane does not need the DataPlane CRD")
}

func TestRBACRules(t *testing.T) {
	rules := []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
		{Verbs: []string{"create", "patch"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"patch"}, APIGroups: []string{"konnect.konghq.com"}, Resources: []string{"konnectgatewaycontrolplanes"}, ResourceNames: []string{"gw"}},
		{Verbs: []string{"*"}, APIGroups: []string{"gateway-operator.konghq.com"}, Resources: []string{"*"}},
	}
	for _, tc := range []struct {
		w  write
		ok bool
	}{
		{write{gvrSecret, "s", "create"}, true},
		{write{gvrSecret, "s", "patch"}, true},
		{write{gvrAuth, "a", "patch"}, false},
		{write{gvrCP, "gw", "patch"}, true},
		{write{gvrCP, "other", "patch"}, false},
		{write{gvrCP, "gw", "create"}, false},
		{write{gvrDataPlane, "dp", "create"}, true},
	} {
		assert.Equal(t, tc.ok, allowed(rules, tc.w), "%+v", tc.w)
	}
	e := &RBACError{Namespace: "kong", Missing: []string{"create, patch konnectextensions.konnect.konghq.com"}}
	assert.Contains(t, e.Error(), "Nothing was written")
}

func TestKonnectErrorsNameTheCause(t *testing.T) {
	k := &konnectAPI{server: serverURL{region: "eu", domain: defaultDomain}}
	err := k.explain("checking the token", &sdkerrors.UnauthorizedError{}, true)
	require.ErrorContains(t, err, "401 Unauthorized: the token is wrong, expired or revoked")
	err = k.explain("listing", &sdkerrors.UnauthorizedError{}, false)
	require.ErrorContains(t, err, "wrong region?")
	k.home = "us"
	require.ErrorContains(t, k.explain("listing", &sdkerrors.KonnectCPLegacyUnauthorizedError{}, false), "try --region us")
	require.ErrorContains(t, k.explain("listing", &sdkerrors.ForbiddenError{}, false), "403 Forbidden: the token's user or system account lacks a role")
	require.ErrorContains(t, k.explain("listing", &sdkerrors.TooManyRequestsError{}, false), "429 Too Many Requests: Konnect is rate limiting")
	require.ErrorContains(t, k.explain("listing", &sdkerrors.ServiceUnavailable{}, false), "503 Service Unavailable")
	require.ErrorContains(t, k.explain("listing", sdkerrors.NewSDKError("x", 502, "", nil), false), "502 Bad Gateway")
	require.ErrorIs(t, k.explain("listing", context.Canceled, false), context.Canceled)
	var ke *KonnectError
	require.ErrorAs(t, k.explain("listing", &sdkerrors.NotFoundError{}, false), &ke)
	assert.Equal(t, 404, ke.Status)
}

func TestProgress(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(150 * time.Millisecond); return now }

	t.Run("off a terminal: plain lines, one per wait", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, false, true, clock)
		p.ok("Secret %s created", "s")
		require.NoError(t, p.wait(context.Background(), "KGO", func(ctx context.Context, status func(string)) error {
			status("Programmed=False")
			return nil
		}))
		p.warn("careful")
		out := b.String()
		assert.NotContains(t, out, "\033[", "no escape sequences off a terminal")
		assert.NotContains(t, out, "\r")
		assert.Equal(t, 3, strings.Count(out, "\n"))
		assert.Contains(t, out, "✓ Secret s created [")
		assert.Contains(t, out, "… waiting for KGO [")
		assert.Contains(t, out, "! careful [")
		assert.Greater(t, p.waitedTotal(), time.Duration(0))
	})

	t.Run("on a terminal: colours and a spinner", func(t *testing.T) {
		var b syncBuffer
		p := newProgress(&b, true, true, time.Now)
		p.ok("done")
		require.NoError(t, p.wait(context.Background(), "KGO", func(ctx context.Context, status func(string)) error {
			status("Programmed=False")
			time.Sleep(250 * time.Millisecond)
			return nil
		}))
		out := b.String()
		assert.Contains(t, out, "\033[32m✓\033[0m done")
		assert.Contains(t, out, "\r\033[K")
		assert.Contains(t, out, "waiting for KGO (")
		assert.Contains(t, out, "Programmed=False")
	})

	t.Run("NO_COLOR: a spinner, no colours", func(t *testing.T) {
		var b syncBuffer
		p := newProgress(&b, true, false, time.Now)
		p.fail("broken")
		require.NoError(t, p.wait(context.Background(), "KGO", func(ctx context.Context, status func(string)) error {
			time.Sleep(150 * time.Millisecond)
			return nil
		}))
		out := b.String()
		assert.Contains(t, out, "✗ broken")
		assert.NotContains(t, out, "\033[3", "no colour codes")
		assert.Contains(t, out, "\r\033[K", "the spinner still redraws its line")
	})
}

type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (s *syncBuffer) lock() {
	if s.mu == nil {
		s.mu = make(chan struct{}, 1)
	}
	s.mu <- struct{}{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.String()
}

func TestRenderStripsWhatTheServerOwns(t *testing.T) {
	u := controlPlaneOrigin(KGO15, "ns", "gw", "gw", clusterTypeHybrid, "auth")
	u.SetResourceVersion("1")
	u.SetUID("abc")
	u.SetFinalizers([]string{"konnect.konghq.com/delete"})
	u.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"})
	u.Object["status"] = map[string]any{"id": "x"}
	unstructuredStrip(u.Object)
	assert.Equal(t, map[string]any{"name": "gw", "namespace": "ns", "labels": map[string]any{labelManagedBy: managedBy}}, u.Object["metadata"])
	_, has := u.Object["status"]
	assert.False(t, has)
}

func TestClusterTypeErrors(t *testing.T) {
	assert.NoError(t, clusterTypeError("gw", clusterTypeHybrid, ""))
	assert.NoError(t, clusterTypeError("gw", "", ""))
	assert.ErrorContains(t, clusterTypeError("gw", clusterTypeKIC, "in Konnect"), "Kong Ingress Controller")
	assert.ErrorContains(t, clusterTypeError("gw", clusterTypeGroup, "in Konnect"), "control plane group")
}

func TestExitCodes(t *testing.T) {
	assert.Equal(t, 124, (&TimeoutError{Err: errors.New("x")}).ExitCode())
	assert.Equal(t, 130, (&InterruptedError{Err: errors.New("x")}).ExitCode())
}

// The objects init writes, in the shape of each generation: kong-operator 2.x gets v1alpha2 objects
// with the Konnect request in spec.createControlPlaneRequest.
func TestObjectsOfEachGeneration(t *testing.T) {
	for _, tc := range []struct {
		g                 Generation
		cpAPI, extAPI     string
		nameField, extGrp string
	}{
		{KGO15, "konnect.konghq.com/v1alpha1", "konnect.konghq.com/v1alpha1", "spec.name", "konnect.konghq.com"},
		{KO20, "konnect.konghq.com/v1alpha2", "konnect.konghq.com/v1alpha2", "spec.createControlPlaneRequest.name", "konnect.konghq.com"},
	} {
		t.Run(tc.g.String(), func(t *testing.T) {
			cp := controlPlaneOrigin(tc.g, "ns", "my-gw", "My GW", clusterTypeHybrid, "auth")
			assert.Equal(t, tc.cpAPI, cp.GetAPIVersion())
			assert.Equal(t, "KonnectGatewayControlPlane", cp.GetKind())
			assert.Equal(t, managedBy, cp.GetLabels()[labelManagedBy])
			assert.Equal(t, "ns", cp.GetNamespace())
			assert.Equal(t, "My GW", kgoapi.KonnectName(cp))
			assert.Equal(t, clusterTypeHybrid, kgoapi.ClusterType(cp))
			assert.Equal(t, "auth", kgoapi.AuthRef(cp))
			assert.Equal(t, tc.nameField, kgoapi.KonnectNameField(cp))
			if tc.g == KO20 {
				assert.Equal(t, map[string]any{
					"source":                    "Origin",
					"createControlPlaneRequest": map[string]any{"name": "My GW", "cluster_type": clusterTypeHybrid},
					"konnect":                   map[string]any{"authRef": map[string]any{"name": "auth"}},
				}, cp.Object["spec"])
			}

			m := controlPlaneMirror(tc.g, "ns", "shared", "3f2a", "auth")
			assert.Equal(t, tc.cpAPI, m.GetAPIVersion())
			assert.True(t, kgoapi.IsMirror(m))
			assert.Equal(t, "3f2a", kgoapi.KonnectID(m))
			assert.Equal(t, managedBy, m.GetLabels()[labelManagedBy])
			_, hasRequest := m.Object["spec"].(map[string]any)["createControlPlaneRequest"]
			assert.False(t, hasRequest, "v1alpha2 refuses createControlPlaneRequest on a Mirror")

			ext := extensionKonnect(tc.g, "ns", "my-gw", "my-gw", "my-gw-dp-cert")
			assert.Equal(t, tc.extAPI, ext.GetAPIVersion())
			assert.Equal(t, map[string]any{
				"konnect":    map[string]any{"controlPlane": map[string]any{"ref": map[string]any{"type": "konnectNamespacedRef", "konnectNamespacedRef": map[string]any{"name": "my-gw"}}}},
				"clientAuth": map[string]any{"certificateSecret": map[string]any{"provisioning": "Manual", "secretRef": map[string]any{"name": "my-gw-dp-cert"}}},
			}, ext.Object["spec"])
			auto := extensionKonnect(tc.g, "ns", "my-gw", "my-gw", "")
			assert.Equal(t, map[string]any{"provisioning": "Automatic"}, auto.Object["spec"].(map[string]any)["clientAuth"].(map[string]any)["certificateSecret"])

			dp := dataPlane("ns", "my-gw", tc.g, "my-gw", DefaultImage, 1)
			assert.Equal(t, tc.extGrp, dp.Object["spec"].(map[string]any)["extensions"].([]any)[0].(map[string]any)["group"])
		})
	}
}

// On kong-operator 2.x the RBAC preflight asks for the v1alpha2 resources init writes.
func TestPlannedWritesOfKO20(t *testing.T) {
	r := &run{o: &Options{AuthName: "auth", Image: DefaultImage, Replicas: 1}, ns: "ns", gen: KO20,
		server: serverURL{region: "us", domain: defaultDomain}}
	r.cp = cpPlan{mode: cpCreate, res: "gw", desired: controlPlaneOrigin(KO20, "ns", "gw", "gw", clusterTypeHybrid, "auth")}
	r.extName, r.dpName, r.crt.secretName = "gw", "gw", "gw-dp-cert"
	got := map[schema.GroupVersionResource]bool{}
	for _, w := range r.plannedWrites() {
		got[w.gvr] = true
	}
	assert.True(t, got[gvrCPV1alpha2], "%v", got)
	assert.True(t, got[gvrExtKonnectV1alpha2], "%v", got)
	assert.False(t, got[gvrCP] || got[gvrExtKonnect] || got[gvrExtOperator], "no v1alpha1 or old-group writes on 2.x: %v", got)
	assert.Equal(t, "konnectgatewaycontrolplane.konnect.konghq.com", resourceName(gvrCPV1alpha2))
	assert.Equal(t, "konnectextension.konnect.konghq.com", resourceName(gvrExtKonnectV1alpha2))
}

// init carries the release the cluster runs: from the KonnectGatewayControlPlane CRD's annotation
// on kong-operator 2.x (else the kinds served), with the objects of 2.0 on every 2.x and the Kong
// Gateway image the release's own samples use from 2.1 on; KGO 1.4, 1.5/1.6 and kong-operator 2.0
// keep the image init always wrote.
func TestGenerationByRelease(t *testing.T) {
	ko2 := served{gvrAuth: true, gvrCP: true, gvrCPV1alpha2: true, gvrDPCert: true, gvrDataPlane: true, gvrExtKonnectV1alpha2: true}
	for _, tc := range []struct {
		crd     string
		want    Generation
		name    string
		image   string
		fromCRD bool
	}{
		{"v2.0.1", KO20, "kong-operator 2.0", DefaultImage, true},
		{"v2.1.0", KO21, "kong-operator 2.1", "kong/kong-gateway:3.13", true},
		{"v2.2.3", KO22, "kong-operator 2.2", "kong/kong-gateway:3.14", true},
		{"v2.3.0-rc.3", KO23, "kong-operator 2.3", "kong/kong-gateway:3.15", true},
	} {
		t.Run(tc.crd, func(t *testing.T) {
			crd := kgoapi.CRDVersion{Version: tc.crd}
			g, err := ko2.generation("", true, crd)
			require.NoError(t, err)
			assert.Equal(t, tc.want, g)
			assert.Equal(t, tc.name, g.String())
			assert.Equal(t, tc.image, g.defaultImage())
			assert.Equal(t, KO20.cpGVR(), g.cpGVR(), "every 2.x writes the objects of 2.0")
			assert.Equal(t, KO20.extensionGVR(), g.extensionGVR())
			assert.True(t, g.mirrors())
			assert.Equal(t, "the KonnectGatewayControlPlane CRD's kubernetes-configuration.konghq.com/version is "+tc.crd, ko2.facts(crd).ReleaseSource())
			g, err = ko2.generation("2.x", true, crd)
			require.NoError(t, err)
			assert.Equal(t, tc.want, g, "2.x is the 2.x release the cluster runs")
		})
	}
	assert.Equal(t, DefaultImage, KGO14.defaultImage())
	assert.Equal(t, DefaultImage, KGO15.defaultImage())

	// Without the CRD (forbidden), the kinds served decide: KongReferenceGrant and KonnectEventGateway
	// are kong-operator 2.2.
	ko22 := served{gvrAuth: true, gvrCPV1alpha2: true, gvrDPCert: true, gvrDataPlane: true, gvrExtKonnectV1alpha2: true,
		{Group: "configuration.konghq.com", Version: "v1alpha1", Resource: "kongreferencegrants"}: true,
		{Group: "konnect.konghq.com", Version: "v1alpha1", Resource: "konnecteventgateways"}:      true}
	forbidden := kgoapi.CRDVersion{Unread: "reading CustomResourceDefinitions is forbidden"}
	g, err := ko22.generation("", true, forbidden)
	require.NoError(t, err)
	assert.Equal(t, KO22, g)
	assert.Contains(t, ko22.facts(forbidden).ReleaseSource(), "from the kinds served: the KonnectGatewayControlPlane CRD could not be read")

	// --kgo-version picks another 2.x release (its image) on the same objects; a full version works.
	g, err = ko2.generation("2.1", true, kgoapi.CRDVersion{Version: "v2.3.0-rc.3"})
	require.NoError(t, err)
	assert.Equal(t, KO21, g)
	g, err = ko2.generation("v2.2.3", true, kgoapi.CRDVersion{})
	require.NoError(t, err)
	assert.Equal(t, KO22, g)
}

// --image "" is an error; no --image is the release's default, decided once the release is known.
func TestImageFlag(t *testing.T) {
	o := NewOptions(genericiooptions.NewTestIOStreamsDiscard())
	o.ControlPlane, o.Region = "gw", "us"
	require.Equal(t, "", o.Image)
	require.NoError(t, o.Validate())
	o.imageGiven = true
	require.ErrorContains(t, o.Validate(), "--image is empty")
	o.Image = "kong/kong-gateway:3.10"
	require.NoError(t, o.Validate())
}

// --region completes the known geos, Singapore included; the list only
// completes, it does not limit what init accepts (TestParseServerURL).
func TestRegionFlagCompletesTheKnownGeos(t *testing.T) {
	cmd := NewCommand(nil, genericiooptions.NewTestIOStreamsDiscard())
	complete, ok := cmd.GetFlagCompletionFunc("region")
	require.True(t, ok)
	got, _ := complete(cmd, nil, "")
	assert.Equal(t, []cobra.Completion{"us", "eu", "au", "me", "in", "sg"}, got)
}
