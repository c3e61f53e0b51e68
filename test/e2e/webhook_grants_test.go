package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/test/testenv"
)

// TestWebhookCrossNamespaceGrants applies, with the real kubectl through the
// webhook, every cross-namespace reference field (rules.CrossNamespaceFields:
// each referrer kind and path) in four cases on kong-operator 2.0, 2.2 and
// 2.3, and asserts the exact outcome of each row:
//
//   - same: the field names the referrer's own namespace;
//   - grant: another namespace, with a KongReferenceGrant there permitting it;
//   - nogrant: another namespace, no grant;
//   - other: another namespace whose grants permit another target kind, or
//     the referrer's kind from another namespace.
//
// Outcomes: none (admitted, no warning); KON1901 (admitted with a warning
// naming the field and namespaces, and a KongReferenceGrant that, applied,
// silences it); KON1902 (denied, exit 1); KON1505 (the auth Secret before
// 2.3); or kubectl's own schema error where the release's CRD has no such
// field. What each release does is written here from kong-operator's source
// and CRDs, not from pkg/rules, so that the rules are checked against it.
//
// One API server per profile: the targets and grants of every row go in
// first (one kubectl apply per namespace), then each referrer is applied on
// its own, since each apply's exit code and warnings are the row's result.
func TestWebhookCrossNamespaceGrants(t *testing.T) {
	specs := xnsReferrers()
	requireEveryCrossNamespaceFieldHasRows(t, specs)
	for _, p := range []testenv.Profile{testenv.KO20, testenv.KO22, testenv.KO23} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel() // one API server each; the CPU of two cores goes further with two at once
			runCrossNamespaceGrantRows(t, p, specs)
		})
	}
	t.Run("ko-2.3-strict", func(t *testing.T) {
		t.Parallel()
		runCrossNamespaceStrictRow(t)
	})
}

// xnsCase is one of the four cases of a row.
type xnsCase string

const (
	xnsSame    xnsCase = "same"
	xnsGrant   xnsCase = "grant"
	xnsNoGrant xnsCase = "nogrant"
	xnsOther   xnsCase = "other"
)

var xnsCases = []xnsCase{xnsSame, xnsGrant, xnsNoGrant, xnsOther}

// xnsOutcome is what kubectl apply of a referrer must show.
type xnsOutcome string

const (
	outNone    xnsOutcome = "none"
	outKON1901 xnsOutcome = "KON1901 warn"
	outKON1902 xnsOutcome = "KON1902 deny"
	outKON1505 xnsOutcome = "KON1505 warn"
	outSchema  xnsOutcome = "schema error"
	// outCRDRule: a validation rule of the release's CRD refuses the object
	// before the webhook is asked.
	outCRDRule xnsOutcome = "CRD rule error"
)

// xnsReferrer is one referrer kind with one cross-namespace field.
type xnsReferrer struct {
	From schema.GroupKind
	To   schema.GroupKind
	// Path is the namespace field as rules.CrossNamespaceFields writes it.
	Path string
	// Target is the name of the referenced object; every namespace of the
	// test holds one of that kind and name (xnsTargets).
	Target string
	// CRDFrom is the first profile whose CRD of From has the field.
	CRDFrom testenv.Profile
	// GrantFrom is the first profile whose kong-operator follows the
	// reference when a KongReferenceGrant permits it (and only then).
	GrantFrom testenv.Profile
	// Before is what releases before GrantFrom do with a cross-namespace
	// value: outKON1902 (not followed), outKON1505 (followed without a
	// grant) or outNone (followed: the cluster-scoped KongVault).
	Before xnsOutcome
	// CRDRule, on the profiles CRDRuleOn, is the message of the CRD's
	// validation rule that refuses any value of the field.
	CRDRule   string
	CRDRuleOn []testenv.Profile
	// Build is the referrer name in namespace ns (ignored when cluster-
	// scoped), whose field names Target in refNS.
	Build func(name, ns, refNS, suffix string, pki xnsPKI) obj
}

type xnsPKI struct{ Cert, Key string }

func (r xnsReferrer) key() string { return r.From.Kind + " " + r.Path }

func (r xnsReferrer) clusterScoped() bool { return r.From == rules.GKKongVault }

// expect is the row's outcome on profile p, from the facts of the referrer.
func (r xnsReferrer) expect(p testenv.Profile, c xnsCase) xnsOutcome {
	if profileIndex(p) < profileIndex(r.CRDFrom) {
		return outSchema
	}
	if slices.Contains(r.CRDRuleOn, p) {
		return outCRDRule
	}
	if c == xnsSame {
		return outNone
	}
	if profileIndex(p) < profileIndex(r.GrantFrom) {
		return r.Before
	}
	if c == xnsGrant {
		return outNone
	}
	return outKON1901
}

func profileIndex(p testenv.Profile) int { return slices.Index(testenv.Profiles, p) }

