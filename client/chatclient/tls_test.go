package chatclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/tlsconfig"
	"github.com/polychat/polychat/tools/devcerts/certgen"
)

// tlsFixture is a development CA with its certificates, plus an unrelated CA.
type tlsFixture struct {
	good, other certgen.Paths
}

func newTLSFixture(t *testing.T) tlsFixture {
	t.Helper()
	good, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tlsFixture{good: good, other: other}
}

// serverTLS is the server side: its certificate, and with mutual set, the
// requirement of a client certificate from the good CA.
func (f tlsFixture) serverTLS(t *testing.T, mutual bool) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.good.Server, f.good.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if mutual {
		data, err := os.ReadFile(f.good.CA)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(data)
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg
}

// serveTCP serves handle on a loopback TCP port, with TLS when tc is set,
// and returns the address as "127.0.0.1:PORT" (not "localhost", which
// would also try [::1]:PORT, where another test may be listening).
func serveTCP(t *testing.T, tc *tls.Config, handle func(chatStream) error) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	chatpb.RegisterChatServiceServer(srv, &fakeServer{handle: handle})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	return "127.0.0.1:" + port
}

func mustTLS(t *testing.T, o tlsconfig.ClientOptions) *tls.Config {
	t.Helper()
	tc, err := tlsconfig.Client(o)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// runTo runs a session that leaves at once, and returns Run's result and the
// output.
func runTo(addr string, tc *tls.Config) (string, error) {
	var out strings.Builder
	err := Run(context.Background(), Config{Server: addr, TLS: tc, Name: "Alice"}, NewLineReader(strings.NewReader("")), &out)
	return out.String(), err
}

func TestRunOverTLS(t *testing.T) {
	f := newTLSFixture(t)
	welcome := notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome, Alice!")
	for _, tc := range []struct {
		name   string
		mutual bool
		client tlsconfig.ClientOptions
	}{
		{"TLS", false, tlsconfig.ClientOptions{CAFile: f.good.CA}},
		{"mutual TLS", true, tlsconfig.ClientOptions{CAFile: f.good.CA, CertFile: f.good.Client, KeyFile: f.good.ClientKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(welcome)
			addr := serveTCP(t, f.serverTLS(t, tc.mutual), rec.handle)
			out, err := runTo(addr, mustTLS(t, tc.client))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "Welcome, Alice!") {
				t.Fatalf("output %q lacks the welcome", out)
			}
		})
	}
}

func TestRunTLSRefused(t *testing.T) {
	f := newTLSFixture(t)
	handle := newRecorder(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome")).handle
	tlsAddr := serveTCP(t, f.serverTLS(t, false), handle)
	mtlsAddr := serveTCP(t, f.serverTLS(t, true), handle)
	plainAddr := serveTCP(t, nil, handle)

	// The wrong CA: one exact, readable line.
	_, err := runTo(tlsAddr, mustTLS(t, tlsconfig.ClientOptions{CAFile: f.other.CA}))
	var se *ServerError
	if !errors.As(err, &se) || se.Lost {
		t.Fatalf("wrong CA: %v (%T), want a *ServerError", err, err)
	}
	if want := "cannot reach chat server at " + tlsAddr + ": TLS handshake failed: certificate signed by unknown authority"; err.Error() != want {
		t.Fatalf("wrong CA: %q, want %q", err.Error(), want)
	}

	for _, tc := range []struct {
		name, addr string
		client     tlsconfig.ClientOptions
		want       string
	}{
		{"plaintext to TLS", tlsAddr, tlsconfig.ClientOptions{}, ": connection closed (does the server expect TLS?)"},
		{"TLS to plaintext", plainAddr, tlsconfig.ClientOptions{CAFile: f.good.CA}, ": TLS handshake failed: the server does not speak TLS"},
		{"mutual TLS without a certificate", mtlsAddr, tlsconfig.ClientOptions{CAFile: f.good.CA}, ": TLS handshake failed: "},
		{"mutual TLS with an unknown certificate", mtlsAddr, tlsconfig.ClientOptions{CAFile: f.good.CA, CertFile: f.other.Client, KeyFile: f.other.ClientKey}, ": TLS handshake failed: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runTo(tc.addr, mustTLS(t, tc.client))
			var se *ServerError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Run() = %v, want a one-line *ServerError containing %q", err, tc.want)
			}
		})
	}
}

// The token goes in the authorization metadata; a chat server that does not
// accept it ends the session with one sign-in line.
func TestRunSendsTokenAndReportsSignInFailure(t *testing.T) {
	rec := newRecorder(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome"))
	cfg, _ := startFake(t, rec.handle)
	cfg.Token = "tok123"
	if err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("")), io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := (<-rec.md).Get(chatwire.AuthorizationKey); len(got) != 1 || got[0] != "Bearer tok123" {
		t.Fatalf("authorization = %q", got)
	}

	cfg, _ = startFake(t, func(chatStream) error { return errUnauthenticated("session is invalid or expired") })
	err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("")), io.Discard)
	var sie *SignInError
	if !errors.As(err, &sie) || err.Error() != "sign-in failed: session is invalid or expired" {
		t.Fatalf("Run() = %v (%T), want the sign-in failure", err, err)
	}
}

// A TLS server that reads a plaintext client's preface closes the connection,
// and the kernel sends a reset instead of a FIN when unread bytes remain: both
// mean the same to the user.
func TestConnReasonPlaintextToTLS(t *testing.T) {
	for _, msg := range []string{
		`connection error: desc = "error reading server preface: EOF"`,
		`connection error: desc = "error reading server preface: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"`,
	} {
		err := status.Error(codes.Unavailable, msg)
		if got, want := connReason(err, false), "connection closed (does the server expect TLS?)"; got != want {
			t.Errorf("connReason(%q) = %q, want %q", msg, got, want)
		}
	}
}
