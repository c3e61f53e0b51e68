package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Where the KGO generation came from (Summary.KGOGenerationSource).
const (
	SourceFlag    = "flag"    // --kgo-version
	SourceCluster = "cluster" // API discovery (--cluster)
	SourceFiles   = "files"   // inferred from the manifests
	SourceNone    = "none"    // unknown: generation-specific rules skipped
)

// DefaultNamespace is the namespace of objects without one when no other
// is given (what kubectl uses with an empty kubeconfig).
const DefaultNamespace = "default"

// GenerationName is how reports name a generation.
func GenerationName(g rules.Generation) string {
	if g == rules.GenerationUnknown {
		return "unknown"
	}
	return string(g)
}

// ParseKGOVersion maps a KGO or kong-operator version (1.4 .. 2.3, or a full
// version such as v2.2.3) to its generation (rules.ParseRelease).
func ParseKGOVersion(v string) (rules.Generation, error) { return rules.ParseRelease(v) }

// InferGeneration reads the KGO generation from the manifests, taking the
// newest evidence: a konnect.konghq.com/v1alpha2 KonnectGatewayControlPlane
// or KonnectExtension, or a KongReferenceGrant, exists only with
// kong-operator 2.x, and files cannot tell which 2.x: they are read as the
// newest known release, whose rules deny the least (a cross-namespace
// reference is refused only by releases without KongReferenceGrant); a
// konnect.konghq.com KonnectExtension of another version, or a
// spec.extensions entry of that group, only with KGO >= 1.5. A
// gateway-operator.konghq.com KonnectExtension proves nothing (KGO 1.5/1.6
// still serve its CRD and ignore it, which is what KON1601 reports), so
// files that have only that leave the generation unknown.
var newestKO2 = rules.Generations[len(rules.Generations)-1]

func InferGeneration(objs []*Object) rules.Generation {
	gen := rules.GenerationUnknown
	for _, o := range objs {
		gvk := o.Obj.GroupVersionKind()
		switch gvk.GroupKind() {
		case rules.GKKonnectGatewayControlPlane, rules.GKKonnectExtension:
			if gvk.Version == "v1alpha2" {
				return newestKO2
			}
			if gvk.GroupKind() == rules.GKKonnectExtension {
				gen = rules.GenerationKGO15Plus
			}
		case rules.GKKongReferenceGrant:
			return newestKO2
		case rules.GKDataPlane, rules.GKControlPlane, rules.GKGatewayConfiguration:
			exts, _, _ := unstructured.NestedSlice(o.Obj.Object, "spec", "extensions")
			for _, e := range exts {
				m, _ := e.(map[string]any)
				if m["kind"] == "KonnectExtension" && m["group"] == rules.GroupKonnect {
					gen = rules.GenerationKGO15Plus
				}
			}
		}
	}
	return gen
}

// Live are objects read from a cluster (--cluster): looked up under the
// file objects, which replace live objects of the same kind and name.
type Live struct {
	// Objects of rules.LookupKinds (stripped or not).
	Objects []*unstructured.Unstructured
	// Untracked are lookup kinds that could not be listed: a missing object
	// of these kinds is never reported, since it may exist.
	Untracked []schema.GroupKind
}

// Options of Lint.
type Options struct {
	Generation rules.Generation
	// GenerationSource is one of the Source constants, for the summary.
	GenerationSource string
	// Strict turns the warnings of "missing target" rules into denials.
	Strict bool
	// Disabled lists codes not to evaluate.
	Disabled []string
	// Namespace is given to objects of the KGO kinds and Secrets that have
	// none; DefaultNamespace when empty.
	Namespace string
	// Live objects from a cluster; nil offline.
	Live *Live
}

// Finding is one problem in one object; -o json prints this shape.
type Finding struct {
	Code     string         `json:"code"`
	Severity rules.Severity `json:"severity"`
	File     string         `json:"file"`
	// Line is the line of the field when known, else of the object.
	Line       int    `json:"line"`
	ObjectLine int    `json:"objectLine"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Field is the path of the offending field, Value its value.
	Field   string `json:"field,omitempty"`
	Value   any    `json:"value,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`

	fileIndex int
}

// Summary counts what was linted and found.
type Summary struct {
	Files    int `json:"files"`
	Objects  int `json:"objects"`
	Findings int `json:"findings"`
	Deny     int `json:"deny"`
	Warn     int `json:"warn"`
	// KGOGeneration is kgo-1.4, kgo-1.5+, ko-2.0 or unknown.
	KGOGeneration       string `json:"kgoGeneration"`
	KGOGenerationSource string `json:"kgoGenerationSource"`
	// SkippedRules were not evaluated: bound to a KGO generation that is
	// unknown, or disabled.
	SkippedRules []string `json:"skippedRules"`
	Strict       bool     `json:"strict"`
	Cluster      bool     `json:"cluster"`
}