// fieldPath is the path kubectl prints: the first element of a list.
func (r xnsReferrer) fieldPath() string { return strings.ReplaceAll(r.Path, "[*]", "[0]") }

func cpRefIn(name, ns string) obj {
	return obj{"type": "konnectNamespacedRef", "konnectNamespacedRef": obj{"name": name, "namespace": ns}}
}

func metaNS(name, ns string) obj { return obj{"name": name, "namespace": ns} }

// xnsReferrers are the rows' referrers. Upstream facts (Kong/kong-operator):
//   - controlPlaneRef: v2.0.0 controller/pkg/controlplane/ref.go
//     getCPForNamespacedRef refuses another namespace ("ControlPlaneRef from
//     different namespace") except for the cluster-scoped KongVault, whose
//     namespace field is how it names a control plane; v2.2.3 and
//     v2.3.0-rc.3 follow it (same file) after
//     controller/konnect/reconciler_controlplaneref.go checks the grant.
//   - Every other field is absent from kubernetes-configuration v2.0.1's
//     CRDs (test/crds/kc-v2.0.1) and present in v2.2.3's, checked by
//     crossnamespace.CheckKongReferenceGrantForResource in
//     reconciler_serviceref.go, reconciler_pluginref.go,
//     reconciler_secretref.go, reconciler_apiauthref.go,
//     reconciler_upstreamref.go, reconciler_certificateref.go,
//     reconciler_cacertificatesrefs.go (controller/konnect) and
//     controller/gateway/konnect_auth_referencegrant.go.
//   - KonnectAPIAuthConfiguration spec.secretRef.namespace is in every CRD;
//     v2.2.3 reconciler_konnectapiauth.go GetTokenFromKonnectAPIAuthConfiguration
//     only logs a missing grant, v2.3.0-rc.3 returns its error (#2908).
func xnsReferrers() []xnsReferrer {
	cp := func(kind, apiVersion string, spec func(name, suffix string, pki xnsPKI) obj, top ...func(o obj)) xnsReferrer {
		gk := schema.GroupKind{Group: strings.Split(apiVersion, "/")[0], Kind: kind}
		return xnsReferrer{
			From: gk, To: rules.GKKonnectGatewayControlPlane, Path: "spec.controlPlaneRef.konnectNamespacedRef.namespace",
			Target: "cp", CRDFrom: testenv.KO20, GrantFrom: testenv.KO22, Before: outKON1902,
			// kubernetes-configuration v2.0.1's CRDs of every namespaced
			// entity refuse the field outright, even naming the object's
			// own namespace (test/crds/kc-v2.0.1, x-kubernetes-validations);
			// the 2.2 CRDs dropped the rule.
			CRDRule: "spec.controlPlaneRef cannot specify namespace for namespaced resource", CRDRuleOn: []testenv.Profile{testenv.KO20},
			Build: func(name, ns, refNS, suffix string, pki xnsPKI) obj {
				s := spec(name, suffix, pki)
				s["controlPlaneRef"] = cpRefIn("cp", refNS)
				o := obj{"apiVersion": apiVersion, "kind": kind, "metadata": metaNS(name, ns), "spec": s}
				for _, f := range top {
					f(o)
				}
				return o
			},
		}
	}
	none := func(string, string, xnsPKI) obj { return obj{} }
	vault := cp("KongVault", "configuration.konghq.com/v1alpha1", func(name, suffix string, _ xnsPKI) obj {
		return obj{"backend": "env", "prefix": strings.ReplaceAll(name, "-", "")}
	})
	vault.Before = outNone
	vault.CRDRule, vault.CRDRuleOn = "", nil // cluster-scoped: its CRD has no such rule
	vaultBuild := vault.Build
	vault.Build = func(name, _, refNS, suffix string, pki xnsPKI) obj {
		o := vaultBuild(name, "", refNS, suffix, pki)
		o["metadata"] = obj{"name": name}
		return o
	}

	out := []xnsReferrer{
		cp("KongService", "configuration.konghq.com/v1alpha1", func(string, string, xnsPKI) obj { return obj{"host": "example.com"} }),
		cp("KongRoute", "configuration.konghq.com/v1alpha1", func(string, string, xnsPKI) obj { return obj{"paths": []any{"/x"}} }),
		cp("KongUpstream", "configuration.konghq.com/v1alpha1", none),
		cp("KongCACertificate", "configuration.konghq.com/v1alpha1", func(_, _ string, pki xnsPKI) obj { return obj{"cert": pki.Cert} }),
		cp("KongCertificate", "configuration.konghq.com/v1alpha1", func(_, _ string, pki xnsPKI) obj { return obj{"cert": pki.Cert, "key": pki.Key} }),
		cp("KongKey", "configuration.konghq.com/v1alpha1", func(name, _ string, _ xnsPKI) obj {
			return obj{"kid": name, "jwk": fmt.Sprintf(`{"kid":%q,"kty":"RSA"}`, name)}
		}),
		cp("KongKeySet", "configuration.konghq.com/v1alpha1", func(name, _ string, _ xnsPKI) obj { return obj{"name": name} }),
		cp("KongConsumer", "configuration.konghq.com/v1", none, func(o obj) { o["username"] = o["metadata"].(obj)["name"] }),
		cp("KongConsumerGroup", "configuration.konghq.com/v1beta1", func(name, _ string, _ xnsPKI) obj { return obj{"name": name} }),
		cp("KongPluginBinding", "configuration.konghq.com/v1alpha1", func(string, string, xnsPKI) obj {
			return obj{"pluginRef": obj{"kind": "KongPlugin", "name": "plug"}, "scope": "GlobalInControlPlane"}
		}),
		vault,
		cp("KongDataPlaneClientCertificate", "configuration.konghq.com/v1alpha1", func(_, _ string, pki xnsPKI) obj { return obj{"cert": pki.Cert} }),
	}

	// entity builds a referrer with a control plane in its own namespace
	// and the reference under test.
	entity := func(from, to schema.GroupKind, apiVersion, path, target string, spec func(refNS string, pki xnsPKI) obj) xnsReferrer {
		return xnsReferrer{
			From: from, To: to, Path: path, Target: target, CRDFrom: testenv.KO22, GrantFrom: testenv.KO22, Before: outKON1902,
			Build: func(name, ns, refNS, suffix string, pki xnsPKI) obj {
				s := spec(refNS, pki)
				// Kinds whose CRD requires a control plane get their own
				// namespace's; a KongRoute with serviceRef takes its
				// service's (KON1101 denies a second one).
				if from != rules.GKKongTarget && from != rules.GKKongSNI && from != rules.GKKongRoute && from.Group == rules.GroupConfiguration {
					s["controlPlaneRef"] = cpRef("cp")
				}
				return obj{"apiVersion": apiVersion, "kind": from.Kind, "metadata": metaNS(name, ns), "spec": s}
			},
		}
	}
	ref := func(name, ns string) obj { return obj{"name": name, "namespace": ns} }
	out = append(out,
		entity(rules.GKKongRoute, rules.GKKongService, "configuration.konghq.com/v1alpha1", "spec.serviceRef.namespacedRef.namespace", "svc",
			func(refNS string, _ xnsPKI) obj {
				return obj{"serviceRef": obj{"type": "namespacedRef", "namespacedRef": ref("svc", refNS)}, "paths": []any{"/x"}}
			}),
		entity(rules.GKKongPluginBinding, rules.GKKongPlugin, "configuration.konghq.com/v1alpha1", "spec.pluginRef.namespace", "plug",
			func(refNS string, _ xnsPKI) obj {
				return obj{"pluginRef": obj{"kind": "KongPlugin", "name": "plug", "namespace": refNS}, "scope": "GlobalInControlPlane"}
			}),
		entity(rules.GKKongCertificate, rules.GKSecret, "configuration.konghq.com/v1alpha1", "spec.secretRef.namespace", "tls",
			func(refNS string, _ xnsPKI) obj { return obj{"type": "secretRef", "secretRef": ref("tls", refNS)} }),
		entity(rules.GKKongCertificate, rules.GKSecret, "configuration.konghq.com/v1alpha1", "spec.secretRefAlt.namespace", "tls",
			func(refNS string, _ xnsPKI) obj {
				return obj{"type": "secretRef", "secretRef": obj{"name": "tls"}, "secretRefAlt": ref("tls", refNS)}
			}),
		entity(rules.GKKongCACertificate, rules.GKSecret, "configuration.konghq.com/v1alpha1", "spec.secretRef.namespace", "tls",
			func(refNS string, _ xnsPKI) obj { return obj{"type": "secretRef", "secretRef": ref("tls", refNS)} }),
		entity(rules.GKKongTarget, rules.GKKongUpstream, "configuration.konghq.com/v1alpha1", "spec.upstreamRef.namespace", "up",
			func(refNS string, _ xnsPKI) obj {
				return obj{"target": "10.0.0.1:80", "weight": 100, "upstreamRef": ref("up", refNS)}
			}),
		entity(rules.GKKongSNI, rules.GKKongCertificate, "configuration.konghq.com/v1alpha1", "spec.certificateRef.namespace", "cert",
			func(refNS string, _ xnsPKI) obj {
				return obj{"name": "sni.example.com", "certificateRef": ref("cert", refNS)}
			}),
		entity(rules.GKGatewayConfiguration, rules.GKKonnectAPIAuthConfiguration, "gateway-operator.konghq.com/v2beta1", "spec.konnect.authRef.namespace", "konnect-auth",
			func(refNS string, _ xnsPKI) obj { return obj{"konnect": obj{"authRef": ref("konnect-auth", refNS)}} }),
		entity(rules.GKKongService, rules.GKKongCACertificate, "configuration.konghq.com/v1alpha1", "spec.caCertificateRefs[*].namespace", "ca",
			func(refNS string, _ xnsPKI) obj {
				return obj{"host": "example.com", "caCertificateRefs": []any{ref("ca", refNS)}}
			}),
		entity(rules.GKKongService, rules.GKKongCertificate, "configuration.konghq.com/v1alpha1", "spec.clientCertificateRef.namespace", "cert",
			func(refNS string, _ xnsPKI) obj {
				return obj{"host": "example.com", "clientCertificateRef": ref("cert", refNS)}
			}),
		entity(rules.GKKongUpstream, rules.GKKongCertificate, "configuration.konghq.com/v1alpha1", "spec.clientCertificateRef.namespace", "cert",
			func(refNS string, _ xnsPKI) obj { return obj{"clientCertificateRef": ref("cert", refNS)} }),
	)

	// KonnectGatewayControlPlane spec.konnect.authRef.namespace: only the
	// v1alpha2 CRD of v2.2.3 has it (its v1alpha1 gained it in 2.3).
	kgcp := entity(rules.GKKonnectGatewayControlPlane, rules.GKKonnectAPIAuthConfiguration, "konnect.konghq.com/v1alpha2", "spec.konnect.authRef.namespace", "konnect-auth",
		func(refNS string, _ xnsPKI) obj {
			return obj{"source": "Origin", "konnect": obj{"authRef": ref("konnect-auth", refNS)}}
		})
	kgcpBuild := kgcp.Build
	kgcp.Build = func(name, ns, refNS, suffix string, pki xnsPKI) obj {
		o := kgcpBuild(name, ns, refNS, suffix, pki)
		o["spec"].(obj)["createControlPlaneRequest"] = obj{"name": "xns-" + suffix + "-" + name}
		return o
	}
	// KonnectAPIAuthConfiguration spec.secretRef.namespace (#2908).
	auth := entity(rules.GKKonnectAPIAuthConfiguration, rules.GKSecret, "konnect.konghq.com/v1alpha1", "spec.secretRef.namespace", "konnect-token",
		func(refNS string, _ xnsPKI) obj {
			return obj{"type": "secretRef", "secretRef": ref("konnect-token", refNS), "serverURL": "us.api.konghq.com"}
		})
	auth.CRDFrom, auth.GrantFrom, auth.Before = testenv.KO20, testenv.KO23, outKON1505
	return append(out, kgcp, auth)
}

