// Command server runs the Polychat chat server (chat.ChatService) with the
// gRPC health and reflection services. Run "go run server/main.go -h" for its
// flags; each can also be set by an environment variable. The server itself
// is assembled in package server/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/server/app"
	"github.com/polychat/polychat/server/config"
)

const prog = "chat-server"

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status.
func run(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := config.Parse(prog, args, lookupEnv, stdout)
	if err != nil {
		return cli.Fail(stderr, prog, err)
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	srv, err := app.New(cfg, log)
	if err != nil {
		var lerr *app.ListenError
		switch {
		case errors.As(err, &lerr) && errors.Is(err, syscall.EADDRINUSE):
			fmt.Fprintf(stderr, "cannot listen on %s: address already in use\n", lerr.Addr)
		case errors.As(err, &lerr):
			fmt.Fprintln(stderr, err)
		default:
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		}
		return cli.ExitError
	}
	defer srv.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal during shutdown kills the process the default way.
	context.AfterFunc(ctx, stop)
	if err := srv.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return cli.ExitError
	}
	return cli.ExitOK
}

// newLogger builds the slog logger the flags ask for, writing to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
