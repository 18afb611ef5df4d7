package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	userv1 "github.com/polychat/polychat/gen/go/polychat/user/v1"
)

// The first sample user every new user database starts with.
const (
	sampleID    = 1
	sampleName  = "Alice Johnson"
	sampleEmail = "alice@example.com"
	sampleAge   = 28
)

// isoLayout is the server's created_at and timestamp format (ISO 8601,
// seconds, no zone).
const isoLayout = "2006-01-02T15:04:05"

func describeUser(u *userv1.UserResponse) string {
	return fmt.Sprintf("{id %d, name %q, email %q, age %d, created_at %q}",
		u.GetUserId(), u.GetName(), u.GetEmail(), u.GetAge(), u.GetCreatedAt())
}

// sameFields reports how u differs from the user req asked for, or nil.
func sameFields(u *userv1.UserResponse, req *userv1.CreateUserRequest) error {
	if u.GetName() != req.GetName() || u.GetEmail() != req.GetEmail() || u.GetAge() != req.GetAge() {
		return fmt.Errorf("got %s, want name %q, email %q, age %d",
			describeUser(u), req.GetName(), req.GetEmail(), req.GetAge())
	}
	if _, err := time.Parse(isoLayout, u.GetCreatedAt()); err != nil {
		return fmt.Errorf("user %d: created_at %q is not ISO 8601: %w", u.GetUserId(), u.GetCreatedAt(), err)
	}
	return nil
}

// getUser fetches id and checks it holds what req asked for.
func getUser(ctx context.Context, c *Clients, id int32, req *userv1.CreateUserRequest) (*userv1.UserResponse, error) {
	got, err := c.User().GetUser(ctx, &userv1.GetUserRequest{UserId: id})
	if err != nil {
		return nil, fmt.Errorf("GetUser(%d): %w", id, err)
	}
	if got.GetUserId() != id {
		return nil, fmt.Errorf("GetUser(%d) returned user_id %d", id, got.GetUserId())
	}
	if err := sameFields(got, req); err != nil {
		return nil, fmt.Errorf("GetUser(%d): %w", id, err)
	}
	return got, nil
}

func checkGetSampleUser(ctx context.Context, c *Clients) error {
	_, err := getUser(ctx, c, sampleID, &userv1.CreateUserRequest{Name: sampleName, Email: sampleEmail, Age: sampleAge})
	return err
}

func checkGetUnknownUser(ctx context.Context, c *Clients) error {
	const id = math.MaxInt32
	u, err := c.User().GetUser(ctx, &userv1.GetUserRequest{UserId: id})
	if err == nil {
		return fmt.Errorf("GetUser(%d) returned %s, want NOT_FOUND", id, describeUser(u))
	}
	if err := wantCode(err, codes.NotFound); err != nil {
		return fmt.Errorf("GetUser(%d): %w", id, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, strconv.Itoa(id)) {
		return fmt.Errorf("GetUser(%d): NOT_FOUND message %q does not name the id", id, msg)
	}
	return nil
}

func checkCreateThenGet(ctx context.Context, c *Clients) error {
	req := &userv1.CreateUserRequest{Name: "Interop Create", Email: c.email("create"), Age: 33}
	created, err := c.User().CreateUser(ctx, req)
	if err != nil {
		return fmt.Errorf("CreateUser(%s): %w", req.GetEmail(), err)
	}
	if created.GetUserId() <= 0 {
		return fmt.Errorf("CreateUser(%s) returned id %d, want a positive id", req.GetEmail(), created.GetUserId())
	}
	if err := sameFields(created, req); err != nil {
		return fmt.Errorf("CreateUser(%s): %w", req.GetEmail(), err)
	}
	got, err := getUser(ctx, c, created.GetUserId(), req)
	if err != nil {
		return fmt.Errorf("after CreateUser: %w", err)
	}
	if !proto.Equal(got, created) {
		return fmt.Errorf("GetUser(%d) = %s, CreateUser returned %s", created.GetUserId(), describeUser(got), describeUser(created))
	}
	return nil
}

func checkDuplicateEmail(ctx context.Context, c *Clients) error {
	first := &userv1.CreateUserRequest{Name: "Interop First", Email: c.email("dup"), Age: 40}
	if _, err := c.User().CreateUser(ctx, first); err != nil {
		return fmt.Errorf("first CreateUser(%s): %w", first.GetEmail(), err)
	}
	again := &userv1.CreateUserRequest{Name: "Interop Second", Email: first.GetEmail(), Age: 41}
	u, err := c.User().CreateUser(ctx, again)
	if err == nil {
		return fmt.Errorf("second CreateUser(%s) returned %s, want ALREADY_EXISTS", again.GetEmail(), describeUser(u))
	}
	if err := wantCode(err, codes.AlreadyExists); err != nil {
		return fmt.Errorf("second CreateUser(%s): %w", again.GetEmail(), err)
	}
	return nil
}

func checkInvalidEmail(ctx context.Context, c *Clients) error {
	req := &userv1.CreateUserRequest{Name: "Interop Invalid", Email: "not-an-email", Age: 30}
	u, err := c.User().CreateUser(ctx, req)
	if err == nil {
		return fmt.Errorf("CreateUser(%q) returned %s, want INVALID_ARGUMENT", req.GetEmail(), describeUser(u))
	}
	if err := wantCode(err, codes.InvalidArgument); err != nil {
		return fmt.Errorf("CreateUser(%q): %w", req.GetEmail(), err)
	}
	if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, "email:") {
		return fmt.Errorf("CreateUser(%q): INVALID_ARGUMENT message %q does not name the email field", req.GetEmail(), msg)
	}
	return nil
}