// requireEveryCrossNamespaceFieldHasRows fails when a field of the rules'
// table has no referrer here (or a referrer here no field there).
func requireEveryCrossNamespaceFieldHasRows(t *testing.T, specs []xnsReferrer) {
	t.Helper()
	byKey := map[string]xnsReferrer{}
	for _, s := range specs {
		byKey[s.key()] = s
	}
	seen := map[string]bool{}
	for _, f := range rules.CrossNamespaceFields() {
		for _, from := range f.From {
			for _, p := range f.Paths {
				k := from.Kind + " " + p
				s, ok := byKey[k]
				if !ok {
					t.Errorf("cross-namespace field %s of %s (%s) has no row: add a referrer to xnsReferrers", p, from.Kind, f.What)
					continue
				}
				seen[k] = true
				require.Equal(t, f.To, s.To, "%s: the target kind", k)
			}
		}
	}
	for k := range byKey {
		if !seen[k] {
			t.Errorf("row %s is no field of rules.CrossNamespaceFields", k)
		}
	}
}

// xnsNames are the namespaces of one profile's run: A holds the referrers
// (and a target of every kind, for "same"); B, C and D hold the targets of
// "grant", "nogrant" and "other".
type xnsNames struct{ A, B, C, D string }

func (n xnsNames) targetNS(c xnsCase) string {
	switch c {
	case xnsGrant:
		return n.B
	case xnsNoGrant:
		return n.C
	case xnsOther:
		return n.D
	}
	return n.A
}

