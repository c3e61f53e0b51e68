package kgostandin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Kong/sdk-konnect-go/models/components"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kgoapi"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// reconcileKonnectExtension handles konnect.konghq.com/v1alpha1 (KGO >= 1.5).
func (s *StandIn) reconcileKonnectExtension(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	before := u.DeepCopy()
	// KGO starts every reconcile from Ready=False "Provisioning" and leaves it
	// so until the extension is ready (v1.5.1..v2.3.0-rc.3
	// controller/konnect/konnectextension_controller.go: readyCondition).
	wait := func() (reconcile.Result, error) {
		setCondition(u, condReady, false, reasonProvisioning, msgProvisioning)
		if err := s.writeStatus(ctx, before, u); err != nil {
			return reconcile.Result{}, err
		}
		return requeueSoon()
	}
	ref := []string{"spec", "konnect", "controlPlane", "ref"}
	var cpID string
	var ka konnectAuth
	var err error
	switch str(u, append(ref, "type")...) {
	case "konnectNamespacedRef":
		cp, err := s.resolveControlPlane(ctx, u, ref...)
		if err != nil || cp == nil {
			if err != nil {
				return reconcile.Result{}, err
			}
			return wait()
		}
		cpID = str(cp, "status", "id")
		if ka, err = s.controlPlaneAuth(ctx, cp); err != nil {
			return reconcile.Result{}, err
		}
	case "konnectID":
		cpID = str(u, append(ref, "konnectID")...)
		auth, err := s.get(ctx, gvkAuth, u.GetNamespace(), str(u, "spec", "konnect", "configuration", "authRef", "name"))
		if err != nil {
			if client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, err
			}
			return wait()
		}
		if ka, err = s.konnectAuthFor(ctx, auth); err != nil {
			return wait()
		}
	default:
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid, "controlPlane.ref.type must be konnectNamespacedRef or konnectID")
		return reconcile.Result{}, s.writeStatus(ctx, before, u)
	}
	kcp, err := getControlPlaneByID(ctx, ka, cpID)
	if err != nil {
		// KGO v1.5.1 konnectextension_controller_utils.go getKonnectControlPlane:
		// ControlPlaneRefValid=False, reason Invalid, the lookup's error as
		// message; Ready stays "provisioning in progress".
		setCondition(u, condControlPlaneRefValid, false, reasonInvalid, err.Error())
		setCondition(u, condReady, false, reasonProvisioning, msgProvisioning)
		if werr := s.writeStatus(ctx, before, u); werr != nil {
			return reconcile.Result{}, werr
		}
		return reconcile.Result{RequeueAfter: retryAfterKonnectFailures}, nil
	}
	setCondition(u, condControlPlaneRefValid, true, reasonValid, "ControlPlaneRef is valid")

	secretName, err := s.extensionCertificate(ctx, u, ka, cpID)
	if err != nil {
		// A Secret the operator cannot read is RefNotFound with the lookup's error as message
		// (konnectextension_controller.go Reconcile @v2.1.9); a malformed one InvalidSecret.
		reason := reasonInvalidSecret
		if errors.As(err, new(*secretRefError)) {
			reason = reasonRefNotFound
		}
		setCondition(u, condCertProvisioned, false, reason, err.Error())
		setCondition(u, condReady, false, reasonProvisioning, msgProvisioning)
		if werr := s.writeStatus(ctx, before, u); werr != nil {
			return reconcile.Result{}, werr
		}
		return requeueSoon()
	}
	setCondition(u, condCertProvisioned, true, reasonProvisioned, "")
	clusterType := "ControlPlane"
	if kcp.Config.ClusterType == components.ControlPlaneClusterTypeClusterTypeK8SIngressController {
		clusterType = "K8SIngressController"
	}
	setStatus(u, map[string]any{
		"controlPlaneID": cpID,
		"clusterType":    clusterType,
		"endpoints": map[string]any{
			"controlPlane": kcp.Config.ControlPlaneEndpoint,
			"telemetry":    kcp.Config.TelemetryEndpoint,
		},
	}, "konnect")
	setStatus(u, map[string]any{"certificateSecretRef": map[string]any{"name": secretName}}, "dataPlaneClientAuth")
	setCondition(u, condReady, true, "Ready", "")
	return reconcile.Result{}, s.writeStatus(ctx, before, u)
}

