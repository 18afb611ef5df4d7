package tlsconf

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
	c, err := Client("", "", "")
	if err != nil || c.RootCAs != nil || len(c.Certificates) != 0 || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("Client with system roots: %v", err)
	}
	c, err = Client(p.CA, p.Client, p.ClientKey)
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("mutual Client: %v", err)
	}
	for name, f := range map[string]func() error{
		"missing cert":    func() error { _, err := Server("/nonexistent.pem", p.ServerKey, ""); return err },
		"mismatched key":  func() error { _, err := Server(p.Server, p.ClientKey, ""); return err },
		"CA without cert": func() error { _, err := Server(p.Server, p.ServerKey, p.ServerKey); return err },
		"missing CA":      func() error { _, err := Client("/nonexistent.pem", "", ""); return err },
		"client key only": func() error { _, err := Client(p.CA, "", p.ClientKey); return err },
	} {
		if err := f(); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line error", name, err)
		}
	}
}
