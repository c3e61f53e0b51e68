package check

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Marks of the table, as linkerd check prints them.
const (
	MarkPass = "√"
	MarkWarn = "‼"
	MarkFail = "×"
	MarkSkip = "-"
)

// Mark is the table mark of a status.
func Mark(s Status) string {
	switch s {
	case Pass:
		return MarkPass
	case Warn:
		return MarkWarn
	case Fail:
		return MarkFail
	}
	return MarkSkip
}

// TableOptions tune WriteTable.
type TableOptions struct {
	// Color paints the marks (green, yellow, red); see UseColor.
	Color bool
}

// UseColor reports whether output to w should be coloured: only on a
// terminal, and never with NO_COLOR set (https://no-color.org).
func UseColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func paint(s Status, text string, on bool) string {
	if !on {
		return text
	}
	code := ""
	switch s {
	case Pass:
		code = "32"
	case Warn:
		code = "33"
	case Fail:
		code = "31"
	default:
		code = "2"
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// WriteTable prints the report for people: a heading per category, a mark
// per check, a hint and a link under every check that did not pass, and
// the verdict last.
func WriteTable(w io.Writer, r *Report, o TableOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Namespace %s", r.Namespace)
	if r.Gateway != "" {
		fmt.Fprintf(&b, ", Gateway %s", r.Gateway)
	}
	if r.DataPlane != "" {
		fmt.Fprintf(&b, ", DataPlane %s", r.DataPlane)
	}
	if r.ControlPlane != "" {
		fmt.Fprintf(&b, ", KonnectGatewayControlPlane %s", r.ControlPlane)
	}
	b.WriteString("\n")
	for _, c := range r.Categories {
		fmt.Fprintf(&b, "\n%s\n%s\n", c.Name, strings.Repeat("-", len([]rune(c.Name))))
		for _, ch := range c.Checks {
			line := ch.Description
			if ch.Message != "" {
				line += ": " + ch.Message
			}
			fmt.Fprintf(&b, "%s %s\n", paint(ch.Status, Mark(ch.Status), o.Color), line)
			if ch.Status == Warn || ch.Status == Fail {
				if ch.Hint != "" {
					fmt.Fprintf(&b, "    hint: %s\n", ch.Hint)
				}
				fmt.Fprintf(&b, "    see %s\n", ch.Doc)
			}
		}
	}
	b.WriteString("\n" + Verdict(r, o.Color) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Verdict is the last line of the table.
func Verdict(r *Report, color bool) string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(r.Summary.Fail, "failed", "failed")
	add(r.Summary.Warn, "warning", "warnings")
	add(r.Summary.Pass, "passed", "passed")
	add(r.Summary.Skip, "skipped", "skipped")
	return fmt.Sprintf("Status check results are %s (%s)", paint(r.Status, Mark(r.Status), color), strings.Join(parts, ", "))
}

// WriteJSON prints the report as indented JSON: the stable -o json schema.
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
