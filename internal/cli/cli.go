// Package cli is the command-line plumbing every Polychat Go program shares:
// flags and positional arguments in any order, one-line errors with exit
// status 2, and environment variables with deprecated aliases.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Exit statuses of every Polychat command.
const (
	// ExitOK: the command did what was asked (or printed its help).
	ExitOK = 0
	// ExitError: the command ran and failed.
	ExitError = 1
	// ExitUsage: a flag, argument or environment value is wrong.
	ExitUsage = 2
)

// ErrHelp is returned by Parse when -h or -help was given; the usage has
// then been written.
var ErrHelp = flag.ErrHelp

// Parse parses args into fs and returns the positional arguments. Flags and
// positionals may come in any order, as a person types them
// ("Alice -server host:1 general"); everything after "--" is positional. The
// flag package's own messages are kept quiet: a bad flag is returned as one
// line, and on -h the usage (fs.Usage) is written to fs.Output() and ErrHelp
// returned.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package prints the usage on every error; only -h should.
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	flagArgs, positionals := split(fs, args)
	if err := fs.Parse(flagArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			if usage != nil {
				usage()
			} else {
				fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
				fs.PrintDefaults()
			}
		}
		return nil, err
	}
	return append(positionals, fs.Args()...), nil
}

// split separates args into flags (each with its value, when the value is
// the next argument) and positionals.
func split(fs *flag.FlagSet, args []string) (flagArgs, positionals []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flagArgs, append(positionals, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			positionals = append(positionals, a)
			continue
		}
		flagArgs = append(flagArgs, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
			i++
			flagArgs = append(flagArgs, args[i])
		}
	}
	return flagArgs, positionals
}

// isBool reports whether f takes no value ("-tls" rather than "-tls x").
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Fail writes err as one line, "prog: err (see -h)", to w and returns
// ExitUsage; for ErrHelp it writes nothing and returns ExitOK.
func Fail(w io.Writer, prog string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(w, "%s: %s (see -h)\n", prog, oneLine(err.Error()))
	return ExitUsage
}

// oneLine keeps the first line of msg.
func oneLine(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	return msg
}

// Deprecated registers old as a deprecated spelling of the flag named
// current, which must already be defined: setting old sets current, and
// calls warn once with a line naming current. Its usage reads
// "deprecated: use -current", which IsDeprecated recognises.
func Deprecated(fs *flag.FlagSet, old, current string, warn func(string)) {
	target := fs.Lookup(current)
	if target == nil {
		panic("cli: no flag -" + current)
	}
	fs.Var(&alias{Value: target.Value, target: current, warn: func() {
		warn(fmt.Sprintf("flag -%s is deprecated; use -%s", old, current))
	}}, old, "deprecated: use -"+current)
}

// Retired registers name as a boolean flag that no longer does anything:
// setting it (by flag or variable) only calls warn once with a line saying
// so and why, so that scripts that still pass it keep working for a
// release. IsDeprecated recognises it.
func Retired(fs *flag.FlagSet, name, why string, warn func(string)) {
	fs.Var(&retired{warn: func() { warn(fmt.Sprintf("flag -%s has no effect any more: %s", name, why)) }},
		name, "retired, no effect: "+why)
}

// IsDeprecated reports whether f was registered by Deprecated or Retired,
// so that a usage listing can leave it out.
func IsDeprecated(f *flag.Flag) bool {
	switch f.Value.(type) {
	case *alias, *retired:
		return true
	}
	return false
}

// retired is a flag that does nothing but warn, once, when set.
type retired struct {
	warn   func()
	warned bool
}

func (r *retired) String() string { return "false" }

func (r *retired) Set(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return errors.New("want true or false")
	}
	if !r.warned {
		r.warned = true
		r.warn()
	}
	return nil
}

func (r *retired) IsBoolFlag() bool { return true }

// alias forwards to the flag it stands for, warning on first use.
type alias struct {
	flag.Value
	target string // the name of the flag it stands for
	warn   func()
	warned bool
}

func (a *alias) Set(v string) error {
	if !a.warned {
		a.warned = true
		a.warn()
	}
	return a.Value.Set(v)
}

func (a *alias) IsBoolFlag() bool {
	b, ok := a.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Var is an environment variable, with the names it replaces. A flag wins
// over its variable, which wins over the default.
type Var struct {
	// Name is the variable's name, e.g. "POLYCHAT_LOG_LEVEL".
	Name string
	// Deprecated are older names still read when Name is unset, each with
	// a warning.
	Deprecated []string
}

// Lookup returns the value of v through lookupEnv, and whether it is set.
// When only a deprecated name is set, its value is returned with a warning
// line naming v.Name; otherwise warning is empty.
func (v Var) Lookup(lookupEnv func(string) (string, bool)) (value string, ok bool, warning string) {
	if value, ok = lookupEnv(v.Name); ok {
		return value, true, ""
	}
	for _, old := range v.Deprecated {
		if value, ok = lookupEnv(old); ok {
			return value, true, fmt.Sprintf("environment variable %s is deprecated; use %s", old, v.Name)
		}
	}
	return "", false, ""
}

// LookupEnv adapts a getenv function (as os.Getenv) to the lookupEnv form,
// an empty value counting as unset.
func LookupEnv(getenv func(string) string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	}
}

// SetFromEnv sets every flag of fs that was not given on the command line
// from its variable in vars (by flag name), through lookupEnv. A bad value
// is an error naming both the variable and the flag; warnings of
// deprecated names go to warn.
func SetFromEnv(fs *flag.FlagSet, vars map[string]Var, lookupEnv func(string) (string, bool), warn func(string)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		if a, ok := f.Value.(*alias); ok {
			given[a.target] = true
		}
	})
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := vars[f.Name]
		if !ok || given[f.Name] || err != nil {
			return
		}
		value, set, warning := v.Lookup(lookupEnv)
		if !set {
			return
		}
		if warning != "" {
			warn(warning)
		}
		if serr := f.Value.Set(value); serr != nil {
			err = fmt.Errorf("invalid value %q for %s (flag -%s): %s", value, v.Name, f.Name, oneLine(serr.Error()))
		}
	})
	return err
}
