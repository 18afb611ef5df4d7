package chat

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

func TestInvalidInputEndsOnlyThatStream(t *testing.T) {
	ts := startServer(t, Config{MaxMessageBytes: 10, MaxNameBytes: 8})
	bystander := ts.join(t, "By", "")
	cases := []struct {
		name string
		md   []string
		msg  *chatpb.ChatMessage
		want string
	}{
		{"text over limit", nil, &chatpb.ChatMessage{Message: strings.Repeat("x", 11)}, "message text is 11 bytes; the limit is 10 bytes"},
		{"other room", nil, &chatpb.ChatMessage{Room: "red", Message: "hi"}, `message is for room "red"`},
		{"message room over limit", nil, &chatpb.ChatMessage{Room: "123456789", Message: "hi"}, "message room is 9 bytes; the limit is 8 bytes"},
		{"server kind", nil, &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_JOIN, Message: "hi"}, "only send KIND_TEXT"},
		{"unknown kind", nil, &chatpb.ChatMessage{Kind: 99, Message: "hi"}, "only send KIND_TEXT"},
		// Actions and private messages have the same limit as text.
		{"action over limit", nil, &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_ACTION, Message: strings.Repeat("x", 11)},
			"message text is 11 bytes; the limit is 10 bytes"},
		{"private message over limit", nil, &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_PRIVATE, Recipient: "By", Message: strings.Repeat("x", 11)},
			"message text is 11 bytes; the limit is 10 bytes"},
		// Only the one line ending is trimmed before the limit applies.
		{"text over limit before its line ending", nil, &chatpb.ChatMessage{Message: strings.Repeat("x", 11) + "\n"},
			"message text is 11 bytes; the limit is 10 bytes"},
		{"recipient on text", nil, &chatpb.ChatMessage{Message: "hi", Recipient: "By"}, "only a KIND_PRIVATE message may name a recipient"},
		{"name over limit", []string{chatwire.UserKey, "123456789"}, nil, "name (chat-user) is 9 bytes; the limit is 8 bytes"},
		{"room over limit", []string{chatwire.RoomKey, "123456789"}, nil, "room (chat-room) is 9 bytes"},
		// Plain metadata must be printable ASCII, so control characters
		// reach the server through binary metadata.
		{"escape in name", []string{chatwire.UserKey + "-bin", "a\x1bb"}, nil, "control character U+001B"},
		{"bidi override in room", []string{chatwire.RoomKey + "-bin", "a\u202eb"}, nil, "control character U+202E"},
		{"invalid UTF-8 name", []string{chatwire.UserKey + "-bin", "a\xffb"}, nil, "not valid UTF-8"},
		{"control in user field", nil, &chatpb.ChatMessage{User: "a\x07", Message: "hi"}, "control character U+0007"},
		{"user field over limit", nil, &chatpb.ChatMessage{User: "123456789"}, "user is 9 bytes"},
		// Characters that do not show, so "system\u200b" cannot pass for
		// "system" nor "Alice\u2060" for "Alice".
		{"zero width space in name", []string{chatwire.UserKey + "-bin", "system\u200b"}, nil,
			"name (chat-user) contains the invisible or formatting character U+200B; use visible characters only"},
		{"word joiner in name", []string{chatwire.UserKey + "-bin", "Al\u2060"}, nil, "invisible or formatting character U+2060"},
		{"RTL mark in name", []string{chatwire.UserKey + "-bin", "\u200fAl"}, nil, "invisible or formatting character U+200F"},
		{"zero width space in room", []string{chatwire.RoomKey + "-bin", "gen\u200b"}, nil, "room (chat-room) contains the invisible or formatting character U+200B"},
		{"hangul filler in user field", nil, &chatpb.ChatMessage{User: "Bob\u3164", Message: "hi"}, "user contains the invisible or formatting character U+3164"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ts.open(t, nil, tc.md...)
			if tc.msg != nil {
				if err := st.Send(tc.msg); err != nil {
					t.Fatal(err)
				}
			}
			err := recvUntilErr(t, st)
			if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("got %v, want INVALID_ARGUMENT containing %q", err, tc.want)
			}
		})
	}

	// The room's own name is accepted, and the bystander never noticed the
	// bad clients beyond their join and leave notices.
	ok := newClient(t, ts.open(t, nil, chatwire.UserKey, "Ok", chatwire.RoomKey, "general"))
	ok.expect(chatpb.ChatMessage_KIND_SYSTEM, "")
	if err := ok.stream.Send(&chatpb.ChatMessage{Room: "general", Message: "fine"}); err != nil {
		t.Fatal(err)
	}
	for {
		m := bystander.next()
		if m.GetKind() == chatpb.ChatMessage_KIND_JOIN || m.GetKind() == chatpb.ChatMessage_KIND_LEAVE ||
			(m.GetKind() == chatpb.ChatMessage_KIND_SYSTEM && strings.Contains(m.GetMessage(), "is now known as")) {
			continue
		}
		if m.GetKind() != chatpb.ChatMessage_KIND_TEXT || m.GetMessage() != "fine" || m.GetUser() != "Ok" {
			t.Fatalf("bystander got %v", m)
		}
		break
	}
}

