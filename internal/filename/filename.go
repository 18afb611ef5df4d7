// Package filename is the rule for a file name that comes from the network:
// a plain name inside one folder. The chat server checks the names of files
// offered with it and the chat client the names of files it downloads, so
// that no name leaves the folder it is written into. The Python twin is
// pykit/filenames.py; both are checked against testdata/names.json.
package filename

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/polychat/polychat/internal/textsafe"
)

// MaxBytes is the longest name, in UTF-8 bytes.
const MaxBytes = 255

// Check returns nil if name is a safe plain file name, or an error saying
// why not, for a person.
func Check(name string) error {
	switch {
	case name == "":
		return errors.New("file name must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("file name must not be '%s'", name)
	}
	for _, sep := range []string{"/", `\`} {
		if strings.Contains(name, sep) {
			return fmt.Errorf("file name must not contain '%s': give a plain name, not a path", strings.ReplaceAll(sep, `\`, `\\`))
		}
	}
	if !utf8.ValidString(name) {
		return errors.New("file name must be valid UTF-8 text")
	}
	// Control and invisible characters (bidi marks, zero-width) would let
	// the name look like another one: a name must look like what it is.
	pos := 0
	for _, r := range name {
		if textsafe.IsUnsafe(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("file name must not contain control characters (U+%04X at position %d)", r, pos)
		}
		pos++
	}
	if strings.HasPrefix(name, ".") {
		return errors.New("file name must not start with '.' (hidden files are not accepted)")
	}
	if len(name) > MaxBytes {
		return fmt.Errorf("file name is too long: %d bytes in UTF-8, at most %d", len(name), MaxBytes)
	}
	return nil
}
