// Command server runs the Polychat chat server (chat.ChatService) with the
// gRPC health and reflection services. Run "go run server/main.go -h" for its
// flags; each can also be set by an environment variable.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/chat"
	"github.com/polychat/polychat/server/config"
	"github.com/polychat/polychat/server/history"
)

// maxRecvBytes bounds one incoming message. It is well above the text limit
// so that an over-long text gets the readable INVALID_ARGUMENT from the chat
// service rather than a bare transport error.
const maxRecvBytes = 64 << 10

func main() {
	os.Exit(run())
}

func run() int {
	const prog = "chat-server"
	cfg, err := config.Parse(prog, os.Args[1:], os.LookupEnv, os.Stdout)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 2
	}
	log := newLogger(cfg)
	slog.SetDefault(log)

	store, err := openStore(cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing history", "err", err)
		}
	}()

	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(os.Stderr, "cannot listen on %s: address already in use\n", cfg.Addr)
		} else {
			fmt.Fprintf(os.Stderr, "cannot listen on %s: %v\n", cfg.Addr, err)
		}
		return 1
	}

	svc := chat.New(chat.Config{
		MaxMessageBytes: cfg.MaxMessageBytes,
		MaxNameBytes:    cfg.MaxNameBytes,
		QueueSize:       cfg.QueueSize,
		Store:           store,
		Logger:          log,
	})
	srv := grpc.NewServer(
		chat.CodecOption(),
		grpc.MaxRecvMsgSize(max(maxRecvBytes, 2*cfg.MaxMessageBytes)),
		// Chat clients sit idle for long periods: allow their keepalive
		// pings (at most one per 10s, the lowest gRPC clients allow, even
		// with no open stream) and ping silent connections ourselves to find
		// dead peers.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
	)
	chatpb.RegisterChatServiceServer(srv, svc)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(chatpb.ChatService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("chat server listening", "addr", lis.Addr().String(), "data_dir", cfg.DataDir, "history", cfg.History)

	select {
	case err := <-served:
		log.Error("server stopped", "err", err)
		return 1
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	hs.Shutdown()
	svc.Shutdown()
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(cfg.ShutdownTimeout):
		log.Warn("graceful shutdown timed out; closing remaining connections")
		srv.Stop()
		<-stopped
	}
	log.Info("server stopped")
	return 0
}

// newLogger builds the slog logger the flags ask for, writing to stderr.
func newLogger(cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// openStore opens <data-dir>/chat.db, or a memory store when data-dir is "".
func openStore(cfg config.Config, log *slog.Logger) (history.Store, error) {
	if cfg.DataDir == "" {
		return history.NewMemory(cfg.History), nil
	}
	path := filepath.Join(cfg.DataDir, "chat.db")
	s, err := history.OpenSQLite(path, cfg.History, log)
	if err != nil {
		return nil, err
	}
	log.Info("history stored", "path", path, "per_room", cfg.History)
	return s, nil
}