// xnsTargets is a target of every referenced kind in ns: the token Secret
// and auth, control plane cp, KongService svc, KongPlugin plug, TLS Secret
// tls, KongCertificate cert, KongCACertificate ca and KongUpstream up.
func xnsTargets(ns, token, suffix string, pki xnsPKI) []obj {
	cfg := "configuration.konghq.com/v1alpha1"
	return []obj{
		{"apiVersion": "v1", "kind": "Secret", "metadata": metaNS("konnect-token", ns), "stringData": obj{"token": token}},
		{"apiVersion": "konnect.konghq.com/v1alpha1", "kind": "KonnectAPIAuthConfiguration", "metadata": metaNS("konnect-auth", ns),
			"spec": obj{"type": "secretRef", "secretRef": obj{"name": "konnect-token"}, "serverURL": "us.api.konghq.com"}},
		{"apiVersion": "konnect.konghq.com/v1alpha2", "kind": "KonnectGatewayControlPlane", "metadata": metaNS("cp", ns),
			"spec": obj{"source": "Origin", "createControlPlaneRequest": obj{"name": "xns-" + suffix + "-" + ns}, "konnect": obj{"authRef": obj{"name": "konnect-auth"}}}},
		{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": metaNS("tls", ns),
			"stringData": obj{"tls.crt": pki.Cert, "tls.key": pki.Key, "ca.crt": pki.Cert}},
		{"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin", "metadata": metaNS("plug", ns), "plugin": "key-auth"},
		{"apiVersion": cfg, "kind": "KongService", "metadata": metaNS("svc", ns), "spec": obj{"host": "example.com", "controlPlaneRef": cpRef("cp")}},
		{"apiVersion": cfg, "kind": "KongCertificate", "metadata": metaNS("cert", ns), "spec": obj{"cert": pki.Cert, "key": pki.Key, "controlPlaneRef": cpRef("cp")}},
		{"apiVersion": cfg, "kind": "KongCACertificate", "metadata": metaNS("ca", ns), "spec": obj{"cert": pki.Cert, "controlPlaneRef": cpRef("cp")}},
		{"apiVersion": cfg, "kind": "KongUpstream", "metadata": metaNS("up", ns), "spec": obj{"controlPlaneRef": cpRef("cp")}},
	}
}

