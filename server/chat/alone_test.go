package chat

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/polychat/polychat/server/broker"
)

// A chat server whose NATS is embedded and accepts no outside clients is
// the only node there can be: its members hear its notices at once, and
// nothing is published for other nodes. One whose embedded NATS listens
// publishes them, for the chat servers that may connect.
func TestNoticesAreNotPublishedWhenNoOtherNodeCanBe(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   int64 // records published: the notices of two joins, and a text
	}{{"", 1}, {"127.0.0.1:0", 3}} {
		t.Run("listen="+tc.listen, func(t *testing.T) {
			var published atomic.Int64
			b, err := broker.Open(context.Background(), broker.Options{
				Listen: tc.listen, History: 10, Logger: slog.New(slog.DiscardHandler),
				BeforePublish: func(string) { published.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			ts := startServer(t, Config{Broker: b})
			alice := ts.join(t, "Alice", "lobby")
			bob := ts.join(t, "Bob", "lobby")
			alice.expect(kJoin, "Bob joined the room")
			alice.say("hi")
			bob.expectText("Alice", "hi")
			if got := published.Load(); got != tc.want {
				t.Fatalf("%d records published, want %d", got, tc.want)
			}
		})
	}
}
