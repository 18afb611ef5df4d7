package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse("x", nil, lookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":50053" || c.DataDir != "data" || c.History != 50 || c.MaxMessageBytes != 4096 ||
		c.MaxNameBytes != 64 || c.QueueSize != 256 || c.ShutdownTimeout != 5*time.Second || c.LogFormat != "text" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestEnvAndFlagPrecedence(t *testing.T) {
	env := map[string]string{"CHAT_ADDR": ":1", "CHAT_QUEUE_SIZE": "9", "POLYCHAT_DATA_DIR": "", "CHAT_LOG_LEVEL": "debug"}
	c, err := Parse("x", []string{"-addr", ":2"}, lookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":2" || c.QueueSize != 9 || c.DataDir != "" || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("got %+v", c)
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-history", "x"}, nil, "-history"},
		{nil, map[string]string{"CHAT_HISTORY": "x"}, "CHAT_HISTORY"},
		{[]string{"-queue", "0"}, nil, "-queue must be more than 0"},
		{nil, map[string]string{"CHAT_LOG_FORMAT": "xml"}, "-log-format must be text or json"},
		{[]string{"extra"}, nil, "unexpected argument"},
	} {
		_, err := Parse("x", tc.args, lookup(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: err = %v, want one line containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelpListsEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse("x", []string{"-h"}, lookup(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for name := range env {
		if !strings.Contains(out.String(), env[name]) || !strings.Contains(out.String(), "-"+name) {
			t.Errorf("usage lacks -%s / %s:\n%s", name, env[name], out.String())
		}
	}
}