// tokenSecretLabel: KonnectAPIAuthConfiguration reads only Secrets with it.
func withCredentialLabel(o obj) obj {
	o["metadata"].(obj)["labels"] = obj{"konghq.com/credential": "konnect", "konghq.com/secret": "true"}
	return o
}

func grantGroupOf(gk schema.GroupKind) string {
	if gk.Group == "" {
		return "core"
	}
	return gk.Group
}

// grantFrom is a spec.from entry for referrers of kind from in ns ("" for
// the cluster-scoped KongVault).
func grantFrom(from schema.GroupKind, ns string) obj {
	if from == rules.GKKongVault {
		ns = ""
	}
	return obj{"group": from.Group, "kind": from.Kind, "namespace": ns}
}

// xnsGrants are the KongReferenceGrants of the run: in B one per target
// kind permitting exactly the row's referrer kinds from A; in D one per
// target kind permitting the referrer kinds another target kind, and one
// permitting the right target kind to referrers in C.
func xnsGrants(specs []xnsReferrer, n xnsNames) (inB, inD []obj) {
	byTo := map[schema.GroupKind][]schema.GroupKind{}
	var tos []schema.GroupKind
	targetsOf := map[schema.GroupKind][]schema.GroupKind{}
	for _, s := range specs {
		if _, ok := byTo[s.To]; !ok {
			tos = append(tos, s.To)
		}
		if !slices.Contains(byTo[s.To], s.From) {
			byTo[s.To] = append(byTo[s.To], s.From)
		}
		targetsOf[s.From] = append(targetsOf[s.From], s.To)
	}
	grant := func(name, ns string, from []any, to schema.GroupKind) obj {
		return obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongReferenceGrant", "metadata": metaNS(name, ns),
			"spec": obj{"from": from, "to": []any{obj{"group": grantGroupOf(to), "kind": to.Kind}}}}
	}
	for _, to := range tos {
		slug := strings.ToLower(to.Kind)
		var fromA, fromC []any
		for _, f := range byTo[to] {
			fromA = append(fromA, grantFrom(f, n.A))
			if f != rules.GKKongVault { // a KongVault's from namespace must be ""
				fromC = append(fromC, grantFrom(f, n.C))
			}
		}
		inB = append(inB, grant("to-"+slug, n.B, fromA, to))
		// Another target kind that none of these referrer kinds refers to.
		var wrong schema.GroupKind
		for _, c := range []schema.GroupKind{rules.GKKonnectAPIAuthConfiguration, rules.GKKonnectGatewayControlPlane, rules.GKKongUpstream, rules.GKKongPlugin} {
			if c == to {
				continue
			}
			used := false
			for _, f := range byTo[to] {
				used = used || slices.Contains(targetsOf[f], c)
			}
			if !used {
				wrong = c
				break
			}
		}
		inD = append(inD, grant("wrong-to-"+slug, n.D, fromA, wrong))
		if len(fromC) > 0 {
			inD = append(inD, grant("wrong-from-"+slug, n.D, fromC, to))
		}
	}
	return inB, inD
}

// xnsRow is one row's result, for the table.
type xnsRow struct {
	Profile testenv.Profile
	Key     string
	Case    xnsCase
	Want    xnsOutcome
	Got     string
}

