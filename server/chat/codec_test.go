package chat

import (
	"bytes"
	"sync"
	"testing"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func TestCodecSendsPreEncodedBytesWithoutAllocating(t *testing.T) {
	c := preEncodedCodec{encoding.GetCodecV2(grpcproto.Name)}
	msg := &chatpb.ChatMessage{User: "alice", Message: "hello", Kind: chatpb.ChatMessage_KIND_TEXT, Id: 7}
	o := encode(msg)
	want, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	// Many writers send the same broadcast at once; each gets the same bytes.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				got, err := c.Marshal(o)
				if err != nil || !bytes.Equal(got.Materialize(), want) {
					t.Errorf("Marshal = %x, %v; want %x", got.Materialize(), err, want)
					return
				}
				got.Free()
			}
		}()
	}
	wg.Wait()
	if n := testing.AllocsPerRun(100, func() {
		b, _ := c.Marshal(o)
		b.Free()
	}); n != 0 {
		t.Fatalf("Marshal of a pre-encoded message allocates %.0f times per send, want 0", n)
	}
	// Without pre-encoded bytes it marshals the message itself.
	got, err := c.Marshal(&outgoing{ChatMessage: msg})
	if err != nil || !bytes.Equal(got.Materialize(), want) {
		t.Fatalf("fallback Marshal = %x, %v", got.Materialize(), err)
	}
}

// A member waiting for its next message holds no message until one comes:
// both the service's codec and the standard one make it then.
func TestIncomingIsMadeWhenAMessageArrives(t *testing.T) {
	msg := &chatpb.ChatMessage{User: "alice", Message: "hello", Kind: chatpb.ChatMessage_KIND_TEXT}
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	std := encoding.GetCodecV2(grpcproto.Name)
	for name, c := range map[string]encoding.CodecV2{"service codec": preEncodedCodec{std}, "standard codec": std} {
		in := new(incoming)
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, in); err != nil || in.err != nil {
			t.Fatalf("%s: Unmarshal: %v, %v", name, err, in.err)
		}
		if !proto.Equal(in.ChatMessage, msg) {
			t.Fatalf("%s: got %v, want %v", name, in.ChatMessage, msg)
		}
	}
}
