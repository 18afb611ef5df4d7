package chatclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseFileCommands checks /send and /get against
// testdata/file_commands.json, which pyclient/tests/test_commands.py reads
// too (the page has no file commands, so they are not in commands.json).
func TestParseFileCommands(t *testing.T) {
	data, err := os.ReadFile("testdata/file_commands.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Help  []string `json:"help"`
		Cases []struct {
			Name, Input, Command, Arg, Text string
			Overwrite                       bool
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Help, FileHelpLines) || len(v.Cases) < 10 {
		t.Fatalf("help %q, %d cases", v.Help, len(v.Cases))
	}
	for _, tc := range v.Cases {
		got := ParseCommand(tc.Input)
		if got.Kind.String() != tc.Command || got.Arg != tc.Arg || got.Text != tc.Text || got.Overwrite != tc.Overwrite {
			t.Errorf("%s: ParseCommand(%q) = %+v", tc.Name, tc.Input, got)
		}
	}
}

// chunks returns a next function that hands out parts, then io.EOF.
func chunks(parts ...string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if len(parts) == 0 {
			return nil, io.EOF
		}
		p := parts[0]
		parts = parts[1:]
		return []byte(p), nil
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// entries lists dir, temporary files included.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveDownloadChecksAndNeverClobbers(t *testing.T) {
	dir := t.TempDir()
	want := Download{Name: "report.pdf", Size: 11, SHA256: sum("hello world")}
	path, err := SaveDownload(dir, want, false, chunks("hello ", "world"))
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "hello world" || path != filepath.Join(dir, "report.pdf") {
		t.Fatalf("saved %q as %s", data, path)
	}

	_, err = SaveDownload(dir, want, false, chunks("hello world"))
	if err == nil || !strings.Contains(err.Error(), "exists; add --overwrite") {
		t.Fatalf("over an existing file: %v", err)
	}
	other := Download{Name: "report.pdf", Size: 5, SHA256: sum("other")}
	if _, err := SaveDownload(dir, other, true, chunks("other")); err != nil {
		t.Fatalf("--overwrite: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "other" {
		t.Fatalf("--overwrite left %q", data)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}

func TestSaveDownloadRefusesAndLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  Download
		parts []string
		err   string
	}{
		{"escapes", Download{Name: "../evil", Size: 1, SHA256: sum("x")}, []string{"x"}, "must not contain '/'"},
		{"absolute", Download{Name: "/etc/passwd", Size: 1, SHA256: sum("x")}, []string{"x"}, "must not contain '/'"},
		{"hidden", Download{Name: ".bashrc", Size: 1, SHA256: sum("x")}, []string{"x"}, "must not start with '.'"},
		{"dot dot", Download{Name: "..", Size: 1, SHA256: sum("x")}, []string{"x"}, "must not be '..'"},
		{"damaged", Download{Name: "a.txt", Size: 5, SHA256: sum("hello")}, []string{"jello"}, "arrived damaged"},
		{"short", Download{Name: "a.txt", Size: 5, SHA256: sum("hello")}, []string{"hell"}, "only 4 of 5 bytes"},
		{"long", Download{Name: "a.txt", Size: 5, SHA256: sum("hello")}, []string{"hello", "!"}, "more bytes arrived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := SaveDownload(dir, tc.want, false, chunks(tc.parts...))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if got := entries(t, dir); len(got) != 0 {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
	dir := t.TempDir()
	broken := func() ([]byte, error) { return nil, errors.New("connection lost") }
	if _, err := SaveDownload(dir, Download{Name: "a", Size: 1}, false, broken); err == nil || len(entries(t, dir)) != 0 {
		t.Fatalf("a broken download: %v, left %v", err, entries(t, dir))
	}
	// Into a missing folder, a failed download leaves no folder behind.
	if _, err := SaveDownload(filepath.Join(dir, "new", "downloads"), Download{Name: "a", Size: 1}, false, broken); err == nil ||
		len(entries(t, dir)) != 0 {
		t.Fatalf("a broken download into a new folder: %v, left %v", err, entries(t, dir))
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveDownload(file, Download{Name: "a"}, false, chunks()); err == nil ||
		!strings.Contains(err.Error(), "is not a folder") {
		t.Fatalf("into a file: %v", err)
	}
}

// `/get 17 downloads` makes the folder downloads (and any above it) when
// it is missing.
func TestSaveDownloadMakesAMissingFolder(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "new", "downloads")
	path, err := SaveDownload(dest, Download{Name: "a.txt", Size: 2, SHA256: sum("hi")}, false, chunks("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "hi" || path != filepath.Join(dest, "a.txt") {
		t.Fatalf("saved %q as %s", data, path)
	}
}
