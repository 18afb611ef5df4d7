package limits

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// tappedKey holds, in the context of a stream Tap has let through, the
// state of its connection.
type tappedKey struct{}

// StreamInterceptor counts each stream open on its connection (see
// Closed), and applies the per-IP stream rate to the guarded streams that
// Tap never sees: those served through grpc.Server.ServeHTTP (the chat
// page's port), which runs no tap handle. Each such request counts as a
// connection of its own, so only the per-IP rate means anything for them.
// It goes first in the server's stream chain.
func (g *StreamGuard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		ended := g.began(ctx)
		defer ended()
		if !g.methods[info.FullMethod] || g.opts.RatePerIP <= 0 || ctx.Value(tappedKey{}) != nil {
			return handler(srv, ss)
		}
		cs := &connState{ip: "unknown", peer: "unknown"}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			cs.ip, cs.peer = IP(p.Addr), peerString(p.Addr)
		}
		if !g.ipLimiter(cs.ip).Allow() {
			g.refused(cs, ReasonIP)
			return g.errIP
		}
		return handler(srv, ss)
	}
}

// UnaryInterceptor counts each unary call open on its connection (see
// Closed). It goes first in the server's unary chain.
func (g *StreamGuard) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ended := g.began(ctx)
		defer ended()
		return handler(ctx, req)
	}
}
