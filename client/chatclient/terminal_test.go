package chatclient

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/term"
)

// A paragraph pasted into the terminal is one line with its line breaks,
// ended by the Enter the user presses; typed lines stay lines.
func TestTerminalGathersAPastedParagraph(t *testing.T) {
	const (
		pasteStart = "\x1b[200~"
		pasteEnd   = "\x1b[201~"
	)
	input := "typed\r" +
		pasteStart + "Dear all,\rthe meeting moved\r\nto 3pm." + pasteEnd + "\r" +
		pasteStart + "whole lines\r" + pasteEnd + "and more\r" +
		"next\r"
	rw := struct {
		io.Reader
		io.Writer
	}{strings.NewReader(input), io.Discard}
	tt := &Terminal{t: term.NewTerminal(rw, Prompt)}
	tt.t.SetBracketedPasteMode(true)
	for _, want := range []string{"typed", "Dear all,\nthe meeting moved\nto 3pm.", "whole lines\nand more", "next"} {
		got, err := tt.ReadLine()
		if err != nil || got != want {
			t.Fatalf("ReadLine() = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := tt.ReadLine(); err != io.EOF {
		t.Fatalf("at the end ReadLine() = %v, want EOF", err)
	}
}
