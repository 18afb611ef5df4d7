package chatclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions says how to secure the connection to the servers.
type TLSOptions struct {
	// CAFile is a PEM bundle of the CAs to trust; set, TLS is on.
	CAFile string
	// CertFile and KeyFile are the client's PEM certificate and key, for
	// servers that require one (mutual TLS); set, TLS is on.
	CertFile, KeyFile string
	// System turns TLS on with the system's trusted CAs when CAFile is empty.
	System bool
}

// Enabled reports whether the options ask for TLS.
func (o TLSOptions) Enabled() bool {
	return o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.System
}

// TLSConfig returns the TLS configuration o describes, or nil when o asks for
// plaintext. TLS 1.2 is the oldest version accepted; 1.3 is preferred.
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	if !o.Enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		data, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("a client certificate needs both a certificate and a key file")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load client certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
