// Package names normalises the names people choose in the chat (member
// names and rooms) and compares them the way people read them.
//
// Normalize puts a name in one canonical form (Unicode NFC, no surrounding
// space, inner runs of space as one ASCII space) and refuses characters that
// do not show: format characters such as U+200B ZERO WIDTH SPACE or U+200F
// RIGHT-TO-LEFT MARK, other default-ignorable code points (e.g. U+3164
// HANGUL FILLER), variation selectors, and unassigned or private-use code
// points. Skeleton maps a name to the form two names share when they look
// alike: case folded, and each character replaced by its prototype from the
// Unicode confusables data (UTS #39), so "Alice", "ALICE" and "Аlice" (with
// a Cyrillic A) have one skeleton.
package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// InvisibleError reports a character that a name may not contain because it
// does not show (or shows as something else).
type InvisibleError struct {
	Rune rune
	// Kind says what the character is, for a person: "invisible or
	// formatting", "unassigned" or "private-use".
	Kind string
}

func (e *InvisibleError) Error() string {
	return fmt.Sprintf("contains the %s character %U", e.Kind, e.Rune)
}

// Normalize returns s in canonical form, or an *InvisibleError for the
// first character s may not contain. s must be valid UTF-8; control
// characters are left for the caller to refuse.
func Normalize(s string) (string, error) {
	s = norm.NFC.String(s)
	for _, r := range s {
		if kind := hidden(r); kind != "" {
			return "", &InvisibleError{Rune: r, Kind: kind}
		}
	}
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " "), nil
}

// hidden says why r may not be in a name, or "" when it may.
func hidden(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "replacement"
	case unicode.IsControl(r):
		return "" // refused by the caller, with its own message
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
		unicode.Is(unicode.Variation_Selector, r):
		return "invisible or formatting"
	case unicode.Is(unicode.Co, r):
		return "private-use"
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z):
		return "unassigned"
	}
	return ""
}

// Skeleton returns the form of s under which look-alike names are equal:
// case folded, mapped through the Unicode confusables table, and folded again
// (a prototype may be upper case). Compare skeletons, never show them.
func Skeleton(s string) string {
	fold := cases.Fold()
	return fold.String(confusables.Skeleton(fold.String(norm.NFC.String(s))))
}
