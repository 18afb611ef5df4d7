// Package certgen creates a development certificate authority and the server
// and client certificates Polychat needs for TLS and mutual TLS, with Go's
// crypto/x509 (ECDSA P-256 keys). It backs "make certs" (tools/devcerts) and
// lets tests create throwaway CAs in a temporary folder.
//
// The certificates are for development and tests only: the CA key is written
// next to the certificates, unencrypted.
package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names written by Generate, inside its folder.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
	ClientFile    = "client.pem"
	ClientKeyFile = "client-key.pem"
)

// Defaults for zero Options fields.
const (
	// DefaultClientName is the common name of the client certificate.
	DefaultClientName = "polychat-client"
	// DefaultValidity is how long the server and client certificates last;
	// the CA lasts ten times as long.
	DefaultValidity = 365 * 24 * time.Hour
)

// DefaultHosts are the server certificate's subject alternative names.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Options configures Generate. The zero value gives the documented defaults.
type Options struct {
	// Hosts are the server certificate's DNS names and IP addresses.
	// Empty means DefaultHosts.
	Hosts []string
	// ClientName is the client certificate's common name. Empty means
	// DefaultClientName.
	ClientName string
	// Validity is how long the leaf certificates last. Zero means
	// DefaultValidity.
	Validity time.Duration
	// Force overwrites existing files instead of refusing to.
	Force bool
}

// Paths are the files Generate wrote.
type Paths struct {
	CA, CAKey, Server, ServerKey, Client, ClientKey string
}

// PathsIn returns the paths of the files Generate writes into dir.
func PathsIn(dir string) Paths {
	j := func(name string) string { return filepath.Join(dir, name) }
	return Paths{
		CA: j(CAFile), CAKey: j(CAKeyFile),
		Server: j(ServerFile), ServerKey: j(ServerKeyFile),
		Client: j(ClientFile), ClientKey: j(ClientKeyFile),
	}
}

func (p Paths) all() []string {
	return []string{p.CA, p.CAKey, p.Server, p.ServerKey, p.Client, p.ClientKey}
}

// ErrExists is wrapped by the error Generate returns when a file it would
// write already exists and Options.Force is not set.
var ErrExists = errors.New("already exists")

// Generate creates dir (if needed) and writes a new CA, a server certificate
// for opts.Hosts and a client certificate (client-auth usage) signed by it.
// Keys are written with mode 0600, certificates 0644. Without opts.Force it
// writes nothing if any of the files already exists.
func Generate(dir string, opts Options) (Paths, error) {
	if len(opts.Hosts) == 0 {
		opts.Hosts = DefaultHosts
	}
	if opts.ClientName == "" {
		opts.ClientName = DefaultClientName
	}
	if opts.Validity <= 0 {
		opts.Validity = DefaultValidity
	}
	p := PathsIn(dir)
	if !opts.Force {
		for _, f := range p.all() {
			if _, err := os.Lstat(f); err == nil {
				return Paths{}, fmt.Errorf("%s %w (use -force to replace it)", f, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return Paths{}, err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Paths{}, err
	}

	now := time.Now().Add(-5 * time.Minute) // tolerate small clock skew
	caKey, err := newKey()
	if err != nil {
		return Paths{}, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Polychat development"}, CommonName: "Polychat development CA"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * opts.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, caCert, err := sign(caTmpl, caKey.Public(), nil, caKey)
	if err != nil {
		return Paths{}, err
	}

	serverKey, err := newKey()
	if err != nil {
		return Paths{}, err
	}
	serverTmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"Polychat development"}, CommonName: opts.Hosts[0]},
		NotBefore:   now,
		NotAfter:    now.Add(opts.Validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			serverTmpl.IPAddresses = append(serverTmpl.IPAddresses, ip)
		} else {
			serverTmpl.DNSNames = append(serverTmpl.DNSNames, h)
		}
	}
	serverDER, _, err := sign(serverTmpl, serverKey.Public(), caCert, caKey)
	if err != nil {
		return Paths{}, err
	}

	clientKey, err := newKey()
	if err != nil {
		return Paths{}, err
	}
	clientTmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"Polychat development"}, CommonName: opts.ClientName},
		NotBefore:   now,
		NotAfter:    now.Add(opts.Validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, _, err := sign(clientTmpl, clientKey.Public(), caCert, caKey)
	if err != nil {
		return Paths{}, err
	}

	files := []struct {
		path string
		der  []byte
		key  *ecdsa.PrivateKey
	}{
		{p.CA, caDER, nil}, {p.CAKey, nil, caKey},
		{p.Server, serverDER, nil}, {p.ServerKey, nil, serverKey},
		{p.Client, clientDER, nil}, {p.ClientKey, nil, clientKey},
	}
	for _, f := range files {
		var err error
		if f.key != nil {
			err = writeKey(f.path, f.key, opts.Force)
		} else {
			err = writePEM(f.path, "CERTIFICATE", f.der, 0o644, opts.Force)
		}
		if err != nil {
			return Paths{}, err
		}
	}
	return p, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// sign fills in the serial number and key ids of tmpl and signs it with
// parentKey; a nil parent makes it self-signed.
func sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	id := sha256.Sum256(spki)
	tmpl.SubjectKeyId = id[:20]
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, cert, nil
}

func writeKey(path string, key *ecdsa.PrivateKey, force bool) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600, force)
}

// writePEM writes one PEM block to path with mode perm. Without force the
// file must not exist; with force an existing file is replaced (and its mode
// set to perm, so an old key file never stays readable by others).
func writePEM(path, typ string, der []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s %w (use -force to replace it)", path, ErrExists)
		}
		return err
	}
	if err := f.Chmod(perm); err != nil { // exactly perm, whatever the umask
		f.Close()
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
