package chat

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polychat/polychat/internal/textsafe"
	"github.com/polychat/polychat/server/names"
)

// cleanName validates a name or room given by a client, described as what
// (e.g. "name"), and returns it normalised (see package server/names: NFC,
// spaces trimmed and collapsed). Errors are INVALID_ARGUMENT with a message a
// person can act on.
func (s *Service) cleanName(what, v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", status.Errorf(codes.InvalidArgument, "%s is not valid UTF-8", what)
	}
	if r, bad := textsafe.FirstUnsafe(v); bad {
		return "", status.Errorf(codes.InvalidArgument, "%s contains the control character %U; use printable characters only", what, r)
	}
	v, err := names.Normalize(v)
	if err != nil {
		return "", status.Errorf(codes.InvalidArgument, "%s %v; use visible characters only", what, err)
	}
	if len(v) > s.cfg.MaxNameBytes {
		return "", status.Errorf(codes.InvalidArgument, "%s is %d bytes; the limit is %d bytes", what, len(v), s.cfg.MaxNameBytes)
	}
	return v, nil
}

// echoBytes bounds what of a client's value is echoed in a status or a log
// line.
const echoBytes = 64

// clip returns s, or its first echoBytes bytes (never splitting a UTF-8
// sequence) followed by "...", so that nothing a client sends is echoed at
// length. Callers check lengths first; clip is a second line of defence.
func clip(s string) string {
	if len(s) <= echoBytes {
		return s
	}
	cut := echoBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// tooLong is the error for text over the limit.
func (s *Service) tooLong(n int) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf("message text is %d bytes; the limit is %d bytes", n, s.cfg.MaxMessageBytes))
}
