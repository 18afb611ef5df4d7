package chat

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// outgoing is a server message shared, read-only, by every recipient of a
// broadcast. It embeds the message, so it is itself a proto.Message and the
// standard codec can send it; with CodecOption the bytes encoded once in data
// are sent as they are, so a broadcast is marshalled once, not per recipient.
type outgoing struct {
	*chatpb.ChatMessage
	// data is the wire encoding of ChatMessage; nil falls back to marshalling.
	data []byte
	// wire is data as the codec returns it, built once per broadcast rather
	// than once per recipient (that cost two allocations per delivery).
	wire mem.BufferSlice
	// final ends the stream once the message is sent (the shutdown notice).
	final bool
	// ends, when set, marks no message: the writer ends the stream with
	// this status once what was queued before it is sent (a kick).
	ends error
	// to, when not nil, are the only sessions the message is for (a
	// private message, a notice to one member); nil means the whole room.
	to []*session
}

// newOutgoing wraps msg and its wire encoding data (nil if marshalling
// failed) for sending to any number of streams.
func newOutgoing(msg *chatpb.ChatMessage, data []byte) *outgoing {
	o := &outgoing{ChatMessage: msg, data: data}
	if data != nil {
		o.wire = mem.BufferSlice{mem.SliceBuffer(data)}
	}
	return o
}

// incoming is what the reader receives a client message into. It embeds the
// message, so the standard codec can fill it too. With CodecOption a decoding
// failure (such as invalid UTF-8) is kept in err instead of being returned to
// gRPC, which would end the stream with INTERNAL before the service could
// answer INVALID_ARGUMENT.
//
// The message is made when one arrives, not before: a member waits for its
// next message as long as it stays, and most members send seldom.
type incoming struct {
	*chatpb.ChatMessage
	err error
}

// ProtoReflect makes the message to decode into, for the standard codec.
func (in *incoming) ProtoReflect() protoreflect.Message {
	if in.ChatMessage == nil {
		in.ChatMessage = new(chatpb.ChatMessage)
	}
	return in.ChatMessage.ProtoReflect()
}

// preEncodedCodec is the proto codec, except that it sends an *outgoing's
// pre-encoded bytes without marshalling again and decodes into *incoming
// without failing.
type preEncodedCodec struct {
	encoding.CodecV2
}

// Marshal implements encoding.CodecV2.
func (c preEncodedCodec) Marshal(v any) (mem.BufferSlice, error) {
	if o, ok := v.(*outgoing); ok && o.data != nil {
		// SliceBuffer's Ref and Free are no-ops, so sharing one BufferSlice
		// between streams is safe: gRPC only reads it and its elements.
		if o.wire != nil {
			return o.wire, nil
		}
		return mem.BufferSlice{mem.SliceBuffer(o.data)}, nil
	}
	return c.CodecV2.Marshal(v)
}

// Unmarshal implements encoding.CodecV2.
func (c preEncodedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	in, ok := v.(*incoming)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	// proto.Unmarshal copies strings out of buf, so freeing it is safe. It
	// decodes into the message in's ProtoReflect makes.
	in.err = proto.Unmarshal(buf.ReadOnlyData(), in)
	return nil
}

// CodecOption returns the server option that lets broadcasts be marshalled
// once. The Service works without it, only slower; other services on the same
// server are unaffected, as every other value goes to the proto codec.
// Without it, a message with invalid UTF-8 ends the stream with gRPC's
// INTERNAL instead of the service's INVALID_ARGUMENT.
func CodecOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(preEncodedCodec{encoding.GetCodecV2(grpcproto.Name)})
}
