package chat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
)

// memberNames returns the names on a ListMembers page.
func memberNames(resp *chatpb.ListMembersResponse) []string {
	var out []string
	for _, m := range resp.GetMembers() {
		out = append(out, m.GetName())
	}
	return out
}

func TestListMembersAndRooms(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	cli := chatpb.NewChatServiceClient(ts.conn(t))
	ctx := context.Background()
	for _, who := range []struct{ name, room string }{
		{"carol", ""}, {"Alice", ""}, {"bob", ""}, {"Dave", "red"}, {"Eve", "Blue"},
	} {
		ts.join(t, who.name, who.room)
	}
	gone := ts.joinDroppable(t, "Zed") // a dropped member is not listed
	gone.drop()

	resp, err := cli.ListMembers(ctx, &chatpb.ListMembersRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Zed may still be connected when the first page is asked for; the
	// second page says.
	if got := memberNames(resp); !slices.Equal(got, []string{"Alice", "bob"}) || resp.GetNextPageToken() == "" {
		t.Fatalf("first page %v (next %q)", got, resp.GetNextPageToken())
	}
	resp, err = cli.ListMembers(ctx, &chatpb.ListMembersRequest{Room: "general", PageSize: 2, PageToken: resp.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if got := memberNames(resp); got[0] != "carol" {
		t.Fatalf("second page %v", got)
	}

	resp, err = cli.ListMembers(ctx, &chatpb.ListMembersRequest{Room: "red"})
	if err != nil || !slices.Equal(memberNames(resp), []string{"Dave"}) || resp.GetTotal() != 1 || resp.GetNextPageToken() != "" {
		t.Fatalf("room red: %v, %v", resp, err)
	}
	resp, err = cli.ListMembers(ctx, &chatpb.ListMembersRequest{Room: "nobody here"})
	if err != nil || len(resp.GetMembers()) != 0 || resp.GetTotal() != 0 {
		t.Fatalf("an empty room: %v, %v", resp, err)
	}

	rooms, err := cli.ListRooms(ctx, &chatpb.ListRoomsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rooms.GetRooms() {
		got = append(got, fmt.Sprintf("%s=%d", r.GetName(), r.GetMemberCount()))
	}
	if len(got) != 3 || got[0] != "Blue=1" || !strings.HasPrefix(got[1], "general=") || got[2] != "red=1" || rooms.GetTotal() != 3 {
		t.Fatalf("rooms %v (total %d)", got, rooms.GetTotal())
	}
	rooms, err = cli.ListRooms(ctx, &chatpb.ListRoomsRequest{PageSize: 1, PageToken: pageToken(roomsToken, "general")})
	if err != nil || len(rooms.GetRooms()) != 1 || rooms.GetRooms()[0].GetName() != "red" || rooms.GetNextPageToken() != "" {
		t.Fatalf("rooms after general: %v, %v", rooms, err)
	}
}

func TestPresenceRefusesBadRequests(t *testing.T) {
	ts := startServer(t, Config{MaxNameBytes: 8})
	cli := chatpb.NewChatServiceClient(ts.conn(t))
	ctx := context.Background()
	membersToken := pageToken(membersToken, "x")
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"page size too large", func() error {
			_, err := cli.ListMembers(ctx, &chatpb.ListMembersRequest{PageSize: 1001})
			return err
		}, "page_size is 1001; ask for 1 to 1000 (0 means 100)"},
		{"negative page size", func() error {
			_, err := cli.ListRooms(ctx, &chatpb.ListRoomsRequest{PageSize: -1})
			return err
		}, "page_size is -1"},
		{"garbage token", func() error {
			_, err := cli.ListMembers(ctx, &chatpb.ListMembersRequest{PageToken: "not a token!"})
			return err
		}, "page_token is not one this server gave for this list"},
		{"another list's token", func() error {
			_, err := cli.ListRooms(ctx, &chatpb.ListRoomsRequest{PageToken: membersToken})
			return err
		}, "page_token is not one this server gave for this list"},
		{"room over limit", func() error {
			_, err := cli.ListMembers(ctx, &chatpb.ListMembersRequest{Room: "123456789"})
			return err
		}, "room is 9 bytes; the limit is 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("got %v, want INVALID_ARGUMENT containing %q", err, tc.want)
			}
		})
	}
}

