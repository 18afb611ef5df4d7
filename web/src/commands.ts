// What a typed line asks for: the terminal clients' parser
// (client/chatclient/commands.go, pyclient/commands.py), checked against
// the same cases, client/chatclient/testdata/commands.json.

/** What a typed line may ask for, named as commands.json names it. */
export type CommandKind =
  | "empty"
  | "text"
  | "action"
  | "private"
  | "join"
  | "who"
  | "rooms"
  | "help"
  | "quit"
  | "invalid"
  | "kick"
  | "mute"
  | "unmute"
  | "ban"
  | "unban"
  | "op"
  | "topic"
  | "mods"
  | "bans";

/** What one typed line asks for. */
export interface Command {
  kind: CommandKind;
  /** The room of /join and /who, the member /msg is for. */
  arg: string;
  /**
   * What to send (text, /me, /msg), a moderation reason or topic, or for
   * "invalid" the reply to show.
   */
  text: string;
  /** How long a /mute or /ban lasts, in seconds (0: a ban until /unban). */
  seconds: number;
}

/** What /help shows, one line each, the first a heading. */
export const HELP_LINES: readonly string[] = [
  "Commands:",
  "/help             this list",
  "/who [ROOM]       who is in this room (or in ROOM)",
  "/rooms            the rooms with people in them, and how many",
  "/join ROOM        leave this room for ROOM",
  "/me ACTION        an action: /me waves shows * Alice waves",
  '/msg NAME TEXT    a private message only NAME sees ("NAME" in quotes if it has spaces)',
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
];

// Space and tab separate a command's words, as in both terminal clients.
const isBlank = (c: string) => c === " " || c === "\t";

function trimLeft(s: string): string {
  let i = 0;
  while (i < s.length && isBlank(s[i])) i++;
  return s.slice(i);
}

function trim(s: string): string {
  let j = s.length;
  while (j > 0 && isBlank(s[j - 1])) j--;
  return trimLeft(s.slice(0, j));
}

function firstBlank(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (isBlank(s[i])) return i;
  }
  return -1;
}

const cmd = (kind: CommandKind, arg = "", text = "", seconds = 0): Command => ({
  kind,
  arg,
  text,
  seconds,
});
const usage = (u: string): Command => cmd("invalid", "", "usage: " + u);

/**
 * Says what `line`, as typed, asks for. A line that does not start with
 * "/" (after spaces) is text, sent as typed; "//" sends the rest of the
 * line after the first "/"; "/name ..." is a command, its name in any
 * case. An unknown command or one without what it needs is "invalid": it
 * is answered on the page and never sent.
 */
export function parseCommand(line: string): Command {
  const trimmed = trimLeft(line);
  if (trim(trimmed) === "") return cmd("empty");
  if (trimmed.startsWith("//")) return cmd("text", "", trimmed.slice(1));
  if (!trimmed.startsWith("/")) return cmd("text", "", line);
  let word = trimmed.slice(1);
  let rest = "";
  const i = firstBlank(word);
  if (i >= 0) {
    rest = trim(word.slice(i + 1));
    word = word.slice(0, i);
  }
  switch (word.toLowerCase()) {
    case "help":
      return cmd("help");
    case "quit":
    case "exit":
    case "q":
      return rest === "" ? cmd("quit") : usage("/quit");
    case "who":
      return cmd("who", rest);
    case "rooms":
      return rest === "" ? cmd("rooms") : usage("/rooms");
    case "join":
      return rest === "" ? usage("/join ROOM") : cmd("join", rest);
    case "me":
      return rest === "" ? usage("/me ACTION") : cmd("action", "", rest);
    case "msg": {
      const split = splitName(rest);
      return split ? cmd("private", split[0], split[1]) : usage("/msg NAME TEXT");
    }
    case "kick": {
      const [name, why] = splitFirst(rest);
      return name ? cmd("kick", name, why) : usage("/kick NAME [WHY]");
    }
    case "unmute":
    case "unban":
    case "op": {
      const kind = word.toLowerCase() as CommandKind;
      const [name, extra] = splitFirst(rest);
      return name && !extra ? cmd(kind, name) : usage("/" + kind + " NAME");
    }
    case "mute": {
      const [name, after] = splitFirst(rest);
      const [first, why] = splitFirst(after);
      const seconds = parseDuration(first);
      return name && seconds !== null ? cmd("mute", name, why, seconds) : usage(MUTE_USAGE);
    }
    case "ban": {
      const [name, after] = splitFirst(rest);
      if (!name) return usage(BAN_USAGE);
      const [first, why] = splitFirst(after);
      const seconds = parseDuration(first);
      return seconds !== null ? cmd("ban", name, why, seconds) : cmd("ban", name, after);
    }
    case "topic":
      return cmd("topic", "", rest);
    case "mods":
    case "bans": {
      const kind = word.toLowerCase() as CommandKind;
      return rest === "" ? cmd(kind) : usage("/" + kind);
    }
  }
  return cmd("invalid", "", "unknown command /" + word + "; /help lists them");
}

// splitName splits "NAME TEXT" or '"NAME WITH SPACES" TEXT'; null when
// either part is missing.
function splitName(s: string): [string, string] | null {
  const [name, text] = splitFirst(s);
  return name !== "" && text !== "" ? [name, text] : null;
}

const MUTE_USAGE = "/mute NAME TIME [WHY], TIME like 10m, 1h30m or 2d";
const BAN_USAGE = "/ban NAME [TIME] [WHY], TIME like 10m, 1h30m or 2d";

// splitFirst splits "NAME REST" or '"NAME WITH SPACES" REST' into the name
// and the rest, either possibly empty; a quote that does not close (or is
// followed by more than blanks) leaves both empty.
function splitFirst(s: string): [string, string] {
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    if (end < 0) return ["", ""];
    const rest = s.slice(end + 1);
    if (rest !== "" && !isBlank(rest[0])) return ["", ""];
    return [trim(s.slice(1, end)), trim(rest)];
  }
  const i = firstBlank(s);
  return i >= 0 ? [s.slice(0, i), trim(s.slice(i + 1))] : [s, ""];
}

// A duration as the commands take it: days, hours, minutes and seconds,
// in that order, each optional.
const DURATION = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/;

/**
 * Reads a duration as the commands take it ("10m", "1h30m", "2d", in any
 * case) in seconds; null unless it is one that lasts at least a second.
 */
export function parseDuration(s: string): number | null {
  const m = DURATION.exec(s.toLowerCase());
  if (s === "" || m === null) return null;
  const units = [86400, 3600, 60, 1];
  let seconds = 0;
  for (let i = 0; i < 4; i++) {
    if (m[i + 1] !== undefined) seconds += Number(m[i + 1]) * units[i];
  }
  return seconds > 0 ? seconds : null;
}
