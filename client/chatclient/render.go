package chatclient

import (
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// timeLayout is how notice times are shown: local HH:MM:SS.
const timeLayout = "15:04:05"

// Render returns how msg is shown to the user, as one line without a line
// ending, following docs/chat-protocol.md:
//
//	text                  [Bob]: Hi Alice!
//	join, leave           [14:30:25] >>> Bob joined the room
//	system                [14:30:25] *** Server is shutting down
//	history start / end   --- Recent messages in general ---
//
// Times are local HH:MM:SS from the message's timestamp (or from sent_at when
// the timestamp is unset). Every string from the network is passed through
// textsafe.Sanitize. Kinds this client does not know are shown like text.
func Render(msg *chatpb.ChatMessage) string {
	text := textsafe.Sanitize(msg.GetMessage())
	switch msg.GetKind() {
	case chatpb.ChatMessage_KIND_JOIN, chatpb.ChatMessage_KIND_LEAVE:
		return "[" + messageTime(msg).Format(timeLayout) + "] >>> " + text
	case chatpb.ChatMessage_KIND_SYSTEM:
		return "[" + messageTime(msg).Format(timeLayout) + "] *** " + text
	case chatpb.ChatMessage_KIND_HISTORY_START, chatpb.ChatMessage_KIND_HISTORY_END:
		return text
	default: // KIND_TEXT, KIND_UNSPECIFIED and kinds added later
		return "[" + textsafe.Sanitize(msg.GetUser()) + "]: " + text
	}
}

// messageTime is the local time a message was sent, from its timestamp.
func messageTime(msg *chatpb.ChatMessage) time.Time {
	if ts := msg.GetTimestamp(); ts != 0 || msg.GetSentAt() == nil {
		return time.Unix(ts, 0).Local()
	}
	return msg.GetSentAt().AsTime().Local()
}
