package names

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":                    "Alice",
		"  Alice  ":                "Alice",
		"Mary \u00a0\u2003  Ann":   "Mary Ann", // any run of spaces is one space
		"Jose\u0301":               "José",     // NFC
		"Ａｌｉｃｅ":                    "Ａｌｉｃｅ",    // fullwidth is visible: kept, and caught by Skeleton
		"Zoë 🙂":                    "Zoë 🙂",
		"":                         "",
		"\u3000":                   "",
		"Ali\u0301ce (the 2nd)":    "Alíce (the 2nd)",
		"\u05e9\u05dc\u05d5\u05dd": "\u05e9\u05dc\u05d5\u05dd", // Hebrew letters are fine; bidi marks are not
		"Ελένη":                    "Ελένη",
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNormalizeRefusesInvisibleCharacters(t *testing.T) {
	for in, want := range map[string]InvisibleError{
		"system\u200b":  {0x200B, "invisible or formatting"},  // ZERO WIDTH SPACE
		"Alice\u2060":   {0x2060, "invisible or formatting"},  // WORD JOINER
		"\u200fAlice":   {0x200F, "invisible or formatting"},  // RIGHT-TO-LEFT MARK
		"a\u200db":      {0x200D, "invisible or formatting"},  // ZERO WIDTH JOINER
		"Al\u00adice":   {0x00AD, "invisible or formatting"},  // SOFT HYPHEN
		"\ufeffAlice":   {0xFEFF, "invisible or formatting"},  // BOM
		"a\u202eb":      {0x202E, "invisible or formatting"},  // RIGHT-TO-LEFT OVERRIDE
		"\u3164":        {0x3164, "invisible or formatting"},  // HANGUL FILLER
		"A\u034f":       {0x034F, "invisible or formatting"},  // COMBINING GRAPHEME JOINER
		"A\ufe0f":       {0xFE0F, "invisible or formatting"},  // VARIATION SELECTOR-16
		"tag\U000E0041": {0xE0041, "invisible or formatting"}, // TAG LATIN CAPITAL LETTER A
		"x\ue000":       {0xE000, "private-use"},
		"x\U0010FFFD":   {0x10FFFD, "private-use"},
		"x\uffff":       {0xFFFF, "unassigned"},
		"x\u0378":       {0x0378, "unassigned"},
	} {
		_, err := Normalize(in)
		var ie *InvisibleError
		if !errors.As(err, &ie) || *ie != want {
			t.Errorf("Normalize(%q) = %v, want %+v", in, err, want)
		}
	}
}

func TestSkeletonMatchesLookAlikes(t *testing.T) {
	same := [][]string{
		{"Alice", "alice", "ALICE", "\u0410lice", "Ａｌｉｃｅ"},
		{"system", "System", "SYSTEM", "\u0455ystem", "syst\u0435m", "ѕуѕtеm"},
		{"José", "Jose\u0301", "JOSÉ"},
		{"paypal", "pаypаl", "PayPal"},
		{"Straße", "STRASSE", "strasse"},
	}
	for _, group := range same {
		for _, name := range group[1:] {
			if Skeleton(name) != Skeleton(group[0]) {
				t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q; want them equal", name, Skeleton(name), group[0], Skeleton(group[0]))
			}
		}
	}
	for _, pair := range [][2]string{{"Alice", "Alicia"}, {"Bob", "Rob"}, {"system", "systems"}, {"Ann", "Anne"}} {
		if Skeleton(pair[0]) == Skeleton(pair[1]) {
			t.Errorf("%q and %q share the skeleton %q", pair[0], pair[1], Skeleton(pair[0]))
		}
	}
}
