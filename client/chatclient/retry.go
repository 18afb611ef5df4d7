package chatclient

import (
	"errors"
	"io"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// verdict is what to do once a stream has ended without the user leaving.
type verdict struct {
	// retry says whether reconnecting may help.
	retry bool
	// wait, when positive, is how long the server asked the client to
	// wait before coming back (a rate-limit disconnect with RetryInfo).
	wait time.Duration
}

// judge decides whether a stream that ended with err is worth reconnecting
// after. Retrying cannot fix a refused sign-in (UNAUTHENTICATED), a request
// the server rejects (INVALID_ARGUMENT) or a resume credential that belongs
// to someone else (PERMISSION_DENIED); everything else -- a lost
// connection, a server shutting down (UNAVAILABLE), a slow-consumer or
// rate-limit disconnect (RESOURCE_EXHAUSTED), INTERNAL, a stream the
// server simply closed -- may pass. An error that is not a gRPC status
// (writing the output failed) is not retried either.
func judge(err error) verdict {
	if errors.Is(err, io.EOF) {
		return verdict{retry: true}
	}
	st, ok := status.FromError(err)
	if !ok {
		return verdict{}
	}
	switch st.Code() {
	case codes.Unauthenticated, codes.InvalidArgument, codes.PermissionDenied:
		return verdict{}
	case codes.ResourceExhausted:
		return verdict{retry: true, wait: retryDelay(st)}
	}
	return verdict{retry: true}
}

// retryDelay is the wait the server states in a RetryInfo detail, or 0.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok && info.GetRetryDelay() != nil {
			if wait := info.GetRetryDelay().AsDuration(); wait > 0 {
				return wait
			}
		}
	}
	return 0
}
