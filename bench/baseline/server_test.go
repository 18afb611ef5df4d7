package main

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func start(t *testing.T, queue int) chatpb.ChatServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(codecOption())
	newHub(queue).register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return chatpb.NewChatServiceClient(conn)
}

type chatStream = grpc.BidiStreamingClient[chatpb.ChatMessage, chatpb.ChatMessage]

func join(t *testing.T, c chatpb.ChatServiceClient, name string) chatStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "chat-user", name, "chat-room", "r")
	s, err := c.ChatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil || m.GetKind() != chatpb.ChatMessage_KIND_SYSTEM {
		t.Fatalf("%s: welcome = %v, %v", name, m, err)
	}
	return s
}

func TestFanOutToEveryoneButTheSender(t *testing.T) {
	c := start(t, 16)
	alice, bob, carol := join(t, c, "alice"), join(t, c, "bob"), join(t, c, "carol")
	sentAt := timestamppb.New(time.Unix(1700000000, 123))
	for i := range 3 {
		if err := alice.Send(&chatpb.ChatMessage{Message: "hi", ClientSentAt: sentAt}); err != nil {
			t.Fatal(i, err)
		}
	}
	for _, s := range []chatStream{bob, carol} {
		for range 3 {
			m, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if m.GetUser() != "alice" || m.GetMessage() != "hi" || m.GetKind() != chatpb.ChatMessage_KIND_TEXT ||
				m.GetRoom() != "r" || m.GetId() == 0 || !m.GetClientSentAt().AsTime().Equal(sentAt.AsTime()) {
				t.Fatalf("got %v", m)
			}
		}
	}
	// No echo: bob speaks, alice gets it as her next message.
	if err := bob.Send(&chatpb.ChatMessage{Message: "yo"}); err != nil {
		t.Fatal(err)
	}
	if m, err := alice.Recv(); err != nil || m.GetUser() != "bob" || m.GetMessage() != "yo" {
		t.Fatalf("alice got %v, %v", m, err)
	}
}

func TestStreamThatStopsReadingIsEnded(t *testing.T) {
	c := start(t, 4)
	talker, listener := join(t, c, "talker"), join(t, c, "listener")
	stuck := join(t, c, "stuck") // never reads again
	big := make([]byte, 16<<10)
	for i := range big {
		big[i] = 'x'
	}
	deadline := time.Now().Add(10 * time.Second)
	got := 0
	for sent := 0; time.Now().Before(deadline); sent++ {
		if err := talker.Send(&chatpb.ChatMessage{Message: string(big)}); err != nil {
			t.Fatal(err)
		}
		if _, err := listener.Recv(); err != nil {
			t.Fatal(err)
		}
		got++
		if got > 200 {
			break
		}
	}
	if got <= 200 {
		t.Fatalf("listener got only %d messages", got)
	}
	for {
		_, err := stuck.Recv()
		if err != nil {
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("stuck stream ended with %v, want RESOURCE_EXHAUSTED", err)
			}
			return
		}
	}
}
