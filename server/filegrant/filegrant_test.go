package filegrant

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectors is testdata/vectors.json, which pyservices/streaming/tests reads
// too: tokens signed here must check there, and the other way round.
type vectors struct {
	Key   string   `json:"key"`
	Now   int64    `json:"now"`
	Cases []vector `json:"cases"`
}

type vector struct {
	Name  string  `json:"name"`
	Token string  `json:"token"`
	Kind  string  `json:"kind"`
	Want  *Claims `json:"want,omitempty"`
	Error string  `json:"error,omitempty"` // malformed, signature, expired, kind
}

const vectorFile = "testdata/vectors.json"

func makeVectors(t *testing.T) vectors {
	t.Helper()
	const secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff"
	k, err := NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1_800_000_000)
	up := Claims{Kind: Upload, Epoch: "e1", File: 17, User: "Alice", Room: "general", Name: "report.pdf", Size: 1234567, Expires: now + 60}
	down := Claims{Kind: Download, Epoch: "e1", File: 17, User: "Bob", Room: "general", Name: "report.pdf", Size: 1234567,
		SHA256: strings.Repeat("ab", 32), Expires: now + 60}
	rcpt := down
	rcpt.Kind, rcpt.User = Receipt, "Alice"
	// The account and quota an upload grant carries since StreamingService
	// holds the bytes it keeps to the quota too; the grants without them
	// above are an older chat server's, and stay good.
	acct := up
	acct.Account, acct.Quota = "a._MTAuMC4wLjc", 1<<30
	uni := up
	uni.Name, uni.Room, uni.User = "résumé ☃.txt", "café", "Zoë"
	expired := down
	expired.Expires = now
	downTok := k.Sign(down)
	parts := strings.Split(downTok, ".")
	altered := down
	altered.File = 18
	alteredData, _ := json.Marshal(altered)
	forged := parts[0] + "." + b64(alteredData) + "." + parts[2]
	other, _ := NewKey([]byte(strings.Repeat("k", 32)))
	return vectors{Key: secret, Now: now, Cases: []vector{
		{Name: "upload grant", Token: k.Sign(up), Kind: Upload, Want: &up},
		{Name: "download grant", Token: downTok, Kind: Download, Want: &down},
		{Name: "receipt", Token: k.Sign(rcpt), Kind: Receipt, Want: &rcpt},
		{Name: "upload grant with its account and quota", Token: k.Sign(acct), Kind: Upload, Want: &acct},
		{Name: "names beyond ASCII", Token: k.Sign(uni), Kind: Upload, Want: &uni},
		{Name: "expired", Token: k.Sign(expired), Kind: Download, Error: "expired"},
		{Name: "upload grant used to download", Token: k.Sign(up), Kind: Download, Error: "kind"},
		{Name: "receipt used as an upload grant", Token: k.Sign(rcpt), Kind: Upload, Error: "kind"},
		{Name: "payload altered", Token: forged, Kind: Download, Error: "signature"},
		{Name: "signed with another key", Token: other.Sign(down), Kind: Download, Error: "signature"},
		{Name: "another version", Token: "v2." + parts[1] + "." + parts[2], Kind: Download, Error: "malformed"},
		{Name: "a guessed id", Token: "17", Kind: Download, Error: "malformed"},
		{Name: "empty", Token: "", Kind: Download, Error: "malformed"},
	}}
}

func TestVectors(t *testing.T) {
	if *update {
		data, err := json.MarshalIndent(makeVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.FromSlash(vectorFile))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	k, err := NewKey([]byte(v.Key))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{"malformed": ErrMalformed, "signature": ErrSignature, "expired": ErrExpired, "kind": ErrKind}
	if len(v.Cases) < 10 {
		t.Fatalf("only %d vectors", len(v.Cases))
	}
	for _, c := range v.Cases {
		got, err := k.Verify(c.Token, c.Kind, time.Unix(v.Now, 0))
		switch {
		case c.Want != nil && err != nil:
			t.Errorf("%s: %v", c.Name, err)
		case c.Want != nil && got != *c.Want:
			t.Errorf("%s: claims %+v, want %+v", c.Name, got, *c.Want)
		case c.Want == nil && !errors.Is(err, want[c.Error]):
			t.Errorf("%s: error %v, want %s", c.Name, err, c.Error)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k, err := NewKey([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	c := Claims{Kind: Download, File: 3, Name: "a.txt", Expires: now.Add(Lifetime).Unix()}
	got, err := k.Verify(k.Sign(c), Download, now)
	if err != nil || got != c {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := k.Verify(k.Sign(c), Download, now.Add(Lifetime)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
}

// The account and quota of an upload grant are optional claims: written
// only when set, so that the tokens without them read as before, on both
// sides, and read back as they were signed.
func TestAccountAndQuotaAreOptionalClaims(t *testing.T) {
	k, err := NewKey([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	payload := func(token string) string {
		t.Helper()
		data, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	plain := Claims{Kind: Upload, File: 3, Name: "a.txt", Size: 5, Expires: now.Add(Lifetime).Unix()}
	if p := payload(k.Sign(plain)); strings.Contains(p, "acct") || strings.Contains(p, "quota") {
		t.Fatalf("a grant without an account writes %s", p)
	}
	full := plain
	full.Account, full.Quota = "u._YWxpY2U", 1500
	tok := k.Sign(full)
	if p := payload(tok); !strings.Contains(p, `"acct":"u._YWxpY2U"`) || !strings.Contains(p, `"quota":1500`) {
		t.Fatalf("a grant with an account writes %s", p)
	}
	got, err := k.Verify(tok, Upload, now)
	if err != nil || got != full {
		t.Fatalf("got %+v, %v; want %+v", got, err, full)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(short); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short key: %v", err)
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(strings.Repeat("x", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := ReadKeyFile(good)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey([]byte(strings.Repeat("x", 32)))
	tok := k.Sign(Claims{Kind: Upload, Expires: 10})
	if _, err := other.Verify(tok, Upload, time.Unix(0, 0)); err != nil {
		t.Fatalf("the trailing newline is part of the key: %v", err)
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing key file accepted")
	}
}

func b64(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }

func TestKeyNeverShowsItsSecret(t *testing.T) {
	secret := strings.Repeat("hidden-", 5)
	k, err := NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k, "in", struct{ K *Key }{k})
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k)
	for _, shown := range []string{fmt.Sprint(k), fmt.Sprintf("%+v %#v", k, k),
		fmt.Sprintf("%+v", struct{ K *Key }{k}), fmt.Sprintf("%v", *k), logged.String()} {
		if strings.Contains(shown, "hidden") || strings.Contains(shown, "104 105") { // the bytes of "hi"
			t.Errorf("the secret shows: %s", shown)
		}
	}
}
