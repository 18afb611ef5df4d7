package app

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/tlsconfig"
	"github.com/polychat/polychat/tools/devcerts/certgen"
)

// webJoin calls Join over the web port with the Connect protocol and
// returns its stream once the welcome has arrived.
func webJoin(t *testing.T, hc *http.Client, url string, req *chatpb.JoinRequest) (*connect.ServerStreamForClient[chatpb.ChatMessage], *chatpb.ChatMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	st, err := connect.NewClient[chatpb.JoinRequest, chatpb.ChatMessage](hc, url+"chat.ChatService/Join").
		CallServerStream(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Receive() {
		t.Fatalf("Join over the web port: %v", st.Err())
	}
	return st, st.Msg()
}

func TestWebPortServesThePageAndTheChat(t *testing.T) {
	s := start(t, testConfig(t))
	url := s.WebURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("web URL %q", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `<script type="module" src="app.js">`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET %s: %s %v %.200q", url, resp.Status, resp.Header, page)
	}
	if !strings.Contains(s.logs.String(), "chat in the browser: open "+url) {
		t.Errorf("the log does not say where the page is:\n%s", s.logs.String())
	}

	// A browser member and a gRPC member are in one room.
	grpcMember, _ := join(t, dial(t, s.Addr().String(), nil), "chat-user", "Alice")
	web, welcome := webJoin(t, http.DefaultClient, url, &chatpb.JoinRequest{User: "Bob"})
	if welcome.GetMessage() != "Welcome, Bob! You are in room general." {
		t.Fatalf("welcome %v", welcome)
	}
	if m := recv(t, grpcMember); m.GetMessage() != "Bob joined the room" {
		t.Fatalf("got %v", m)
	}
	send := connect.NewClient[chatpb.SendRequest, chatpb.SendResponse](http.DefaultClient, url+"chat.ChatService/Send")
	if _, err := send.CallUnary(context.Background(), connect.NewRequest(&chatpb.SendRequest{MemberToken: welcome.GetMemberToken(), Message: "from the page"})); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, grpcMember); m.GetUser() != "Bob" || m.GetMessage() != "from the page" {
		t.Fatalf("got %v", m)
	}
	// The request log covers the page's calls too, never their content.
	cancelDone := make(chan struct{})
	go func() {
		defer close(cancelDone)
		for web.Receive() {
		}
	}()
	web.Close()
	<-cancelDone
	if logs := s.logs.String(); !strings.Contains(logs, "grpc.method=Send") || strings.Contains(logs, welcome.GetMemberToken()) ||
		strings.Contains(logs, "from the page") {
		t.Errorf("request log:\n%s", logs)
	}
}

func TestWebShutdownTellsThePageFirst(t *testing.T) {
	s, err := New(testConfig(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	web, _ := webJoin(t, http.DefaultClient, s.WebURL(), &chatpb.JoinRequest{User: "Bob"})
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		for web.Receive() {
			msgs = append(msgs, web.Msg().GetMessage())
		}
		got <- append(msgs, connect.CodeOf(web.Err()).String())
	}()
	stop() // as SIGTERM does
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	// The notice reached the page before its stream was cut: the web port
	// is drained before the gRPC server stops.
	if msgs := <-got; len(msgs) != 2 || msgs[0] != "Server is shutting down" || msgs[1] != "unavailable" {
		t.Fatalf("the page's stream got %q", msgs)
	}
}

func TestWebPortOffOrBusy(t *testing.T) {
	s := start(t, testConfig(t, "-web-addr", ""))
	if s.WebURL() != "" {
		t.Fatalf("page on %s", s.WebURL())
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s = start(t, testConfig(t, "-web-addr", busy.Addr().String()))
	if s.WebURL() != "" {
		t.Fatalf("page on %s", s.WebURL())
	}
	if err := checkHealth(dial(t, s.Addr().String(), nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), `level=ERROR msg="cannot serve the chat page; going on without it"`) {
		t.Fatalf("no error logged:\n%s", s.logs.String())
	}
}

func TestWebPortServesTLSWithTheServersCertificate(t *testing.T) {
	certs, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, testConfig(t, "-tls-cert", certs.Server, "-tls-key", certs.ServerKey))
	url := s.WebURL()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("web URL %q", url)
	}
	tc, err := tlsconfig.Client(tlsconfig.ClientOptions{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	tc.ServerName = "localhost"
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("GET %s: %s over %s", url, resp.Status, resp.Proto)
	}
	if _, w := webJoin(t, hc, url, &chatpb.JoinRequest{User: "Bob"}); w.GetMemberToken() == "" {
		t.Fatalf("welcome %v", w)
	}
	// Plain HTTP is not served on it.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := plain.Get(strings.Replace(url, "https://", "http://", 1)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the TLS web port answered plain HTTP")
		}
	}
}

func TestWebJoinsCountAgainstThePerIPStreamRate(t *testing.T) {
	s := start(t, testConfig(t, "-stream-rate-per-ip", "0.001", "-stream-burst-per-ip", "2"))
	for _, name := range []string{"A", "B"} {
		webJoin(t, http.DefaultClient, s.WebURL(), &chatpb.JoinRequest{User: name})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := connect.NewClient[chatpb.JoinRequest, chatpb.ChatMessage](http.DefaultClient, s.WebURL()+"chat.ChatService/Join").
		CallServerStream(ctx, connect.NewRequest(&chatpb.JoinRequest{User: "C"}))
	if err == nil {
		st.Receive()
		err = st.Err()
	}
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "from one address") {
		t.Fatalf("third Join: %v, want RESOURCE_EXHAUSTED\n%s", err, s.logs.String())
	}
}