// Report is the result of Lint.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	// Notes explain what limited the lint (unknown generation, kinds that
	// could not be listed); commands print them to stderr.
	Notes []string `json:"-"`
}

// Failed reports whether there is a deny-level finding.
func (r *Report) Failed() bool { return r.Summary.Deny > 0 }

// namespacedKinds get the default namespace when they have none: the
// namespaced kinds the rules validate or look up. Cluster-scoped ones
// (KongVault) keep none, as the API server keeps none; other kinds are left
// alone (no rule reads them).
var namespacedKinds = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for gk := range judgedKinds {
		if rules.Namespaced(gk) {
			m[gk] = true
		}
	}
	return m
}()

// judgedKinds are the kinds the rules validate or look up.
var judgedKinds = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for _, gk := range append(rules.ValidatedKinds(), rules.LookupKinds()...) {
		m[gk] = true
	}
	return m
}()

// Lint evaluates every rule over every object. Lookups resolve in the
// objects (after namespace defaulting) over opts.Live. The objects' Obj
// get their namespace defaulted.
func Lint(objs []*Object, files int, opts Options) *Report {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	store := rules.NewStore(opts.Generation)
	if opts.Live != nil {
		for _, u := range opts.Live.Objects {
			store.Add(u)
		}
		if len(opts.Live.Untracked) > 0 {
			untracked := map[schema.GroupKind]bool{}
			for _, gk := range opts.Live.Untracked {
				untracked[gk] = true
			}
			var tracked []schema.GroupKind
			for _, gk := range rules.LookupKinds() {
				if !untracked[gk] {
					tracked = append(tracked, gk)
				}
			}
			store.Track(tracked...)
		}
	}
	for _, o := range objs {
		if o.Obj.GetNamespace() == "" && namespacedKinds[o.Obj.GroupVersionKind().GroupKind()] {
			o.Obj.SetNamespace(ns)
		}
	}
	for _, o := range objs {
		store.Add(o.Obj)
	}

	skipped := skippedRules(opts)
	ropts := rules.Options{Strict: opts.Strict, Disabled: opts.Disabled}
	rep := &Report{Findings: []Finding{}}
	overwritten := map[*Object]bool{}
	if !slices.Contains(opts.Disabled, CodeDuplicate) {
		var dups []Finding
		dups, overwritten = duplicates(objs)
		rep.Findings = append(rep.Findings, dups...)
	}
	for _, o := range objs {
		if overwritten[o] {
			// kubectl apply replaces it with the last definition, which
			// is linted; its own findings would describe an object that
			// never stays in the cluster.
			continue
		}
		for _, f := range rules.Findings(o.Obj, store, ropts) {
			out := Finding{
				Code:       f.Code,
				Severity:   f.Severity,
				File:       o.File,
				Line:       o.FieldLine(f.Field),
				ObjectLine: o.Line,
				APIVersion: o.Obj.GetAPIVersion(),
				Kind:       o.Obj.GetKind(),
				Namespace:  o.Obj.GetNamespace(),
				Name:       o.Obj.GetName(),
				Value:      f.Value,
				Message:    f.Message,
				Hint:       f.Hint,
				fileIndex:  o.FileIndex(),
			}
			if out.Name == "" {
				out.Name = o.Obj.GetGenerateName()
			}
			if f.Field != nil {
				out.Field = f.Field.String()
			}
			rep.Findings = append(rep.Findings, out)
		}
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.fileIndex != b.fileIndex {
			return a.fileIndex < b.fileIndex
		}
		if a.ObjectLine != b.ObjectLine {
			return a.ObjectLine < b.ObjectLine
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Field < b.Field
	})

	s := &rep.Summary
	s.Files, s.Objects, s.Findings = files, len(objs), len(rep.Findings)
	for _, f := range rep.Findings {
		if f.Severity == rules.SeverityDeny {
			s.Deny++
		} else {
			s.Warn++
		}
	}
	s.KGOGeneration = GenerationName(opts.Generation)
	s.KGOGenerationSource = opts.GenerationSource
	if s.KGOGenerationSource == "" {
		s.KGOGenerationSource = SourceNone
	}
	s.SkippedRules = skipped
	s.Strict, s.Cluster = opts.Strict, opts.Live != nil

	if opts.Generation == rules.GenerationUnknown {
		if codes := generationRulesFor(objs); len(codes) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the KGO version is unknown, so %s (which depend on it) did not run: pass --kgo-version 1.4|1.5|1.6|2.0|2.1|2.2|2.3, or --cluster",
				strings.Join(codes, ", ")))
		}
	}
	if opts.Live != nil {
		for _, gk := range opts.Live.Untracked {
			rep.Notes = append(rep.Notes, fmt.Sprintf("could not list %s in the cluster: a missing %s is not reported", gk.String(), gk.Kind))
		}
	}
	return rep
}

