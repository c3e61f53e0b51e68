// Package check is the engine and the catalogue of `kubectl konnect check`:
// categories of checks, in order, each with a stable ID, a description, a
// hint and a documentation anchor for when it does not pass, its own timeout,
// and whether it is retried while a state may still settle (--wait).
//
// Checks are data (Catalogue); Run executes them against an Env and returns
// a Report, which WriteTable and WriteJSON print. Nothing here prints while
// checking except progress to Options.Progress, so reports are testable.
package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status of a check.
type Status string

const (
	// Pass: the check holds.
	Pass Status = "pass"
	// Warn: the check does not hold, but nothing is broken yet (e.g. a
	// certificate expiring in 20 days). Warnings do not fail the command.
	Warn Status = "warn"
	// Fail: the check does not hold; the command exits non-zero.
	Fail Status = "fail"
	// Skip: the check could not run because what it needs is missing; the
	// message says what. Skips do not fail the command: the failure they
	// follow from does.
	Skip Status = "skip"
)

// worse reports whether a is worse than b (fail > warn > skip > pass).
func worse(a, b Status) bool { return rank(a) > rank(b) }

func rank(s Status) int {
	switch s {
	case Fail:
		return 3
	case Warn:
		return 2
	case Skip:
		return 1
	}
	return 0
}

// Result is what a check found.
type Result struct {
	Status  Status
	Message string
	// Hint overrides the check's default hint (e.g. with the exact command
	// for the object at hand). Pass results carry no hint.
	Hint string
	// final marks a skip that no retry can change (a check that does not
	// apply here, a component that is not installed).
	final bool
}

// Passed returns a pass result.
func Passed(format string, args ...any) Result {
	return Result{Status: Pass, Message: fmt.Sprintf(format, args...)}
}

