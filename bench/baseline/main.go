// Command baseline is the chat bench's reference: a minimal grpc-go
// bidirectional fan-out server on the chat.ChatService wire, with no chat
// logic. Each stream has a bounded queue and one writer goroutine; every
// message received is forwarded undecoded, with the fields Polychat's server
// adds appended so deliveries are the same size, to every other stream. A
// stream whose queue is full is ended with RESOURCE_EXHAUSTED, as in Polychat.
//
// It stops on SIGINT or SIGTERM, and after -max-lifetime in any case.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "TCP address to listen on")
	queue := flag.Int("queue", 256, "messages queued per stream before it is ended as too slow")
	lifetime := flag.Duration("max-lifetime", 15*time.Minute, "exit after this long whatever happens")
	flag.Parse()

	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	srv := grpc.NewServer(codecOption(), grpc.MaxConcurrentStreams(100_000))
	newHub(*queue).register(srv)
	// The driver reads the port from this line.
	fmt.Printf("listening on %s\n", lis.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
		case <-time.After(*lifetime):
		}
		srv.Stop()
	}()
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
