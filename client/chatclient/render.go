package chatclient

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// timeLayout is how notice times are shown: local HH:MM:SS.
const timeLayout = "15:04:05"

// Sanitize makes text from the network safe to print on a terminal, as
// docs/chat-protocol.md requires. Every C0 control character (U+0000–U+001F,
// newline and tab included), DEL (U+007F), every C1 control character
// (U+0080–U+009F) and the bidirectional overrides (U+202A–U+202E and
// U+2066–U+2069) are replaced by a visible escape: `\xNN` (two lower-case hex
// digits) below U+0100 and `\uNNNN` above. A byte that is not valid UTF-8 is
// shown as `\xNN` of that byte. All other text, including valid non-ASCII
// text, is returned unchanged, so the result is always one line.
func Sanitize(s string) string {
	// Fast path: most text has nothing to neutralise.
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isUnsafe(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case isUnsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether Sanitize has anything to replace in s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || isUnsafe(r) {
			return true
		}
		i += size
	}
	return false
}

// isUnsafe reports whether r must not reach a terminal as it is.
func isUnsafe(r rune) bool {
	switch {
	case r <= 0x1f, r == 0x7f: // C0 controls and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

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
// Sanitize. Kinds this client does not know are shown like text.
func Render(msg *chatpb.ChatMessage) string {
	text := Sanitize(msg.GetMessage())
	switch msg.GetKind() {
	case chatpb.ChatMessage_KIND_JOIN, chatpb.ChatMessage_KIND_LEAVE:
		return "[" + messageTime(msg).Format(timeLayout) + "] >>> " + text
	case chatpb.ChatMessage_KIND_SYSTEM:
		return "[" + messageTime(msg).Format(timeLayout) + "] *** " + text
	case chatpb.ChatMessage_KIND_HISTORY_START, chatpb.ChatMessage_KIND_HISTORY_END:
		return text
	default: // KIND_TEXT, KIND_UNSPECIFIED and kinds added later
		return "[" + Sanitize(msg.GetUser()) + "]: " + text
	}
}

// messageTime is the local time a message was sent, from its timestamp.
func messageTime(msg *chatpb.ChatMessage) time.Time {
	if ts := msg.GetTimestamp(); ts != 0 || msg.GetSentAt() == nil {
		return time.Unix(ts, 0).Local()
	}
	return msg.GetSentAt().AsTime().Local()
}
