package main

import (
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func TestRecvCodecReadsKindAndClientSentAt(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	b, err := proto.Marshal(&chatpb.ChatMessage{
		User: "alice", Message: "hello", Timestamp: at.Unix(), Room: "general",
		Kind: chatpb.ChatMessage_KIND_TEXT, Id: 42,
		SentAt: timestamppb.New(at.Add(time.Millisecond)), ClientSentAt: timestamppb.New(at),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newRecvCodec()
	for _, data := range []mem.BufferSlice{
		{mem.SliceBuffer(b)},
		{mem.SliceBuffer(b[:7]), mem.SliceBuffer(b[7:])}, // split across buffers
	} {
		var d delivery
		if err := c.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		if d.kind != kindText || d.sentAt != at.UnixNano() {
			t.Fatalf("got kind %d sentAt %d, want %d %d", d.kind, d.sentAt, kindText, at.UnixNano())
		}
	}
	var d delivery
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b[:len(b)-1])}, &d); err == nil {
		t.Fatal("truncated message decoded without error")
	}
	// A notice has no client_sent_at.
	b, _ = proto.Marshal(&chatpb.ChatMessage{User: "system", Message: "x joined", Kind: chatpb.ChatMessage_KIND_JOIN})
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &d); err != nil || d.kind != 2 || d.sentAt != 0 {
		t.Fatalf("notice: %+v, %v", d, err)
	}
}
