package chat

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// Page sizes of ListMembers and ListRooms: a request for 0 gets
// DefaultPageSize, one for more than MaxPageSize is refused. An answer is
// bounded whatever the room's size; a 10,000-member room is listed in
// pages, each with the total.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page tokens say where the previous page ended: the kind of list and the
// last name on it, base64url-encoded. They are opaque to clients, and a
// page asked for after the room changed starts after that name, so no
// member still there is skipped or listed twice.
const (
	membersToken = "members:"
	roomsToken   = "rooms:"
)

// ListMembers implements chatpb.ChatServiceServer: the members connected
// to a room (on any node), sorted by name, a page at a time.
// A room nobody is in has no members; it is not an error. With sign-in
// required, the call must carry a valid session token, as a stream must.
func (s *Service) ListMembers(ctx context.Context, req *chatpb.ListMembersRequest) (*chatpb.ListMembersResponse, error) {
	if _, err := s.signedInUser(ctx); err != nil {
		return nil, err
	}
	roomName, err := s.cleanName("room", req.GetRoom())
	if err != nil {
		return nil, err
	}
	if roomName == "" {
		roomName = chatwire.DefaultRoom
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := parsePageToken(req.GetPageToken(), membersToken)
	if err != nil {
		return nil, err
	}

	all, err := s.memberNames(ctx, roomName)
	if err != nil {
		return nil, err
	}
	page, next := pageOf(all, after, size, func(name string) string { return name })
	resp := &chatpb.ListMembersResponse{Total: int32(len(all)), Members: make([]*chatpb.Member, len(page))}
	for i, name := range page {
		resp.Members[i] = &chatpb.Member{Name: name}
	}
	if next != "" {
		resp.NextPageToken = pageToken(membersToken, next)
	}
	return resp, nil
}

// ListRooms implements chatpb.ChatServiceServer: the rooms with members
// connected (on any node), sorted by name, with how many each
// has, a page at a time. Rooms with only history, or only members within
// their grace period, are not listed. With sign-in required, the call must
// carry a valid session token.
func (s *Service) ListRooms(ctx context.Context, req *chatpb.ListRoomsRequest) (*chatpb.ListRoomsResponse, error) {
	if _, err := s.signedInUser(ctx); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := parsePageToken(req.GetPageToken(), roomsToken)
	if err != nil {
		return nil, err
	}

	all, err := s.roomCounts(ctx)
	if err != nil {
		return nil, err
	}
	page, next := pageOf(all, after, size, (*chatpb.Room).GetName)
	resp := &chatpb.ListRoomsResponse{Rooms: page, Total: int32(len(all))}
	if next != "" {
		resp.NextPageToken = pageToken(roomsToken, next)
	}
	return resp, nil
}

// current waits until the directory has every change of the names taken
// made before the call, so that a member who has its welcome is listed.
func (s *Service) current(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	rev, err := s.broker.MembersRevision(ctx)
	if err == nil {
		err = s.dir.upTo(ctx, rev)
	}
	if err != nil {
		s.log.Error("cannot bring the members directory up to date", "err", err)
		return errBroker
	}
	return nil
}

// memberNames returns the names of the members connected to room, on
// every node.
func (s *Service) memberNames(ctx context.Context, roomName string) ([]string, error) {
	if err := s.current(ctx); err != nil {
		return nil, err
	}
	return s.dir.names(roomName), nil
}

// roomCounts returns the rooms with members connected, on every node, and
// how many each has.
func (s *Service) roomCounts(ctx context.Context) ([]*chatpb.Room, error) {
	if err := s.current(ctx); err != nil {
		return nil, err
	}
	return s.dir.counts(), nil
}

// pageSize checks a requested page size.
func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, status.Errorf(codes.InvalidArgument, "page_size is %d; ask for 1 to %d (0 means %d)", n, MaxPageSize, DefaultPageSize)
	}
	return int(n), nil
}

// errBadPageToken refuses a page token the server did not give out for
// this list.
var errBadPageToken = status.Error(codes.InvalidArgument,
	"page_token is not one this server gave for this list; pass the next_page_token of the previous answer, or none for the first page")

// pageToken returns the token of the page after the one ending at name.
func pageToken(kind, name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + name))
}

// parsePageToken returns the name the previous page ended at, or "" for
// no token.
func parsePageToken(token, kind string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", errBadPageToken
	}
	name, ok := strings.CutPrefix(string(raw), kind)
	if !ok || name == "" || !utf8.ValidString(name) {
		return "", errBadPageToken
	}
	return name, nil
}

// sortKey orders names for people: case-insensitively, then exactly, so
// that the order is total (names in one list are distinct).
type sortKey struct{ folded, name string }

func keyOf(name string) sortKey { return sortKey{strings.ToLower(name), name} }

func (k sortKey) compare(o sortKey) int {
	return cmp.Or(cmp.Compare(k.folded, o.folded), cmp.Compare(k.name, o.name))
}

// pageOf returns the at most size items of all, by name, that come after
// the name after ("" for the first page), and the name to continue after
// ("" when nothing is left). It keeps only the size first items while it
// looks through all (a max-heap), so a page of a 10,000-member room costs
// one pass, not a sort of the room.
func pageOf[T any](all []T, after string, size int, name func(T) string) (page []T, next string) {
	from := keyOf(after)
	h := make(maxHeap[T], 0, min(size, len(all)))
	more := false
	for _, it := range all {
		k := keyOf(name(it))
		switch {
		case after != "" && k.compare(from) <= 0:
		case len(h) < size:
			h.push(keyed[T]{k, it})
		case k.compare(h[0].key) < 0:
			h[0] = keyed[T]{k, it}
			h.down(0)
			more = true
		default:
			more = true
		}
	}
	slices.SortFunc(h, func(a, b keyed[T]) int { return a.key.compare(b.key) })
	page = make([]T, len(h))
	for i, e := range h {
		page[i] = e.it
	}
	if more {
		next = name(page[len(page)-1])
	}
	return page, next
}

// keyed is an item with its sort key.
type keyed[T any] struct {
	key sortKey
	it  T
}

// maxHeap keeps the greatest key at index 0.
type maxHeap[T any] []keyed[T]

func (h *maxHeap[T]) push(e keyed[T]) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent].key.compare(s[i].key) >= 0 {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

func (h maxHeap[T]) down(i int) {
	for {
		largest := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h) && h[c].key.compare(h[largest].key) > 0 {
				largest = c
			}
		}
		if largest == i {
			return
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
}
