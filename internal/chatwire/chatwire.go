// Package chatwire holds the names and defaults of the chat wire that the
// chat server, the Go chat client and the benchmarks share: metadata keys,
// the default room, default addresses and the default limits. Each has its
// one home here; pykit/chatwire.py is the Python copy, and a test there
// checks it against this file, so every value below stays a plain literal in
// the one const block.
package chatwire

// The chat wire's names and defaults (docs/chat-protocol.md).
const (
	// UserKey is the request metadata key carrying the name a client asks
	// for. It may also be sent as binary metadata (UserKey + "-bin") to
	// carry non-ASCII text.
	UserKey = "chat-user"
	// RoomKey is the request metadata key carrying the room a client joins
	// (binary form: RoomKey + "-bin").
	RoomKey = "chat-room"
	// AuthorizationKey is the request metadata key carrying
	// "Bearer <session token>" when the server requires sign-in.
	AuthorizationKey = "authorization"
	// ResumeTokenKey is the request metadata key carrying the resume_token
	// of the member's last welcome notice, so that a client coming back
	// after a drop keeps its membership and name. Secret: never logged.
	ResumeTokenKey = "chat-resume-token"
	// ResumeFromKey is the request metadata key carrying "<epoch>:<seq>":
	// the store epoch and the last text seq the client showed in its room,
	// so that the server replays exactly what came after.
	ResumeFromKey = "chat-resume-from"
	// DefaultRoom is the room of a client that names none.
	DefaultRoom = "general"
	// DefaultServer is the chat server address clients call by default.
	DefaultServer = "localhost:50053"
	// DefaultAuthServer is the AuthService address called by default.
	DefaultAuthServer = "localhost:50054"
	// DefaultStreamingServer is the StreamingService address the chat
	// clients move shared files through by default.
	DefaultStreamingServer = "localhost:50056"
	// DefaultAddr is the address the chat server listens on by default.
	DefaultAddr = ":50053"
	// MaxMessageBytes is the default limit on the text of one message.
	MaxMessageBytes = 4096
	// MaxNameBytes is the default limit on a user or room name.
	MaxNameBytes = 64
	// QueueSize is the default number of messages queued for one member
	// before it is disconnected as too slow.
	QueueSize = 256
	// HistorySize is the default number of text messages kept and replayed
	// per room.
	HistorySize = 50
	// ReconnectBaseDelayMs is the wait, in milliseconds, before a client's
	// second attempt to reconnect (the first is at once): gRPC's
	// connection backoff.
	ReconnectBaseDelayMs = 1000
	// ReconnectMultiplierPercent is how much each further wait grows, in
	// percent of the one before (gRPC's multiplier 1.6).
	ReconnectMultiplierPercent = 160
	// ReconnectJitterPercent is how far each wait is randomised either
	// way, in percent (gRPC's jitter 0.2).
	ReconnectJitterPercent = 20
	// ReconnectMaxDelayMs is the default longest wait, in milliseconds,
	// between two attempts to reconnect.
	ReconnectMaxDelayMs = 30000
	// MaxPendingLines is how many lines typed while disconnected a client
	// keeps to send once it is back; beyond that a line is refused.
	MaxPendingLines = 100
)
