package rules

import (
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Severity of a finding.
type Severity string

const (
	// SeverityDeny rejects the object at admission.
	SeverityDeny Severity = "deny"
	// SeverityWarn admits the object with a warning.
	SeverityWarn Severity = "warn"
)

// Options change how findings are reported.
type Options struct {
	// Strict denies what is otherwise only a warning because the referenced
	// object may still be on its way (rules with Rule.Strict set).
	Strict bool
	// Disabled lists codes not to evaluate (an operator's escape hatch for
	// a rule that misfires in their cluster).
	Disabled []string
}

func (o Options) disabled(code string) bool {
	for _, c := range o.Disabled {
		if c == code {
			return true
		}
	}
	return false
}

// CheckFunc is a rule: a pure function of the object under review and a
// read-only lookup of other objects. It fills Field, Value, Message and, to
// be more specific than the rule's hint, Hint; Evaluate fills the rest.
type CheckFunc func(obj *unstructured.Unstructured, l Lookup) []Finding

// Rule is one entry of the catalogue.
type Rule struct {
	// Code is stable: a retired code is never reused.
	Code     string
	Severity Severity
	// Strict: a warning of this rule is a denial with Options.Strict (the
	// rule reports a referenced object that does not exist yet).
	Strict bool
	// Kinds the rule validates.
	Kinds []schema.GroupKind
	// Releases the rule applies to; the zero Range means all, including an
	// unknown generation.
	Releases Range
	// OnDelete: the rule judges the deletion of an object (EvaluateDelete),
	// never its creation or update; its findings are warnings only.
	OnDelete bool
	// NeedsSecretKeys: the rule reads the key names of a Secret. The webhook
	// watches Secrets as metadata only (their data never reaches it), so
	// there the rule stays silent; lint and check evaluate it.
	NeedsSecretKeys bool
	Title           string
	// Hint names the fix, in general terms.
	Hint  string
	Check CheckFunc

	// Provenance: what the operator does with the object, read from its
	// source at the release tags (see docs/rules.md, "Why").
	//
	// Upstream names the file and function (or the documented behaviour)
	// that makes the object fail, with the tags read:
	// "Kong/gateway-operator controller/pkg/extensions/konnect/common.go getExtension @v1.5.1, v1.6.2".
	Upstream string
	// Condition is what the operator sets on the object (Type=Status/Reason),
	// or what happens instead (a reconcile error, a Konnect error, nothing).
	Condition string
	// Effect is how the operator treats the object. Only an object the
	// operator refuses may be denied.
	Effect Effect

	// CheckUpdate, set instead of Check, makes an update rule: it sees the
	// old and the new object and runs only on UPDATE (EvaluateUpdate), never
	// in lint, which has no old object.
	CheckUpdate UpdateCheckFunc
}

// UpdateCheckFunc is a rule on a change: a pure function of the stored
// object, the object under review and a read-only lookup.
type UpdateCheckFunc func(oldObj, newObj *unstructured.Unstructured, l Lookup) []Finding

// Effect is how the operator treats an object a rule reports.
type Effect string

const (
	// EffectRefused: the operator sets a failing condition, stops with a
	// reconcile error, or Konnect rejects what the operator sends.
	EffectRefused Effect = "refused"
	// EffectIgnored: the operator accepts the object and does nothing with
	// it (or with the part the rule reports).
	EffectIgnored Effect = "ignored"
	// EffectAdvice: the operator does what it is told; the rule warns of a
	// risk or of an order GitOps tools often get wrong.
	EffectAdvice Effect = "advice"
)

// SeverityText describes the severity for documentation.
func (r Rule) SeverityText() string {
	if r.Strict {
		return "warn (deny with --strict)"
	}
	return string(r.Severity)
}

// Finding is one problem a rule found.
type Finding struct {
	Code     string
	Severity Severity
	// Field is the path of the offending field; Value its value.
	Field *field.Path
	Value any
	// Type is the field error type of a denial; default field.ErrorTypeInvalid
	// (field.ErrorTypeRequired for a missing field).
	Type    field.ErrorType
	Message string
	// Hint names the fix.
	Hint string
}

// Detail is the message with code and hint:
// "[KON1001] <message>. Fix: <hint>".
func (f Finding) Detail() string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(f.Code)
	b.WriteString("] ")
	b.WriteString(sentence(f.Message))
	if f.Hint != "" {
		b.WriteString(" Fix: ")
		b.WriteString(sentence(f.Hint))
	}
	return b.String()
}

// FieldError is the finding as a field error for apierrors.NewInvalid.
func (f Finding) FieldError() *field.Error {
	path := f.Field
	if path == nil {
		path = field.NewPath("spec")
	}
	switch f.Type {
	case field.ErrorTypeRequired:
		return field.Required(path, f.Detail())
	case field.ErrorTypeForbidden:
		return field.Forbidden(path, f.Detail())
	default:
		return field.Invalid(path, f.Value, f.Detail())
	}
}

// Warning is the finding as an admission warning:
// "<field>: [KON1004] <message>. Fix: <hint>".
//
// A warning is one line: the API server silently drops an admission warning
// with a control character such as a newline (k8s.io/apimachinery
// pkg/util/net NewWarningHeader), so any that slipped into a message or
// hint become spaces.
func (f Finding) Warning() string {
	w := f.Detail()
	if f.Field != nil {
		w = fmt.Sprintf("%s: %s", f.Field.String(), w)
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, w)
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '?', '!':
		return s
	}
	return s + "."
}
