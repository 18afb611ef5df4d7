package chatclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	streamingv1 "github.com/polychat/polychat/gen/go/polychat/streaming/v1"
	"github.com/polychat/polychat/internal/bytesize"
	"github.com/polychat/polychat/internal/filename"
	"github.com/polychat/polychat/internal/textsafe"
)

// File sharing (docs/chat-protocol.md, "File sharing"): /send PATH offers
// the file to the chat server, uploads it to StreamingService under the
// grant, and shares the receipt; /get ID [DEST] asks the chat server for a
// download grant and downloads the file into the folder DEST. The bytes go
// to and from StreamingService only.

// FileHelpLines are what /help shows for /send and /get, after HelpLines
// (the page has no file commands, so they are not among the shared ones).
var FileHelpLines = []string{
	"/send PATH        share the file at PATH with the room",
	"/get ID [DEST]    download shared file ID into folder DEST (default: here, made if missing); --overwrite replaces a file",
}

// fileChunk is how much of a file goes in one upload message.
const fileChunk = 1 << 20

// parseFileCommand parses the rest of a /send or /get line.
func parseFileCommand(word, rest string) Command {
	if word == "send" {
		if rest == "" {
			return Command{Kind: CommandInvalid, Text: "usage: /send PATH"}
		}
		return Command{Kind: CommandSend, Arg: rest}
	}
	usage := Command{Kind: CommandInvalid, Text: "usage: /get ID [DEST] [--overwrite]"}
	overwrite := false
	var words []string
	for _, w := range strings.FieldsFunc(rest, func(r rune) bool { return strings.ContainsRune(blanks, r) }) {
		if w == "--overwrite" {
			overwrite = true
			continue
		}
		words = append(words, w)
	}
	if len(words) == 0 || len(words) > 2 {
		return usage
	}
	if _, err := strconv.ParseUint(words[0], 10, 64); err != nil {
		return Command{Kind: CommandInvalid, Text: "usage: /get ID [DEST]: ID is the number the share notice gives (/get 17)"}
	}
	cmd := Command{Kind: CommandGet, Arg: words[0], Overwrite: overwrite}
	if len(words) == 2 {
		cmd.Text = words[1]
	}
	return cmd
}

// transfer runs a /send or /get on its own goroutine, so that the chat goes
// on while the bytes travel; what happens is told in status lines.
func (s *session) transfer(ctx context.Context, c *conn, cmd Command) {
	if c == nil {
		s.status("Not connected; try /" + cmd.Kind.String() + " again once reconnected")
		return
	}
	s.transfers.Add(1)
	go func() {
		defer s.transfers.Done()
		// A line typed at once may come before the welcome and its token.
		select {
		case <-s.welcomed:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		token := s.memberToken
		s.mu.Unlock()
		if token == "" {
			s.status("This server does not share files")
			return
		}
		var err error
		if cmd.Kind == CommandSend {
			err = s.sendFile(ctx, c, token, cmd.Arg)
		} else {
			id, _ := strconv.ParseUint(cmd.Arg, 10, 64)
			err = s.getFile(ctx, c, token, id, cmd.Text, cmd.Overwrite)
		}
		if err != nil {
			s.status(textsafe.Sanitize(err.Error()))
		}
	}()
}

// streaming returns a connection to StreamingService, made the first time.
func (s *session) streaming() (*grpc.ClientConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streamingConn != nil {
		return s.streamingConn, nil
	}
	creds := insecure.NewCredentials()
	if s.cfg.TLS != nil {
		creds = credentials.NewTLS(s.cfg.TLS)
	}
	cc, err := grpc.NewClient(s.cfg.StreamingServer, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("streaming service at %s: %w", s.cfg.StreamingServer, err)
	}
	s.streamingConn = cc
	return cc, nil
}

// closeStreaming closes the connection to StreamingService, if any.
func (s *session) closeStreaming() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streamingConn != nil {
		s.streamingConn.Close()
		s.streamingConn = nil
	}
}

