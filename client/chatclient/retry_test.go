package chatclient

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestJudge(t *testing.T) {
	limited, err := status.New(codes.ResourceExhausted, "sending too fast").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want verdict
	}{
		{"server closed the stream", io.EOF, verdict{retry: true}},
		{"connection lost", status.Error(codes.Unavailable, "error reading from server: EOF"), verdict{retry: true}},
		{"server shutting down", status.Error(codes.Unavailable, "server is shutting down"), verdict{retry: true}},
		{"cancelled by the network", status.Error(codes.Canceled, "context canceled"), verdict{retry: true}},
		{"internal", status.Error(codes.Internal, "boom"), verdict{retry: true}},
		{"slow consumer", status.Error(codes.ResourceExhausted, "client is not reading fast enough"), verdict{retry: true}},
		{"rate limit with its wait", limited.Err(), verdict{retry: true, wait: 3 * time.Second}},
		{"sign-in refused", status.Error(codes.Unauthenticated, "session expired"), verdict{}},
		{"bad request", status.Error(codes.InvalidArgument, "malformed chat-resume-from"), verdict{}},
		{"someone else's credential", status.Error(codes.PermissionDenied, "resume token belongs to another user"), verdict{}},
		{"output failed", fmt.Errorf("write output: %w", errors.New("broken pipe")), verdict{}},
	} {
		if got := judge(tc.err); got != tc.want {
			t.Errorf("%s: judge(%v) = %+v, want %+v", tc.name, tc.err, got, tc.want)
		}
	}
}
