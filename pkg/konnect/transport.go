package konnect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Environment variables that point the plugin at a Konnect other than the
// public one, like curl's --connect-to and --cacert. The demo and the
// end-to-end tests use them to reach the local Konnect simulator while the
// objects written to the cluster keep real Konnect URLs.
const (
	// EnvConnectTo is a host:port every Konnect connection dials instead of
	// the URL's host; TLS still verifies the URL's host name.
	EnvConnectTo = "KUBECTL_KONNECT_CONNECT_TO"
	// EnvCAFile is a PEM file of extra CAs to trust for Konnect.
	EnvCAFile = "KUBECTL_KONNECT_CA_FILE"
)

// HTTPClientFromEnv returns the HTTP client for Konnect calls: the default
// transport, or one honouring EnvConnectTo and EnvCAFile when they are set.
func HTTPClientFromEnv() (*http.Client, error) {
	connectTo, caFile := os.Getenv(EnvConnectTo), os.Getenv(EnvCAFile)
	if connectTo == "" && caFile == "" {
		return &http.Client{Timeout: 30 * time.Second}, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvCAFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", EnvCAFile, caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if connectTo != "" {
		if _, _, err := net.SplitHostPort(connectTo); err != nil {
			return nil, fmt.Errorf("%s=%q: want host:port: %w", EnvConnectTo, connectTo, err)
		}
		tr.Proxy = nil
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, connectTo)
		}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
