package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText prints one finding per line, compiler style, with its fix on
// the next line, then a summary line:
//
//	deploy/kgo.yaml:27: deny [KON1003] KongDataPlaneClientCertificate default/dp-cert: spec.controlPlaneRef.konnectNamespacedRef.name: KonnectGatewayControlPlane default/seed-cp not found, but ...: did you mean gateway-cp?
//	    Fix: A reference takes the KonnectGatewayControlPlane's metadata.name, not its Konnect name (spec.name): set it to gateway-cp.
//
//	1 finding (1 deny, 0 warn) in 9 objects from 1 file; KGO kgo-1.5+ (inferred from the files)
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s:%d: %s [%s] %s %s: ", f.File, f.Line, f.Severity, f.Code, f.Kind, nsName(f.Namespace, f.Name))
		if f.Field != "" {
			b.WriteString(f.Field)
			b.WriteString(": ")
		}
		b.WriteString(sentence(f.Message))
		b.WriteString("\n")
		if f.Hint != "" {
			b.WriteString("    Fix: ")
			b.WriteString(sentence(f.Hint))
			b.WriteString("\n")
		}
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(r.SummaryLine())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SummaryLine is the verdict: counts, what was read and the KGO generation.
func (r *Report) SummaryLine() string {
	s := r.Summary
	var b strings.Builder
	if s.Findings == 0 {
		b.WriteString("No findings")
	} else {
		fmt.Fprintf(&b, "%s (%d deny, %d warn)", plural(s.Findings, "finding"), s.Deny, s.Warn)
	}
	fmt.Fprintf(&b, " in %s from %s; KGO %s", plural(s.Objects, "object"), plural(s.Files, "file"), s.KGOGeneration)
	switch s.KGOGenerationSource {
	case SourceFlag:
		b.WriteString(" (from --kgo-version)")
	case SourceCluster:
		b.WriteString(" (from the cluster)")
	case SourceFiles:
		b.WriteString(" (inferred from the files)")
	}
	if s.Cluster {
		b.WriteString("; lookups include the cluster")
	}
	if s.Strict {
		b.WriteString("; strict")
	}
	return b.String()
}

// WriteJSON prints the report as one indented JSON object:
//
//	{"findings": [{"code", "severity", "file", "line", "objectLine", "apiVersion", "kind",
//	  "namespace", "name", "field", "value", "message", "hint"}, ...],
//	 "summary": {"files", "objects", "findings", "deny", "warn", "kgoGeneration",
//	  "kgoGenerationSource", "skippedRules", "strict", "cluster"}}
//
// findings and skippedRules are arrays, never null; field, value, namespace
// and hint are left out when empty. Fields are only ever added.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
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