func checkListUsers(ctx context.Context, c *Clients) error {
	stream, err := c.User().ListUsers(ctx, &userv1.ListUsersRequest{Limit: 2})
	if err != nil {
		return fmt.Errorf("ListUsers(limit=2): %w", err)
	}
	var users []*userv1.UserResponse
	for {
		u, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("ListUsers(limit=2): after %d users: %w", len(users), err)
		}
		users = append(users, u)
		if len(users) > 2 {
			return fmt.Errorf("ListUsers(limit=2) sent a third user %s", describeUser(u))
		}
	}
	if len(users) != 2 {
		return fmt.Errorf("ListUsers(limit=2) sent %d users, want 2", len(users))
	}
	if users[0].GetUserId() != sampleID || users[0].GetName() != sampleName {
		return fmt.Errorf("ListUsers(limit=2) starts with %s, want user %d %q", describeUser(users[0]), sampleID, sampleName)
	}
	if users[1].GetUserId() <= users[0].GetUserId() {
		return fmt.Errorf("ListUsers(limit=2) ids not in increasing order: %d then %d", users[0].GetUserId(), users[1].GetUserId())
	}
	return nil
}

func checkBatchCreate(ctx context.Context, c *Clients) error {
	reqs := make([]*userv1.CreateUserRequest, 3)
	for i := range reqs {
		reqs[i] = &userv1.CreateUserRequest{
			Name:  fmt.Sprintf("Interop Batch %d", i+1),
			Email: c.email(fmt.Sprintf("batch-%d", i+1)),
			Age:   int32(20 + i),
		}
	}
	stream, err := c.User().BatchCreateUsers(ctx)
	if err != nil {
		return fmt.Errorf("BatchCreateUsers: %w", err)
	}
	for i, req := range reqs {
		if err := stream.Send(req); err != nil {
			// io.EOF means the server ended the call; CloseAndRecv says why.
			if _, rerr := stream.CloseAndRecv(); rerr != nil {
				err = rerr
			}
			return fmt.Errorf("BatchCreateUsers: send item %d: %w", i, err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("BatchCreateUsers: %w", err)
	}
	ids := resp.GetUserIds()
	if resp.GetUsersCreated() != 3 || len(ids) != 3 {
		return fmt.Errorf("BatchCreateUsers: users_created %d, user_ids %v; want 3 and 3 ids", resp.GetUsersCreated(), ids)
	}
	seen := make(map[int32]bool, len(ids))
	for i, id := range ids {
		if id <= 0 || seen[id] {
			return fmt.Errorf("BatchCreateUsers: user_ids %v are not distinct positive ids", ids)
		}
		seen[id] = true
		if _, err := getUser(ctx, c, id, reqs[i]); err != nil {
			return fmt.Errorf("batch item %d: %w", i, err)
		}
	}
	return nil
}

func checkStreamUsers(ctx context.Context, c *Clients) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.User().StreamUsers(ctx)
	if err != nil {
		return fmt.Errorf("StreamUsers: %w", err)
	}
	for i := range 3 {
		sent := &userv1.UserMessage{
			UserId:    int32(i + 1),
			Message:   fmt.Sprintf("interop %s message %d", c.RunID(), i+1),
			Timestamp: time.Now().Format(isoLayout),
		}
		if err := stream.Send(sent); err != nil {
			return fmt.Errorf("StreamUsers: send message %d: %w", i+1, err)
		}
		got, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("StreamUsers: answer to message %d: %w", i+1, err)
		}
		want := fmt.Sprintf("Server received: %s from user %d", sent.GetMessage(), sent.GetUserId())
		if got.GetUserId() != sent.GetUserId() || got.GetMessage() != want {
			return fmt.Errorf("StreamUsers: answer to message %d is user %d %q, want user %d %q",
				i+1, got.GetUserId(), got.GetMessage(), sent.GetUserId(), want)
		}
		if _, err := time.Parse(isoLayout, got.GetTimestamp()); err != nil {
			return fmt.Errorf("StreamUsers: answer %d timestamp %q is not ISO 8601: %w", i+1, got.GetTimestamp(), err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("StreamUsers: close send: %w", err)
	}
	if extra, err := stream.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("StreamUsers: unexpected fourth answer %q", extra.GetMessage())
		}
		return fmt.Errorf("StreamUsers: after close, want a clean end: %w", err)
	}
	return nil
}
