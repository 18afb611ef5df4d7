package chatclient

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// Prompt is the prompt shown on a terminal while the user types a message.
const Prompt = "You: "

// Terminal is an interactive terminal in raw mode. Lines written to it appear
// above the line being typed, which is redrawn and never clobbered. It is a
// LineReader and an io.Writer, for Run. Call Restore on every exit path.
type Terminal struct {
	t     *term.Terminal
	out   io.Writer
	fd    int
	state *term.State

	stopResize func()

	mu       sync.Mutex
	typing   bool // a prompt (and maybe a partial line) is on screen
	restored bool
}

// OpenTerminal puts the terminal in into raw mode and returns a Terminal
// reading from in and writing to out, with prompt shown before each line.
// Both must be terminals (see term.IsTerminal).
func OpenTerminal(in, out *os.File, prompt string) (*Terminal, error) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("set terminal to raw mode: %w", err)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{in, out}
	t := &Terminal{t: term.NewTerminal(rw, prompt), out: out, fd: fd, state: state}
	// A pasted paragraph is one message (see ReadLine), as in the Python
	// client.
	t.t.SetBracketedPasteMode(true)
	t.resize(int(out.Fd()))
	t.stopResize = watchResize(func() { t.resize(int(out.Fd())) })
	return t, nil
}

// ReadLine reads one line typed by the user. Lines pasted whole (bracketed
// paste) are gathered with the line that follows them, up to the next Enter
// the user presses, into one line with "\n" between them: a pasted paragraph
// is sent as one message. Ctrl+C, and Ctrl+D on an empty line, return
// io.EOF.
func (t *Terminal) ReadLine() (string, error) {
	t.mu.Lock()
	t.typing = true
	t.mu.Unlock()
	var pasted []string
	for {
		line, err := t.t.ReadLine()
		if errors.Is(err, term.ErrPasteIndicator) {
			pasted = append(pasted, line)
			continue
		}
		if err != nil {
			return "", err
		}
		t.mu.Lock()
		t.typing = false // Enter moved to a fresh line
		t.mu.Unlock()
		return strings.Join(append(pasted, line), "\n"), nil
	}
}

// ReadPassword reads one line typed by the user without echoing it, after
// prompt; the prompt for ReadLine is kept.
func (t *Terminal) ReadPassword(prompt string) (string, error) {
	t.mu.Lock()
	t.typing = true
	t.mu.Unlock()
	line, err := t.t.ReadPassword(prompt)
	if err == nil {
		t.mu.Lock()
		t.typing = false
		t.mu.Unlock()
	}
	return line, err
}

// Write writes p (lines ending in "\n") above the line being typed.
func (t *Terminal) Write(p []byte) (int, error) {
	return t.t.Write(p)
}

// SetPrompt changes the prompt for the next line.
func (t *Terminal) SetPrompt(prompt string) {
	t.t.SetPrompt(prompt)
}

// Restore ends the line being typed, if any, and puts the terminal back the
// way OpenTerminal found it. It may be called more than once.
func (t *Terminal) Restore() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.restored {
		return nil
	}
	t.restored = true
	t.stopResize()
	t.t.SetBracketedPasteMode(false)
	if t.typing {
		_, _ = io.WriteString(t.out, "\r\n") // best effort: leave the prompt line
	}
	if err := term.Restore(t.fd, t.state); err != nil {
		return fmt.Errorf("restore terminal: %w", err)
	}
	return nil
}

// resize tells the line editor the terminal's size, when it is known; the
// editor assumes 80x24 otherwise.
func (t *Terminal) resize(outFd int) {
	if w, h, err := term.GetSize(outFd); err == nil && w > 0 && h > 0 {
		_ = t.t.SetSize(w, h) // only fails on a write error, seen again later
	}
}
