package command

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// failAfter bounds every wait in these tests, so a bug fails a test instead
// of hanging it. It is never used to let something happen.
const failAfter = 10 * time.Second

// flakyChat ends its first stream at once, as a server going down does,
// and greets later ones with the resume metadata they carried.
type flakyChat struct {
	chatpb.UnimplementedChatServiceServer
	streams atomic.Int32
}

func (f *flakyChat) ChatStream(stream chatStream) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	n := f.streams.Add(1)
	welcome := &chatpb.ChatMessage{User: "system", Kind: chatpb.ChatMessage_KIND_SYSTEM, Epoch: "E1", Id: uint64(n),
		Message:     "Welcome, " + first(md.Get("chat-user")) + "! resume " + first(md.Get("chat-resume-token")) + " from " + first(md.Get("chat-resume-from")),
		ResumeToken: "tok"}
	if err := stream.Send(welcome); err != nil {
		return err
	}
	if n == 1 {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	for {
		msg, err := stream.Recv()
		if err != nil || msg.GetKind() == chatpb.ChatMessage_KIND_LEAVE {
			return nil
		}
	}
}

// In pipe mode the client's status lines are ordinary output lines.
func TestPipeSessionReconnects(t *testing.T) {
	addr := serve(t, &flakyChat{})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), []string{"Alice", "general", addr}, inR, outW, &stderr, func(string) string { return "" })
		_ = outW.Close()
	}()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for _, want := range []string{
		"*** Welcome, Alice! resume  from ",
		"*** Connection lost (server is shutting down); reconnecting...",
		"*** Reconnected",
		"*** Welcome, Alice! resume tok from E1:0",
	} {
		select {
		case got := <-lines:
			if !strings.HasSuffix(got, want) {
				t.Fatalf("stdout line %q, want one ending in %q", got, want)
			}
		case <-time.After(failAfter):
			t.Fatalf("no stdout line, want %q", want)
		}
	}
	_ = inW.Close()
	select {
	case code := <-done:
		if code != 0 || stderr.String() != "" {
			t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
		}
	case <-time.After(failAfter):
		t.Fatal("the client did not leave at the end of input")
	}
}

func TestReconnectOptions(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		env       map[string]string
		reconnect bool
		maxDelay  time.Duration
	}{
		{nil, nil, true, 0},
		{[]string{"-no-reconnect"}, nil, false, 0},
		{nil, map[string]string{"CHAT_NO_RECONNECT": "1"}, false, 0},
		{[]string{"-no-reconnect=false"}, map[string]string{"CHAT_NO_RECONNECT": "1"}, true, 0},
		{[]string{"-reconnect-max-delay", "5s"}, nil, true, 5 * time.Second},
		{nil, map[string]string{"CHAT_RECONNECT_MAX_DELAY": "1m"}, true, time.Minute},
		{[]string{"-reconnect-max-delay=2s"}, map[string]string{"CHAT_RECONNECT_MAX_DELAY": "1m"}, true, 2 * time.Second},
	} {
		var stderr strings.Builder
		opts, code, ok := parseArgs(tc.args, func(k string) string { return tc.env[k] }, &stderr)
		if !ok {
			t.Errorf("%q %v: exit %d, stderr %q", tc.args, tc.env, code, stderr.String())
			continue
		}
		if opts.chat.Reconnect != tc.reconnect || opts.chat.Backoff.MaxDelay != tc.maxDelay {
			t.Errorf("%q %v: reconnect %v, max delay %v; want %v, %v", tc.args, tc.env,
				opts.chat.Reconnect, opts.chat.Backoff.MaxDelay, tc.reconnect, tc.maxDelay)
		}
	}
}
