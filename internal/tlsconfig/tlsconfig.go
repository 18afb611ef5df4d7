// Package tlsconfig builds the TLS configurations Polychat's Go programs use:
// the chat server's (optionally requiring client certificates), and a
// client's, for the chat client and for the chat server calling the
// AuthService. TLS 1.2 is the oldest version accepted; Go prefers TLS 1.3
// whenever the peer supports it.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// MinVersion is the oldest TLS version accepted.
const MinVersion = tls.VersionTLS12

// Server returns the configuration to serve TLS with certFile and keyFile
// (PEM). When clientCAFile is not empty, every client must present a
// certificate signed by one of its CAs (mutual TLS).
func Server(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{cert},
	}
	if clientCAFile != "" {
		pool, err := LoadCertPool(clientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientOptions says how to secure a connection to a server.
type ClientOptions struct {
	// CAFile is a PEM bundle of the CAs to trust; set, TLS is on. Empty
	// trusts the system's CAs.
	CAFile string
	// CertFile and KeyFile are the client's PEM certificate and key, for
	// servers that require one (mutual TLS); set, TLS is on.
	CertFile, KeyFile string
	// System turns TLS on with the system's trusted CAs when nothing else
	// does.
	System bool
}

// Enabled reports whether o asks for TLS.
func (o ClientOptions) Enabled() bool {
	return o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.System
}

// Client returns the configuration o describes, or nil when o asks for
// plaintext.
func Client(o ClientOptions) (*tls.Config, error) {
	if !o.Enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: MinVersion}
	if o.CAFile != "" {
		pool, err := LoadCertPool(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("a client certificate needs both a certificate and a key file")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load TLS client certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Credentials returns gRPC transport credentials for cfg: TLS, or plaintext
// when cfg is nil.
func Credentials(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(cfg)
}

// LoadCertPool reads a PEM bundle of CA certificates.
func LoadCertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}
