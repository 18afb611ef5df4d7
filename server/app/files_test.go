package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/filegrant"
)

// TestFileKeyFromTheEnvironmentOrAFile: CHAT_FILE_KEY turns file sharing
// on as -file-key-file does, the grants are signed under that key (which
// StreamingService checks), and the key is never logged.
func TestFileKeyFromTheEnvironmentOrAFile(t *testing.T) {
	const secret = "an-environment-file-key-0123456789abcdef"
	keyFile := filepath.Join(t.TempDir(), "file.key")
	if err := os.WriteFile(keyFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := filegrant.NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"CHAT_FILE_KEY":  {env: map[string]string{"CHAT_FILE_KEY": " " + secret + "\n"}},
		"-file-key-file": {args: []string{"-file-key-file", keyFile}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfigEnv(t, tc.env, append([]string{"-log-level", "debug"}, tc.args...)...)
			s := start(t, cfg)
			_, welcome := join(t, dial(t, s.Addr().String(), nil), "chat-user", "alice")
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			offer, err := chatpb.NewChatServiceClient(dial(t, s.Addr().String(), nil)).OfferFile(ctx,
				&chatpb.OfferFileRequest{MemberToken: welcome.GetMemberToken(), Name: "notes.txt", Size: 5})
			if err != nil {
				t.Fatalf("OfferFile: %v", err)
			}
			c, err := key.Verify(offer.GetUploadGrant(), filegrant.Upload, time.Now())
			if err != nil || c.User != "alice" || c.Name != "notes.txt" || c.Size != 5 {
				t.Fatalf("the grant under the key: %+v, %v", c, err)
			}
			if strings.Contains(s.logs.String(), secret) {
				t.Fatalf("the key is in the log:\n%s", s.logs.String())
			}
		})
	}
}
