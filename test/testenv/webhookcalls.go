package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// WebhookCall is one admission request the API server sent the webhook.
type WebhookCall struct {
	Operation, Group, Kind, Namespace, Name string
}

// WebhookCalls counts the admission requests the in-process webhook
// receives (Options.WebhookCalls), on the server side, before the handler.
type WebhookCalls struct {
	mu    sync.Mutex
	calls []WebhookCall
}

// wrap is a webhook.Options.WrapHandler that records each request.
func (c *WebhookCalls) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			var review struct {
				Request struct {
					Operation string `json:"operation"`
					Kind      struct {
						Group, Kind string
					} `json:"kind"`
					Namespace string `json:"namespace"`
					Name      string `json:"name"`
				} `json:"request"`
			}
			_ = json.Unmarshal(body, &review)
			rq := review.Request
			c.mu.Lock()
			c.calls = append(c.calls, WebhookCall{Operation: rq.Operation, Group: rq.Kind.Group, Kind: rq.Kind.Kind, Namespace: rq.Namespace, Name: rq.Name})
			c.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// In returns the calls about objects of namespace ns ("" for all).
func (c *WebhookCalls) In(ns string) []WebhookCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []WebhookCall
	for _, call := range c.calls {
		if ns == "" || call.Namespace == ns {
			out = append(out, call)
		}
	}
	return out
}

// Of returns the calls about one object.
func (c *WebhookCalls) Of(kind, ns, name string) []WebhookCall {
	var out []WebhookCall
	for _, call := range c.In(ns) {
		if call.Kind == kind && call.Name == name {
			out = append(out, call)
		}
	}
	return out
}

// Summary counts calls by operation and kind: "UPDATE KongService: 3, ...".
func Summary(calls []WebhookCall) string {
	n := map[string]int{}
	for _, c := range calls {
		n[c.Operation+" "+c.Kind]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+": "+strconv.Itoa(n[k]))
	}
	return strings.Join(parts, ", ")
}
