package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Options select what is checked.
type Options struct {
	// Namespace of the Konnect objects and the data plane.
	Namespace string
	// DataPlane is the DataPlane to check; the only one in the namespace
	// when empty.
	DataPlane string
	// ControlPlane is the KonnectGatewayControlPlane (resource name); when
	// empty, the only one in the namespace, or the one the data plane's
	// KonnectExtension refers to.
	ControlPlane string
	// Gateway is the hybrid Gateway (Gateway API, kong-operator >= 2.1) to
	// check: the KonnectGatewayControlPlane and DataPlane checked are the
	// ones kong-operator made for it (DataPlane and ControlPlane are then
	// ignored), and CatalogueFor adds the gateway and routes categories.
	Gateway string
	// MaxPingAge is how recent a node's last_ping must be (default 2m).
	MaxPingAge time.Duration
	// RenewBefore: a certificate (the data plane's, the webhook's) that
	// expires within it is a warning (default 30 days).
	RenewBefore time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Clients reach the cluster and Konnect.
type Clients struct {
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	// Metadata reads the KonnectGatewayControlPlane CRD's release
	// annotation; without it the release comes from discovery alone.
	Metadata metadata.Interface
	// KonnectHTTPClient carries every Konnect API call.
	KonnectHTTPClient *http.Client
}

// Env is what checks run against: options, clients, and facts looked up
// once per round (Forget starts a new round before a retry).
type Env struct {
	Options
	Clients

	facts   map[string]fact
	secrets map[string]bool // tokens seen, never printed

	generation           rules.Generation
	releaseFacts         rules.Served // what generation was read from
	selectedDataPlane    string
	selectedControlPlane string
}

type fact struct {
	val any
	err error
}

// NewEnv returns an Env with defaults filled.
func NewEnv(o Options, c Clients) *Env {
	if o.MaxPingAge <= 0 {
		o.MaxPingAge = 2 * time.Minute
	}
	if o.RenewBefore <= 0 {
		o.RenewBefore = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if c.KonnectHTTPClient == nil {
		c.KonnectHTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Env{Options: o, Clients: c, facts: map[string]fact{}, secrets: map[string]bool{}}
}

func (e *Env) now() time.Time { return e.Now() }

// Forget drops every looked-up fact, so that the next check sees the
// cluster and Konnect as they are now.
func (e *Env) Forget() { e.facts = map[string]fact{} }

// memo returns the fact key, computing it with f once per round. Context
// errors are not kept: a check that ran out of time must not poison the next.
func memo[T any](e *Env, key string, f func() (T, error)) (T, error) {
	if v, ok := e.facts[key]; ok {
		t, _ := v.val.(T)
		return t, v.err
	}
	val, err := f()
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		e.facts[key] = fact{val: val, err: err}
	}
	return val, err
}

// noteSecret remembers a token so that no message ever contains it.
func (e *Env) noteSecret(s string) {
	if len(s) >= 8 {
		e.secrets[s] = true
	}
}

func (e *Env) redact(s string) string {
	for sec := range e.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}

// problem is an error meant for the user: a message and the fix.
type problem struct {
	msg  string
	hint string
	// missing marks "there is nothing to check" (e.g. no DataPlane), as
	// opposed to a lookup that failed.
	missing bool
}

func (p *problem) Error() string { return p.msg }

func problemf(hint, format string, args ...any) error {
	return &problem{msg: fmt.Sprintf(format, args...), hint: hint}
}

// prereqError is a lookup that cannot be made because something checked
// elsewhere is missing (no control plane ID yet, a token Konnect refused):
// checks that need it are skipped, not failed twice.
type prereqError struct{ msg string }

func (p *prereqError) Error() string { return p.msg }

func prereqf(format string, args ...any) error {
	return &prereqError{msg: fmt.Sprintf(format, args...)}
}

// failedFrom turns an error into a failure, keeping a problem's hint.
func failedFrom(err error) Result {
	var p *problem
	if errors.As(err, &p) {
		return Failed(p.hint, "%s", p.msg)
	}
	return Failed("", "%v", err)
}

// skippedFrom turns the error of a prerequisite into a skip: the check that
// owns the prerequisite reports the failure itself.
func skippedFrom(what string, err error) Result {
	return Skipped("skipped: %s: %v", what, err)
}

// konnectError renders an error of the Konnect SDK as "Konnect answered 401
// Unauthorized: <detail>", without the correlation IDs and bodies that make
// the SDK's own messages long and unstable.
func konnectError(err error) (int, string) {
	status, detail := 0, ""
	v := reflect.ValueOf(err)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			break
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		for _, name := range []string{"Status", "StatusCode"} {
			if f := v.FieldByName(name); f.IsValid() {
				status = toInt(f)
				if status != 0 {
					break
				}
			}
		}
		if f := v.FieldByName("Detail"); f.IsValid() {
			detail = toString(f)
		}
		if detail == "" {
			if f := v.FieldByName("Title"); f.IsValid() {
				detail = toString(f)
			}
		}
	}
	if status == 0 {
		return 0, err.Error()
	}
	msg := fmt.Sprintf("Konnect answered %d %s", status, http.StatusText(status))
	if detail != "" && !strings.EqualFold(detail, http.StatusText(status)) {
		msg += ": " + detail
	}
	return status, msg
}

func toInt(f reflect.Value) int {
	for f.Kind() == reflect.Interface || f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return 0
		}
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(f.Int())
	case reflect.Float32, reflect.Float64:
		return int(f.Float())
	}
	return 0
}

func toString(f reflect.Value) string {
	for f.Kind() == reflect.Interface || f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	if f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}
