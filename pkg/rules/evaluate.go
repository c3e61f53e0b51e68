package rules

import (
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// rulesByKind indexes the catalogue by the kinds each rule validates.
var rulesByKind = func() map[schema.GroupKind][]*Rule {
	m := map[schema.GroupKind][]*Rule{}
	for i := range catalogue {
		r := &catalogue[i]
		for _, gk := range r.Kinds {
			m[gk] = append(m[gk], r)
		}
	}
	return m
}()

// Findings runs every rule for the object's kind and returns what they
// found, in catalogue order, with Options applied (a Strict rule's warning
// is a denial with opts.Strict). An object being deleted has no findings:
// denying the update that removes its last finalizer would block deletion.
func Findings(obj *unstructured.Unstructured, l Lookup, opts Options) []Finding {
	return findings(nil, obj, l, opts)
}

// findings runs the rules of obj's kind; update rules run only with an old
// object.
func findings(oldObj, obj *unstructured.Unstructured, l Lookup, opts Options) []Finding {
	if obj == nil || obj.GetDeletionTimestamp() != nil {
		return nil
	}
	var out []Finding
	gen := l.Generation()
	for _, r := range rulesByKind[obj.GroupVersionKind().GroupKind()] {
		if r.OnDelete || !appliesTo(r, gen) || opts.disabled(r.Code) {
			continue
		}
		var found []Finding
		switch {
		case r.CheckUpdate != nil && oldObj != nil:
			found = r.CheckUpdate(oldObj, obj, l)
		case r.Check != nil:
			found = r.Check(obj, l)
		}
		sort.SliceStable(found, func(i, j int) bool { return pathString(found[i].Field) < pathString(found[j].Field) })
		for _, f := range found {
			f.Code = r.Code
			f.Severity = r.Severity
			if r.Strict && opts.Strict {
				f.Severity = SeverityDeny
			}
			if f.Hint == "" {
				f.Hint = r.Hint
			}
			out = append(out, f)
		}
	}
	return out
}

// EvaluateDelete runs the rules that judge a deletion (Rule.OnDelete) and
// returns their findings as admission warnings: a deletion is never denied.
func EvaluateDelete(obj *unstructured.Unstructured, l Lookup, opts Options) (warnings []string) {
	if obj == nil {
		return nil
	}
	gen := l.Generation()
	for _, r := range rulesByKind[obj.GroupVersionKind().GroupKind()] {
		if !r.OnDelete || !appliesTo(r, gen) || opts.disabled(r.Code) {
			continue
		}
		for _, f := range r.Check(obj, l) {
			f.Code = r.Code
			f.Severity = SeverityWarn
			if f.Hint == "" {
				f.Hint = r.Hint
			}
			warnings = append(warnings, f.Warning())
		}
	}
	return warnings
}

func appliesTo(r *Rule, gen Generation) bool { return r.Releases.Contains(gen) }

func pathString(p *field.Path) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// Evaluate runs the rules on obj and splits the findings into denials (for
// Invalid) and admission warnings.
func Evaluate(obj *unstructured.Unstructured, l Lookup, opts Options) (denies field.ErrorList, warnings []string) {
	return split(Findings(obj, l, opts))
}

// EvaluateUpdate is Evaluate for an update: a denial that the old object
// already had (same code, field and message) is only a warning, so that an
// object admitted before the webhook existed (or before a rule did) can
// still be changed, for example to fix it step by step or to remove a
// finalizer.
func EvaluateUpdate(oldObj, newObj *unstructured.Unstructured, l Lookup, opts Options) (denies field.ErrorList, warnings []string) {
	found := findings(oldObj, newObj, l, opts)
	if oldObj != nil {
		before := map[string]bool{}
		for _, f := range Findings(oldObj, l, opts) {
			if f.Severity == SeverityDeny {
				before[findingKey(f)] = true
			}
		}
		for i, f := range found {
			if f.Severity == SeverityDeny && before[findingKey(f)] {
				found[i].Severity = SeverityWarn
			}
		}
	}
	return split(found)
}

func findingKey(f Finding) string {
	return f.Code + "\x00" + pathString(f.Field) + "\x00" + f.Message
}

func split(found []Finding) (denies field.ErrorList, warnings []string) {
	for _, f := range found {
		if f.Severity == SeverityDeny {
			denies = append(denies, f.FieldError())
		} else {
			warnings = append(warnings, f.Warning())
		}
	}
	return denies, warnings
}

// Invalid turns denials into the API error a webhook returns
// (apierrors.NewInvalid of the object's group kind and name); nil when there
// are none. kubectl prints it as
//
//	The KongService "svc" is invalid: spec.controlPlaneRef.konnectNamespacedRef.name: Invalid value: "kic-cp": [KON1001] ... Fix: ...
func Invalid(obj *unstructured.Unstructured, denies field.ErrorList) error {
	if len(denies) == 0 {
		return nil
	}
	name := obj.GetName()
	if name == "" {
		name = obj.GetGenerateName()
	}
	return apierrors.NewInvalid(obj.GroupVersionKind().GroupKind(), name, denies)
}
