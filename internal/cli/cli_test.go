package cli

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
)

type parsed struct {
	Name, Server string
	TLS          bool
	Rate         int
	Pos          []string
}

func newFlags() (*flag.FlagSet, *parsed) {
	p := &parsed{}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.StringVar(&p.Name, "name", "", "")
	fs.StringVar(&p.Server, "server", "", "")
	fs.BoolVar(&p.TLS, "tls", false, "")
	fs.IntVar(&p.Rate, "rate", 0, "")
	return fs, p
}

func TestParseInterleaved(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want parsed
	}{
		{nil, parsed{}},
		{[]string{"Alice", "general"}, parsed{Pos: []string{"Alice", "general"}}},
		{[]string{"-name", "Bob", "Alice"}, parsed{Name: "Bob", Pos: []string{"Alice"}}},
		{[]string{"Alice", "general", "-server", "h:1"}, parsed{Server: "h:1", Pos: []string{"Alice", "general"}}},
		{[]string{"-tls", "Alice", "-server=h:1", "general"}, parsed{TLS: true, Server: "h:1", Pos: []string{"Alice", "general"}}},
		{[]string{"Alice", "--tls", "--name", "Bob"}, parsed{TLS: true, Name: "Bob", Pos: []string{"Alice"}}},
		{[]string{"-tls=false", "Alice"}, parsed{Pos: []string{"Alice"}}},
		{[]string{"-rate", "-1", "x"}, parsed{Rate: -1, Pos: []string{"x"}}},
		{[]string{"-name", "--", "x"}, parsed{Name: "--", Pos: []string{"x"}}},
		{[]string{"a", "--", "-tls", "b"}, parsed{Pos: []string{"a", "-tls", "b"}}},
		{[]string{"-", "a"}, parsed{Pos: []string{"-", "a"}}},
	} {
		fs, p := newFlags()
		pos, err := Parse(fs, tt.args)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.args, err)
			continue
		}
		p.Pos = pos
		if !reflect.DeepEqual(*p, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.args, *p, tt.want)
		}
	}
}

func TestParseErrorsAreQuiet(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"Alice", "-rate", "x"}, {"-tls=maybe"}, {"-server"}} {
		fs, _ := newFlags()
		var out bytes.Buffer
		fs.SetOutput(&out)
		_, err := Parse(fs, args)
		if err == nil || errors.Is(err, ErrHelp) || out.Len() != 0 {
			t.Errorf("Parse(%q) = %v, output %q; want an error and no output", args, err, out.String())
			continue
		}
		var line bytes.Buffer
		if code := Fail(&line, "x", err); code != ExitUsage || strings.Count(line.String(), "\n") != 1 || !strings.HasPrefix(line.String(), "x: ") {
			t.Errorf("Fail(%v) = %d, %q; want 2 and one line", err, code, line.String())
		}
	}
}

func TestParseHelp(t *testing.T) {
	fs, _ := newFlags()
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() { out.WriteString("Usage: x\n") }
	_, err := Parse(fs, []string{"Alice", "-h"})
	if !errors.Is(err, ErrHelp) || out.String() != "Usage: x\n" {
		t.Fatalf("-h: %v, output %q", err, out.String())
	}
	var line bytes.Buffer
	if code := Fail(&line, "x", err); code != ExitOK || line.Len() != 0 {
		t.Errorf("Fail(ErrHelp) = %d, %q", code, line.String())
	}
}

func TestDeprecatedFlagAndEnv(t *testing.T) {
	fs, p := newFlags()
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	Deprecated(fs, "addr", "server", warn)
	if _, err := Parse(fs, []string{"-addr", "h:1", "-addr", "h:2"}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]Var{"server": {Name: "X_SERVER", Deprecated: []string{"X_ADDR"}}, "name": {Name: "X_NAME", Deprecated: []string{"X_USER"}}}
	env := map[string]string{"X_SERVER": "env:1", "X_USER": "Carol"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := SetFromEnv(fs, vars, lookup, warn); err != nil {
		t.Fatal(err)
	}
	if p.Server != "h:2" || p.Name != "Carol" {
		t.Errorf("got %+v; the deprecated flag must win over the variable", *p)
	}
	want := []string{"flag -addr is deprecated; use -server", "environment variable X_USER is deprecated; use X_NAME"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if !IsDeprecated(fs.Lookup("addr")) || IsDeprecated(fs.Lookup("server")) {
		t.Error("IsDeprecated is wrong")
	}
}

func TestRetiredFlag(t *testing.T) {
	fs, _ := newFlags()
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	Retired(fs, "fast", "it is always fast now", warn)
	if _, err := Parse(fs, []string{"-fast", "-fast=false"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"flag -fast has no effect any more: it is always fast now"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if !IsDeprecated(fs.Lookup("fast")) {
		t.Error("a retired flag is listed in the usage")
	}
	if _, err := Parse(fs, []string{"-fast=maybe"}); err == nil {
		t.Error("-fast=maybe accepted")
	}
}

func TestSetFromEnvBadValue(t *testing.T) {
	fs, _ := newFlags()
	if _, err := Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { return "fast", k == "X_RATE" }
	err := SetFromEnv(fs, map[string]Var{"rate": {Name: "X_RATE"}}, lookup, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "X_RATE") || !strings.Contains(err.Error(), "-rate") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line naming X_RATE and -rate", err)
	}
}

func TestLookupEnvTreatsEmptyAsUnset(t *testing.T) {
	lookup := LookupEnv(func(k string) string { return map[string]string{"A": "1", "B": ""}[k] })
	if v, ok := lookup("A"); v != "1" || !ok {
		t.Errorf("A = %q, %v", v, ok)
	}
	if _, ok := lookup("B"); ok {
		t.Error("empty B counts as set")
	}
}
