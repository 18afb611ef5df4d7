// Package textsafe is the one rule for text that must not reach a terminal
// as it is: control characters and the bidirectional controls that can make
// text display as something else. The chat client neutralises such text with
// Sanitize; the chat server refuses names holding it (IsUnsafe). The Python
// twin, pykit/text.py, is checked against testdata/vectors.json.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// IsUnsafe reports whether r must not reach a terminal as it is: a C0
// control (U+0000–U+001F, tab and newline included), DEL (U+007F), a C1
// control (U+0080–U+009F), or a bidirectional embedding, override or
// isolate (U+202A–U+202E, U+2066–U+2069). The marks U+200E and U+200F
// change no text's order on their own and are allowed.
func IsUnsafe(r rune) bool {
	switch {
	case r <= 0x1f, r == 0x7f: // C0 controls and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

// FirstUnsafe returns the first rune of s for which IsUnsafe holds. Bytes
// that are not valid UTF-8 are not reported: check utf8.ValidString first
// where they matter.
func FirstUnsafe(s string) (rune, bool) {
	for _, r := range s {
		if IsUnsafe(r) {
			return r, true
		}
	}
	return 0, false
}

// NeedsEscape reports whether Sanitize has anything to replace in s: an
// unsafe rune or a byte that is not valid UTF-8.
func NeedsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || IsUnsafe(r) {
			return true
		}
		i += size
	}
	return false
}

// Sanitize makes text from the network safe to print on a terminal, as
// docs/chat-protocol.md requires. Every rune for which IsUnsafe holds is
// replaced by a visible escape: `\xNN` (two lower-case hex digits) below
// U+0100 and `\uNNNN` above. A byte that is not valid UTF-8 is shown as
// `\xNN` of that byte. All other text, including valid non-ASCII text, is
// returned unchanged, so the result is always one line.
func Sanitize(s string) string {
	// Fast path: most text has nothing to neutralise.
	if !NeedsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case IsUnsafe(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case IsUnsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
