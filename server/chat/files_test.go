package chat

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/filegrant"
)

var testFileKey = mustKey("0123456789abcdef0123456789abcdef")

func mustKey(secret string) *filegrant.Key {
	k, err := filegrant.NewKey([]byte(secret))
	if err != nil {
		panic(err)
	}
	return k
}

// filer is a ChatStream member with the member token of its welcome.
type filer struct {
	*client
	token string
	api   chatpb.ChatServiceClient
}

func (ts *testServer) joinFiler(t *testing.T, user, room string) *filer {
	t.Helper()
	cc := ts.conn(t)
	c := newClient(t, ts.open(t, cc, chatwire.UserKey, user, chatwire.RoomKey, room))
	w := c.expect(chatpb.ChatMessage_KIND_SYSTEM, "")
	return &filer{client: c, token: w.GetMemberToken(), api: chatpb.NewChatServiceClient(cc)}
}

func (f *filer) offer(name string, size int64) (*chatpb.OfferFileResponse, error) {
	return f.api.OfferFile(context.Background(), &chatpb.OfferFileRequest{MemberToken: f.token, Name: name, Size: size})
}

func (f *filer) share(receipt string) (*chatpb.ShareFileResponse, error) {
	return f.api.ShareFile(context.Background(), &chatpb.ShareFileRequest{MemberToken: f.token, Receipt: receipt})
}

func (f *filer) get(id uint64) (*chatpb.GetFileResponse, error) {
	return f.api.GetFile(context.Background(), &chatpb.GetFileRequest{MemberToken: f.token, FileId: id})
}

// upload does what StreamingService does with an upload grant: it checks
// it and answers a receipt for bytes of sha.
func upload(t *testing.T, grant, sha string) string {
	t.Helper()
	c, err := testFileKey.Verify(grant, filegrant.Upload, time.Now())
	if err != nil {
		t.Fatalf("upload grant: %v", err)
	}
	c.Kind, c.SHA256 = filegrant.Receipt, sha
	return testFileKey.Sign(c)
}

// shareFile offers, "uploads" and shares a file as f.
func (f *filer) shareFile(t *testing.T, name string, size int64, sha string) *chatpb.SharedFile {
	t.Helper()
	offer, err := f.offer(name, size)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := f.share(upload(t, offer.GetUploadGrant(), sha))
	if err != nil {
		t.Fatal(err)
	}
	return shared.GetFile()
}

func wantCode(t *testing.T, err error, code codes.Code, text string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), text) {
		t.Fatalf("got %v, want %s containing %q", err, code, text)
	}
}

func TestAFileSharedIsToldToTheRoomAndOnlyItsMembersGetIt(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey})
	alice := ts.joinFiler(t, "Alice", "general")
	bob := ts.joinFiler(t, "Bob", "general")
	alice.expect(chatpb.ChatMessage_KIND_JOIN, "Bob joined the room")
	carol := ts.joinFiler(t, "Carol", "other")
	if alice.token == "" || bob.token == "" {
		t.Fatal("a ChatStream welcome on a server that shares files carries no member_token")
	}

	sha := strings.Repeat("ab12", 16)
	shared := alice.shareFile(t, "report.pdf", 1_234_567, sha)
	want := "Alice shared report.pdf (1.2 MB, sha256 ab12ab12…) — /get " + itoa(shared.GetId())
	for _, c := range []*filer{alice, bob} {
		m := c.expect(chatpb.ChatMessage_KIND_FILE, want)
		if m.GetUser() != "Alice" || m.GetFile().GetSha256() != sha || m.GetFile().GetRoom() != "general" || m.GetSeq() == 0 {
			t.Fatalf("file notice %v", m)
		}
	}

	got, err := bob.get(shared.GetId())
	if err != nil {
		t.Fatal(err)
	}
	c, err := testFileKey.Verify(got.GetDownloadGrant(), filegrant.Download, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.File != shared.GetId() || c.SHA256 != sha || c.Size != 1_234_567 || c.Name != "report.pdf" || c.User != "Bob" {
		t.Fatalf("download grant %+v", c)
	}

	// Another room's member, and a guessed id, learn nothing.
	_, err = carol.get(shared.GetId())
	wantCode(t, err, codes.NotFound, "no file "+itoa(shared.GetId())+" was shared in room other")
	_, err = carol.get(shared.GetId() + 1000)
	wantCode(t, err, codes.NotFound, "was shared in room other")

	// Kept in history: a member joining later sees it.
	dave := ts.joinFiler(t, "Dave", "general")
	dave.expect(chatpb.ChatMessage_KIND_HISTORY_START, "")
	dave.expect(chatpb.ChatMessage_KIND_FILE, want)
}

