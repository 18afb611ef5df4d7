package chat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/moderation"
)

const kMod = chatpb.ChatMessage_KIND_MODERATION

// clock is a time tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// until reads c's messages up to the first of kind, which it returns.
func (c *client) until(kind chatpb.ChatMessage_Kind) *chatpb.ChatMessage {
	c.t.Helper()
	for {
		if m := c.next(); m.GetKind() == kind {
			return m
		}
	}
}

// signedIn opens a stream as the user of token in room, past its welcome.
func (ts *testServer) signedIn(t *testing.T, token, room string) *client {
	t.Helper()
	c := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer "+token, chatwire.RoomKey, room))
	c.expect(kSys, "")
	return c
}

// moderated starts a signed-in server whose room red alice owns (she
// opens it), with bob in it too, and a clock tests move.
func moderated(t *testing.T) (ts *testServer, api chatpb.ChatServiceClient, alice, bob *client, clk *clock) {
	t.Helper()
	_, chk, _ := startAuth(t)
	ts = startServer(t, Config{Auth: chk})
	clk = &clock{now: time.Now()}
	ts.svc.now = clk.Now
	alice = ts.signedIn(t, "tok-alice", "red")
	bob = ts.signedIn(t, "tok-bob", "red")
	alice.expect(kJoin, "bob joined the room")
	return ts, chatpb.NewChatServiceClient(ts.conn(t)), alice, bob, clk
}

func TestModerationWithoutSignIn(t *testing.T) {
	ts := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := chatpb.NewChatServiceClient(ts.conn(t)).Kick(ctx, &chatpb.KickRequest{User: "bob"})
	if code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "no moderators") {
		t.Fatalf("Kick on a server without sign-in: %v; want FAILED_PRECONDITION saying it has no moderators", err)
	}
}

func TestModerationRefusesNonModeratorsAndBadRequests(t *testing.T) {
	_, api, _, _, _ := moderated(t)
	bobCtx, cancel := as("tok-bob")
	defer cancel()
	_, err := api.Mute(bobCtx, &chatpb.MuteRequest{Room: "red", User: "alice", Duration: durationpb.New(time.Minute)})
	if code(err) != codes.PermissionDenied || status.Convert(err).Message() != "only the owners of room red and the server's admins may mute" {
		t.Fatalf("bob muting alice: %v; want PERMISSION_DENIED naming who may", err)
	}
	if _, err := api.ListBans(bobCtx, &chatpb.ListBansRequest{Room: "red"}); code(err) != codes.PermissionDenied {
		t.Fatalf("bob listing red's bans: %v; want PERMISSION_DENIED", err)
	}
	ctx, cancel := as("tok-alice")
	defer cancel()
	for what, call := range map[string]func() error{
		"no user":     func() error { _, err := api.Kick(ctx, &chatpb.KickRequest{Room: "red"}); return err },
		"a bad name":  func() error { _, err := api.Kick(ctx, &chatpb.KickRequest{Room: "red", User: "b\x07ob"}); return err },
		"no duration": func() error { _, err := api.Mute(ctx, &chatpb.MuteRequest{Room: "red", User: "bob"}); return err },
		"a 0s mute": func() error {
			_, err := api.Mute(ctx, &chatpb.MuteRequest{Room: "red", User: "bob", Duration: durationpb.New(0)})
			return err
		},
		"a ban too long": func() error {
			_, err := api.Ban(ctx, &chatpb.BanRequest{Room: "red", User: "bob", Duration: durationpb.New(400 * 24 * time.Hour)})
			return err
		},
		"a long topic": func() error {
			_, err := api.SetTopic(ctx, &chatpb.SetTopicRequest{Room: "red", Topic: strings.Repeat("x", 5000)})
			return err
		},
		"a topic with a line break": func() error {
			_, err := api.SetTopic(ctx, &chatpb.SetTopicRequest{Room: "red", Topic: "a\nb"})
			return err
		},
	} {
		if err := call(); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v; want INVALID_ARGUMENT", what, err)
		}
	}
	if _, err := api.Kick(ctx, &chatpb.KickRequest{Room: "red", User: "alice"}); code(err) != codes.PermissionDenied {
		t.Fatalf("alice kicking herself: %v; want PERMISSION_DENIED", err)
	}
}

