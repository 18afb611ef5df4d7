package chatclient

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

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
			want: "[B\\x1bob]: line1\n" + Indent + "line2\\u202e",
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

// renderVectors are rendering cases without a time, which both clients
// are checked against (pyclient/tests/test_render.py reads the same file).
type renderVectors struct {
	Indent string `json:"indent"`
	Cases  []struct {
		Name    string   `json:"name"`
		Kind    string   `json:"kind"`
		User    string   `json:"user"`
		Message string   `json:"message"`
		Lines   []string `json:"lines"`
	} `json:"cases"`
}

func TestRenderVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/render.json")
	if err != nil {
		t.Fatal(err)
	}
	var v renderVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Indent != Indent || len(v.Cases) == 0 {
		t.Fatalf("indent %q (want %q), %d cases", v.Indent, Indent, len(v.Cases))
	}
	for _, tc := range v.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			kind, ok := chatpb.ChatMessage_Kind_value[tc.Kind]
			if !ok {
				n, err := strconv.Atoi(strings.TrimPrefix(tc.Kind, "KIND_"))
				if err != nil {
					t.Fatalf("kind %q", tc.Kind)
				}
				kind = int32(n)
			}
			msg := &chatpb.ChatMessage{User: tc.User, Message: tc.Message, Kind: chatpb.ChatMessage_Kind(kind)}
			if got, want := Render(msg), strings.Join(tc.Lines, "\n"); got != want {
				t.Errorf("Render() = %q, want %q", got, want)
			}
		})
	}
}