// skippedRules: generation-bound rules when the generation is unknown, and
// disabled rules, in code order.
func skippedRules(opts Options) []string {
	out := []string{}
	disabled := map[string]bool{}
	for _, c := range opts.Disabled {
		disabled[c] = true
	}
	for _, r := range rules.Catalogue() {
		if disabled[r.Code] || (opts.Generation == rules.GenerationUnknown && !r.Releases.All()) {
			out = append(out, r.Code)
		}
	}
	return out
}

// generationRulesFor lists the generation-bound rules that would have
// checked one of the objects.
func generationRulesFor(objs []*Object) []string {
	kinds := map[schema.GroupKind]bool{}
	for _, o := range objs {
		kinds[o.Obj.GroupVersionKind().GroupKind()] = true
	}
	var out []string
	for _, r := range rules.Catalogue() {
		if r.Releases.All() {
			continue
		}
		for _, gk := range r.Kinds {
			if kinds[gk] {
				out = append(out, r.Code)
				break
			}
		}
	}
	return out
}

// Namespaces are the namespaces the objects are in or refer to (every
// string "namespace" under spec): where a --cluster lint lists live
// objects. Call after Lint has defaulted namespaces, or pass the default.
func Namespaces(objs []*Object, defaultNS string) []string {
	set := map[string]bool{}
	for _, o := range objs {
		gk := o.Obj.GroupVersionKind().GroupKind()
		switch {
		case namespacedKinds[gk]:
			ns := o.Obj.GetNamespace()
			if ns == "" {
				ns = defaultNS
			}
			set[ns] = true
		case !judgedKinds[gk]:
			continue
		}
		// A cluster-scoped KongVault names its control plane's namespace.
		collectNamespaces(o.Obj.Object["spec"], set)
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

func collectNamespaces(v any, set map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok && k == "namespace" && s != "" {
				set[s] = true
				continue
			}
			collectNamespaces(e, set)
		}
	case []any:
		for _, e := range t {
			collectNamespaces(e, set)
		}
	}
}

// CodeDuplicate is lint's finding for an object defined more than once in
// the inputs. It is not a rule of the catalogue (no webhook can see it: the
// API server keeps only one object), but it shares its code space, so that
// --disable and scripts treat it alike; rule codes are KON1xxx.
const CodeDuplicate = "KON0101"

// objectKey identifies an object as the API server does: group, kind,
// namespace and name (not the version: v1alpha1 and v1alpha2 of a kind are
// one object).
type objectKey struct {
	gk       schema.GroupKind
	ns, name string
}

// duplicates reports every object defined more than once (after namespace
// defaulting), at its last definition, naming every definition's file:line
// in input order, which is the order kubectl apply -f applies them in: the
// last wins. overwritten holds the other definitions.
func duplicates(objs []*Object) (out []Finding, overwritten map[*Object]bool) {
	overwritten = map[*Object]bool{}
	defs := map[objectKey][]*Object{}
	var order []objectKey
	for _, o := range objs {
		if o.Obj.GetName() == "" {
			continue // generateName: every apply creates another object
		}
		k := objectKey{o.Obj.GroupVersionKind().GroupKind(), o.Obj.GetNamespace(), o.Obj.GetName()}
		if len(defs[k]) == 0 {
			order = append(order, k)
		}
		defs[k] = append(defs[k], o)
	}
	for _, k := range order {
		ds := defs[k]
		if len(ds) < 2 {
			continue
		}
		where := make([]string, len(ds))
		for i, d := range ds {
			where[i] = fmt.Sprintf("%s:%d", d.File, d.Line)
			if i < len(ds)-1 {
				overwritten[d] = true
			}
		}
		last := ds[len(ds)-1]
		out = append(out, Finding{
			Code:       CodeDuplicate,
			Severity:   rules.SeverityWarn,
			File:       last.File,
			Line:       last.Line,
			ObjectLine: last.Line,
			APIVersion: last.Obj.GetAPIVersion(),
			Kind:       last.Obj.GetKind(),
			Namespace:  k.ns,
			Name:       k.name,
			Message: fmt.Sprintf("%s %s is defined %d times: %s; kubectl apply applies them in this order, so the last one (%s) wins and only it is linted",
				last.Obj.GetKind(), nsName(k.ns, k.name), len(ds), strings.Join(where, ", "), where[len(where)-1]),
			Hint:      "Keep one definition, or give the objects different names or namespaces",
			fileIndex: last.FileIndex(),
		})
	}
	return out, overwritten
}
