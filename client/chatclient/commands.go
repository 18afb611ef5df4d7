package chatclient

import (
	"regexp"
	"strconv"
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
	// CommandKick ends the memberships of the member Arg; Text is the
	// reason.
	CommandKick
	// CommandMute refuses Arg's messages for Seconds; Text is the reason.
	CommandMute
	// CommandUnmute lifts Arg's mute.
	CommandUnmute
	// CommandBan keeps Arg out of the room for Seconds (0: until unbanned);
	// Text is the reason.
	CommandBan
	// CommandUnban lifts Arg's ban.
	CommandUnban
	// CommandOp makes Arg an owner of the room.
	CommandOp
	// CommandTopic sets the room's topic to Text ("" clears it).
	CommandTopic
	// CommandMods shows who moderates the room, and its topic.
	CommandMods
	// CommandBans lists the room's bans.
	CommandBans
	// CommandInvalid is a command that cannot be carried out as typed;
	// Text says why, to the user, and nothing is sent.
	CommandInvalid
	// CommandSend shares the file at path Arg in the room (files.go).
	CommandSend
	// CommandGet downloads the file of id Arg into the folder Text ("":
	// the current one), replacing a file of its name if Overwrite.
	CommandGet
)

var commandNames = map[CommandKind]string{
	CommandEmpty: "empty", CommandText: "text", CommandAction: "action", CommandPrivate: "private",
	CommandJoin: "join", CommandWho: "who", CommandRooms: "rooms", CommandHelp: "help",
	CommandQuit: "quit", CommandInvalid: "invalid",
	CommandKick: "kick", CommandMute: "mute", CommandUnmute: "unmute", CommandBan: "ban", CommandUnban: "unban",
	CommandOp: "op", CommandTopic: "topic", CommandMods: "mods", CommandBans: "bans",
	CommandSend: "send", CommandGet: "get",
}

// String returns the kind's name as testdata/commands.json spells it.
func (k CommandKind) String() string { return commandNames[k] }

// Command is what one typed line asks for.
type Command struct {
	Kind CommandKind
	// Arg is the room of /join and /who, and the member /msg is for.
	Arg string
	// Text is what to send (text, /me, /msg), a moderation reason or
	// topic, or for CommandInvalid the reply to show.
	Text string
	// Seconds is how long a /mute or /ban lasts (0: a ban until /unban).
	Seconds int64
	// Overwrite is /get's --overwrite.
	Overwrite bool
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
	"Moderators (signed in, room owners and admins):",
	"/kick NAME [WHY]  end NAME's connections to this room",
	"/mute NAME TIME [WHY]  refuse NAME's messages for TIME (10m, 1h30m, 2d)",
	"/unmute NAME      lift a mute",
	"/ban NAME [TIME] [WHY]  keep NAME out of this room (for TIME, or until /unban)",
	"/unban NAME       lift a ban",
	"/op NAME          make NAME an owner of this room",
	"/topic [TEXT]     set this room's topic (shown on join); alone, clear it",
	"/mods             who moderates this room, and its topic",
	"/bans             this room's bans",
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
	case "kick", "unmute", "unban", "op":
		kind := map[string]CommandKind{"kick": CommandKick, "unmute": CommandUnmute, "unban": CommandUnban, "op": CommandOp}[strings.ToLower(word)]
		name, why := splitFirst(rest)
		if name == "" || (kind != CommandKick && why != "") {
			if kind == CommandKick {
				return usage("/kick NAME [WHY]")
			}
			return usage("/" + strings.ToLower(word) + " NAME")
		}
		return Command{Kind: kind, Arg: name, Text: why}
	case "mute":
		name, after := splitFirst(rest)
		first, why := splitFirst(after)
		seconds, ok := ParseDuration(first)
		if name == "" || !ok {
			return usage("/mute NAME TIME [WHY], TIME like 10m, 1h30m or 2d")
		}
		return Command{Kind: CommandMute, Arg: name, Seconds: seconds, Text: why}
	case "ban":
		name, after := splitFirst(rest)
		if name == "" {
			return usage("/ban NAME [TIME] [WHY], TIME like 10m, 1h30m or 2d")
		}
		first, why := splitFirst(after)
		if seconds, ok := ParseDuration(first); ok {
			return Command{Kind: CommandBan, Arg: name, Seconds: seconds, Text: why}
		}
		return Command{Kind: CommandBan, Arg: name, Text: after}
	case "topic":
		return Command{Kind: CommandTopic, Text: rest}
	case "mods":
		if rest != "" {
			return usage("/mods")
		}
		return Command{Kind: CommandMods}
	case "bans":
		if rest != "" {
			return usage("/bans")
		}
		return Command{Kind: CommandBans}
	case "send", "get":
		return parseFileCommand(strings.ToLower(word), rest)
	}
	return Command{Kind: CommandInvalid, Text: "unknown command /" + word + "; /help lists them"}
}

// splitName splits "NAME TEXT" or `"NAME WITH SPACES" TEXT`; ok is false
// when either part is missing.
func splitName(s string) (name, text string, ok bool) {
	name, text = splitFirst(s)
	return name, text, name != "" && text != ""
}

// splitFirst splits "NAME REST" or `"NAME WITH SPACES" REST` into the
// name and the rest, either possibly empty; a quote that does not close
// (or is followed by more than blanks) leaves the name empty.
func splitFirst(s string) (name, rest string) {
	if quoted, found := strings.CutPrefix(s, `"`); found {
		name, rest, ok := strings.Cut(quoted, `"`)
		if !ok || (rest != "" && !strings.ContainsAny(rest[:1], blanks)) {
			return "", ""
		}
		return strings.Trim(name, blanks), strings.Trim(rest, blanks)
	}
	if i := strings.IndexAny(s, blanks); i >= 0 {
		return s[:i], strings.Trim(s[i+1:], blanks)
	}
	return s, ""
}

// durationPattern is a duration as the commands take it: days, hours,
// minutes and seconds, in that order, each optional: 2d, 1h30m, 45s.
var durationPattern = regexp.MustCompile(`^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$`)

// ParseDuration reads a duration as the commands take it ("10m", "1h30m",
// "2d", in any case) in seconds; ok is false unless it is one and lasts at
// least a second.
func ParseDuration(s string) (seconds int64, ok bool) {
	parts := durationPattern.FindStringSubmatch(strings.ToLower(s))
	if s == "" || parts == nil {
		return 0, false
	}
	for i, unit := range []int64{86400, 3600, 60, 1} {
		if parts[i+1] != "" {
			n, _ := strconv.ParseInt(parts[i+1], 10, 64) // at most 6 digits
			seconds += n * unit
		}
	}
	return seconds, seconds > 0
}

// IsQuitCommand reports whether line asks to leave the chat: /quit, /exit
// or /q, in any case, with surrounding spaces allowed.
func IsQuitCommand(line string) bool {
	return ParseCommand(line).Kind == CommandQuit
}
