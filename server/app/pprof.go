package app

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// profiler serves Go's runtime profiles (net/http/pprof: heap, goroutine,
// CPU, ...) on their own address, apart from /metrics: a profile shows the
// server's insides, so it is off unless -pprof-addr asks for it.
type profiler struct {
	lis net.Listener
	srv *http.Server
}

// listenProfiler listens on addr, or returns nil (logged) when it cannot:
// like metrics, profiles are not worth stopping the chat for.
func listenProfiler(addr string, log *slog.Logger) *profiler {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot serve profiles; going on without them", "pprof_addr", addr, "err", err)
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &profiler{lis: lis, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}

// serve serves until close.
func (p *profiler) serve(log *slog.Logger) {
	if err := p.srv.Serve(p.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("profile server stopped", "err", err)
	}
}

// close stops serving at once: a profile being taken is cut off.
func (p *profiler) close() {
	_ = p.srv.Close()
	_ = p.lis.Close()
}
