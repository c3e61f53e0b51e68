package konnecttest

import (
	"fmt"
	"sort"
	"strings"
)

// handlers maps the spec's operationIds to their implementation. Handlers run
// with s.mu held and the request already authenticated and validated.
var handlers = map[string]func(*Server, *call) response{
	"list-control-planes":          listControlPlanes,
	"create-control-plane":         createControlPlane,
	"get-control-plane":            getControlPlane,
	"update-control-plane":         updateControlPlane,
	"delete-control-plane":         deleteControlPlane,
	"list-dp-client-certificates":  listDPCertificates,
	"create-dataplane-certificate": createDPCertificate,
	"get-dataplane-certificate":    getDPCertificate,
	"update-dataplane-certificate": updateDPCertificate,
	"delete-dataplane-certificate": deleteDPCertificate,
	"list-dataplane-nodes":         listNodes,
	"get-nodes-node_id":            getNode,
	"delete-nodes-node_id":         deleteNode,
	"get-organizations-me":         getOrganizationsMe,
	"get-users-me":                 getUsersMe,
}

// checkHandlersCoverSpec fails when the embedded spec has an operation the
// fake does not implement, so a spec update cannot leave a silent gap.
func checkHandlersCoverSpec(v *Validator) error {
	var missing []string
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, ok := handlers[op.OperationID]; !ok {
				missing = append(missing, fmt.Sprintf("%s %s (%s)", method, path, op.OperationID))
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("konnecttest: spec operations without a handler: %s", strings.Join(missing, ", "))
	}
	return nil
}