func TestKickEndsTheMembershipAfterTheNotice(t *testing.T) {
	ts, api, alice, bob, _ := moderated(t)
	carol := ts.signedIn(t, "tok-carol", "red")
	ctx, cancel := as("tok-alice")
	defer cancel()
	resp, err := api.Kick(ctx, &chatpb.KickRequest{Room: "red", User: "bob", Reason: "spam"})
	if err != nil || resp.GetMemberships() != 1 {
		t.Fatalf("Kick = %v, %v; want one membership ended", resp, err)
	}
	bob.until(kMod)
	if err := bob.end(); code(err) != codes.PermissionDenied || status.Convert(err).Message() != "kicked from red by alice: spam" {
		t.Fatalf("bob's stream ended with %v; want PERMISSION_DENIED kicked from red by alice: spam", err)
	}
	for _, c := range []*client{alice, carol} {
		if m := c.until(kMod); m.GetMessage() != "alice kicked bob: spam" {
			t.Fatalf("the room was told %q", m.GetMessage())
		}
	}
	// A kick is not a ban: bob comes back.
	ts.signedIn(t, "tok-bob", "red")
}

func TestMuteRefusesMessagesUntilItEnds(t *testing.T) {
	ts, api, alice, bob, clk := moderated(t)
	ctx, cancel := as("tok-alice")
	defer cancel()
	resp, err := api.Mute(ctx, &chatpb.MuteRequest{Room: "red", User: "bob", Duration: durationpb.New(10 * time.Minute), Reason: "calm down"})
	if err != nil || !resp.GetUntil().AsTime().Equal(clk.Now().Add(10*time.Minute).Truncate(time.Nanosecond)) {
		t.Fatalf("Mute = %v, %v", resp, err)
	}
	if m := alice.until(kMod); m.GetMessage() != "alice muted bob for 10m: calm down" {
		t.Fatalf("the room was told %q", m.GetMessage())
	}
	bob.until(kMod)
	if err := bob.stream.Send(&chatpb.ChatMessage{Message: "hello?", ClientMsgId: "m-1"}); err != nil {
		t.Fatal(err)
	}
	refused := bob.expect(chatpb.ChatMessage_KIND_REFUSED, "")
	if refused.GetClientMsgId() != "m-1" || refused.GetRefusal().GetReason() != chatpb.Refusal_REASON_MUTED ||
		!refused.GetRefusal().GetUntil().AsTime().Equal(resp.GetUntil().AsTime()) ||
		!strings.HasPrefix(refused.GetMessage(), "Not sent: you are muted in red until ") {
		t.Fatalf("bob was told %v", refused)
	}
	// A Join member of bob's gets PERMISSION_DENIED from Send.
	j := ts.joinWeb(t, &chatpb.JoinRequest{Room: "red"}, chatwire.AuthorizationKey, "Bearer tok-bob")
	err = j.send(&chatpb.SendRequest{Message: "hi"})
	if code(err) != codes.PermissionDenied || !strings.HasPrefix(status.Convert(err).Message(), "Not sent: you are muted in red") {
		t.Fatalf("Send while muted: %v; want PERMISSION_DENIED", err)
	}
	if details := status.Convert(err).Details(); len(details) != 1 || details[0].(*chatpb.Refusal).GetReason() != chatpb.Refusal_REASON_MUTED {
		t.Fatalf("Send's refusal has details %v; want the Refusal", details)
	}

	clk.add(10 * time.Minute)
	// The stream went on: the same message, sent again, now goes out.
	bob.say("back")
	if m := alice.until(kText); m.GetMessage() != "back" {
		t.Fatalf("alice got %q", m.GetMessage())
	}
}

func TestBanEndsTheMembershipAndHoldsUntilUnban(t *testing.T) {
	ts, api, alice, bob, _ := moderated(t)
	ctx, cancel := as("tok-alice")
	defer cancel()
	resp, err := api.Ban(ctx, &chatpb.BanRequest{Room: "red", User: "bob", Reason: "spam"})
	if err != nil || resp.GetMemberships() != 1 || resp.GetUntil() != nil {
		t.Fatalf("Ban = %v, %v; want one membership ended, no end", resp, err)
	}
	const want = "you are banned from room red until an owner lifts the ban by alice: spam"
	if err := bob.end(); code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
		t.Fatalf("bob's stream ended with %v; want PERMISSION_DENIED %q", err, want)
	}
	if m := alice.until(kMod); m.GetMessage() != "alice banned bob: spam" {
		t.Fatalf("the room was told %q", m.GetMessage())
	}
	if err := recvUntilErr(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.RoomKey, "red")); code(err) != codes.PermissionDenied {
		t.Fatalf("bob joining again: %v; want PERMISSION_DENIED", err)
	}
	bans, err := api.ListBans(ctx, &chatpb.ListBansRequest{Room: "red"})
	if err != nil || len(bans.GetBans()) != 1 || bans.GetBans()[0].GetUser() != "bob" || bans.GetBans()[0].GetBy() != "alice" {
		t.Fatalf("ListBans = %v, %v", bans, err)
	}
	if got, err := api.Unban(ctx, &chatpb.UnbanRequest{Room: "red", User: "bob"}); err != nil || !got.GetWasBanned() {
		t.Fatalf("Unban = %v, %v", got, err)
	}
	if got, err := api.Unban(ctx, &chatpb.UnbanRequest{Room: "red", User: "bob"}); err != nil || got.GetWasBanned() {
		t.Fatalf("a second Unban = %v, %v; want was_banned false", got, err)
	}
	ts.signedIn(t, "tok-bob", "red")
}

