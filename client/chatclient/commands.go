package chatclient

import (
	"strings"
)

// CommandKind says what a typed line asks for.
type CommandKind int

// What a typed line may ask for. The Python client's parser
// (pyclient/commands.py) is the same; testdata/commands.json holds the
// cases both are checked against.
const (
	// CommandEmpty is a line of nothing but spaces: nothing to do.
	CommandEmpty CommandKind = iota
	// CommandText sends Text to the room.
	CommandText
	// CommandAction sends Text as an action ("/me waves").
	CommandAction
	// CommandPrivate sends Text to the member named Arg only.
	CommandPrivate
	// CommandJoin moves to the room Arg.
	CommandJoin
	// CommandWho lists the members of the room Arg, or of this room.
	CommandWho
	// CommandRooms lists the rooms with members.
	CommandRooms
	// CommandHelp lists the commands.
	CommandHelp
	// CommandQuit leaves the chat.
	CommandQuit
	// CommandInvalid is a command that cannot be carried out as typed;
	// Text says why, to the user, and nothing is sent.
	CommandInvalid
)

var commandNames = map[CommandKind]string{
	CommandEmpty: "empty", CommandText: "text", CommandAction: "action", CommandPrivate: "private",
	CommandJoin: "join", CommandWho: "who", CommandRooms: "rooms", CommandHelp: "help",
	CommandQuit: "quit", CommandInvalid: "invalid",
}

// String returns the kind's name as testdata/commands.json spells it.
func (k CommandKind) String() string { return commandNames[k] }

// Command is what one typed line asks for.
type Command struct {
	Kind CommandKind
	// Arg is the room of /join and /who, and the member /msg is for.
	Arg string
	// Text is what to send (text, /me, /msg), or for CommandInvalid the
	// reply to show.
	Text string
}

// HelpLines is what /help shows, one line each, the first a heading.
var HelpLines = []string{
	"Commands:",
	"/help             this list",
	"/who [ROOM]       who is in this room (or in ROOM)",
	"/rooms            the rooms with people in them, and how many",
	"/join ROOM        leave this room for ROOM",
	"/me ACTION        an action: /me waves shows * Alice waves",
	`/msg NAME TEXT    a private message only NAME sees ("NAME" in quotes if it has spaces)`,
	"/quit             leave the chat (also /exit, /q)",
	"//TEXT            send TEXT that starts with /",
}

// blanks are the characters that separate a command's words: space and
// tab only, so that both clients split the same way.
const blanks = " \t"

// ParseCommand says what line, as typed, asks for. A line that does not
// start with "/" (after spaces) is text, sent as typed; "//" sends the
// rest of the line after the first "/"; "/name ..." is a command, its name
// in any case. An unknown command or a command without what it needs is
// CommandInvalid: it is answered locally and never sent.
func ParseCommand(line string) Command {
	trimmed := strings.TrimLeft(line, blanks)
	switch {
	case strings.Trim(trimmed, blanks) == "":
		return Command{Kind: CommandEmpty}
	case strings.HasPrefix(trimmed, "//"):
		return Command{Kind: CommandText, Text: trimmed[1:]}
	case !strings.HasPrefix(trimmed, "/"):
		return Command{Kind: CommandText, Text: line}
	}
	word, rest := trimmed[1:], ""
	if i := strings.IndexAny(word, blanks); i >= 0 {
		word, rest = word[:i], strings.Trim(word[i+1:], blanks)
	}
	usage := func(u string) Command { return Command{Kind: CommandInvalid, Text: "usage: " + u} }
	switch strings.ToLower(word) {
	case "help":
		return Command{Kind: CommandHelp}
	case "quit", "exit", "q":
		if rest != "" {
			return usage("/quit")
		}
		return Command{Kind: CommandQuit}
	case "who":
		return Command{Kind: CommandWho, Arg: rest}
	case "rooms":
		if rest != "" {
			return usage("/rooms")
		}
		return Command{Kind: CommandRooms}
	case "join":
		if rest == "" {
			return usage("/join ROOM")
		}
		return Command{Kind: CommandJoin, Arg: rest}
	case "me":
		if rest == "" {
			return usage("/me ACTION")
		}
		return Command{Kind: CommandAction, Text: rest}
	case "msg":
		name, text, ok := splitName(rest)
		if !ok {
			return usage("/msg NAME TEXT")
		}
		return Command{Kind: CommandPrivate, Arg: name, Text: text}
	}
	return Command{Kind: CommandInvalid, Text: "unknown command /" + word + "; /help lists them"}
}

// splitName splits "NAME TEXT" or `"NAME WITH SPACES" TEXT`; ok is false
// when either part is missing.
func splitName(s string) (name, text string, ok bool) {
	if quoted, found := strings.CutPrefix(s, `"`); found {
		name, text, ok = strings.Cut(quoted, `"`)
		if !ok || (text != "" && !strings.ContainsAny(text[:1], blanks)) {
			return "", "", false
		}
	} else if i := strings.IndexAny(s, blanks); i >= 0 {
		name, text = s[:i], s[i+1:]
	} else {
		name = s
	}
	name, text = strings.Trim(name, blanks), strings.Trim(text, blanks)
	return name, text, name != "" && text != ""
}

// IsQuitCommand reports whether line asks to leave the chat: /quit, /exit
// or /q, in any case, with surrounding spaces allowed.
func IsQuitCommand(line string) bool {
	return ParseCommand(line).Kind == CommandQuit
}
