package filename

import (
	"encoding/json"
	"os"
	"testing"
)

// names is testdata/names.json, which pykit/tests/test_filenames.py reads
// too: both languages refuse the same names with the same reasons.
type names struct {
	Refused []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"refused"`
	Accepted []string `json:"accepted"`
}

func TestNames(t *testing.T) {
	data, err := os.ReadFile("testdata/names.json")
	if err != nil {
		t.Fatal(err)
	}
	var v names
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Refused) < 20 || len(v.Accepted) < 5 {
		t.Fatalf("only %d refused and %d accepted names", len(v.Refused), len(v.Accepted))
	}
	for _, c := range v.Refused {
		err := Check(c.Name)
		if err == nil || err.Error() != c.Reason {
			t.Errorf("Check(%q) = %v, want %q", c.Name, err, c.Reason)
		}
	}
	for _, name := range v.Accepted {
		if err := Check(name); err != nil {
			t.Errorf("Check(%q) = %v", name, err)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	if err := Check("a\xffb"); err == nil || err.Error() != "file name must be valid UTF-8 text" {
		t.Fatalf("got %v", err)
	}
}
