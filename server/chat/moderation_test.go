package chat

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/moderation"
)

// as returns a context that signs in with token.
func as(token string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	return metadata.AppendToOutgoingContext(ctx, chatwire.AuthorizationKey, "Bearer "+token), cancel
}

func TestGetRolesWithoutSignInSaysThereAreNoModerators(t *testing.T) {
	ts := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := chatpb.NewChatServiceClient(ts.conn(t)).GetRoles(ctx, &chatpb.GetRolesRequest{})
	if err != nil || !proto.Equal(got, &chatpb.GetRolesResponse{}) {
		t.Fatalf("GetRoles = %v, %v; want moderation false and nothing else", got, err)
	}
}

func TestGetRoles(t *testing.T) {
	_, chk, _ := startAuth(t)
	store := moderation.NewMemory()
	t0 := time.Now()
	if _, err := store.Claim(context.Background(), "red", "bob", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Apply(context.Background(), moderation.Action{
		Kind: moderation.Topic, Room: "red", Actor: "bob", Reason: "paint", At: t0,
	}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{Auth: chk, Admins: []string{"zoe", "alice"}, Moderation: store})
	cli := chatpb.NewChatServiceClient(ts.conn(t))
	for _, c := range []struct {
		token, room string
		want        *chatpb.GetRolesResponse
	}{
		{"tok-bob", "red", &chatpb.GetRolesResponse{Moderation: true, Admins: []string{"alice", "zoe"}, Owners: []string{"bob"}, CanModerate: true, Topic: "paint"}},
		{"tok-alice", "red", &chatpb.GetRolesResponse{Moderation: true, Admins: []string{"alice", "zoe"}, Owners: []string{"bob"}, CanModerate: true, Topic: "paint"}},
		{"tok-bob", "", &chatpb.GetRolesResponse{Moderation: true, Admins: []string{"alice", "zoe"}}},
	} {
		ctx, cancel := as(c.token)
		got, err := cli.GetRoles(ctx, &chatpb.GetRolesRequest{Room: c.room})
		cancel()
		if err != nil || !proto.Equal(got, c.want) {
			t.Errorf("%s in %q: GetRoles = %v, %v; want %v", c.token, c.room, got, err, c.want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := cli.GetRoles(ctx, &chatpb.GetRolesRequest{Room: "red"}); code(err) != codes.Unauthenticated {
		t.Fatalf("GetRoles without a token: %v; want UNAUTHENTICATED", err)
	}
	ctx, cancel = as("tok-bob")
	defer cancel()
	if _, err := cli.GetRoles(ctx, &chatpb.GetRolesRequest{Room: "bad\x00room"}); code(err) != codes.InvalidArgument {
		t.Fatalf("GetRoles of a bad room name: %v; want INVALID_ARGUMENT", err)
	}
	if owners, _ := store.Owners(context.Background(), "red"); !slices.Equal(owners, []string{"bob"}) {
		t.Fatalf("GetRoles changed the owners: %v", owners)
	}
}

// TestBanHoldsAtJoinResumeAndJoinRPC bans bob while he is away: his
// resume, a new stream and a browser's Join are all refused, while alice
// still gets in.
func TestBanHoldsAtJoinResumeAndJoinRPC(t *testing.T) {
	_, chk, _ := startAuth(t)
	store := moderation.NewMemory()
	ts := startServer(t, Config{Auth: chk, Moderation: store, ResumeGrace: time.Minute})
	bob := ts.openDroppable(t, chatwire.AuthorizationKey, "Bearer tok-bob")
	bob.welcome = bob.expect(kSys, "Welcome, bob! You are in room general.")
	bob.drop()

	until := time.Date(2030, 1, 2, 14, 5, 0, 0, time.UTC)
	if _, _, err := store.Apply(context.Background(), moderation.Action{
		Kind: moderation.Ban, Room: "general", Actor: "alice", Target: "bob", Reason: "spam", At: time.Now(), Until: until,
	}); err != nil {
		t.Fatal(err)
	}
	const want = "you are banned from room general until 2030-01-02 14:05 UTC by alice: spam"
	for what, md := range map[string][]string{
		"a resume":   {chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken()},
		"a new join": {chatwire.AuthorizationKey, "Bearer tok-bob"},
	} {
		if err := recvUntilErr(t, ts.open(t, nil, md...)); code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
			t.Errorf("%s: %v; want PERMISSION_DENIED %q", what, err, want)
		}
	}
	ctx, cancel := as("tok-bob")
	defer cancel()
	join, err := chatpb.NewChatServiceClient(ts.conn(t)).Join(ctx, &chatpb.JoinRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := recvUntilErr(t, join); code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
		t.Errorf("Join: %v; want PERMISSION_DENIED %q", err, want)
	}
	// A ban holds in its own room only.
	red := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.RoomKey, "red"))
	red.expect(kSys, "Welcome, bob! You are in room red.")
	alice := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-alice"))
	alice.expect(kSys, "Welcome, alice! You are in room general.")
}

// TestFirstSignedInMemberOwnsTheRoom: the room's creator owns it; later
// members do not, and an anonymous server makes no owners.
func TestFirstSignedInMemberOwnsTheRoom(t *testing.T) {
	_, chk, _ := startAuth(t)
	store := moderation.NewMemory()
	ts := startServer(t, Config{Auth: chk, Moderation: store})
	alice := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-alice", chatwire.RoomKey, "red"))
	alice.expect(kSys, "Welcome, alice! You are in room red.")
	bob := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.RoomKey, "red"))
	bob.expect(kSys, "Welcome, bob! You are in room red.")
	ctx, cancel := as("tok-bob")
	defer cancel()
	// Alice claimed red before her welcome came, so before bob joined.
	roles, err := chatpb.NewChatServiceClient(ts.conn(t)).GetRoles(ctx, &chatpb.GetRolesRequest{Room: "red"})
	if err != nil || !slices.Equal(roles.GetOwners(), []string{"alice"}) || roles.GetCanModerate() {
		t.Fatalf("GetRoles(red) for bob = %v, %v; want alice the only owner and bob not a moderator", roles, err)
	}

	anon := moderation.NewMemory()
	open := startServer(t, Config{Moderation: anon})
	open.join(t, "alice", "red")
	if owners, _ := anon.Owners(context.Background(), "red"); len(owners) != 0 {
		t.Fatalf("a server without sign-in made owners %v", owners)
	}
}
