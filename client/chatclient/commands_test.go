package chatclient

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// commandVectors are the parser cases both clients are checked against
// (pyclient/tests/test_commands.py reads the same file).
type commandVectors struct {
	Help  []string `json:"help"`
	Cases []struct {
		Name    string `json:"name"`
		Input   string `json:"input"`
		Command string `json:"command"`
		Arg     string `json:"arg"`
		Text    string `json:"text"`
		Seconds int64  `json:"seconds"`
	} `json:"cases"`
}

func loadCommandVectors(t *testing.T) commandVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/commands.json")
	if err != nil {
		t.Fatal(err)
	}
	var v commandVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 || len(v.Help) == 0 {
		t.Fatal("no command vectors")
	}
	return v
}

func TestParseCommand(t *testing.T) {
	for _, tc := range loadCommandVectors(t).Cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := ParseCommand(tc.Input)
			if got.Kind.String() != tc.Command || got.Arg != tc.Arg || got.Text != tc.Text || got.Seconds != tc.Seconds {
				t.Fatalf("ParseCommand(%q) = %s %q %q %ds, want %s %q %q %ds", tc.Input, got.Kind, got.Arg, got.Text, got.Seconds, tc.Command, tc.Arg, tc.Text, tc.Seconds)
			}
		})
	}
}

func TestHelpLinesAreShared(t *testing.T) {
	if want := loadCommandVectors(t).Help; !slices.Equal(HelpLines, want) {
		t.Fatalf("HelpLines = %q, want %q", HelpLines, want)
	}
}
