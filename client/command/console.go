package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/polychat/polychat/client/chatclient"
	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/internal/tlsconfig"
)

// errChangedMind ends the command quietly with status 0: the user pressed
// Ctrl+C or Ctrl+D at a prompt, or while signing in.
var errChangedMind = errors.New("left before joining")

// usageError is bad usage found once the session starts (e.g. -login with
// no name): one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

var errLoginNeedsName = &usageError{"-login needs your name: give it as an argument or with -name"}

// converse runs the chat the options describe, on a terminal when stdin
// and stdout are both terminals and line by line otherwise, and returns
// the exit status.
func converse(ctx context.Context, opts options, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	if opts.chat.TLS, err = tlsconfig.Client(opts.tls); err != nil {
		return report(stderr, err)
	}
	var signIn *signInner
	if opts.login {
		signIn = &signInner{cfg: chatclient.AuthConfig{Server: opts.authServer, TLS: opts.chat.TLS}}
	}
	stdinFile, stdinTerm := terminal(stdin)
	stdoutFile, stdoutTerm := terminal(stdout)
	if stdinTerm && stdoutTerm {
		err = runTerminal(ctx, opts.chat, signIn, stdinFile, stdoutFile)
	} else {
		err = runLines(ctx, opts.chat, signIn, stdin, stdinFile, stdinTerm, stdout, stderr)
	}
	signIn.logout()
	return report(stderr, err)
}

// report writes err as one line on stderr and returns the exit status it
// means.
func report(stderr io.Writer, err error) int {
	var usage *usageError
	var disconnected *chatclient.DisconnectedError
	switch {
	case err == nil, errors.Is(err, errChangedMind):
		return cli.ExitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "error: "+usage.msg)
		return cli.ExitUsage
	case errors.As(err, &disconnected):
		fmt.Fprintln(stderr, disconnected.Error())
	default:
		fmt.Fprintln(stderr, "error: "+err.Error())
	}
	return cli.ExitError
}

// terminal returns f as a file and whether it is a terminal.
func terminal(f any) (*os.File, bool) {
	file, ok := f.(*os.File)
	return file, ok && term.IsTerminal(int(file.Fd()))
}

// runLines runs the session line by line, for pipes and scripts: no
// prompts and no escape codes. The name is asked for only when stdin is a
// terminal; with signIn, the password is read without echo from a terminal
// and as the first input line otherwise.
func runLines(ctx context.Context, cfg chatclient.Config, signIn *signInner, stdin io.Reader, stdinFile *os.File, stdinTerm bool, stdout, stderr io.Writer) error {
	in := chatclient.NewLineReader(stdin)
	if cfg.Name == "" && stdinTerm {
		fmt.Fprint(stderr, "Enter your name: ")
		name, err := in.ReadLine()
		if err != nil {
			return errChangedMind
		}
		cfg.Name = name
	}
	if signIn != nil {
		if strings.TrimSpace(cfg.Name) == "" {
			return errLoginNeedsName
		}
		password, err := readPassword(in, stdinFile, stdinTerm, stderr)
		if err != nil {
			return err
		}
		if cfg.Token, err = signIn.login(ctx, cfg.Name, password); err != nil {
			if ctx.Err() != nil {
				return errChangedMind // Ctrl+C while signing in
			}
			return err
		}
	}
	return chatclient.Run(ctx, cfg, in, stdout)
}

// readPassword reads the password for -login: without echo from a
// terminal, else as the first input line.
func readPassword(in chatclient.LineReader, stdinFile *os.File, stdinTerm bool, stderr io.Writer) (string, error) {
	if stdinTerm {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(stdinFile.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", errChangedMind
		}
		return string(b), nil
	}
	password, err := in.ReadLine()
	if err != nil {
		return "", &usageError{"-login needs the password as the first input line"}
	}
	return password, nil
}

// runTerminal runs the session on an interactive terminal in raw mode, and
// restores the terminal before it returns. With signIn, it asks for the
// password (not echoed) and signs in first.
func runTerminal(ctx context.Context, cfg chatclient.Config, signIn *signInner, stdin, stdout *os.File) error {
	t, err := chatclient.OpenTerminal(stdin, stdout, chatclient.Prompt)
	if err != nil {
		return err
	}
	defer t.Restore()
	if cfg.Name == "" {
		t.SetPrompt("Enter your name: ")
		name, err := t.ReadLine()
		if err != nil {
			return errChangedMind
		}
		cfg.Name = name
		t.SetPrompt(chatclient.Prompt)
	}
	if signIn != nil {
		if strings.TrimSpace(cfg.Name) == "" {
			return errLoginNeedsName
		}
		password, err := t.ReadPassword("Password: ")
		if err != nil {
			return errChangedMind
		}
		if cfg.Token, err = signIn.login(ctx, cfg.Name, password); err != nil {
			return err
		}
	}
	cfg.Banner = "Connected. Type a message and press Enter; /help lists the commands, /quit leaves."
	err = chatclient.Run(ctx, cfg, t, t)
	if rerr := t.Restore(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// signInner signs in with -login, and out again when the session is over.
type signInner struct {
	cfg   chatclient.AuthConfig
	token string
}

// login signs name in with password and returns the session token.
func (s *signInner) login(ctx context.Context, name, password string) (string, error) {
	token, err := chatclient.Login(ctx, s.cfg, strings.TrimSpace(name), password)
	s.token = token
	return token, err
}

// logout ends the session login opened, if any (best effort: the session
// expires anyway).
func (s *signInner) logout() {
	if s == nil || s.token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = chatclient.Logout(ctx, s.cfg, s.token)
	s.token = ""
}