// rawCodec sends and receives bytes as they are, to put invalid protobuf
// on the wire. It is named "proto" so that it is a drop-in for the client.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func TestInvalidUTF8IsInvalidArgument(t *testing.T) {
	ts := startServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := ts.conn(t).NewStream(ctx, &chatpb.ChatService_ServiceDesc.Streams[0],
		chatpb.ChatService_ChatStream_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	// Field 2 (message), length 2, bytes that are not UTF-8.
	raw := []byte{0x12, 0x02, 0xff, 0xfe}
	if err := st.SendMsg(&raw); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		for {
			var b []byte
			if err := st.RecvMsg(&b); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "not valid UTF-8") {
		t.Fatalf("got %v, want INVALID_ARGUMENT about UTF-8", err)
	}
}

// A huge value in a field is never echoed: not in the status (whose
// grpc-message trailer a grpcio client would refuse, ending the call with
// "INTERNAL: Stream removed") and not in the log.
func TestHugeFieldsAreNotEchoed(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	huge := strings.Repeat("R", 60<<10)
	for _, msg := range []*chatpb.ChatMessage{
		{Room: huge, Message: "hi"},
		{Room: huge},
		{User: huge, Message: "hi"},
		{Message: huge},
	} {
		st := ts.open(t, nil)
		if err := st.Send(msg); err != nil {
			t.Fatal(err)
		}
		err := recvUntilErr(t, st)
		if code(err) != codes.InvalidArgument || len(status.Convert(err).Message()) > 200 ||
			!strings.Contains(status.Convert(err).Message(), "the limit is") {
			t.Fatalf("got %d-byte status %.200v, want a short INVALID_ARGUMENT about the limit", len(status.Convert(err).Message()), err)
		}
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if len(line) > 600 || strings.Contains(line, strings.Repeat("R", 100)) {
			t.Fatalf("log line of %d bytes echoes the value: %.300s", len(line), line)
		}
	}
}

func TestClip(t *testing.T) {
	for in, want := range map[string]string{
		"short":                               "short",
		strings.Repeat("a", 64):               strings.Repeat("a", 64),
		strings.Repeat("a", 65):               strings.Repeat("a", 64) + "...",
		strings.Repeat("a", 63) + "é" + "xyz": strings.Repeat("a", 63) + "...", // é is not split
	} {
		if got := clip(in); got != want {
			t.Errorf("clip(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOversizedMessages(t *testing.T) {
	ts := startServer(t, Config{})
	for _, tc := range []struct {
		size int
		want codes.Code
	}{
		{5000, codes.InvalidArgument},        // over the text limit: the service answers
		{100 << 10, codes.ResourceExhausted}, // over the receive limit: gRPC answers
	} {
		st := ts.open(t, nil)
		if err := st.Send(&chatpb.ChatMessage{Message: strings.Repeat("x", tc.size)}); err != nil {
			t.Fatal(err)
		}
		if err := recvUntilErr(t, st); code(err) != tc.want {
			t.Fatalf("%d bytes: got %v, want %s", tc.size, err, tc.want)
		}
	}
}

func TestSlowClientIsDisconnected(t *testing.T) {
	ts := startServer(t, Config{QueueSize: 8})
	reader := ts.join(t, "Reader", "")
	// A fixed 64 KiB window (no BDP growth) bounds what the transport
	// buffers for the client that never reads.
	slowConn := ts.conn(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	slow := ts.open(t, slowConn, chatwire.UserKey, "Slow")
	reader.expect(chatpb.ChatMessage_KIND_JOIN, "Slow joined the room")
	talker := ts.join(t, "Talker", "")
	reader.expect(chatpb.ChatMessage_KIND_JOIN, "Talker joined the room")

	// 200 x 4 KB is far more than the window, gRPC's per-stream write quota
	// and the queue of 8 together, so the slow client must overflow.
	pad := strings.Repeat("x", 4000)
	sawLeave := false
	for i := range 200 {
		want := fmt.Sprintf("%03d %s", i, pad)
		talker.say(want)
		// Waiting for each message keeps the reader's queue short, so only
		// the client that does not read can overflow.
		for {
			m := reader.next()
			if m.GetKind() == chatpb.ChatMessage_KIND_LEAVE && m.GetMessage() == "Slow left the room" {
				sawLeave = true
				continue
			}
			if m.GetMessage() != want || m.GetUser() != "Talker" {
				t.Fatalf("message %d: got %s %.20q", i, m.GetKind(), m.GetMessage())
			}
			break
		}
	}
	if !sawLeave {
		t.Fatal("the slow client was never disconnected")
	}
	err := recvUntilErr(t, slow)
	if code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "not reading fast enough") {
		t.Fatalf("slow client ended with %v, want RESOURCE_EXHAUSTED", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
