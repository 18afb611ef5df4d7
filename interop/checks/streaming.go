package checks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	streamingv1 "github.com/polychat/polychat/gen/go/polychat/streaming/v1"
)

const (
	// timeInterval is the StreamServerTime interval the check asks for.
	timeInterval = 50 * time.Millisecond
	// timeUpdates is how many time updates the check reads before cancelling.
	timeUpdates = 3
	// uploadSize is the generated payload's size: 2.5 MiB.
	uploadSize = 5 << 19
	// uploadChunk is the size of each UploadFile chunk: 1 MiB.
	uploadChunk = 1 << 20
	// maxDrain bounds how many already-sent messages are read after a cancel.
	maxDrain = 1000
)

var (
	formattedTime = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}$`)
	chatName      = regexp.MustCompile(`^Client\((\d+)\)$`)
)

func checkServerTime(ctx context.Context, c *Clients) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Streaming().StreamServerTime(ctx, &streamingv1.StreamServerTimeRequest{
		Interval: durationpb.New(timeInterval),
	})
	if err != nil {
		return fmt.Errorf("StreamServerTime(%s): %w", timeInterval, err)
	}
	var times []time.Time
	for i := range timeUpdates {
		update, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("StreamServerTime(%s): update %d: %w", timeInterval, i+1, err)
		}
		if err := update.GetTime().CheckValid(); err != nil {
			return fmt.Errorf("StreamServerTime(%s): update %d: %w", timeInterval, i+1, err)
		}
		t := update.GetTime().AsTime()
		if i > 0 && !t.After(times[i-1]) {
			return fmt.Errorf("StreamServerTime(%s): update %d at %s is not after update %d at %s",
				timeInterval, i+1, t.Format(time.RFC3339Nano), i, times[i-1].Format(time.RFC3339Nano))
		}
		if !formattedTime.MatchString(update.GetFormatted()) {
			return fmt.Errorf("StreamServerTime(%s): update %d formatted %q, want HH:MM:SS.mmm", timeInterval, i+1, update.GetFormatted())
		}
		times = append(times, t)
	}
	// Updates are paced by the interval: the first and last are at least one
	// interval apart (two, less scheduling slack, in practice).
	if span := times[len(times)-1].Sub(times[0]); span < timeInterval {
		return fmt.Errorf("StreamServerTime(%s): %d updates came within %s, faster than the interval", timeInterval, timeUpdates, span)
	}
	cancel()
	for range maxDrain {
		if _, err := stream.Recv(); err != nil {
			if status.Code(err) != codes.Canceled {
				return fmt.Errorf("StreamServerTime(%s): after cancel: got %s, want CANCELED: %w", timeInterval, status.Code(err), err)
			}
			return nil
		}
	}
	return fmt.Errorf("StreamServerTime(%s): still receiving %d updates after cancel", timeInterval, maxDrain)
}

func checkUpload(ctx context.Context, c *Clients) error {
	payload := make([]byte, uploadSize)
	if _, err := rand.Read(payload); err != nil {
		return fmt.Errorf("generate payload: %w", err)
	}
	sum := sha256.Sum256(payload)
	wantSHA := hex.EncodeToString(sum[:])
	name := fmt.Sprintf("interop-%s.bin", c.RunID())

	stream, err := c.Streaming().UploadFile(ctx)
	if err != nil {
		return fmt.Errorf("UploadFile(%s): %w", name, err)
	}
	meta := &streamingv1.UploadFileRequest{Data: &streamingv1.UploadFileRequest_Metadata{
		Metadata: &streamingv1.UploadFileMetadata{Name: name, Size: int64(len(payload))},
	}}
	if err := sendUpload(stream, meta); err != nil {
		return fmt.Errorf("UploadFile(%s): send metadata: %w", name, err)
	}
	chunks := 0
	for off := 0; off < len(payload); off += uploadChunk {
		chunk := payload[off:min(off+uploadChunk, len(payload))]
		req := &streamingv1.UploadFileRequest{Data: &streamingv1.UploadFileRequest_Chunk{Chunk: chunk}}
		if err := sendUpload(stream, req); err != nil {
			return fmt.Errorf("UploadFile(%s): send chunk %d at offset %d: %w", name, chunks+1, off, err)
		}
		chunks++
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("UploadFile(%s) of %d bytes in %d chunks: %w", name, len(payload), chunks, err)
	}
	if resp.GetName() != name {
		return fmt.Errorf("UploadFile(%s): stored as %q", name, resp.GetName())
	}
	if resp.GetSize() != int64(len(payload)) {
		return fmt.Errorf("UploadFile(%s): size %d, sent %d bytes", name, resp.GetSize(), len(payload))
	}
	if resp.GetSha256() != wantSHA {
		return fmt.Errorf("UploadFile(%s): sha256 %s, computed %s", name, resp.GetSha256(), wantSHA)
	}
	if !strings.HasSuffix(resp.GetPath(), "/"+name) && resp.GetPath() != name {
		return fmt.Errorf("UploadFile(%s): path %q does not end in the file name", name, resp.GetPath())
	}
	return nil
}

// sendUpload sends one upload message; if the server already ended the call
// (Send gives io.EOF) it returns the status the server ended it with.
func sendUpload(stream grpc.ClientStreamingClient[streamingv1.UploadFileRequest, streamingv1.UploadFileResponse], req *streamingv1.UploadFileRequest) error {
	err := stream.Send(req)
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.CloseAndRecv(); rerr != nil {
			return rerr
		}
	}
	return err
}

// errChatEnded says the server ended a chat stream cleanly.
var errChatEnded = errors.New("chat ended")

type chatStream = grpc.BidiStreamingClient[streamingv1.ChatRequest, streamingv1.ChatResponse]

// awaitEvent reads chat events until one matches, skipping others (another
// client may share the room); it fails when the stream ends or ctx expires.
func awaitEvent(stream chatStream, what string, match func(*streamingv1.ChatResponse) bool) (*streamingv1.ChatResponse, error) {
	skipped := 0
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("waiting for %s: %w after %d other events", what, errChatEnded, skipped)
		}
		if err != nil {
			return nil, fmt.Errorf("waiting for %s (%d other events seen): %w", what, skipped, err)
		}
		if match(ev) {
			return ev, nil
		}
		skipped++
	}
}

// joinChat opens a chat stream and returns it with the Client(N) name the
// server gave it. The first event a member receives is its own join.
func joinChat(ctx context.Context, c *Clients) (chatStream, string, int, error) {
	stream, err := c.Streaming().Chat(ctx)
	if err != nil {
		return nil, "", 0, fmt.Errorf("open Chat: %w", err)
	}
	ev, err := stream.Recv()
	if err != nil {
		return nil, "", 0, fmt.Errorf("Chat: waiting for own join: %w", err)
	}
	m := chatName.FindStringSubmatch(ev.GetUser())
	if ev.GetKind() != streamingv1.ChatResponse_KIND_JOIN || m == nil {
		return nil, "", 0, fmt.Errorf("Chat: first event is %s from %q (%q), want own KIND_JOIN from Client(N)",
			ev.GetKind(), ev.GetUser(), ev.GetMessage())
	}
	if want := ev.GetUser() + " has joined the chat"; ev.GetMessage() != want {
		return nil, "", 0, fmt.Errorf("Chat: join notice %q, want %q", ev.GetMessage(), want)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return nil, "", 0, fmt.Errorf("Chat: member number in %q: %w", ev.GetUser(), err)
	}
	return stream, ev.GetUser(), n, nil
}

func checkChat(ctx context.Context, c *Clients) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first, firstName, firstN, err := joinChat(ctx, c)
	if err != nil {
		return fmt.Errorf("first member: %w", err)
	}
	second, secondName, secondN, err := joinChat(ctx, c)
	if err != nil {
		return fmt.Errorf("second member: %w", err)
	}
	if secondN <= firstN {
		return fmt.Errorf("second member is %s, want a number after the first's %s", secondName, firstName)
	}

	isJoin := func(ev *streamingv1.ChatResponse) bool {
		return ev.GetKind() == streamingv1.ChatResponse_KIND_JOIN && ev.GetUser() == secondName
	}
	if _, err := awaitEvent(first, secondName+"'s join on "+firstName, isJoin); err != nil {
		return err
	}

	text := fmt.Sprintf("hello from %s, run %s", firstName, c.RunID())
	if err := first.Send(&streamingv1.ChatRequest{Message: text}); err != nil {
		return fmt.Errorf("%s: send: %w", firstName, err)
	}
	isText := func(ev *streamingv1.ChatResponse) bool {
		return ev.GetKind() == streamingv1.ChatResponse_KIND_TEXT && ev.GetMessage() == text
	}
	got, err := awaitEvent(second, fmt.Sprintf("%q on %s", text, secondName), isText)
	if err != nil {
		return err
	}
	if got.GetUser() != firstName {
		return fmt.Errorf("%s got %q from %q, want sender %s", secondName, text, got.GetUser(), firstName)
	}
	if err := got.GetTimestamp().CheckValid(); err != nil {
		return fmt.Errorf("%s: message timestamp: %w", secondName, err)
	}

	// The second member leaves by closing its side; the first sees it go.
	if err := second.CloseSend(); err != nil {
		return fmt.Errorf("%s: close send: %w", secondName, err)
	}
	isLeave := func(ev *streamingv1.ChatResponse) bool {
		return ev.GetKind() == streamingv1.ChatResponse_KIND_LEAVE && ev.GetUser() == secondName
	}
	if _, err := awaitEvent(first, secondName+"'s leave on "+firstName, isLeave); err != nil {
		return err
	}
	if err := first.CloseSend(); err != nil {
		return fmt.Errorf("%s: close send: %w", firstName, err)
	}
	// Both streams then end cleanly, and the sender never got its own text back.
	echoed := func(ev *streamingv1.ChatResponse) bool { return ev.GetMessage() == text }
	if ev, err := awaitEvent(first, "the end of "+firstName+"'s chat", echoed); !errors.Is(err, errChatEnded) {
		if err == nil {
			return fmt.Errorf("%s got its own message back from %q", firstName, ev.GetUser())
		}
		return err
	}
	never := func(*streamingv1.ChatResponse) bool { return false }
	if _, err := awaitEvent(second, "the end of "+secondName+"'s chat", never); !errors.Is(err, errChatEnded) {
		return err
	}
	return nil
}
