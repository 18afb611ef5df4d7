package limits

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// tappedKey marks the context of a stream Tap has counted.
type tappedKey struct{}

// StreamInterceptor applies the per-IP stream rate to the guarded streams
// that Tap never sees: those served through grpc.Server.ServeHTTP (the
// chat page's port), which runs no tap handle. Each such request counts as
// a connection of its own, so only the per-IP rate means anything for
// them. Streams Tap has counted pass straight through.
func (g *StreamGuard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
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
