// Package filegrant signs and checks the grants and receipts of file
// sharing: the chat server grants a member an upload or a download, and
// StreamingService, which stores the bytes, answers an upload with a
// receipt the chat server checks before it tells the room. Both services
// read the same key, from a file or from the environment (CHAT_FILE_KEY,
// STREAMING_FILE_KEY); the other side is pyservices/streaming/grants.py,
// and testdata/vectors.json holds tokens both test suites check.
//
// A token is "v1.<payload>.<mac>": payload is the base64url (unpadded) JSON
// of Claims, mac the base64url HMAC-SHA-256 of "v1.<payload>" under the key.
// A token is only as good as its MAC and expiry: the file id alone grants
// nothing.
package filegrant

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// The kinds of token.
const (
	// Upload lets a member upload one file of a given name and size.
	Upload = "upload"
	// Download lets a member download one stored file.
	Download = "download"
	// Receipt says StreamingService stored a granted upload.
	Receipt = "receipt"
)

// Lifetime is how long a grant or receipt is good for.
const Lifetime = 60 * time.Second

// MinKeyBytes is the shortest key accepted: HMAC-SHA-256 wants 32 bytes of
// secret.
const MinKeyBytes = 32

const version = "v1"

// Claims is what a token says. JSON names are short and sorted, as the
// Python side writes them.
type Claims struct {
	// Account is, on an upload grant, the broker account the file counts
	// against ("u.…" a signed-in user, "a.…" a client address), so that
	// StreamingService can hold the bytes it keeps to the same quota; empty
	// on other tokens and on grants of servers from before per-account
	// limits.
	Account string `json:"acct,omitempty"`
	// Epoch is the chat store's epoch: file ids count within it.
	Epoch string `json:"epoch"`
	// Expires is when the token stops being good, in Unix seconds.
	Expires int64 `json:"exp"`
	// File is the file's id.
	File uint64 `json:"file"`
	// Kind is Upload, Download or Receipt.
	Kind string `json:"kind"`
	// Name is the file's plain name.
	Name string `json:"name"`
	// Quota is, on an upload grant, the account's file quota in bytes
	// (0: no quota, or a grant without an account).
	Quota int64 `json:"quota,omitempty"`
	// Room is the room the file is shared in.
	Room string `json:"room"`
	// SHA256 is the hex SHA-256 of the bytes (empty on an upload grant).
	SHA256 string `json:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// User is the member the token was made for.
	User string `json:"user"`
}

// Errors of Verify, for the status a service answers with.
var (
	// ErrMalformed: not a token of this version.
	ErrMalformed = errors.New("not a valid file grant")
	// ErrSignature: the token was altered or signed under another key.
	ErrSignature = errors.New("the file grant's signature does not match: it was altered or made with another key")
	// ErrExpired: the token is past its expiry.
	ErrExpired = errors.New("the file grant has expired")
	// ErrKind: a token of another kind.
	ErrKind = errors.New("the file grant is of the wrong kind")
)

// Key signs and checks tokens.
type Key struct {
	secret []byte
}

// String hides the secret, so that a Key printed or logged by mistake (a
// config dumped with %v, an slog attribute) shows no more than that it is
// one.
func (Key) String() string { return "filegrant.Key(secret)" }

// GoString hides the secret from %#v too.
func (k Key) GoString() string { return k.String() }

// NewKey returns a key of secret, which must be at least MinKeyBytes long.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeyBytes {
		return nil, fmt.Errorf("the file key is %d bytes; it needs at least %d (e.g. `openssl rand -hex 32`)", len(secret), MinKeyBytes)
	}
	return &Key{secret: bytes.Clone(secret)}, nil
}

// ReadKeyFile reads the key from path: the file's contents without
// surrounding whitespace.
func ReadKeyFile(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the file key: %w", err)
	}
	k, err := NewKey(bytes.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("file key %s: %w", path, err)
	}
	return k, nil
}

// Sign returns the token of c.
func (k *Key) Sign(c Claims) string {
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("filegrant: marshal claims: %v", err)) // plain fields never fail
	}
	signed := version + "." + base64.RawURLEncoding.EncodeToString(data)
	return signed + "." + base64.RawURLEncoding.EncodeToString(k.mac(signed))
}

// Verify checks token's signature, kind and expiry at now and returns its
// claims. Errors wrap ErrMalformed, ErrSignature, ErrExpired or ErrKind.
func (k *Key) Verify(token, kind string, now time.Time) (Claims, error) {
	var c Claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != version {
		return c, ErrMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, ErrMalformed
	}
	if !hmac.Equal(mac, k.mac(parts[0]+"."+parts[1])) {
		return c, ErrSignature
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, ErrMalformed
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return Claims{}, ErrMalformed
	}
	if c.Kind != kind {
		return Claims{}, fmt.Errorf("%w: %q where %q is needed", ErrKind, c.Kind, kind)
	}
	if now.Unix() >= c.Expires {
		return Claims{}, ErrExpired
	}
	return c, nil
}

func (k *Key) mac(signed string) []byte {
	h := hmac.New(sha256.New, k.secret)
	h.Write([]byte(signed))
	return h.Sum(nil)
}