func runCrossNamespaceGrantRows(t *testing.T, p testenv.Profile, specs []xnsReferrer) {
	env := testenv.SharedWithWebhook(t, p)
	ctx := context.Background()
	start, load0 := time.Now(), loadAverage()
	suffix := rand.String(5)
	base := env.Namespace(t) // checks the fake Konnect for spec violations
	n := xnsNames{A: base, B: "xns-b-" + suffix, C: "xns-c-" + suffix, D: "xns-d-" + suffix}
	for _, ns := range []string{n.B, n.C, n.D} {
		require.NoError(t, env.CreateNamespace(ctx, ns))
	}
	crt, key := selfSignedPair(t, "xns")
	pki := xnsPKI{Cert: crt, Key: key}

	// Targets (and grants) first, one kubectl apply per namespace.
	var setup []obj
	for _, ns := range []string{n.A, n.B, n.C, n.D} {
		objs := xnsTargets(ns, env.Token, suffix, pki)
		objs[0] = withCredentialLabel(objs[0])
		setup = append(setup, objs...)
	}
	inB, inD := xnsGrants(specs, n)
	if p.Generation().ReferenceGrants() {
		setup = append(setup, inB...)
		setup = append(setup, inD...)
	}
	byNS := map[string][]obj{}
	for _, o := range setup {
		ns := o["metadata"].(obj)["namespace"].(string)
		byNS[ns] = append(byNS[ns], o)
	}
	for _, ns := range []string{n.A, n.B, n.C, n.D} {
		out, errOut, err := env.Kubectl(ctx, manifest(t, byNS[ns]...), "apply", "-f", "-")
		require.NoError(t, err, "setup in %s must be admitted\nstdout: %s\nstderr: %s", ns, out, errOut)
	}
	for _, o := range setup {
		u := &unstructured.Unstructured{Object: o}
		env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), u.GetNamespace(), u.GetName())
	}
	t.Logf("%s: %d targets and grants in 4 namespaces in %s", p, len(setup), time.Since(start).Round(time.Millisecond))

	var mu sync.Mutex
	var rows []xnsRow
	var vaults []string
	hintGrants := map[string]string{} // name in C -> grant YAML from a KON1901 hint
	var regrade []obj                 // "nogrant" referrers to judge again once their hint is applied
	t.Cleanup(func() {
		for _, v := range vaults {
			_, _, _ = env.Kubectl(context.Background(), "", "delete", "kongvault.configuration.konghq.com", v, "--wait=false", "--ignore-not-found")
		}
	})

	t.Run("rows", func(t *testing.T) {
		for _, s := range specs {
			for _, c := range xnsCases {
				s, c := s, c
				name := xnsRowName(s, c)
				if s.clusterScoped() && c == xnsSame {
					// A cluster-scoped referrer (KongVault) has no namespace of
					// its own: the case does not exist, so no subtest (a skip
					// would fail .ci/run, which counts skips as defects).
					mu.Lock()
					rows = append(rows, xnsRow{p, s.key(), c, "n/a", "n/a: cluster-scoped"})
					mu.Unlock()
					continue
				}
				t.Run(strings.ReplaceAll(s.key(), " ", "/")+"/"+string(c), func(t *testing.T) {
					t.Parallel()
					if s.clusterScoped() {
						name = "xns-" + suffix + "-" + name
						mu.Lock()
						vaults = append(vaults, name)
						mu.Unlock()
					}
					want := s.expect(p, c)
					o := s.Build(name, n.A, n.targetNS(c), suffix, pki)
					got, hint := applyXNSRow(t, env, p, s, c, n, o, want)
					mu.Lock()
					rows = append(rows, xnsRow{p, s.key(), c, want, got})
					if hint != "" && c == xnsNoGrant {
						hintGrants[s.key()] = hint
						again := s.Build(name+"-again", n.A, n.targetNS(c), suffix, pki)
						regrade = append(regrade, again)
					}
					mu.Unlock()
				})
			}
		}
	})
	if t.Failed() {
		logXNSRows(t, rows)
		return
	}

	// The hints of the "nogrant" rows are ready to apply: applied as
	// printed, the same references (under new names, judged as creations
	// by a server-side dry run) draw no finding.
	if len(hintGrants) > 0 {
		var docs []string
		for _, k := range sortedKeys(hintGrants) {
			docs = append(docs, hintGrants[k])
		}
		out, errOut, err := env.Kubectl(ctx, strings.Join(docs, "\n"), "apply", "-f", "-") // a JSON stream
		require.NoError(t, err, "the hints' KongReferenceGrants must apply\nstdout: %s\nstderr: %s", out, errOut)
		for _, d := range docs {
			u := parseFixtureDoc(t, d)
			env.WaitForWebhookCache(t, rules.GKKongReferenceGrant, u.GetNamespace(), u.GetName())
		}
		for _, o := range regrade {
			if (&unstructured.Unstructured{Object: o}).GetKind() == "KongVault" {
				mu.Lock()
				vaults = append(vaults, o["metadata"].(obj)["name"].(string))
				mu.Unlock()
			}
		}
		out, errOut, err = env.Kubectl(ctx, manifest(t, regrade...), "create", "--dry-run=server", "-f", "-")
		require.NoError(t, err, "stdout: %s\nstderr: %s", out, errOut)
		require.NotContains(t, errOut, "Warning", "with the hints' grants applied, the references draw no finding")
		require.Equal(t, len(regrade), strings.Count(out, "(server dry run)"), out)
		t.Logf("%s: %d hint grants applied; their %d references now draw no finding", p, len(docs), len(regrade))
	}
	logXNSRows(t, rows)
	t.Logf("%s: %d rows in %s wall time; load average %s before, %s after", p, len(rows), time.Since(start).Round(time.Millisecond), load0, loadAverage())
}

