package chatclient

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polychat/polychat/internal/textsafe"
)

// ServerError reports that the chat server could not be reached, or that the
// connection to it was lost.
type ServerError struct {
	// Service names the server in the message; empty means "chat server".
	Service string
	// Server is the address that was dialled.
	Server string
	// Lost is true when the connection worked and then failed.
	Lost bool
	// Reason says why, in a few words (e.g. "connection refused").
	Reason string
	// Err is the underlying error.
	Err error
}

// Error returns e.g. "cannot reach chat server at localhost:50053: connection refused".
func (e *ServerError) Error() string {
	service := e.Service
	if service == "" {
		service = "chat server"
	}
	what := "cannot reach "
	if e.Lost {
		what = "lost connection to "
	}
	return what + service + " at " + e.Server + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *ServerError) Unwrap() error { return e.Err }

// DisconnectedError reports that the server ended the stream while the user
// had not asked to leave, or ended it with an error status.
type DisconnectedError struct {
	// Status is the status the server ended the stream with; its code is
	// codes.OK when the server simply closed the stream.
	Status *status.Status
}

// Error returns "disconnected: <status message>", or
// "disconnected: server closed the stream" when there is no message.
func (e *DisconnectedError) Error() string {
	msg := textsafe.Sanitize(e.Status.Message())
	if msg == "" {
		msg = "server closed the stream"
		if e.Status.Code() != codes.OK {
			msg = "server ended the stream with " + e.Status.Code().String()
		}
	}
	return "disconnected: " + msg
}

// GRPCStatus returns the status the server ended the stream with.
func (e *DisconnectedError) GRPCStatus() *status.Status { return e.Status }

// reason extracts a short, printable reason from a gRPC connection error,
// e.g. "connection refused" from
// `connection error: desc = "transport: Error while dialing: dial tcp [::1]:50053: connect: connection refused"`.
func reason(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	if strings.Contains(msg, "produced zero addresses") {
		return "host name not found"
	}
	msg = strings.TrimRight(strings.TrimSpace(msg), `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	switch msg {
	case "":
		msg = "unavailable"
	case "EOF":
		msg = "connection closed"
	}
	return textsafe.Sanitize(msg)
}

// connReason is reason for a connection that failed before the server said
// anything, with what TLS adds: handshake failures read "TLS handshake
// failed: ..." (e.g. "certificate signed by unknown authority"), and a
// connection closed at once hints at a TLS mismatch or a missing client
// certificate. tlsOn says whether the client uses TLS.
func connReason(err error, tlsOn bool) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	const handshake = "authentication handshake failed: "
	if i := strings.Index(msg, handshake); i >= 0 {
		return "TLS handshake failed: " + tlsReason(msg[i+len(handshake):])
	}
	const remote = "remote error: tls: "
	if i := strings.Index(msg, remote); i >= 0 {
		return "TLS handshake failed: the server refused the client certificate: " + tlsReason(msg[i+len(remote):])
	}
	r := reason(err)
	switch {
	case tlsOn && (r == "broken pipe" || r == "connection reset by peer" || r == "connection closed"):
		return "TLS handshake failed: the server closed the connection (does it require a client certificate?)"
	case !tlsOn && (r == "connection closed" || r == "connection reset by peer"):
		// A TLS server that reads a plaintext preface may close with unread
		// data in its buffer, which the kernel turns into a reset.
		return "connection closed (does the server expect TLS?)"
	}
	return r
}

// tlsReason shortens a crypto/tls error to its last, readable part, e.g.
// "certificate signed by unknown authority" from "tls: failed to verify
// certificate: x509: certificate signed by unknown authority (possibly
// because of ...)".
func tlsReason(msg string) string {
	msg = strings.TrimRight(strings.TrimSpace(msg), `"`)
	if i := strings.Index(msg, " (possibly because"); i >= 0 {
		msg = msg[:i]
	}
	for _, prefix := range []string{"tls: ", "failed to verify certificate: ", "x509: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if msg == "first record does not look like a TLS handshake" {
		msg = "the server does not speak TLS"
	}
	if msg == "" || msg == "EOF" {
		msg = "connection closed"
	}
	return textsafe.Sanitize(msg)
}

// transportFailures are how grpc-go's client words an Unavailable status that
// it made itself because the connection failed, as opposed to a status the
// server sent.
var transportFailures = []string{
	"error reading from server",
	"connection error",
	"transport is closing",
	"transport: ",
	"the connection is draining",
	"stream terminated by RST_STREAM",
	"keepalive ping failed",
}

// isTransportFailure reports whether an Unavailable status message says the
// connection failed, rather than carrying the server's own words.
func isTransportFailure(msg string) bool {
	for _, f := range transportFailures {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}
