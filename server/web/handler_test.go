package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
	"github.com/polychat/polychat/server/chat"
)

// wait bounds every wait; tests never sleep.
const wait = 10 * time.Second

// serve returns the URL of a test server for Handler in front of a chat
// service on a grpc.Server that is never given a listener: every call
// reaches it through the handler.
func serve(t *testing.T, cfg chat.Config) string {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := broker.Open(context.Background(), broker.Options{Server: brokertest.Server(t), History: 50, Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg.Broker, cfg.History = b, 50
	srv := grpc.NewServer(chat.CodecOption())
	chatpb.RegisterChatServiceServer(srv, chat.New(cfg))
	h, err := Handler(srv, nil, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Stop()
	})
	return hs.URL
}

// rpc returns a Connect client of one ChatService method at base.
func rpc[Req, Res any](base, method string, opts ...connect.ClientOption) *connect.Client[Req, Res] {
	return connect.NewClient[Req, Res](http.DefaultClient, base+"/chat.ChatService/"+method, opts...)
}

func TestPageIsServedWithStrictHeaders(t *testing.T) {
	base := serve(t, chat.Config{})
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "<html") {
		t.Fatalf("GET /: %s %q %.80q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	for k, v := range securityHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q is not strict", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Errorf("caching headers %v", resp.Header)
	}

	// Revalidation answers 304 while the page is the same.
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %s", again.Status)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/app.js", http.StatusOK},
		{http.MethodGet, "/style.css", http.StatusOK},
		{http.MethodGet, "/nothing-here", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		// A form post (a cross-site request forgery, say) is no RPC.
		{http.MethodPost, "/chat.ChatService/Send", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader("member_token=x&message=hi"))
		if tc.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %s, want %d with the security headers", tc.method, tc.path, resp.Status, tc.want)
		}
	}
}

// joinStream is a Join call over HTTP, read on a goroutine.
type joinStream struct {
	t    *testing.T
	msgs chan *chatpb.ChatMessage
	done chan error
}

func join(t *testing.T, base string, req *chatpb.JoinRequest, opts ...connect.ClientOption) *joinStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := rpc[chatpb.JoinRequest, chatpb.ChatMessage](base, "Join", opts...).CallServerStream(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	j := &joinStream{t: t, msgs: make(chan *chatpb.ChatMessage, 100), done: make(chan error, 1)}
	go func() {
		for st.Receive() {
			j.msgs <- st.Msg()
		}
		j.done <- st.Err()
	}()
	return j
}

func (j *joinStream) next() *chatpb.ChatMessage {
	j.t.Helper()
	select {
	case m := <-j.msgs:
		return m
	case err := <-j.done:
		j.t.Fatalf("Join ended: %v", err)
	case <-time.After(wait):
		j.t.Fatal("no message in time")
	}
	return nil
}

func (j *joinStream) end() error {
	j.t.Helper()
	for {
		select {
		case <-j.msgs:
		case err := <-j.done:
			return err
		case <-time.After(wait):
			j.t.Fatal("Join did not end in time")
		}
	}
}

func TestBrowserProtocolsReachTheChat(t *testing.T) {
	base := serve(t, chat.Config{})
	// The page speaks Connect with the binary format; gRPC-Web and
	// Connect with JSON work as well.
	for _, tc := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"connect+json", []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := "room-" + strings.ReplaceAll(tc.name, "+", "-")
			alice := join(t, base, &chatpb.JoinRequest{User: "Alice", Room: room}, tc.opts...)
			w := alice.next()
			if w.GetMessage() != "Welcome, Alice! You are in room "+room+"." || w.GetMemberToken() == "" {
				t.Fatalf("welcome %v", w)
			}
			bob := join(t, base, &chatpb.JoinRequest{User: "Bob", Room: room}, tc.opts...)
			bobToken := bob.next().GetMemberToken()
			if m := alice.next(); m.GetMessage() != "Bob joined the room" {
				t.Fatalf("got %v", m)
			}
			send := rpc[chatpb.SendRequest, chatpb.SendResponse](base, "Send", tc.opts...)
			if _, err := send.CallUnary(context.Background(), connect.NewRequest(&chatpb.SendRequest{MemberToken: bobToken, Message: "hi <b>Alice</b>"})); err != nil {
				t.Fatal(err)
			}
			if m := alice.next(); m.GetUser() != "Bob" || m.GetMessage() != "hi <b>Alice</b>" || m.GetSeq() == 0 {
				t.Fatalf("got %v", m)
			}
			// The gRPC status reaches the browser as its Connect code.
			_, err := send.CallUnary(context.Background(), connect.NewRequest(&chatpb.SendRequest{MemberToken: "nope", Message: "x"}))
			if connect.CodeOf(err) != connect.CodeNotFound || !strings.Contains(err.Error(), "no membership has this member_token") {
				t.Fatalf("Send with a wrong token: %v", err)
			}
			rooms, err := rpc[chatpb.ListRoomsRequest, chatpb.ListRoomsResponse](base, "ListRooms", tc.opts...).
				CallUnary(context.Background(), connect.NewRequest(&chatpb.ListRoomsRequest{}))
			if err != nil || rooms.Msg.GetTotal() == 0 {
				t.Fatalf("ListRooms: %v %v", rooms, err)
			}
			leave := rpc[chatpb.LeaveRequest, chatpb.LeaveResponse](base, "Leave", tc.opts...)
			if _, err := leave.CallUnary(context.Background(), connect.NewRequest(&chatpb.LeaveRequest{MemberToken: bobToken})); err != nil {
				t.Fatal(err)
			}
			if err := bob.end(); err != nil {
				t.Fatalf("Join ended with %v, want OK", err)
			}
			if m := alice.next(); m.GetMessage() != "Bob left the room" {
				t.Fatalf("got %v", m)
			}
		})
	}
}

func TestOversizedRequestIsRefused(t *testing.T) {
	base := serve(t, chat.Config{})
	_, err := rpc[chatpb.SendRequest, chatpb.SendResponse](base, "Send").
		CallUnary(context.Background(), connect.NewRequest(&chatpb.SendRequest{MemberToken: "x", Message: strings.Repeat("a", 65<<10)}))
	if err == nil || connect.CodeOf(err) == connect.CodeNotFound {
		t.Fatalf("a request over the limit reached the chat: %v", err)
	}
}
