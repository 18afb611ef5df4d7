package chat

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
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
	// session is its sign-in token; "" when it is not signed in.
	session string
}

// ctx is the context of its file RPCs: signed in, if it is.
func (f *filer) ctx() context.Context {
	if f.session == "" {
		return context.Background()
	}
	return metadata.AppendToOutgoingContext(context.Background(), chatwire.AuthorizationKey, "Bearer "+f.session)
}

// joinSignedIn joins room signed in with session (see startAuth).
func (ts *testServer) joinSignedIn(t *testing.T, session, room string) *filer {
	t.Helper()
	cc := ts.conn(t)
	c := newClient(t, ts.open(t, cc, chatwire.AuthorizationKey, "Bearer "+session, chatwire.RoomKey, room))
	w := c.expect(chatpb.ChatMessage_KIND_SYSTEM, "")
	return &filer{client: c, token: w.GetMemberToken(), api: chatpb.NewChatServiceClient(cc), session: session}
}

func (ts *testServer) joinFiler(t *testing.T, user, room string) *filer {
	t.Helper()
	cc := ts.conn(t)
	c := newClient(t, ts.open(t, cc, chatwire.UserKey, user, chatwire.RoomKey, room))
	w := c.expect(chatpb.ChatMessage_KIND_SYSTEM, "")
	return &filer{client: c, token: w.GetMemberToken(), api: chatpb.NewChatServiceClient(cc)}
}

func (f *filer) offer(name string, size int64) (*chatpb.OfferFileResponse, error) {
	return f.api.OfferFile(f.ctx(), &chatpb.OfferFileRequest{MemberToken: f.token, Name: name, Size: size})
}

func (f *filer) share(receipt string) (*chatpb.ShareFileResponse, error) {
	return f.api.ShareFile(f.ctx(), &chatpb.ShareFileRequest{MemberToken: f.token, Receipt: receipt})
}

func (f *filer) get(id uint64) (*chatpb.GetFileResponse, error) {
	return f.api.GetFile(f.ctx(), &chatpb.GetFileRequest{MemberToken: f.token, FileId: id})
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
	wantCode(t, err, codes.ResourceExhausted, "only 500 bytes of your address's quota of 1.5 kB (1500 bytes) is left "+
		"(members who are not signed in share one quota per address)")
	// An offer counts at once, shared or not (its bytes may be stored
	// whether or not it is shared): a second offer over what is left is
	// refused, and sharing the first counts nothing more.
	o1, err := alice.offer("c.bin", 400)
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.offer("d.bin", 400)
	wantCode(t, err, codes.ResourceExhausted, "only 100 bytes of your address's quota")
	if _, err := alice.share(upload(t, o1.GetUploadGrant(), strings.Repeat("1", 64))); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.offer("e.bin", 100); err != nil {
		t.Fatalf("the last 100 bytes of the quota: %v", err)
	}
}

// Without sign-in, anyone may take any name: the files of the members who
// are not signed in count against their address (over bufconn every
// client has the same one), so a fresh name brings no fresh quota.
func TestAFreshNameDoesNotBringAFreshQuota(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 1500})
	alice := ts.joinFiler(t, "Alice", "general")
	alice.shareFile(t, "a.bin", 1000, strings.Repeat("0", 64))
	alice.leave()
	mallory := ts.joinFiler(t, "Mallory", "other")
	_, err := mallory.offer("b.bin", 600)
	wantCode(t, err, codes.ResourceExhausted, "only 500 bytes of your address's quota")
	mallory.shareFile(t, "c.bin", 500, strings.Repeat("1", 64))
}

// Signed-in users keep a quota each, wherever they connect from.
func TestSignedInUsersHaveAQuotaEach(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk, FileKey: testFileKey, FileQuotaBytes: 1500})
	alice := ts.joinSignedIn(t, "tok-alice", "general")
	bob := ts.joinSignedIn(t, "tok-bob", "general")
	alice.shareFile(t, "a.bin", 1000, strings.Repeat("0", 64))
	bob.shareFile(t, "b.bin", 1000, strings.Repeat("1", 64))
	_, err := alice.offer("c.bin", 600)
	wantCode(t, err, codes.ResourceExhausted, "only 500 bytes of your quota of 1.5 kB (1500 bytes) is left")
	if strings.Contains(status.Convert(err).Message(), "address") {
		t.Fatalf("a signed-in user is told of an address quota: %v", err)
	}
}

// An upload grant names the account the file counts against and its
// quota, so that StreamingService, which keeps the bytes, holds them to the
// same quota however the offers come and go here.
func TestTheUploadGrantCarriesTheAccountAndItsQuota(t *testing.T) {
	// grantOf offers a file as f and returns its upload grant's claims,
	// checked against the account the offer is counted against here.
	grantOf := func(ts *testServer, f *filer) filegrant.Claims {
		t.Helper()
		offer, err := f.offer("a.bin", 10)
		if err != nil {
			t.Fatal(err)
		}
		c, err := testFileKey.Verify(offer.GetUploadGrant(), filegrant.Upload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := ts.svc.broker.File(context.Background(), offer.GetFileId())
		if err != nil {
			t.Fatal(err)
		}
		if c.Account != rec.Account().Key() {
			t.Fatalf("the grant's account %q is not the one the offer counts against, %q", c.Account, rec.Account().Key())
		}
		return c
	}

	ts := startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 1500})
	if c := grantOf(ts, ts.joinFiler(t, "Alice", "general")); !strings.HasPrefix(c.Account, "a.") || c.Quota != 1500 {
		t.Fatalf("without sign-in: account %q quota %d, want an address's and 1500", c.Account, c.Quota)
	}

	_, chk, _ := startAuth(t)
	ts = startServer(t, Config{Auth: chk, FileKey: testFileKey, FileQuotaBytes: 2500})
	c := grantOf(ts, ts.joinSignedIn(t, "tok-alice", "general"))
	if want := broker.UserAccount("alice").Key(); c.Account != want || c.Quota != 2500 {
		t.Fatalf("signed in: account %q quota %d, want %q and 2500", c.Account, c.Quota, want)
	}

	ts = startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 0})
	if c := grantOf(ts, ts.joinFiler(t, "Alice", "general")); c.Account == "" || c.Quota != 0 {
		t.Fatalf("without a quota: account %q quota %d, want an account and 0", c.Account, c.Quota)
	}
}

// fileAccount counts a member who is not signed in by its address, an
// IPv6 /64 as one address, as the other per-address limits do.
func TestFilesCountAgainstTheAddressWithoutSignIn(t *testing.T) {
	svc := startServer(t, Config{FileKey: testFileKey}).svc
	from := func(addr string) broker.Account {
		t.Helper()
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		acct, _ := svc.fileAccount(peer.NewContext(context.Background(), &peer.Peer{Addr: a}), "Alice")
		return acct
	}
	if from("[2001:db8:1:2::1]:4000") != from("[2001:db8:1:2:ffff::9]:5000") {
		t.Fatal("two addresses of one IPv6 /64 count apart")
	}
	if from("[2001:db8:1:2::1]:4000") == from("[2001:db8:1:3::1]:4000") {
		t.Fatal("two IPv6 /64s count as one")
	}
	if from("10.0.0.7:4000") != from("10.0.0.7:5000") || from("10.0.0.7:4000") == from("10.0.0.8:4000") {
		t.Fatal("IPv4 addresses do not count one each")
	}
	if from("10.0.0.7:4000") == broker.UserAccount("Alice") {
		t.Fatal("without sign-in, the name counts")
	}
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
