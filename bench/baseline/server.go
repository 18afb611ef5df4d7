package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// frame is one message's wire bytes. The baseline never decodes what clients
// send: it forwards the bytes, with the fields Polychat's server would add
// appended (protobuf merges repeated fields, so the result is one valid
// chat.ChatMessage of the same size as Polychat's).
type frame []byte

// rawCodec passes *frame through untouched and leaves everything else to the
// proto codec.
type rawCodec struct{ encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		return mem.BufferSlice{mem.SliceBuffer(*f)}, nil
	}
	return c.CodecV2.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		*f = data.Materialize()
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// codecOption makes a server use rawCodec.
func codecOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(rawCodec{encoding.GetCodecV2(grpcproto.Name)})
}

// sub is one open stream: a bounded queue and the writer that drains it.
type sub struct {
	name  string
	room  string
	queue chan *frame
	once  sync.Once
	done  chan struct{}
	err   error
}

func (s *sub) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

// hub is the baseline fan-out: every stream gets every other stream's
// messages. No rooms, names, history, validation or notices.
type hub struct {
	queueSize int
	ids       atomic.Uint64
	streams   atomic.Uint64

	mu   sync.RWMutex
	subs map[*sub]struct{}
}

func newHub(queueSize int) *hub {
	return &hub{queueSize: queueSize, subs: make(map[*sub]struct{})}
}

var errSlow = status.Error(codes.ResourceExhausted, "not reading fast enough; disconnected")

// broadcast queues f to every stream but from, ending those whose queue is
// full.
func (h *hub) broadcast(f *frame, from *sub) {
	var slow []*sub
	h.mu.RLock()
	for s := range h.subs {
		if s == from {
			continue
		}
		select {
		case s.queue <- f:
		default:
			slow = append(slow, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		s.end(errSlow)
	}
}

// serviceDesc is chat.ChatService's wire: the same method name, any handler.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: chatpb.ChatService_ServiceDesc.ServiceName,
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "ChatStream",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*hub).chatStream(stream)
		},
	}},
}

func (h *hub) register(s *grpc.Server) { s.RegisterService(&serviceDesc, h) }

func (h *hub) chatStream(stream grpc.ServerStream) error {
	n := h.streams.Add(1)
	s := &sub{queue: make(chan *frame, h.queueSize), done: make(chan struct{}), room: chatwire.DefaultRoom}
	md, _ := metadata.FromIncomingContext(stream.Context())
	if v := md.Get(chatwire.UserKey); len(v) > 0 {
		s.name = v[0]
	} else {
		s.name = fmt.Sprintf("Client(%d)", n)
	}
	if v := md.Get(chatwire.RoomKey); len(v) > 0 {
		s.room = v[0]
	}
	// The welcome: the load generator counts a client ready on its first
	// message.
	welcome := h.stamp(nil, "system", s.room, chatpb.ChatMessage_KIND_SYSTEM, "Welcome, "+s.name+"!")
	s.queue <- welcome

	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()

	go func() {
		for {
			var f frame
			if err := stream.RecvMsg(&f); err != nil {
				if !errors.Is(err, io.EOF) {
					s.end(err)
				}
				return
			}
			h.broadcast(h.stamp(f, s.name, s.room, chatpb.ChatMessage_KIND_TEXT, ""), s)
		}
	}()
	ctx := stream.Context()
	for {
		select {
		case f := <-s.queue:
			if err := stream.SendMsg(f); err != nil {
				return err
			}
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// stamp appends to in the fields Polychat's server sets on what it relays:
// user, timestamp, room, kind, id, sent_at (and text for a notice).
func (h *hub) stamp(in frame, user, room string, kind chatpb.ChatMessage_Kind, text string) *frame {
	now := time.Now()
	extra, _ := proto.Marshal(&chatpb.ChatMessage{
		User: user, Message: text, Timestamp: now.Unix(), Room: room, Kind: kind,
		Id: h.ids.Add(1), SentAt: timestamppb.New(now),
	})
	out := make(frame, 0, len(in)+len(extra))
	out = append(append(out, in...), extra...)
	return &out
}