func TestFileLimitsAndQuota(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey, MaxFileBytes: 1000, FileQuotaBytes: 1500})
	alice := ts.joinFiler(t, "Alice", "general")
	_, err := alice.offer("big.bin", 1001)
	wantCode(t, err, codes.ResourceExhausted, "the file is 1.0 kB (1001 bytes); this server takes files of at most 1.0 kB (1000 bytes)")
	_, err = alice.offer("../etc/passwd", 10)
	wantCode(t, err, codes.InvalidArgument, "file name must not contain '/'")
	_, err = alice.offer(".hidden", 10)
	wantCode(t, err, codes.InvalidArgument, "must not start with '.'")
	_, err = alice.offer("neg", -1)
	wantCode(t, err, codes.InvalidArgument, "size must not be negative")

	alice.shareFile(t, "a.bin", 1000, strings.Repeat("0", 64))
	_, err = alice.offer("b.bin", 600)
	wantCode(t, err, codes.ResourceExhausted, "only 500 bytes of your quota of 1.5 kB (1500 bytes) is left")
	// Two offers within the quota, shared one after the other: the second
	// would pass it and is refused when shared.
	o1, err := alice.offer("c.bin", 400)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := alice.offer("d.bin", 400)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.share(upload(t, o1.GetUploadGrant(), strings.Repeat("1", 64))); err != nil {
		t.Fatal(err)
	}
	_, err = alice.share(upload(t, o2.GetUploadGrant(), strings.Repeat("2", 64)))
	wantCode(t, err, codes.ResourceExhausted, "over your quota")
}

func TestShareFileChecksTheReceipt(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey})
	alice := ts.joinFiler(t, "Alice", "general")
	bob := ts.joinFiler(t, "Bob", "general")
	carol := ts.joinFiler(t, "Carol", "other")
	offer, err := alice.offer("x.txt", 3)
	if err != nil {
		t.Fatal(err)
	}
	receipt := upload(t, offer.GetUploadGrant(), strings.Repeat("c", 64))

	_, err = alice.share(offer.GetUploadGrant())
	wantCode(t, err, codes.PermissionDenied, "wrong kind")
	parts := strings.Split(receipt, ".")
	_, err = alice.share(parts[0] + "." + parts[1] + "x." + parts[2])
	wantCode(t, err, codes.PermissionDenied, "receipt refused")
	_, err = alice.share(mustKey(strings.Repeat("o", 32)).Sign(filegrant.Claims{Kind: filegrant.Receipt, Expires: time.Now().Add(time.Minute).Unix()}))
	wantCode(t, err, codes.PermissionDenied, "signature does not match")
	_, err = bob.share(receipt)
	wantCode(t, err, codes.PermissionDenied, "another member's offer")
	_, err = carol.share(receipt)
	wantCode(t, err, codes.PermissionDenied, "another member's offer")

	if _, err := alice.share(receipt); err != nil {
		t.Fatal(err)
	}
	_, err = alice.share(receipt)
	wantCode(t, err, codes.AlreadyExists, "shared already")
}

func TestFileRPCsNeedAKeyAndAMembership(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.joinFiler(t, "Alice", "general")
	if alice.token != "" {
		t.Fatal("a ChatStream welcome carries a member_token on a server that does not share files")
	}
	_, err := alice.offer("a.txt", 1)
	wantCode(t, err, codes.FailedPrecondition, "-file-key-file")
	_, err = alice.get(1)
	wantCode(t, err, codes.FailedPrecondition, "-file-key-file")

	keyed := startServer(t, Config{FileKey: testFileKey})
	stranger := &filer{api: chatpb.NewChatServiceClient(keyed.conn(t)), token: "guessed"}
	_, err = stranger.get(1)
	wantCode(t, err, codes.NotFound, "no membership has this member_token")
	stranger.token = ""
	_, err = stranger.offer("a.txt", 1)
	wantCode(t, err, codes.InvalidArgument, "member_token is required")
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// A muted member can neither offer nor share a file until the mute ends;
// reading (GetFile) is not posting and stays open to it.
func TestAMutedMemberCannotShareAFile(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk, FileKey: testFileKey})
	clk := &clock{now: time.Now()}
	ts.svc.now = clk.Now
	alice := ts.signedIn(t, "tok-alice", "red")
	cc := ts.conn(t)
	bobStream := newClient(t, ts.open(t, cc, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.RoomKey, "red"))
	bob := &filer{client: bobStream, token: bobStream.expect(kSys, "").GetMemberToken(), api: chatpb.NewChatServiceClient(cc)}
	alice.expect(kJoin, "bob joined the room")
	ctx, cancel := as("tok-alice")
	defer cancel()
	if _, err := chatpb.NewChatServiceClient(ts.conn(t)).Mute(ctx, &chatpb.MuteRequest{Room: "red", User: "bob", Duration: durationpb.New(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	bobCtx, bobDone := as("tok-bob")
	defer bobDone()
	offer := func() error {
		_, err := bob.api.OfferFile(bobCtx, &chatpb.OfferFileRequest{MemberToken: bob.token, Name: "notes.txt", Size: 5})
		return err
	}
	if err := offer(); code(err) != codes.PermissionDenied ||
		!strings.HasPrefix(status.Convert(err).Message(), "Not sent: you are muted in red") {
		t.Fatalf("OfferFile while muted: %v; want PERMISSION_DENIED", err)
	}
	if _, err := bob.api.ShareFile(bobCtx, &chatpb.ShareFileRequest{MemberToken: bob.token, Receipt: "v1.forged.receipt"}); code(err) != codes.PermissionDenied {
		t.Fatalf("ShareFile while muted: %v; want PERMISSION_DENIED", err)
	}
	if _, err := bob.api.GetFile(bobCtx, &chatpb.GetFileRequest{MemberToken: bob.token, FileId: 999}); code(err) != codes.NotFound {
		t.Fatalf("GetFile while muted: %v; want NOT_FOUND (reading is not posting)", err)
	}
	clk.add(11 * time.Minute)
	if err := offer(); err != nil {
		t.Fatalf("OfferFile after the mute: %v", err)
	}
}