// extensionCertificate returns the Secret holding the data plane's client
// certificate: the user's (Manual) or one made and registered here
// (Automatic, the default), as KGO does.
func (s *StandIn) extensionCertificate(ctx context.Context, u *unstructured.Unstructured, ka konnectAuth, cpID string) (string, error) {
	if str(u, "spec", "clientAuth", "certificateSecret", "provisioning") == "Manual" {
		name := str(u, "spec", "clientAuth", "certificateSecret", "secretRef", "name")
		var sec corev1.Secret
		if err := s.getSecret(ctx, types.NamespacedName{Namespace: u.GetNamespace(), Name: name}, &sec); err != nil {
			return "", &secretRefError{err}
		}
		if len(sec.Data["tls.crt"]) == 0 || len(sec.Data["tls.key"]) == 0 {
			return "", fmt.Errorf("Secret %s/%s must have tls.crt and tls.key", u.GetNamespace(), name)
		}
		return name, nil
	}
	name := u.GetName() + "-client-cert"
	var sec corev1.Secret
	err := s.cl.Get(ctx, types.NamespacedName{Namespace: u.GetNamespace(), Name: name}, &sec)
	if client.IgnoreNotFound(err) != nil {
		return "", err
	}
	if err != nil {
		crt, key, gerr := selfSignedClientCert(u.GetName())
		if gerr != nil {
			return "", gerr
		}
		sec = corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
		sec.Name, sec.Namespace = name, u.GetNamespace()
		// The operator labels the Secret it makes so that its own cache and watch see it
		// (konnectextension_controller_utils.go ensureCertificateSecret @v2.1.9).
		sec.Labels = kgoapi.DataPlaneCertSecretLabels()
		if err := s.cl.Create(ctx, &sec); err != nil {
			return "", err
		}
	}
	list, err := ka.sdk.DPCertificates.ListDpClientCertificates(ctx, cpID)
	if err != nil {
		return "", err
	}
	for _, c := range list.GetListDataPlaneCertificatesResponse().GetItems() {
		if normalizePEM(ptr.Deref(c.GetCert(), "")) == normalizePEM(string(sec.Data["tls.crt"])) {
			return name, nil
		}
	}
	_, err = ka.sdk.DPCertificates.CreateDataplaneCertificate(ctx, cpID, &components.DataPlaneClientCertificateRequest{Cert: string(sec.Data["tls.crt"])})
	return name, err
}