func TestPresenceNeedsSignInWhenTheChatDoes(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk})
	cli := chatpb.NewChatServiceClient(ts.conn(t))
	bob := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob"))
	bob.expect(kSys, "Welcome, bob! You are in room general.")

	if _, err := cli.ListMembers(context.Background(), &chatpb.ListMembersRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("ListMembers without a token: %v", err)
	}
	bad := metadata.AppendToOutgoingContext(context.Background(), chatwire.AuthorizationKey, "Bearer nope")
	if _, err := cli.ListRooms(bad, &chatpb.ListRoomsRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("ListRooms with an unknown token: %v", err)
	}
	ok := metadata.AppendToOutgoingContext(context.Background(), chatwire.AuthorizationKey, "Bearer tok-alice")
	resp, err := cli.ListMembers(ok, &chatpb.ListMembersRequest{})
	if err != nil || !slices.Equal(memberNames(resp), []string{"bob"}) {
		t.Fatalf("ListMembers signed in: %v, %v", resp, err)
	}
	rooms, err := cli.ListRooms(ok, &chatpb.ListRoomsRequest{})
	if err != nil || rooms.GetTotal() != 1 {
		t.Fatalf("ListRooms signed in: %v, %v", rooms, err)
	}
}

// connected is the change of a member named name connecting to room.
func connected(room, name string) broker.MemberChange {
	return broker.MemberChange{Room: room, Skeleton: name, Member: &broker.Member{Room: room, Name: name, Skeleton: name}}
}

// roomInDirectory returns a service whose directory has a room of n
// members (m0, m1, ...) on other nodes, and the room's name.
func roomInDirectory(tb testing.TB, n int) (*Service, string) {
	s := New(Config{Broker: openBroker(tb, broker.Options{}), Logger: slog.New(slog.DiscardHandler)})
	for i := range n {
		s.dir.apply(connected("big", fmt.Sprint("m", i)))
	}
	return s, "big"
}

// A room of 10,000 members is listed a bounded page at a time, each with
// the total; paging visits every member once, in order, even as members
// come and go between pages.
func TestListMembersPagesThroughALargeRoom(t *testing.T) {
	s, r := roomInDirectory(t, 10000)
	ctx := context.Background()
	first, err := s.ListMembers(ctx, &chatpb.ListMembersRequest{Room: r})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.GetMembers()) != DefaultPageSize || first.GetTotal() != 10000 {
		t.Fatalf("first page: %d members, total %d", len(first.GetMembers()), first.GetTotal())
	}

	var all []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		resp, err := s.ListMembers(ctx, &chatpb.ListMembersRequest{Room: r, PageSize: MaxPageSize, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, memberNames(resp)...)
		if pages == 0 {
			// Between pages the first member on the page leaves and one
			// sorting after everyone joins: neither shifts the paging.
			s.dir.apply(broker.MemberChange{Room: r, Skeleton: "m0"})
			s.dir.apply(connected(r, "zz-late"))
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(all) != 10001 || all[len(all)-1] != "zz-late" || !slices.IsSortedFunc(all, func(a, b string) int { return keyOf(a).compare(keyOf(b)) }) {
		t.Fatalf("paged through %d members, last %q", len(all), all[len(all)-1])
	}
	if len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatal("a member was listed twice")
	}
}

// BenchmarkListMembers measures one page of a 10,000-member room.
func BenchmarkListMembers(b *testing.B) {
	s, r := roomInDirectory(b, 10000)
	req := &chatpb.ListMembersRequest{Room: r}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ListMembers(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