func xnsRowName(s xnsReferrer, c xnsCase) string {
	field := strings.TrimSuffix(strings.TrimPrefix(s.Path, "spec."), ".namespace")
	field = strings.NewReplacer(".", "-", "[*]", "", "konnectNamespacedRef", "nsref").Replace(field)
	return strings.ToLower(s.From.Kind + "-" + field + "-" + string(c))
}

var konCode = regexp.MustCompile(`\[KON[0-9]{4}\]`)

// applyXNSRow applies the referrer and asserts the outcome; it returns what
// kubectl showed, for the table, and the grant YAML of a KON1901 hint.
func applyXNSRow(t *testing.T, env *testenv.Env, p testenv.Profile, s xnsReferrer, c xnsCase, n xnsNames, o obj, want xnsOutcome) (got, hint string) {
	ctx := context.Background()
	u := &unstructured.Unstructured{Object: o}
	out, errOut, err := env.Kubectl(ctx, manifest(t, o), "apply", "-f", "-")
	_, getErr := env.Get(ctx, u.GroupVersionKind(), u.GetNamespace(), u.GetName())
	exit := 0
	if err != nil {
		exit = exitCode(err)
	}
	codes := konCode.FindAllString(errOut, -1)
	report := fmt.Sprintf("%s %s, case %s on %s: want %s\nkubectl apply exit %d\nstdout: %s\nstderr: %s", s.From.Kind, s.Path, c, p, want, exit, out, errOut)
	refNS := n.targetNS(c)
	from := "from namespace " + n.A
	if s.clusterScoped() {
		from = "from the cluster-scoped KongVault"
	}
	switch want {
	case outNone:
		require.NoError(t, err, report)
		require.NotContains(t, errOut, "Warning", report)
		require.NoError(t, getErr, "the admitted %s must exist", u.GetKind())
		return "none", ""
	case outSchema:
		require.Equal(t, 1, exit, report)
		require.Contains(t, errOut, "strict decoding error", report)
		m := regexp.MustCompile(`unknown field "([^"]+)"`).FindStringSubmatch(errOut)
		require.NotNil(t, m, report)
		require.True(t, strings.HasPrefix(s.fieldPath(), m[1]), "the unknown field %q must lead to %s\n%s", m[1], s.fieldPath(), report)
		require.Empty(t, codes, "the webhook is never asked\n%s", report)
		require.Error(t, getErr)
		return fmt.Sprintf("schema error: unknown field %q", m[1]), ""
	case outCRDRule:
		require.Equal(t, 1, exit, report)
		require.Contains(t, errOut, fmt.Sprintf("The %s %q is invalid", u.GetKind(), u.GetName()), report)
		require.Contains(t, errOut, s.CRDRule, report)
		require.Empty(t, codes, "the webhook is never asked\n%s", report)
		require.Error(t, getErr)
		return "CRD rule error: " + s.CRDRule, ""
	case outKON1902:
		require.Equal(t, 1, exit, report)
		require.Contains(t, errOut, fmt.Sprintf("The %s %q is invalid", u.GetKind(), u.GetName()), report)
		require.Regexp(t, regexp.QuoteMeta(s.fieldPath()+": ")+`Forbidden: \[KON1902\]`, errOut, report)
		require.Equal(t, []string{"[KON1902]"}, codes, report)
		require.Contains(t, errOut, fmt.Sprintf("names %s %s in namespace %s, but %s does not follow references across namespaces", s.To.Kind, s.Target, refNS, p.Generation().Release()), report)
		require.Contains(t, errOut, "Fix: ", report)
		require.Error(t, getErr)
		return "KON1902 deny (exit 1)", ""
	case outKON1505:
		require.NoError(t, err, report)
		require.Equal(t, []string{"[KON1505]"}, codes, report)
		require.Contains(t, errOut, "Warning: "+s.fieldPath()+": [KON1505] secretRef reads a token from namespace "+refNS, report)
		require.NoError(t, getErr)
		return "KON1505 warn", ""
	case outKON1901:
		require.NoError(t, err, report)
		require.Equal(t, []string{"[KON1901]"}, codes, report)
		require.Contains(t, errOut, "Warning: "+s.fieldPath()+": [KON1901] ", report)
		require.Contains(t, errOut, fmt.Sprintf("names %s %s in namespace %s %s, and no KongReferenceGrant in %s permits it", s.To.Kind, s.Target, refNS, from, refNS), report)
		require.Contains(t, errOut, "Fix: Permit it with this KongReferenceGrant in "+refNS, report)
		require.NoError(t, getErr)
		hint = grantFromHint(t, errOut, report)
		g := parseFixtureDoc(t, hint)
		require.Equal(t, "KongReferenceGrant", g.GetKind(), report)
		require.Equal(t, refNS, g.GetNamespace(), report)
		fromNS := n.A
		if s.clusterScoped() {
			fromNS = ""
		}
		froms, _, _ := unstructured.NestedSlice(g.Object, "spec", "from")
		tos, _, _ := unstructured.NestedSlice(g.Object, "spec", "to")
		require.Equal(t, []any{map[string]any{"group": s.From.Group, "kind": s.From.Kind, "namespace": fromNS}}, froms, report)
		require.Equal(t, []any{map[string]any{"group": grantGroupOf(s.To), "kind": s.To.Kind, "name": s.Target}}, tos, report)
		return "KON1901 warn, hint grant ok", hint
	}
	t.Fatalf("unknown outcome %q", want)
	return "", ""
}

