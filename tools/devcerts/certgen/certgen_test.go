package certgen

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	p, err := Generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p != PathsIn(dir) {
		t.Fatalf("paths = %+v", p)
	}
	for _, f := range []string{p.CAKey, p.ServerKey, p.ClientKey} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	for _, pair := range [][2]string{{p.CA, p.CAKey}, {p.Server, p.ServerKey}, {p.Client, p.ClientKey}} {
		if _, err := tls.LoadX509KeyPair(pair[0], pair[1]); err != nil {
			t.Errorf("%s + %s: %v", pair[0], pair[1], err)
		}
	}

	ca := readCert(t, p.CA)
	if !ca.IsCA {
		t.Fatal("ca.pem is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server := readCert(t, p.Server)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if err := server.VerifyHostname("example.com"); err == nil {
		t.Error("server certificate is valid for example.com")
	}
	client := readCert(t, p.Client)
	if client.Subject.CommonName != "polychat-client" {
		t.Errorf("client CN = %q", client.Subject.CommonName)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client certificate is usable as a server certificate")
	}

	// A second CA is unrelated to the first.
	other, err := Generate(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(readCert(t, other.CA))
	if _, err := server.Verify(x509.VerifyOptions{Roots: otherRoots, DNSName: "localhost"}); err == nil {
		t.Error("server certificate verifies against an unrelated CA")
	}
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	p, err := Generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p.CA)
	if _, err := Generate(dir, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Generate: %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(p.CA); string(after) != string(before) {
		t.Fatal("ca.pem changed")
	}
	// One existing file is enough to refuse, and nothing else is written.
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, ClientKeyFile), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir2, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("Generate over client-key.pem: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, CAFile)); err == nil {
		t.Fatal("ca.pem was written although Generate refused")
	}
	if _, err := Generate(dir, Options{Force: true}); err != nil {
		t.Fatalf("with Force: %v", err)
	}
	if after, _ := os.ReadFile(p.CA); string(after) == string(before) {
		t.Fatal("Force did not replace ca.pem")
	}
}

func TestCustomHosts(t *testing.T) {
	p, err := Generate(t.TempDir(), Options{Hosts: []string{"chat.internal", "10.0.0.7"}, ClientName: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	s := readCert(t, p.Server)
	if len(s.DNSNames) != 1 || s.DNSNames[0] != "chat.internal" || len(s.IPAddresses) != 1 || s.IPAddresses[0].String() != "10.0.0.7" {
		t.Fatalf("SANs = %v %v", s.DNSNames, s.IPAddresses)
	}
	if c := readCert(t, p.Client); c.Subject.CommonName != "bot" {
		t.Fatalf("client CN = %q", c.Subject.CommonName)
	}
}