// sendFile shares the file at path: offer, upload (SHA-256 checked),
// share. The room's notice, this member's too, says it worked.
func (s *session) sendFile(ctx context.Context, c *conn, token, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("Cannot send %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("Cannot send %s: not a regular file", path)
	}
	name := filepath.Base(path)
	if err := filename.Check(name); err != nil {
		return fmt.Errorf("Cannot send %s: %v", path, err)
	}
	size := info.Size()
	callCtx, cancel := s.callContext(ctx)
	offer, err := chatpb.NewChatServiceClient(c.cc).OfferFile(callCtx, &chatpb.OfferFileRequest{MemberToken: token, Name: name, Size: size})
	cancel()
	if err != nil {
		return fmt.Errorf("Cannot send %s: %s", name, lostReason(err))
	}
	cc, err := s.streaming()
	if err != nil {
		return fmt.Errorf("Cannot send %s: %v", name, err)
	}
	s.status(fmt.Sprintf("Uploading %s (%s)", name, bytesize.Human(size)))
	up, err := streamingv1.NewStreamingServiceClient(cc).UploadFile(ctx)
	if err != nil {
		return fmt.Errorf("Cannot send %s: %s", name, lostReason(err))
	}
	meta := &streamingv1.UploadFileMetadata{Name: name, Size: size, Grant: offer.GetUploadGrant()}
	if err := up.Send(&streamingv1.UploadFileRequest{Data: &streamingv1.UploadFileRequest_Metadata{Metadata: meta}}); err != nil {
		return s.uploadFailed(name, up)
	}
	digest := sha256.New()
	prog := s.progress("Uploading", name, size)
	buf := make([]byte, fileChunk)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			digest.Write(buf[:n])
			if err := up.Send(&streamingv1.UploadFileRequest{Data: &streamingv1.UploadFileRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return s.uploadFailed(name, up)
			}
			prog(int64(n))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("Cannot send %s: reading it failed: %v", name, err)
		}
	}
	reply, err := up.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("Cannot send %s: %s", name, lostReason(err))
	}
	if local := hex.EncodeToString(digest.Sum(nil)); reply.GetSha256() != local {
		return fmt.Errorf("Not shared: %s arrived damaged (SHA-256 %s here, %s there)", name, local, reply.GetSha256())
	}
	callCtx, cancel = s.callContext(ctx)
	defer cancel()
	if _, err := chatpb.NewChatServiceClient(c.cc).ShareFile(callCtx, &chatpb.ShareFileRequest{MemberToken: token, Receipt: reply.GetReceipt()}); err != nil {
		return fmt.Errorf("Uploaded %s but could not share it: %s", name, lostReason(err))
	}
	return nil
}

// uploadFailed returns the error an upload ended with, once a Send failed
// (the status is only known from CloseAndRecv).
func (s *session) uploadFailed(name string, up grpc.ClientStreamingClient[streamingv1.UploadFileRequest, streamingv1.UploadFileResponse]) error {
	_, err := up.CloseAndRecv()
	if err == nil {
		err = errors.New("the upload stopped")
	}
	return fmt.Errorf("Cannot send %s: %s", name, lostReason(err))
}

// getFile downloads file id into the folder dest ("" for the current one).
func (s *session) getFile(ctx context.Context, c *conn, token string, id uint64, dest string, overwrite bool) error {
	if dest == "" {
		dest = "."
	}
	callCtx, cancel := s.callContext(ctx)
	got, err := chatpb.NewChatServiceClient(c.cc).GetFile(callCtx, &chatpb.GetFileRequest{MemberToken: token, FileId: id})
	cancel()
	if err != nil {
		return fmt.Errorf("Cannot get file %d: %s", id, lostReason(err))
	}
	file := got.GetFile()
	cc, err := s.streaming()
	if err != nil {
		return fmt.Errorf("Cannot get file %d: %v", id, err)
	}
	down, err := streamingv1.NewStreamingServiceClient(cc).DownloadFile(ctx, &streamingv1.DownloadFileRequest{Grant: got.GetDownloadGrant()})
	if err != nil {
		return fmt.Errorf("Cannot get file %d: %s", id, lostReason(err))
	}
	want := Download{Name: file.GetName(), Size: file.GetSize(), SHA256: file.GetSha256()}
	prog := s.progress("Downloading", file.GetName(), file.GetSize())
	first, err := down.Recv()
	if err != nil {
		return fmt.Errorf("Cannot get file %d: %s", id, lostReason(err))
	}
	if m := first.GetMetadata(); m == nil || m.GetName() != want.Name || m.GetSize() != want.Size || m.GetSha256() != want.SHA256 {
		return fmt.Errorf("Cannot get file %d: the streaming service sent another file than the one shared", id)
	}
	saved, err := SaveDownload(dest, want, overwrite, func() ([]byte, error) {
		msg, err := down.Recv()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, errors.New(lostReason(err))
		}
		chunk := msg.GetChunk()
		prog(int64(len(chunk)))
		return chunk, nil
	})
	if err != nil {
		return fmt.Errorf("Cannot get file %d: %v", id, err)
	}
	s.status(fmt.Sprintf("Saved %s (%s, SHA-256 verified)", saved, bytesize.Human(file.GetSize())))
	return nil
}

