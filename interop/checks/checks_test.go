package checks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	streamingv1 "github.com/polychat/polychat/gen/go/polychat/streaming/v1"
	userv1 "github.com/polychat/polychat/gen/go/polychat/user/v1"
)

func TestRunAllReportsEachCheck(t *testing.T) {
	list := []Check{
		{"passes", func(context.Context, *Clients) error { return nil }},
		{"fails", func(context.Context, *Clients) error { return errors.New("bad\nthing") }},
		{"panics", func(context.Context, *Clients) error { panic("boom") }},
		{"times out", func(ctx context.Context, _ *Clients) error {
			<-ctx.Done()
			return ctx.Err()
		}},
	}
	var reported []string
	results := RunAll(t.Context(), &Clients{}, list, 50*time.Millisecond, func(r Result) {
		reported = append(reported, r.String())
	})
	if len(results) != len(list) || len(reported) != len(list) {
		t.Fatalf("got %d results, %d reports; want %d", len(results), len(reported), len(list))
	}
	if !strings.HasPrefix(reported[0], "PASS passes (") {
		t.Errorf("pass line = %q", reported[0])
	}
	if reported[1] != "FAIL fails: bad thing" {
		t.Errorf("fail line = %q, want the reason on one line", reported[1])
	}
	if !strings.HasPrefix(reported[2], "FAIL panics: check panicked: boom") {
		t.Errorf("panic line = %q", reported[2])
	}
	if !errors.Is(results[3].Err(), context.DeadlineExceeded) {
		t.Errorf("timeout err = %v, want DeadlineExceeded", results[3].Err())
	}
	if got := Summary(results); got != "1 passed, 3 failed" {
		t.Errorf("Summary = %q", got)
	}
}

func TestAllNamesAreUniqueAndStartWithAPattern(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.Name] {
			t.Errorf("duplicate check name %q", c.Name)
		}
		seen[c.Name] = true
		ok := false
		for _, p := range []string{"unary ", "server-stream ", "client-stream ", "bidi "} {
			ok = ok || strings.HasPrefix(c.Name, p)
		}
		if !ok {
			t.Errorf("check %q does not start with its RPC pattern", c.Name)
		}
	}
}

// fakeUsers answers GetUser with a fixed user for id 1 and errs otherwise.
type fakeUsers struct {
	userv1.UnimplementedUserServiceServer
	sample  *userv1.UserResponse
	missing codes.Code
}

func (f *fakeUsers) GetUser(_ context.Context, req *userv1.GetUserRequest) (*userv1.UserResponse, error) {
	if req.GetUserId() == 1 {
		return f.sample, nil
	}
	return nil, status.Errorf(f.missing, "user %d not found", req.GetUserId())
}

func clientsFor(t *testing.T, srv userv1.UserServiceServer) *Clients {
	t.Helper()
	return clientsOf(t, func(s *grpc.Server) { userv1.RegisterUserServiceServer(s, srv) })
}

// clientsOf returns Clients connected to an in-memory server set up by register.
func clientsOf(t *testing.T, register func(*grpc.Server)) *Clients {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	register(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := NewClients(conn, conn)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUserChecksAssertBehaviour(t *testing.T) {
	alice := &userv1.UserResponse{UserId: 1, Name: sampleName, Email: sampleEmail, Age: sampleAge, CreatedAt: "2025-10-29T10:00:00"}
	bob := &userv1.UserResponse{UserId: 1, Name: "Bob Smith", Email: "bob@example.com", Age: 35, CreatedAt: "2025-10-29T10:00:00"}
	tests := []struct {
		name        string
		srv         *fakeUsers
		wantSample  bool
		wantUnknown bool
	}{
		{"correct server", &fakeUsers{sample: alice, missing: codes.NotFound}, true, true},
		{"wrong sample user", &fakeUsers{sample: bob, missing: codes.NotFound}, false, true},
		{"wrong code for unknown id", &fakeUsers{sample: alice, missing: codes.Internal}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientsFor(t, tt.srv)
			if err := checkGetSampleUser(t.Context(), c); (err == nil) != tt.wantSample {
				t.Errorf("checkGetSampleUser err = %v, want pass %v", err, tt.wantSample)
			}
			if err := checkGetUnknownUser(t.Context(), c); (err == nil) != tt.wantUnknown {
				t.Errorf("checkGetUnknownUser err = %v, want pass %v", err, tt.wantUnknown)
			}
		})
	}
}

// fakeUpload receives a whole upload and answers with what the test's answer
// function makes of the name, size and true SHA-256 of the bytes it got.
type fakeUpload struct {
	streamingv1.UnimplementedStreamingServiceServer
	answer func(name string, size int64, sha string) *streamingv1.UploadFileResponse
}

func (f *fakeUpload) UploadFile(stream grpc.ClientStreamingServer[streamingv1.UploadFileRequest, streamingv1.UploadFileResponse]) error {
	var name string
	var size int64
	sum := sha256.New()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if meta := req.GetMetadata(); meta != nil {
			name = meta.GetName()
			continue
		}
		size += int64(len(req.GetChunk()))
		sum.Write(req.GetChunk())
	}
	return stream.SendAndClose(f.answer(name, size, hex.EncodeToString(sum.Sum(nil))))
}

func TestUploadCheckAssertsBehaviour(t *testing.T) {
	honest := func(name string, size int64, sha string) *streamingv1.UploadFileResponse {
		return &streamingv1.UploadFileResponse{Name: name, Size: size, Sha256: sha, Path: "streamed_files/" + name}
	}
	otherSHA := sha256.Sum256([]byte("other bytes"))
	tests := []struct {
		name    string
		answer  func(string, int64, string) *streamingv1.UploadFileResponse
		wantErr string
	}{
		{"correct server", honest, ""},
		{"wrong sha256", func(name string, size int64, _ string) *streamingv1.UploadFileResponse {
			return honest(name, size, hex.EncodeToString(otherSHA[:]))
		}, "sha256 " + hex.EncodeToString(otherSHA[:]) + ", computed "},
		{"empty sha256", func(name string, size int64, _ string) *streamingv1.UploadFileResponse {
			return honest(name, size, "")
		}, "sha256 , computed "},
		{"wrong size", func(name string, size int64, sha string) *streamingv1.UploadFileResponse {
			return honest(name, size-1, sha)
		}, fmt.Sprintf("size %d, sent %d bytes", uploadSize-1, uploadSize)},
		{"wrong name", func(_ string, size int64, sha string) *streamingv1.UploadFileResponse {
			return honest("other.bin", size, sha)
		}, `stored as "other.bin"`},
		{"path elsewhere", func(name string, size int64, sha string) *streamingv1.UploadFileResponse {
			r := honest(name, size, sha)
			r.Path = "streamed_files/other.bin"
			return r
		}, "does not end in the file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientsOf(t, func(s *grpc.Server) {
				streamingv1.RegisterStreamingServiceServer(s, &fakeUpload{answer: tt.answer})
			})
			err := checkUpload(t.Context(), c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkUpload against a correct server: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkUpload err = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}
