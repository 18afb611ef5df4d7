package chatclient

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// LineReader reads the user's input one line at a time. ReadLine returns the
// line without its line ending, and io.EOF at the end of the input.
type LineReader interface {
	ReadLine() (string, error)
}

// NewLineReader returns a LineReader over r that splits at "\n" and drops a
// trailing "\r". Lines may be of any length. A last line without a line
// ending is returned before io.EOF.
func NewLineReader(r io.Reader) LineReader {
	return &lineReader{r: bufio.NewReader(r)}
}

type lineReader struct {
	r *bufio.Reader
}

func (l *lineReader) ReadLine() (string, error) {
	line, err := l.r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			return strings.TrimSuffix(line, "\r"), nil
		}
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// readLines sends the lines of in to lines until the end of the input or a
// quit command, then closes lines. It stops early when done is closed.
func readLines(in LineReader, lines chan<- string, done <-chan struct{}) {
	defer close(lines)
	for {
		line, err := in.ReadLine()
		if err != nil {
			return
		}
		select {
		case lines <- line:
		case <-done:
			return
		}
		if IsQuitCommand(line) {
			// Stop reading: on a terminal another ReadLine would draw a
			// fresh prompt while we are leaving.
			return
		}
	}
}
