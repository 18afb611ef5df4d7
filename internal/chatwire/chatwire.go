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
	// DefaultRoom is the room of a client that names none.
	DefaultRoom = "general"
	// DefaultServer is the chat server address clients call by default.
	DefaultServer = "localhost:50053"
	// DefaultAuthServer is the AuthService address called by default.
	DefaultAuthServer = "localhost:50054"
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
)
