package chat

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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