func selfSignedClientCert(cn string) (crtPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// konnectTarget is where a data plane's Konnect configuration points.
type konnectTarget struct {
	controlPlaneHost string // e.g. b89939e7f0.us.cp0.konghq.com
	secretName       string
}

// reconcileDataPlane sets Ready once the extensions are found, whether or not
// the data plane could reach Konnect: the gap that `kubectl konnect check`
// exists to close. Reaching Konnect is simulated separately (connect).
func (s *StandIn) reconcileDataPlane(ctx context.Context, u *unstructured.Unstructured) (reconcile.Result, error) {
	before := u.DeepCopy()
	exts, _, _ := unstructured.NestedSlice(u.Object, "spec", "extensions")
	var target *konnectTarget
	for _, e := range exts {
		m, _ := e.(map[string]any)
		if m["kind"] != "KonnectExtension" {
			continue
		}
		group, _ := m["group"].(string)
		name, _ := m["name"].(string)
		t, msg, err := s.extensionTarget(ctx, u.GetNamespace(), group, name)
		if err != nil {
			return reconcile.Result{}, err
		}
		if msg != "" {
			setCondition(u, condExtensionApplied, false, reasonInvalid, msg)
			setCondition(u, condReady, false, "Pending", msg)
			if err := s.writeStatus(ctx, before, u); err != nil {
				return reconcile.Result{}, err
			}
			return requeueSoon()
		}
		if t != nil {
			target = t
			setCondition(u, condExtensionApplied, true, "Applied", "")
		}
	}
	replicas, found, _ := unstructured.NestedInt64(u.Object, "spec", "deployment", "replicas")
	if !found {
		replicas = 1
	}
	setStatus(u, replicas, "replicas")
	setStatus(u, replicas, "readyReplicas")
	setCondition(u, condReady, true, "Ready", "")
	if err := s.writeStatus(ctx, before, u); err != nil {
		return reconcile.Result{}, err
	}
	if target != nil && s.opts.ConnectDataPlanes {
		// Connected data planes ping every PingInterval; refused ones retry
		// as often, as Kong does, so that a certificate registered after the
		// DataPlane was created still lets it in.
		s.connectUnlessDisconnected(ctx, u, *target, int(replicas))
		return reconcile.Result{RequeueAfter: s.opts.PingInterval}, nil
	}
	return reconcile.Result{}, nil
}

// extensionTarget reads a DataPlane's KonnectExtension the way the running
// KGO generation would. A non-empty msg means the DataPlane must wait.
func (s *StandIn) extensionTarget(ctx context.Context, ns, group, name string) (*konnectTarget, string, error) {
	switch {
	case group == gvkOldKonnectExtension.Group && s.gen == KGO14:
		ext, err := s.get(ctx, gvkOldKonnectExtension, ns, name)
		if err != nil {
			if client.IgnoreNotFound(err) != nil {
				return nil, "", err
			}
			return nil, fmt.Sprintf("KonnectExtension %s/%s does not exist", ns, name), nil
		}
		// KGO 1.4 builds <konnectID>.<region>.cp0.<serverHostname>.
		host := fmt.Sprintf("%s.%s.cp0.%s", str(ext, "spec", "controlPlaneRef", "konnectID"),
			str(ext, "spec", "controlPlaneRegion"), str(ext, "spec", "serverHostname"))
		return &konnectTarget{
			controlPlaneHost: host,
			secretName:       str(ext, "spec", "konnectControlPlaneAPIAuthConfiguration", "clusterCertificateSecretRef", "name"),
		}, "", nil
	case group == gvkKonnectExtension.Group && s.gen != KGO14:
		ext, err := s.get(ctx, s.extGVK, ns, name)
		if err != nil {
			if client.IgnoreNotFound(err) != nil {
				return nil, "", err
			}
			return nil, fmt.Sprintf("KonnectExtension %s/%s does not exist", ns, name), nil
		}
		if conditionStatus(ext, condReady) != "True" {
			return nil, fmt.Sprintf("KonnectExtension %s/%s is not ready", ns, name), nil
		}
		u, err := url.Parse(str(ext, "status", "konnect", "endpoints", "controlPlane"))
		if err != nil {
			return nil, "", err
		}
		return &konnectTarget{
			controlPlaneHost: u.Hostname(),
			secretName:       str(ext, "status", "dataPlaneClientAuth", "certificateSecretRef", "name"),
		}, "", nil
	}
	// An extension this KGO generation does not act on is ignored.
	return nil, "", nil
}

// Disconnect makes the DataPlane namespace/name (existing or not yet
// created) stop reaching Konnect: from when it returns, the stand-in neither
// registers its nodes nor refreshes their last_ping, as if the data plane
// had lost its connection. Nodes already registered stay, and age. Tests of
// `kubectl konnect check` use it for "never connected" and "stale
// last_ping" while everything else is in order.
func (s *StandIn) Disconnect(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disconnected == nil {
		s.disconnected = map[string]bool{}
	}
	s.disconnected[namespace+"/"+name] = true
}

// connectUnlessDisconnected is connect for data planes not Disconnect-ed;
// the lock makes Disconnect a barrier for heartbeats in flight.
func (s *StandIn) connectUnlessDisconnected(ctx context.Context, dp *unstructured.Unstructured, t konnectTarget, replicas int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disconnected[dp.GetNamespace()+"/"+dp.GetName()] {
		return false
	}
	return s.connect(ctx, dp, t, replicas)
}

// connect plays the data plane's side: it reaches the control plane named by
// the endpoint and is accepted if its certificate is pinned on that control
// plane (or, for pki_client_certs, signed by a registered CA). It reports
// whether the data plane is connected.
func (s *StandIn) connect(ctx context.Context, dp *unstructured.Unstructured, t konnectTarget, replicas int) bool {
	var sec corev1.Secret
	if err := s.cl.Get(ctx, types.NamespacedName{Namespace: dp.GetNamespace(), Name: t.secretName}, &sec); err != nil {
		return false
	}
	block, _ := pem.Decode(sec.Data["tls.crt"])
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	for _, cp := range s.opts.Konnect.ControlPlanes() {
		u, err := url.Parse(cp.ControlPlaneEndpoint)
		if err != nil || u.Hostname() != t.controlPlaneHost {
			continue
		}
		if !Accepted(cert, cp, s.opts.Konnect.DPCertificates(cp.ID)) {
			return false
		}
		for i := range replicas {
			s.opts.Konnect.RegisterNode(cp.ID, konnecttest.Node{
				ID:       nodeID(dp, i),
				Hostname: fmt.Sprintf("%s-%d", dp.GetName(), i),
				Version:  KongVersionOfImage(proxyImage(dp)),
				LastPing: time.Now(),
			})
		}
		return true
	}
	return false
}

// Accepted says whether Konnect's control plane cp lets in a data plane presenting cert: pinned
// (the certificate registered) or, for pki_client_certs, signed by a registered CA. The test
// ground's kubelet (testenv) plays a real operator's data planes with it.
func Accepted(cert *x509.Certificate, cp konnecttest.ControlPlane, registered []konnecttest.DPCertificate) bool {
	if !time.Now().Before(cert.NotAfter) {
		return false
	}
	for _, r := range registered {
		block, _ := pem.Decode([]byte(r.Cert))
		if block == nil {
			continue
		}
		rc, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if rc.Equal(cert) {
			return true
		}
		if cp.AuthType == konnecttest.AuthTypePKIClientCerts && cert.CheckSignatureFrom(rc) == nil {
			return true
		}
	}
	return false
}

// nodeID is stable per DataPlane replica so heartbeats update one node.
func nodeID(dp *unstructured.Unstructured, replica int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", dp.GetUID(), replica))
	id, _ := uuid.FromBytes(sum[:16])
	return id.String()
}

// proxyImage is the image of the DataPlane's proxy container.
func proxyImage(dp *unstructured.Unstructured) string {
	containers, _, _ := unstructured.NestedSlice(dp.Object, "spec", "deployment", "podTemplateSpec", "spec", "containers")
	for _, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == "proxy" {
			image, _ := m["image"].(string)
			return image
		}
	}
	return ""
}

// KongVersionOfImage is the Kong version a data plane of a proxy image reports to Konnect: the image
// tag with four parts (kong/kong-gateway:3.14 runs 3.14.0.0), or "" (the fake's default) for a tag
// that is not a version.
func KongVersionOfImage(image string) string {
	image, _, _ = strings.Cut(image, "@")
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	parts := strings.Split(image[i+1:], ".")
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return ""
		}
	}
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, ".")
}

// secretRefError is a data-plane certificate Secret the operator could not read.
type secretRefError struct{ err error }

func (e *secretRefError) Error() string { return e.err.Error() }
func (e *secretRefError) Unwrap() error { return e.err }
