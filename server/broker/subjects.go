package broker

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Names of what Polychat keeps in JetStream. The room stream holds every
// room's texts and notices; the key-value buckets hold the names taken in
// each room, the resumable sessions, the live chat nodes and counters.
const (
	roomStream     = "POLYCHAT_ROOMS"
	roomPrefix     = "polychat.rooms."
	membersBucket  = "polychat_members"
	sessionsBucket = "polychat_sessions"
	nodesBucket    = "polychat_nodes"
	countersBucket = "polychat_counters"
	filesBucket    = "polychat_files"
	// takeoverPrefix + node is where a node is told that a membership it
	// holds was resumed on another node.
	takeoverPrefix = "polychat.takeover."
)

// Kinds of room subject: texts (kept as the room's history) and notices
// (kept only long enough to be delivered).
const (
	textKind   = "t"
	noticeKind = "n"
)

// token encodes s (a room name, a name's skeleton) as one subject token
// and key-value key part. Room and member names may hold any printable
// text, dots, spaces, '*' and '>' included, none of which NATS allows in a
// token, so they are base64url-encoded (letters, digits, '-' and '_'),
// behind a '_' so that the empty string has a token too.
func token(s string) string {
	return "_" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// untoken decodes a token.
func untoken(t string) (string, error) {
	rest, ok := strings.CutPrefix(t, "_")
	if !ok {
		return "", fmt.Errorf("broker: %q is not an encoded name", t)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("broker: %q is not an encoded name: %w", t, err)
	}
	return string(b), nil
}

// roomSubject is the subject of room's messages of kind (textKind,
// noticeKind, or "*" for both).
func roomSubject(room, kind string) string {
	return roomPrefix + token(room) + "." + kind
}

// roomOfSubject returns the room a room subject belongs to.
func roomOfSubject(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, roomPrefix)
	if !ok {
		return "", fmt.Errorf("broker: %q is not a room subject", subject)
	}
	tok, _, _ := strings.Cut(rest, ".")
	return untoken(tok)
}

// memberKey is the key of the name with skeleton skel in room.
func memberKey(room, skel string) string {
	return token(room) + "." + token(skel)
}

// roomKeys is the key filter matching every name taken in room.
func roomKeys(room string) string {
	return token(room) + ".*"
}