func TestTopicIsToldAndInTheWelcome(t *testing.T) {
	ts, api, alice, _, _ := moderated(t)
	ctx, cancel := as("tok-alice")
	defer cancel()
	if _, err := api.SetTopic(ctx, &chatpb.SetTopicRequest{Room: "red", Topic: " release on Friday "}); err != nil {
		t.Fatal(err)
	}
	if m := alice.until(kMod); m.GetMessage() != "Topic: release on Friday (set by alice)" {
		t.Fatalf("the room was told %q", m.GetMessage())
	}
	c := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-carol", chatwire.RoomKey, "red"))
	w := c.expect(kSys, "Welcome, carol! You are in room red. Topic: release on Friday")
	if w.GetTopic() != "release on Friday" {
		t.Fatalf("welcome topic %q", w.GetTopic())
	}
	// Op makes carol an owner, once.
	if got, err := api.Op(ctx, &chatpb.OpRequest{Room: "red", User: "carol"}); err != nil || !got.GetGranted() {
		t.Fatalf("Op = %v, %v", got, err)
	}
	if got, err := api.Op(ctx, &chatpb.OpRequest{Room: "red", User: "carol"}); err != nil || got.GetGranted() {
		t.Fatalf("a second Op = %v, %v; want granted false", got, err)
	}
}

// sharedStore opens the moderation log on b, as the server does.
func sharedStore(t *testing.T, b *broker.Broker) *moderation.Shared {
	t.Helper()
	js, storage, replicas := b.JetStream()
	m, err := moderation.OpenShared(context.Background(), js, moderation.SharedOptions{Storage: storage, Replicas: replicas, Node: b.Node()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestClusterBanOnAnotherNode: a ban made on one node ends the member's
// stream on the other, whose members are told, and holds there.
func TestClusterBanOnAnotherNode(t *testing.T) {
	_, chk, _ := startAuth(t)
	ns := natsServer(t)
	start := func(ns *server.Server) *node {
		b := openBroker(t, broker.Options{Server: ns, History: 50})
		return &node{testServer: startServer(t, Config{Broker: b, History: 50, Auth: chk, Moderation: sharedStore(t, b)}), broker: b}
	}
	n1, n2 := start(ns), start(ns)
	alice := n1.signedIn(t, "tok-alice", "red")
	bob := n2.signedIn(t, "tok-bob", "red")
	carol := n2.signedIn(t, "tok-carol", "red")
	alice.until(kJoin)

	ctx, cancel := as("tok-alice")
	defer cancel()
	resp, err := chatpb.NewChatServiceClient(n1.conn(t)).Ban(ctx, &chatpb.BanRequest{Room: "red", User: "bob", Duration: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetMemberships() != 1 {
		t.Errorf("the ban ended %d memberships; want bob's one, on the other node", resp.GetMemberships())
	}
	if err := bob.end(); code(err) != codes.PermissionDenied {
		t.Fatalf("bob's stream on the other node ended with %v; want PERMISSION_DENIED", err)
	}
	if m := carol.until(kMod); m.GetMessage() != "alice banned bob for 1h" {
		t.Fatalf("carol was told %q", m.GetMessage())
	}
	if m := alice.until(kMod); m.GetMessage() != "alice banned bob for 1h" {
		t.Fatalf("alice was told %q", m.GetMessage())
	}
	if err := recvUntilErr(t, n2.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.RoomKey, "red")); code(err) != codes.PermissionDenied {
		t.Fatalf("bob joining the other node: %v; want PERMISSION_DENIED", err)
	}
}