// grantFromHint cuts the KongReferenceGrant, one line of JSON,
// out of a KON1901 warning.
func grantFromHint(t *testing.T, errOut, report string) string {
	t.Helper()
	start := strings.Index(errOut, `{"apiVersion":"configuration.konghq.com/v1alpha1","kind":"KongReferenceGrant"`)
	require.GreaterOrEqual(t, start, 0, "the hint must hold a KongReferenceGrant\n%s", report)
	depth, end := 0, -1
	for i, r := range errOut[start:] {
		if r == '{' {
			depth++
		} else if r == '}' {
			if depth--; depth == 0 {
				end = start + i + 1
				break
			}
		}
	}
	require.Greater(t, end, start, "the hint's grant must close\n%s", report)
	doc := errOut[start:end]
	m := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &m), "the hint's grant must be YAML:\n%s\n%s", doc, report)
	return doc
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func logXNSRows(t *testing.T, rows []xnsRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Key != rows[j].Key {
			return rows[i].Key < rows[j].Key
		}
		return slices.Index(xnsCases, rows[i].Case) < slices.Index(xnsCases, rows[j].Case)
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n| %s | %s | %s | %s | %s |", r.Profile, r.Key, r.Case, r.Want, r.Got)
	}
	t.Logf("rows:%s", b.String())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// runCrossNamespaceStrictRow: with --strict, a reference no grant permits
// is denied (KON1901 is a Strict rule).
func runCrossNamespaceStrictRow(t *testing.T) {
	env := testenv.SharedWithWebhookStrict(t, testenv.KO23)
	ctx := context.Background()
	a := env.Namespace(t)
	other := "xns-strict-" + rand.String(5)
	require.NoError(t, env.CreateNamespace(ctx, other))
	crt, key := selfSignedPair(t, "xns")
	targets := xnsTargets(other, env.Token, rand.String(5), xnsPKI{Cert: crt, Key: key})
	targets[0] = withCredentialLabel(targets[0])
	_, errOut, err := env.Kubectl(ctx, manifest(t, targets...), "apply", "-f", "-")
	require.NoError(t, err, errOut)
	for _, o := range targets {
		u := &unstructured.Unstructured{Object: o}
		env.WaitForWebhookCache(t, u.GroupVersionKind().GroupKind(), other, u.GetName())
	}
	route := obj{"apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongRoute", "metadata": metaNS("strict-route", a),
		"spec": obj{"serviceRef": obj{"type": "namespacedRef", "namespacedRef": obj{"name": "svc", "namespace": other}}, "paths": []any{"/x"}}}
	out, errOut, err := env.Kubectl(ctx, manifest(t, route), "apply", "-f", "-")
	report := fmt.Sprintf("stdout: %s\nstderr: %s", out, errOut)
	require.Error(t, err, report)
	require.Equal(t, 1, exitCode(err), report)
	require.Contains(t, errOut, `The KongRoute "strict-route" is invalid`, report)
	require.Regexp(t, regexp.QuoteMeta("spec.serviceRef.namespacedRef.namespace: ")+`(Invalid value: [^\n]*?|Forbidden): \[KON1901\]`, errOut, report)
	require.Contains(t, errOut, fmt.Sprintf("names KongService svc in namespace %s from namespace %s, and no KongReferenceGrant in %s permits it", other, a, other), report)
	require.Contains(t, errOut, `"kind":"KongReferenceGrant"`, report)
	_, getErr := env.Get(ctx, testenv.GVKKongRoute, a, "strict-route")
	require.Error(t, getErr, "the denied KongRoute must not exist")
	t.Logf("| ko-2.3 --strict | KongRoute spec.serviceRef.namespacedRef.namespace | nogrant | KON1901 deny | KON1901 deny (exit 1) |")
}