// progress returns a function to count bytes moved; it tells the user at
// each quarter of a file of more than a MiB.
func (s *session) progress(verb, name string, total int64) func(int64) {
	var done int64
	next := int64(1)
	return func(n int64) {
		done += n
		if total <= fileChunk {
			return
		}
		for next < 4 && done*4 >= total*next {
			s.status(fmt.Sprintf("%s %s: %d%% (%s of %s)", verb, name, 25*next, bytesize.Human(done), bytesize.Human(total)))
			next++
		}
	}
}

// Download is a file to save: its name, size and SHA-256 as the chat
// server gave them.
type Download struct {
	Name   string
	Size   int64
	SHA256 string
}

// SaveDownload writes the bytes next returns (io.EOF at the end) into the
// folder dest as want.Name, and returns the path it saved. dest is made if
// it is missing (`/get 17 downloads`). The name must follow the file name
// rules, so that it cannot leave dest; the bytes go to a temporary file
// beside it first, and only a file of the right size and SHA-256 is moved
// into place, never over an existing file unless overwrite. On any error
// nothing is left behind, the folders it made included.
func SaveDownload(dest string, want Download, overwrite bool, next func() ([]byte, error)) (string, error) {
	if err := filename.Check(want.Name); err != nil {
		return "", fmt.Errorf("refusing its name %q: %v", textsafe.Sanitize(want.Name), err)
	}
	made, err := makeFolder(dest)
	if err != nil {
		return "", err
	}
	kept := false
	defer func() {
		if !kept {
			removeEmpty(dest, made)
		}
	}()
	target := filepath.Join(dest, want.Name)
	if !overwrite {
		if _, err := os.Lstat(target); err == nil {
			return "", fmt.Errorf("%s exists; add --overwrite to replace it", target)
		}
	}
	tmp, err := os.CreateTemp(dest, ".polychat-get-*.part")
	if err != nil {
		return "", fmt.Errorf("cannot write into %s: %v", dest, errors.Unwrap(err))
	}
	if err := tmp.Chmod(0o644); err != nil { // a download, readable as other saved files are
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("cannot write into %s: %v", dest, errors.Unwrap(err))
	}
	defer func() {
		if !kept {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	digest := sha256.New()
	var size int64
	for {
		chunk, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		size += int64(len(chunk))
		if size > want.Size {
			return "", fmt.Errorf("more bytes arrived than the %d shared; nothing was saved", want.Size)
		}
		digest.Write(chunk)
		if _, err := tmp.Write(chunk); err != nil {
			return "", fmt.Errorf("cannot write into %s: %v", dest, errors.Unwrap(err))
		}
	}
	if size != want.Size {
		return "", fmt.Errorf("only %d of %d bytes arrived; nothing was saved", size, want.Size)
	}
	if got := hex.EncodeToString(digest.Sum(nil)); got != want.SHA256 {
		return "", fmt.Errorf("the file arrived damaged (SHA-256 %s, shared as %s); nothing was saved", got, textsafe.Sanitize(want.SHA256))
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("cannot write into %s: %v", dest, errors.Unwrap(err))
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("cannot write into %s: %v", dest, errors.Unwrap(err))
	}
	if overwrite {
		err = os.Rename(tmp.Name(), target)
	} else if err = os.Link(tmp.Name(), target); err == nil {
		// Linked in place, which fails if the name was taken meanwhile:
		// the temporary name goes.
		os.Remove(tmp.Name())
	}
	if errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("%s exists; add --overwrite to replace it", target)
	}
	if err != nil {
		return "", fmt.Errorf("cannot save %s: %v", target, errors.Unwrap(err))
	}
	kept = true
	return target, nil
}

// makeFolder makes the folder dest and any missing above it, and returns
// the highest it made ("" when dest was there).
func makeFolder(dest string) (string, error) {
	info, err := os.Stat(dest)
	switch {
	case err == nil && info.IsDir():
		return "", nil
	case err == nil:
		return "", fmt.Errorf("%s is not a folder", dest)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("cannot use the folder %s: %v", dest, errors.Unwrap(err))
	}
	top := filepath.Clean(dest)
	for {
		parent := filepath.Dir(top)
		if _, err := os.Stat(parent); parent == top || err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		top = parent
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		removeEmpty(dest, top)
		return "", fmt.Errorf("cannot make the folder %s: %v", dest, errors.Unwrap(err))
	}
	return top, nil
}

// removeEmpty removes the folders makeFolder made, dest up to top, while
// they are empty: a download that failed leaves nothing behind.
func removeEmpty(dest, top string) {
	if top == "" {
		return
	}
	for dir := filepath.Clean(dest); ; dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil || dir == top {
			return
		}
	}
}