// Warned returns a warning; hint may be empty to use the check's hint.
func Warned(hint, format string, args ...any) Result {
	return Result{Status: Warn, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// Failed returns a failure; hint may be empty to use the check's hint.
func Failed(hint, format string, args ...any) Result {
	return Result{Status: Fail, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// Skipped returns a skip with the reason. A settling check retries its
// skips with --wait (what it needs may still appear); see NotApplicable.
func Skipped(format string, args ...any) Result {
	return Result{Status: Skip, Message: fmt.Sprintf(format, args...)}
}

// NotApplicable returns a skip that waiting cannot change.
func NotApplicable(format string, args ...any) Result {
	return Result{Status: Skip, Message: fmt.Sprintf(format, args...), final: true}
}

// Check is one entry of the catalogue.
type Check struct {
	// ID is stable, never reused for another meaning, and the anchor of the
	// check's section in docs/check.md.
	ID string
	// Description says what holds when the check passes.
	Description string
	// Hint is the default advice when the check does not pass.
	Hint string
	// Details explain, in docs/check.md, what the check reads and why.
	Details string
	// Needs are IDs of earlier checks that must pass (or warn) for this one
	// to run; otherwise it is skipped.
	Needs []string
	// Retry marks a state that may still settle (a control plane being
	// programmed, a data plane connecting): with --wait the check is run
	// again until it passes or the wait is over.
	Retry bool
	// Timeout bounds one run of the check; Options.CheckTimeout when zero.
	Timeout time.Duration
	// Run performs the check. It must honour ctx.
	Run func(ctx context.Context, e *Env) Result
}

// Category groups checks under a heading.
type Category struct {
	ID     string
	Name   string
	Checks []Check
}

// DocsURL is where docs/check.md is published; a check's anchor is its ID.
const DocsURL = "https://github.com/kubectl-konnect/kubectl-konnect/blob/main/docs/check.md"

// DocURL is the documentation of a check.
func DocURL(id string) string { return DocsURL + "#" + id }

// CheckResult is a check's outcome in a report.
type CheckResult struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Status      Status `json:"status"`
	Message     string `json:"message"`
	Hint        string `json:"hint"`
	Doc         string `json:"doc"`
	// Duration of the last run (not printed: it would make output unstable).
	Duration time.Duration `json:"-"`
	// Attempts is how often the check ran (more than 1 with --wait).
	Attempts int `json:"-"`
}

// CategoryResult is a category's outcome: the worst of its checks.
type CategoryResult struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Status Status        `json:"status"`
	Checks []CheckResult `json:"checks"`
}

// Summary counts results by status.
type Summary struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Report is the outcome of Run. Its JSON form is the stable `-o json`
// schema (ReportKind, ReportAPIVersion).
type Report struct {
	APIVersion   string           `json:"apiVersion"`
	Kind         string           `json:"kind"`
	Namespace    string           `json:"namespace"`
	Gateway      string           `json:"gateway,omitempty"`
	DataPlane    string           `json:"dataPlane"`
	ControlPlane string           `json:"controlPlane"`
	Generation   string           `json:"generation"`
	Status       Status           `json:"status"`
	Summary      Summary          `json:"summary"`
	Categories   []CategoryResult `json:"categories"`
}

// The identity of the JSON report; a breaking change to its shape gets a
// new version.
const (
	ReportAPIVersion = "check.kubectl-konnect.dev/v1alpha1"
	ReportKind       = "CheckReport"
)

// Failed reports whether any check failed: the command's exit code.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Find returns the result of check id.
func (r *Report) Find(id string) (CheckResult, bool) {
	for _, c := range r.Categories {
		for _, ch := range c.Checks {
			if ch.ID == id {
				return ch, true
			}
		}
	}
	return CheckResult{}, false
}

// RunOptions tune Run.
type RunOptions struct {
	// CheckTimeout bounds each check without its own Timeout (default 10s).
	CheckTimeout time.Duration
	// Wait is how long checks marked Retry are retried while they fail (or
	// skip for want of what they need), counted from the start of Run. 0
	// runs every check once.
	Wait time.Duration
	// RetryInterval is the pause between retries (default 1s).
	RetryInterval time.Duration
	// Progress receives a line when a retried check's message changes, and
	// every 10s while it waits (may be nil).
	Progress func(format string, args ...any)
}

// Run runs the categories' checks in order against e.
func Run(ctx context.Context, e *Env, cats []Category, o RunOptions) *Report {
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 10 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	deadline := e.now().Add(o.Wait)
	statuses := map[string]Status{}
	rep := &Report{APIVersion: ReportAPIVersion, Kind: ReportKind, Namespace: e.Namespace, Gateway: e.Gateway, Status: Pass}
	for _, cat := range cats {
		cr := CategoryResult{ID: cat.ID, Name: cat.Name, Status: Pass, Checks: []CheckResult{}}
		for _, c := range cat.Checks {
			res := runWithRetry(ctx, e, c, statuses, deadline, o, progress)
			res.Message = e.redact(res.Message)
			res.Hint = e.redact(res.Hint)
			statuses[c.ID] = res.Status
			switch res.Status {
			case Pass:
				rep.Summary.Pass++
			case Warn:
				rep.Summary.Warn++
			case Fail:
				rep.Summary.Fail++
			case Skip:
				rep.Summary.Skip++
			}
			if worse(res.Status, cr.Status) {
				cr.Status = res.Status
			}
			cr.Checks = append(cr.Checks, res)
		}
		if worse(cr.Status, rep.Status) && cr.Status != Skip {
			rep.Status = cr.Status
		}
		rep.Categories = append(rep.Categories, cr)
	}
	rep.DataPlane, rep.ControlPlane, rep.Generation = e.selectedDataPlane, e.selectedControlPlane, string(e.generation)
	return rep
}

func runWithRetry(ctx context.Context, e *Env, c Check, statuses map[string]Status, deadline time.Time, o RunOptions, progress func(string, ...any)) CheckResult {
	out := CheckResult{ID: c.ID, Description: c.Description, Doc: DocURL(c.ID)}
	for _, need := range c.Needs {
		if s := statuses[need]; s != Pass && s != Warn {
			out.Status, out.Message = Skip, fmt.Sprintf("skipped: %s did not pass", need)
			return out
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = o.CheckTimeout
	}
	var lastSaid string
	var saidAt time.Time
	for {
		out.Attempts++
		start := e.now()
		res := runOnce(ctx, e, c, timeout)
		out.Duration = e.now().Sub(start)
		out.Status, out.Message, out.Hint = res.Status, res.Message, ""
		if res.Status != Pass {
			out.Hint = res.Hint
			if out.Hint == "" {
				out.Hint = c.Hint
			}
		}
		// Failures are retried, and so are a settling check's own skips (the
		// region check before the control plane has an ID; skips from Needs
		// returned above). A warning is an answer: waiting for it to go away
		// would only delay the verdict.
		if res.Status == Pass || res.Status == Warn || res.final || !c.Retry || ctx.Err() != nil {
			return out
		}
		left := deadline.Sub(e.now())
		if left <= 0 {
			return out
		}
		if res.Message != lastSaid || e.now().Sub(saidAt) >= 10*time.Second {
			progress("waiting for %q (%s left): %s", c.Description, left.Round(time.Second), e.redact(res.Message))
			lastSaid, saidAt = res.Message, e.now()
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(min(o.RetryInterval, left)):
		}
		// A retry must see the cluster and Konnect as they are now.
		e.Forget()
	}
}

// runOnce runs a check with its timeout; a panic or a timeout becomes a
// failure of that check alone.
func runOnce(ctx context.Context, e *Env, c Check, timeout time.Duration) (res Result) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			res = Failed("This is a bug in kubectl-konnect; please report it with the output of the check.", "check panicked: %v", p)
		}
	}()
	res = c.Run(cctx, e)
	if cctx.Err() != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil && res.Status != Pass {
		res = Failed(fmt.Sprintf("Raise the per-check timeout with --check-timeout (now %s), or check that the API server and Konnect are reachable.", timeout),
			"timed out after %s: %s", timeout, strings.TrimSpace(res.Message))
	}
	return res
}
