package chatclient

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "Hi Alice!", "Hi Alice!"},
		{"backslash kept", `C:\path`, `C:\path`},
		{"ESC", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"NUL", "a\x00b", `a\x00b`},
		{"BEL", "ding\a", `ding\x07`},
		{"LF", "one\ntwo", `one\x0atwo`},
		{"CR", "over\rwrite", `over\x0dwrite`},
		{"CRLF", "a\r\nb", `a\x0d\x0ab`},
		{"tab", "a\tb", `a\x09b`},
		{"unit separator", "\x1f", `\x1f`},
		{"space kept", " ", " "},
		{"tilde kept", "~", "~"},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"NEL U+0085", "a\u0085b", `a\x85b`},
		{"C1 first U+0080", "\u0080", `\x80`},
		{"CSI U+009B", "\u009b31m", `\x9b31m`},
		{"C1 last U+009F", "\u009f", `\x9f`},
		{"NBSP U+00A0 kept", "a\u00a0b", "a\u00a0b"},
		{"LRE U+202A", "\u202a", `\u202a`},
		{"RLO U+202E", "abc\u202edef", `abc\u202edef`},
		{"LRM U+200E kept", "a\u200eb", "a\u200eb"},
		{"U+202F kept", "a\u202fb", "a\u202fb"},
		{"LRI U+2066", "\u2066x", `\u2066x`},
		{"PDI U+2069", "x\u2069", `x\u2069`},
		{"U+2065 kept", "\u2065", "\u2065"},
		{"U+206A kept", "\u206a", "\u206a"},
		{"accents", "Zoë café naïve", "Zoë café naïve"},
		{"CJK", "你好，世界", "你好，世界"},
		{"Cyrillic", "Привет", "Привет"},
		{"Arabic", "مرحبا", "مرحبا"},
		{"emoji", "👋🏽 hi", "👋🏽 hi"},
		{"replacement char kept", "\uFFFD", "\uFFFD"},
		{"invalid UTF-8 byte", "a\xffb", `a\xffb`},
		{"truncated sequence", "a\xe2\x80", `a\xe2\x80`},
		{"mixed", "\x1b]0;pwned\x07Bob\u202e", `\x1b]0;pwned\x07Bob\u202e`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	const ts = 1700000000
	clock := time.Unix(ts, 0).Local().Format("15:04:05")
	sentAt := time.Unix(1600000000, 0)
	sentClock := sentAt.Local().Format("15:04:05")
	tests := []struct {
		name string
		msg  *chatpb.ChatMessage
		want string
	}{
		{
			name: "text",
			msg:  &chatpb.ChatMessage{User: "Bob", Message: "Hi Alice!", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_TEXT},
			want: "[Bob]: Hi Alice!",
		},
		{
			name: "unspecified kind is text",
			msg:  &chatpb.ChatMessage{User: "Bob", Message: "Hi", Timestamp: ts},
			want: "[Bob]: Hi",
		},
		{
			name: "unknown kind is text",
			msg:  &chatpb.ChatMessage{User: "Bob", Message: "Hi", Timestamp: ts, Kind: chatpb.ChatMessage_Kind(99)},
			want: "[Bob]: Hi",
		},
		{
			name: "join",
			msg:  &chatpb.ChatMessage{User: "system", Message: "Bob joined the room", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_JOIN},
			want: "[" + clock + "] >>> Bob joined the room",
		},
		{
			name: "leave",
			msg:  &chatpb.ChatMessage{User: "system", Message: "Bob left the room", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_LEAVE},
			want: "[" + clock + "] >>> Bob left the room",
		},
		{
			name: "system",
			msg:  &chatpb.ChatMessage{User: "system", Message: "Server is shutting down", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_SYSTEM},
			want: "[" + clock + "] *** Server is shutting down",
		},
		{
			name: "system without timestamp uses sent_at",
			msg:  &chatpb.ChatMessage{User: "system", Message: "Welcome", SentAt: timestamppb.New(sentAt), Kind: chatpb.ChatMessage_KIND_SYSTEM},
			want: "[" + sentClock + "] *** Welcome",
		},
		{
			name: "history start",
			msg:  &chatpb.ChatMessage{User: "system", Message: "--- Recent messages in general ---", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_HISTORY_START},
			want: "--- Recent messages in general ---",
		},
		{
			name: "history end",
			msg:  &chatpb.ChatMessage{User: "system", Message: "--- End of history ---", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_HISTORY_END},
			want: "--- End of history ---",
		},
		{
			name: "text with escapes in user and message",
			msg:  &chatpb.ChatMessage{User: "B\x1bob", Message: "line1\nline2\u202e", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_TEXT},
			want: `[B\x1bob]: line1\x0aline2\u202e`,
		},
		{
			name: "notice with escapes",
			msg:  &chatpb.ChatMessage{User: "system", Message: "Bob\r joined\u0085", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_JOIN},
			want: "[" + clock + `] >>> Bob\x0d joined\x85`,
		},
		{
			name: "history marker with escapes",
			msg:  &chatpb.ChatMessage{Message: "--- \x1b[2J ---", Kind: chatpb.ChatMessage_KIND_HISTORY_START},
			want: `--- \x1b[2J ---`,
		},
		{
			name: "non-ASCII unchanged",
			msg:  &chatpb.ChatMessage{User: "Zoë", Message: "¡Hola! 你好 👋", Timestamp: ts, Kind: chatpb.ChatMessage_KIND_TEXT},
			want: "[Zoë]: ¡Hola! 你好 👋",
		},
		{
			name: "empty user",
			msg:  &chatpb.ChatMessage{Message: "hi"},
			want: "[]: hi",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Render(tt.msg); got != tt.want {
				t.Errorf("Render() = %q, want %q", got, tt.want)
			}
		})
	}
}
