package app

import (
	"context"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// fakeStream is a grpc.ServerStream with a context and nothing else.
type fakeStream struct{ ctx context.Context }

func (f fakeStream) SetHeader(metadata.MD) error  { return nil }
func (f fakeStream) SendHeader(metadata.MD) error { return nil }
func (f fakeStream) SetTrailer(metadata.MD)       {}
func (f fakeStream) Context() context.Context     { return f.ctx }
func (f fakeStream) SendMsg(any) error            { return nil }
func (f fakeStream) RecvMsg(any) error            { return nil }

// logged is one line a logging.Logger was given.
type logged struct {
	level  logging.Level
	msg    string
	fields map[string]any
}

func capture(lines *[]logged) logging.Logger {
	return logging.LoggerFunc(func(_ context.Context, lvl logging.Level, msg string, fields ...any) {
		l := logged{level: lvl, msg: msg, fields: map[string]any{}}
		for i := logging.Fields(fields).Iterator(); i.Next(); {
			k, v := i.At()
			l.fields[k] = v
		}
		*lines = append(*lines, l)
	})
}

// The stream request log writes what go-grpc-middleware's logging
// interceptor with FinishCall writes (the unary calls keep that one): same
// message, level and fields, but for the times.
func TestStreamRequestLogMatchesTheLibrary(t *testing.T) {
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}})
	info := &grpc.StreamServerInfo{FullMethod: "/polychat.chat.ChatService/ChatStream", IsClientStream: true, IsServerStream: true}
	for _, ret := range []error{nil, io.EOF, status.Error(codes.Unavailable, "server is shutting down"), status.Error(codes.Internal, "boom")} {
		var ours, theirs []logged
		handler := func(any, grpc.ServerStream) error { return ret }
		if err := streamRequestLog(capture(&ours))(nil, fakeStream{ctx}, info, handler); err != ret {
			t.Fatalf("returned %v, want %v", err, ret)
		}
		lib := logging.StreamServerInterceptor(capture(&theirs), logging.WithLogOnEvents(logging.FinishCall))
		_ = lib(nil, fakeStream{ctx}, info, handler)
		if len(ours) != 1 || len(theirs) != 1 {
			t.Fatalf("%v: %d lines, the library %d", ret, len(ours), len(theirs))
		}
		o, l := ours[0], theirs[0]
		for _, f := range []map[string]any{o.fields, l.fields} {
			for _, k := range []string{"grpc.start_time", "grpc.time_ms"} {
				if _, ok := f[k]; !ok {
					t.Fatalf("%v: no %s in %v", ret, k, f)
				}
				delete(f, k)
			}
		}
		keys := func(m map[string]any) []string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return ks
		}
		if o.level != l.level || o.msg != l.msg || !slices.Equal(keys(o.fields), keys(l.fields)) {
			t.Fatalf("%v: logged %v %q %v, the library %v %q %v", ret, o.level, o.msg, o.fields, l.level, l.msg, l.fields)
		}
		for k, v := range l.fields {
			if o.fields[k] != v {
				t.Errorf("%v: %s = %v, the library %v", ret, k, o.fields[k], v)
			}
		}
	}
}
