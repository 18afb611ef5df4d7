package tlsconfig

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/polychat/polychat/tools/devcerts/certgen"
)

func TestConfigs(t *testing.T) {
	p, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Server(p.Server, p.ServerKey, "")
	if err != nil || s.MinVersion != tls.VersionTLS12 || s.ClientAuth != tls.NoClientCert || len(s.Certificates) != 1 {
		t.Fatalf("Server: %+v %v", s, err)
	}
	s, err = Server(p.Server, p.ServerKey, p.CA)
	if err != nil || s.ClientAuth != tls.RequireAndVerifyClientCert || s.ClientCAs == nil {
		t.Fatalf("mutual Server: %v", err)
	}
	c, err := Client(ClientOptions{System: true})
	if err != nil || c.RootCAs != nil || len(c.Certificates) != 0 || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("Client with system roots: %v", err)
	}
	c, err = Client(ClientOptions{CAFile: p.CA, CertFile: p.Client, KeyFile: p.ClientKey})
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("mutual Client: %v", err)
	}
	for name, f := range map[string]func() error{
		"missing cert":    func() error { _, err := Server("/nonexistent.pem", p.ServerKey, ""); return err },
		"mismatched key":  func() error { _, err := Server(p.Server, p.ClientKey, ""); return err },
		"CA without cert": func() error { _, err := Server(p.Server, p.ServerKey, p.ServerKey); return err },
		"missing CA":      func() error { _, err := Client(ClientOptions{CAFile: "/nonexistent.pem"}); return err },
		"client key only": func() error { _, err := Client(ClientOptions{CAFile: p.CA, KeyFile: p.ClientKey}); return err },
	} {
		if err := f(); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line error", name, err)
		}
	}
}

func TestClientOptions(t *testing.T) {
	good, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := Client(ClientOptions{}); tc != nil || err != nil {
		t.Fatalf("no options: %v %v, want plaintext", tc, err)
	}
	if tc, err := Client(ClientOptions{System: true}); err != nil || tc == nil || tc.RootCAs != nil {
		t.Fatalf("System: %v %v, want system roots", tc, err)
	}
	for _, o := range []ClientOptions{
		{CAFile: "/nonexistent/ca.pem"},
		{CAFile: good.ServerKey}, // a key, not a certificate
		{CertFile: good.Client},
		{CAFile: good.CA, CertFile: good.Client, KeyFile: other.ClientKey},
	} {
		if _, err := Client(o); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Client(%+v) = %v, want a one-line error", o, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	if got := Credentials(nil).Info().SecurityProtocol; got != "insecure" {
		t.Errorf("Credentials(nil) = %q, want insecure", got)
	}
	if got := Credentials(&tls.Config{MinVersion: MinVersion}).Info().SecurityProtocol; got != "tls" {
		t.Errorf("Credentials(TLS) = %q, want tls", got)
	}
}
