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
  | "invalid";

/** What one typed line asks for. */
export interface Command {
  kind: CommandKind;
  /** The room of /join and /who, the member /msg is for. */
  arg: string;
  /** What to send (text, /me, /msg), or for "invalid" the reply to show. */
  text: string;
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

const cmd = (kind: CommandKind, arg = "", text = ""): Command => ({ kind, arg, text });
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
  }
  return cmd("invalid", "", "unknown command /" + word + "; /help lists them");
}

// splitName splits "NAME TEXT" or '"NAME WITH SPACES" TEXT'; null when
// either part is missing.
function splitName(s: string): [string, string] | null {
  let name: string;
  let text: string;
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    if (end < 0) return null;
    name = s.slice(1, end);
    text = s.slice(end + 1);
    if (text !== "" && !isBlank(text[0])) return null;
  } else {
    const i = firstBlank(s);
    [name, text] = i >= 0 ? [s.slice(0, i), s.slice(i + 1)] : [s, ""];
  }
  name = trim(name);
  text = trim(text);
  return name !== "" && text !== "" ? [name, text] : null;
}
