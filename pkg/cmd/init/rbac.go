package initcmd

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// RBACError lists the permissions init needs and the user lacks, before anything was written.
type RBACError struct {
	Namespace string
	Missing   []string
}

func (e *RBACError) Error() string {
	return fmt.Sprintf("forbidden: your Kubernetes user lacks permissions init needs in namespace %s:\n  %s\nNothing was written. "+
		"Ask your cluster admin for a Role with these verbs (check one with: kubectl auth can-i create secrets -n %s)",
		e.Namespace, strings.Join(e.Missing, "\n  "), e.Namespace)
}

type write struct {
	gvr  schema.GroupVersionResource
	name string
	verb string
}

// plannedWrites are the writes the plan needs: an apply (patch) of every object not already up to
// date, which also needs create when the object does not exist.
func (r *run) plannedWrites() []write {
	var ws []write
	add := func(gvr schema.GroupVersionResource, live, desired *unstructured.Unstructured) {
		if desired == nil || upToDate(live, desired) {
			return
		}
		if live == nil {
			ws = append(ws, write{gvr, desired.GetName(), "create"})
		}
		ws = append(ws, write{gvr, desired.GetName(), "patch"})
	}
	o := r.o
	if !r.authAdopted && !o.InlineToken && (r.liveTokenSecret == nil || ours(r.liveTokenSecret)) {
		add(gvrSecret, r.liveTokenSecret, tokenSecret(r.ns, r.tokenSecretName(), r.tok.value))
	}
	if !r.authAdopted {
		inline := ""
		if o.InlineToken {
			inline = r.tok.value
		}
		add(gvrAuth, r.liveAuth, authConfig(r.ns, o.AuthName, r.server, r.tokenSecretName(), inline))
	}
	if o.Gateway != "" {
		g := &r.gw
		add(gvrGatewayConfiguration, g.liveConfig, g.config)
		add(gvrGatewayClass, g.liveClass, g.class)
		add(gvrGateway, g.liveGW, g.gateway)
		return ws
	}
	add(r.gen.cpGVR(), r.cp.live, r.cp.desired)
	if o.NoDataPlane {
		return ws
	}
	add(gvrSecret, r.crt.liveCA, r.crt.caSecret)
	add(gvrSecret, r.crt.live, r.crt.secret)
	add(gvrDPCert, r.crt.liveReg, r.crt.registration)
	switch {
	case r.gen.mirrors():
		add(r.gen.extensionGVR(), r.liveExt, extensionKonnect(r.gen, r.ns, r.extName, r.cp.res, r.crt.secretName))
	case r.liveExt == nil:
		add(gvrExtOperator, nil, extensionKGO14(r.ns, r.extName, endpoint{}, r.crt.secretName))
	}
	add(gvrDataPlane, r.liveDP, dataPlane(r.ns, r.dpName, r.gen, r.extName, o.Image, int64(o.Replicas)))
	return ws
}

// checkRBAC asks the API server which rules the user has in the namespace (one
// SelfSubjectRulesReview) and stops before the first write when a needed permission is missing, so an
// RBAC problem never leaves half a setup behind. When the review cannot be made or is incomplete,
// the writes themselves will tell.
func (r *run) checkRBAC(ctx context.Context) error {
	if r.dry == kube.DryRunClient || r.o.Kubernetes == nil {
		return nil
	}
	ws := r.plannedWrites()
	if len(ws) == 0 {
		return nil
	}
	review, err := r.o.Kubernetes.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx,
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: r.ns}}, metav1.CreateOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil
	}
	missing := map[string][]string{}
	for _, w := range ws {
		if !allowed(review.Status.ResourceRules, w) {
			key := w.gvr.Resource
			if w.gvr.Group != "" {
				key += "." + w.gvr.Group
			}
			if !slices.Contains(missing[key], w.verb) {
				missing[key] = append(missing[key], w.verb)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var lines []string
	for res, verbs := range missing {
		sort.Strings(verbs)
		lines = append(lines, fmt.Sprintf("%s %s", strings.Join(verbs, ", "), res))
	}
	sort.Strings(lines)
	if review.Status.Incomplete {
		r.p.warn("RBAC rules may be incomplete (%s); these permissions look missing: %s", review.Status.EvaluationError, strings.Join(lines, "; "))
		return nil
	}
	return &RBACError{Namespace: r.ns, Missing: lines}
}

func allowed(rules []authorizationv1.ResourceRule, w write) bool {
	has := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
	for _, rule := range rules {
		if !has(rule.Verbs, w.verb) || !has(rule.APIGroups, w.gvr.Group) || !has(rule.Resources, w.gvr.Resource) {
			continue
		}
		// Rules limited to names never allow create (the name is not known to the authorizer then).
		if len(rule.ResourceNames) > 0 && (w.verb == "create" || !slices.Contains(rule.ResourceNames, w.name)) {
			continue
		}
		return true
	}
	return false
}
