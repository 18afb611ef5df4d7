package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/bytesize"
	"github.com/polychat/polychat/internal/filename"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/filegrant"
)

// File sharing (docs/chat-protocol.md, "File sharing"): OfferFile grants
// an upload to StreamingService, ShareFile tells the room about the file
// the upload's receipt names, GetFile grants a download. The bytes never
// pass through the chat server; the grants are what ties a file to the
// room it was shared in, so a file id alone is worth nothing.

var errNoFiles = status.Error(codes.FailedPrecondition,
	"this server does not share files: it was started without a file key (CHAT_FILE_KEY, or -file-key-file / CHAT_FILE_KEY_FILE)")

// OfferFile implements chatpb.ChatServiceServer.
func (s *Service) OfferFile(ctx context.Context, req *chatpb.OfferFileRequest) (*chatpb.OfferFileResponse, error) {
	m, log, err := s.fileMember(ctx, req.GetMemberToken(), true)
	if err != nil {
		return nil, err
	}
	name, size := req.GetName(), req.GetSize()
	if err := filename.Check(name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	switch {
	case size < 0:
		return nil, status.Errorf(codes.InvalidArgument, "size must not be negative (%d)", size)
	case size > s.cfg.MaxFileBytes:
		return nil, status.Errorf(codes.ResourceExhausted, "the file is %s; this server takes files of at most %s",
			exactBytes(size), exactBytes(s.cfg.MaxFileBytes))
	}
	user := m.currentName()
	acct, addr := s.fileAccount(ctx, user)
	ctx, cancel := brokerCtx()
	defer cancel()
	quota := s.cfg.FileQuotaBytes
	if quota > 0 {
		used, err := s.broker.FileUsage(ctx, acct)
		if err != nil {
			log.Error("cannot read a file quota's usage", "err", err)
			return nil, errBroker
		}
		if used+size > quota {
			return nil, quotaError(used, size, quota, addr != "")
		}
	}
	id, err := s.broker.NewFileID(ctx)
	if err != nil {
		log.Error("cannot take a file id", "err", err)
		return nil, errBroker
	}
	offer := &broker.File{ID: id, Epoch: s.epoch, Name: name, Size: size, User: user, Room: m.room.name,
		Address: addr, OfferedAt: time.Now()}
	switch err := s.broker.OfferFile(ctx, offer, quota); {
	case errors.Is(err, broker.ErrQuota):
		owner, why := quotaOwner(addr != "")
		return nil, status.Errorf(codes.ResourceExhausted,
			"offering %s more would take %s over the quota of %s (other offers came first); nothing was offered%s",
			exactBytes(size), owner, exactBytes(quota), why)
	case err != nil:
		log.Error("cannot keep a file offer", "err", err)
		return nil, errBroker
	}
	expires := time.Now().Add(filegrant.Lifetime)
	grant := s.cfg.FileKey.Sign(filegrant.Claims{
		Kind: filegrant.Upload, Epoch: s.epoch, File: id, User: user, Room: m.room.name,
		Name: name, Size: size, Expires: expires.Unix(), Account: acct.Key(), Quota: quota,
	})
	log.Info("file offered", "room", m.room.name, "user", user, "file", id, "bytes", size)
	return &chatpb.OfferFileResponse{FileId: id, UploadGrant: grant, ExpiresAt: timestamppb.New(expires)}, nil
}

// ShareFile implements chatpb.ChatServiceServer.
func (s *Service) ShareFile(ctx context.Context, req *chatpb.ShareFileRequest) (*chatpb.ShareFileResponse, error) {
	m, log, err := s.fileMember(ctx, req.GetMemberToken(), true)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.FileKey.Verify(req.GetReceipt(), filegrant.Receipt, time.Now())
	if err != nil {
		return nil, status.Errorf(codes.PermissionDenied, "receipt refused: %v; offer and upload the file again", err)
	}
	user := m.currentName()
	if c.Epoch != s.epoch || c.Room != m.room.name || c.User != user {
		return nil, status.Error(codes.PermissionDenied,
			"this receipt is for another member's offer (or another room's); offer and upload the file again")
	}
	// The offer's record says what the file counts against; the caller's
	// account only counts a file whose offer is no longer kept.
	_, addr := s.fileAccount(ctx, user)
	f := &broker.File{ID: c.File, Epoch: c.Epoch, Name: c.Name, Size: c.Size, SHA256: c.SHA256,
		User: user, Room: m.room.name, Address: addr, SharedAt: time.Now()}
	bctx, cancel := brokerCtx()
	err = s.broker.ShareFile(bctx, f, s.cfg.FileQuotaBytes)
	cancel()
	switch {
	case errors.Is(err, broker.ErrFileExists):
		return nil, status.Errorf(codes.AlreadyExists, "file %d is shared already", f.ID)
	case errors.Is(err, broker.ErrQuota):
		owner, why := quotaOwner(addr != "")
		return nil, status.Errorf(codes.ResourceExhausted,
			"sharing %s more would take %s over the quota of %s; nothing was shared%s",
			exactBytes(f.Size), owner, exactBytes(s.cfg.FileQuotaBytes), why)
	case err != nil:
		log.Error("cannot keep a shared file", "err", err)
		return nil, errBroker
	}
	shared := sharedFile(f)
	if err := s.tellFile(m, shared, log); err != nil {
		return nil, err
	}
	log.Info("file shared", "room", f.Room, "user", user, "file", f.ID, "bytes", f.Size)
	return &chatpb.ShareFileResponse{File: shared}, nil
}

// GetFile implements chatpb.ChatServiceServer.
func (s *Service) GetFile(ctx context.Context, req *chatpb.GetFileRequest) (*chatpb.GetFileResponse, error) {
	m, log, err := s.fileMember(ctx, req.GetMemberToken(), false)
	if err != nil {
		return nil, err
	}
	id := req.GetFileId()
	bctx, cancel := brokerCtx()
	f, err := s.broker.File(bctx, id)
	cancel()
	if err != nil && !errors.Is(err, broker.ErrFileNotFound) {
		log.Error("cannot read a shared file", "err", err)
		return nil, errBroker
	}
	// Another room's file, and one only offered, are answered as one that
	// does not exist: ids are counted, and saying which exist would tell
	// what other rooms share.
	if f == nil || f.Room != m.room.name || !f.Shared() {
		return nil, s.noFile(id, m.room.name)
	}
	expires := time.Now().Add(filegrant.Lifetime)
	grant := s.cfg.FileKey.Sign(filegrant.Claims{
		Kind: filegrant.Download, Epoch: f.Epoch, File: f.ID, User: m.currentName(), Room: f.Room,
		Name: f.Name, Size: f.Size, SHA256: f.SHA256, Expires: expires.Unix(),
	})
	log.Info("file granted", "room", f.Room, "user", m.currentName(), "file", f.ID)
	return &chatpb.GetFileResponse{File: sharedFile(f), DownloadGrant: grant, ExpiresAt: timestamppb.New(expires)}, nil
}

// fileMember returns the member token names for a file RPC, after checking
// the server shares files and, for an RPC that posts to the room (offering
// and sharing a file), that the member is not muted there. A banned user
// has no membership to name; a muted one may still download.
func (s *Service) fileMember(ctx context.Context, token string, posts bool) (*member, *slog.Logger, error) {
	if s.cfg.FileKey == nil {
		return nil, nil, errNoFiles
	}
	m, log, err := s.membership(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if posts {
		if err := s.checkMuted(m); err != nil {
			return nil, nil, err
		}
	}
	return m, log, nil
}

// tellFile tells m's room, m included, that f was shared, through the
// broker, which keeps it in the history like a text.
func (s *Service) tellFile(m *member, f *chatpb.SharedFile, log *slog.Logger) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.left || r.closed || r.link == nil {
		return errMembershipEnded
	}
	msg := s.message(r.name, f.GetUser(), chatpb.ChatMessage_KIND_FILE, fileNotice(f), nil)
	msg.File = f
	h, stored := s.holdLocked(r, msg, nil)
	r.link.Publish(msg, s.noticeOrigin(), func(err error) {
		if err != nil {
			log.Error("cannot send a file notice to the broker", "room", r.name, "err", err)
			r.mu.Lock()
			h.ready = true
			s.releaseHeldLocked(r)
			r.mu.Unlock()
			return
		}
		stored()
	})
	return nil
}

func sharedFile(f *broker.File) *chatpb.SharedFile {
	return &chatpb.SharedFile{Id: f.ID, Name: f.Name, Size: f.Size, Sha256: f.SHA256, User: f.User, Room: f.Room}
}

// fileNotice is the readable text of a KIND_FILE message, which is all a
// client that does not know the kind shows.
func fileNotice(f *chatpb.SharedFile) string {
	sum := f.GetSha256()
	if len(sum) > 8 {
		sum = sum[:8] + "…"
	}
	return fmt.Sprintf("%s shared %s (%s, sha256 %s) — /get %d", f.GetUser(), f.GetName(), bytesize.Human(f.GetSize()), sum, f.GetId())
}

// fileAccount returns what the files user offers count against, and the
// address of the call when that is what they count against: with sign-in,
// the signed-in user; without, the client address (limits.IP: an IPv6 /64
// is one address), since anyone may take any name and so a fresh quota.
func (s *Service) fileAccount(ctx context.Context, user string) (acct broker.Account, addr string) {
	if s.cfg.Auth != nil {
		return broker.UserAccount(user), ""
	}
	_, ip := peerOf(ctx)
	return broker.AddressAccount(ip), ip
}

// perAddress explains a quota counted by address.
const perAddress = " (members who are not signed in share one quota per address)"

// quotaOwner names, for the member, what its files count against, and
// why, when it is its address.
func quotaOwner(byAddress bool) (owner, why string) {
	if byAddress {
		return "your address", perAddress
	}
	return "you", ""
}

func quotaError(used, size, quota int64, byAddress bool) error {
	owner, why := "your quota", ""
	if byAddress {
		owner, why = "your address's quota", perAddress
	}
	return status.Errorf(codes.ResourceExhausted, "the file is %s but only %s of %s of %s is left%s",
		exactBytes(size), exactBytes(max(quota-used, 0)), owner, exactBytes(quota), why)
}

// noFile answers a GetFile for id, not shared in room or no longer kept.
func (s *Service) noFile(id uint64, room string) error {
	if s.cfg.FileRetention <= 0 {
		return status.Errorf(codes.NotFound, "no file %d was shared in room %s", id, room)
	}
	return status.Errorf(codes.NotFound, "no file %d was shared in room %s, or it has expired: shared files are kept for %s",
		id, room, days(s.cfg.FileRetention))
}

// days writes a retention period as people say it: 30 days, 1 day, or as
// the commands take durations (1h30m) when not whole days.
func days(d time.Duration) string {
	switch n := d / (24 * time.Hour); {
	case d%(24*time.Hour) != 0:
		return formatDuration(d)
	case n == 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", n)
	}
}

// exactBytes is bytesize.Human with the exact count when it rounds, for the
// limits a person compares sizes with.
func exactBytes(n int64) string {
	if n < 1000 {
		return bytesize.Human(n)
	}
	return fmt.Sprintf("%s (%d bytes)", bytesize.Human(n), n)
}
