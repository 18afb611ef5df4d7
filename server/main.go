// Command server runs the Polychat chat server (chat.ChatService) with the
// gRPC health and reflection services. Run "go run server/main.go -h" for its
// flags; each can also be set by an environment variable. The server itself
// is assembled in package server/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/polychat/polychat/server/app"
	"github.com/polychat/polychat/server/config"
)

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

	srv, err := app.New(cfg, log)
	if err != nil {
		var lerr *app.ListenError
		switch {
		case errors.As(err, &lerr) && errors.Is(err, syscall.EADDRINUSE):
			fmt.Fprintf(os.Stderr, "cannot listen on %s: address already in use\n", lerr.Addr)
		case errors.As(err, &lerr):
			fmt.Fprintln(os.Stderr, err)
		default:
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		}
		return 1
	}
	defer srv.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal during shutdown kills the process the default way.
	context.AfterFunc(ctx, stop)
	if err := srv.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
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
