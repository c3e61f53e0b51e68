package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect/konnecttest"
)

// NoKGO is the profile of NewWithoutKGO: no KGO CRDs at all.
const NoKGO Profile = "no-kgo"

// NewWithoutKGO starts a test ground where KGO is not installed: a real API server without any KGO
// CRD, the fake Konnect, no stand-in. Stop it when done.
func NewWithoutKGO(_ context.Context, opts Options) (*Env, error) {
	assets, err := BinaryAssets()
	if err != nil {
		return nil, err
	}
	e := &Env{Profile: NoKGO}
	e.env = &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if e.Config, err = e.env.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = e.Stop()
		}
	}()
	if e.Client, err = client.New(e.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
		return nil, err
	}
	if err := e.writeKubeconfig(opts.Dir); err != nil {
		return nil, err
	}
	if e.Konnect, err = konnecttest.NewServer(opts.KonnectOptions...); err != nil {
		return nil, err
	}
	track(e)
	e.Token = e.Konnect.IssueToken()
	e.KonnectCAFile = filepath.Join(filepath.Dir(e.Kubeconfig), "konnect-ca.pem")
	if err := os.WriteFile(e.KonnectCAFile, e.Konnect.CACertPEM(), 0o644); err != nil {
		return nil, err
	}
	e.ServerVersion = e.serverVersion()
	ok = true
	return e, nil
}

// AddUser adds an API server user outside system:masters, so RBAC decides what it may do, and
// returns the path of a kubeconfig for it.
func (e *Env) AddUser(name string, groups ...string) (string, error) {
	user, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return "", err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(e.Kubeconfig), "kubeconfig-"+name)
	return path, os.WriteFile(path, kc, 0o600)
}
