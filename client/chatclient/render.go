package chatclient

import (
	"strings"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// timeLayout is how notice times are shown: local HH:MM:SS.
const timeLayout = "15:04:05"

// Indent starts each continuation line of a message of several lines.
const Indent = "    "

// Render returns how msg is shown to the user, without a final line
// ending, following docs/chat-protocol.md:
//
//	text                  [Bob]: Hi Alice!
//	action, private       * Bob waves / [private from Bob] Hi
//	file                  Bob shared a.pdf (1.2 MB, sha256 ab12cd34…) — /get 17
//	join, leave           [14:30:25] >>> Bob joined the room
//	system                [14:30:25] *** Server is shutting down
//	history start / end   --- Recent messages in general ---
//
// A text of several lines (a pasted paragraph) is shown as several lines:
// the first after the prefix, each later one after Indent. Times are local
// HH:MM:SS from the message's timestamp (or from sent_at when the timestamp
// is unset). Every string from the network is passed through
// textsafe.Sanitize, line by line, so that nothing but the line breaks
// reaches the terminal as it is. Kinds this client does not know are shown
// like text.
func Render(msg *chatpb.ChatMessage) string {
	switch msg.GetKind() {
	case chatpb.ChatMessage_KIND_JOIN, chatpb.ChatMessage_KIND_LEAVE:
		return Continued("["+messageTime(msg).Format(timeLayout)+"] >>> ", msg.GetMessage())
	case chatpb.ChatMessage_KIND_SYSTEM, chatpb.ChatMessage_KIND_MODERATION, chatpb.ChatMessage_KIND_REFUSED:
		return Continued("["+messageTime(msg).Format(timeLayout)+"] *** ", msg.GetMessage())
	case chatpb.ChatMessage_KIND_HISTORY_START, chatpb.ChatMessage_KIND_HISTORY_END,
		chatpb.ChatMessage_KIND_ACTION, chatpb.ChatMessage_KIND_PRIVATE, chatpb.ChatMessage_KIND_FILE:
		// The server words these in full: "* Bob waves".
		return Continued("", msg.GetMessage())
	default: // KIND_TEXT, KIND_UNSPECIFIED and kinds added later
		return Continued("["+textsafe.Sanitize(msg.GetUser())+"]: ", msg.GetMessage())
	}
}

// Continued returns prefix and text's first line, then each later line of
// text on a line of its own after Indent, every line sanitised. Lines end
// at "\n" or "\r\n"; any other control character, a lone "\r" included, is
// shown escaped.
func Continued(prefix, text string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if i < len(lines)-1 {
			line = strings.TrimSuffix(line, "\r")
		}
		lines[i] = textsafe.Sanitize(line)
	}
	return prefix + strings.Join(lines, "\n"+Indent)
}

// messageTime is the local time a message was sent, from its timestamp.
func messageTime(msg *chatpb.ChatMessage) time.Time {
	if ts := msg.GetTimestamp(); ts != 0 || msg.GetSentAt() == nil {
		return time.Unix(ts, 0).Local()
	}
	return msg.GetSentAt().AsTime().Local()
}
