package konnecttest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the next matching calls misbehave.
type Fault struct {
	// Method matches the HTTP method; "" matches any.
	Method string
	// PathPrefix matches the start of the URL path; "" matches any.
	PathPrefix string
	// Status, when not 0, answers the call with this status (e.g. 401, 403,
	// 429, 500, 503) and a body in the endpoint's error shape, without
	// performing the operation.
	Status int
	// RetryAfter sets the Retry-After header, in whole seconds (rounded up).
	RetryAfter time.Duration
	// Latency delays the call before it is handled.
	Latency time.Duration
	// Times is how many calls the fault applies to: 0 means 1, a negative
	// value means every call.
	Times int
	// DropResponseAfterApply performs the operation, then closes the
	// connection without answering, as when a proxy times out after the
	// backend committed. Ignored when Status is set.
	DropResponseAfterApply bool
}

type faultState struct {
	Fault
	left int // < 0: unlimited
}

// InjectFault queues f. Faults are tried in the order they were injected;
// the first one that matches a call and has uses left applies.
func (s *Server) InjectFault(f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	if f.Status != 0 {
		f.DropResponseAfterApply = false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first fault matching req.
func (s *Server) takeFault(req *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, req.Method) {
			continue
		}
		if !strings.HasPrefix(req.URL.Path, f.PathPrefix) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		out := f.Fault
		return &out
	}
	return nil
}

func faultResponse(fam errorFamily, f Fault) response {
	detail := http.StatusText(f.Status)
	switch f.Status {
	case http.StatusUnauthorized:
		detail = "Invalid credentials"
	case http.StatusTooManyRequests:
		detail = "API rate limit exceeded"
	case http.StatusServiceUnavailable:
		detail = "Service temporarily unavailable"
	}
	r := errorResponse(fam, f.Status, detail)
	if f.RetryAfter > 0 {
		r.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	return r
}
