package textsafe

import (
	"encoding/json"
	"os"
	"testing"
	"unicode"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "Hi Alice!", "Hi Alice!"},
		{"backslash kept", `C:\path`, `C:\path`},
		{"ESC", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"NUL", "a\x00b", `a\x00b`},
		{"BEL", "ding\a", `ding\x07`},
		{"LF", "one\ntwo", `one\x0atwo`},
		{"CR", "over\rwrite", `over\x0dwrite`},
		{"CRLF", "a\r\nb", `a\x0d\x0ab`},
		{"tab", "a\tb", `a\x09b`},
		{"unit separator", "\x1f", `\x1f`},
		{"space kept", " ", " "},
		{"tilde kept", "~", "~"},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"NEL U+0085", "a\u0085b", `a\x85b`},
		{"C1 first U+0080", "\u0080", `\x80`},
		{"CSI U+009B", "\u009b31m", `\x9b31m`},
		{"C1 last U+009F", "\u009f", `\x9f`},
		{"NBSP U+00A0 kept", "a\u00a0b", "a\u00a0b"},
		{"LRE U+202A", "\u202a", `\u202a`},
		{"RLO U+202E", "abc\u202edef", `abc\u202edef`},
		{"LRM U+200E kept", "a\u200eb", "a\u200eb"},
		{"U+202F kept", "a\u202fb", "a\u202fb"},
		{"LRI U+2066", "\u2066x", `\u2066x`},
		{"PDI U+2069", "x\u2069", `x\u2069`},
		{"U+2065 kept", "\u2065", "\u2065"},
		{"U+206A kept", "\u206a", "\u206a"},
		{"accents", "Zoë café naïve", "Zoë café naïve"},
		{"CJK", "你好，世界", "你好，世界"},
		{"Cyrillic", "Привет", "Привет"},
		{"Arabic", "مرحبا", "مرحبا"},
		{"emoji", "👋🏽 hi", "👋🏽 hi"},
		{"replacement char kept", "\uFFFD", "\uFFFD"},
		{"invalid UTF-8 byte", "a\xffb", `a\xffb`},
		{"truncated sequence", "a\xe2\x80", `a\xe2\x80`},
		{"mixed", "\x1b]0;pwned\x07Bob\u202e", `\x1b]0;pwned\x07Bob\u202e`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestVectors checks the vectors the Python twin (pykit/text.py) is also
// tested with, so that both languages neutralise the same characters.
func TestVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Name, Input, Sanitized string }
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 100 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		if got := Sanitize(v.Input); got != v.Sanitized {
			t.Errorf("%s: Sanitize(%q) = %q, want %q", v.Name, v.Input, got, v.Sanitized)
		}
		_, unsafe := FirstUnsafe(v.Input)
		if unsafe != (v.Input != v.Sanitized) || unsafe != NeedsEscape(v.Input) {
			t.Errorf("%s: FirstUnsafe(%q) = %v, but Sanitize changes it: %v", v.Name, v.Input, unsafe, v.Input != v.Sanitized)
		}
	}
}

// TestRuleIsControlsAndBidi pins the rule over every code point: the
// Unicode control characters (what the server refused before the rule had
// one home) plus the bidirectional embeddings, overrides and isolates.
func TestRuleIsControlsAndBidi(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		bidi := (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
		if want := unicode.IsControl(r) || bidi; IsUnsafe(r) != want {
			t.Fatalf("IsUnsafe(%U) = %v, want %v", r, IsUnsafe(r), want)
		}
	}
}

func TestFirstUnsafe(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want rune
		ok   bool
	}{
		{"Alice", 0, false},
		{"a\x1bb\x07", 0x1b, true},
		{"x\u202ey", 0x202e, true},
		{"a\u200eb", 0, false},
		{"a\xffb", 0, false}, // invalid UTF-8 is the caller's check
	} {
		if r, ok := FirstUnsafe(tt.in); r != tt.want || ok != tt.ok {
			t.Errorf("FirstUnsafe(%q) = %U, %v; want %U, %v", tt.in, r, ok, tt.want, tt.ok)
		}
	}
}
