// The message list, the status bar and the member count: everything the
// page shows of a session. Text from the network is only ever set with
// textContent, never parsed as HTML.
import type { Line, LineHandle, State } from "./session";
import { messageLines } from "./textsafe";

const pad = (n: number) => String(n).padStart(2, "0");

/** The local time of d as HH:MM:SS. */
export function clock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// What screen readers hear before a line of each kind, and what a sighted
// reader sees (the terminal clients' prefixes).
const PREFIX: Record<Line["kind"], string> = {
  own: "",
  text: "",
  action: "",
  private: "",
  join: ">>> ",
  leave: ">>> ",
  system: "*** ",
  marker: "",
  local: "*** ",
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** Renders lines into the message list. */
export class MessageList {
  constructor(private readonly list: HTMLElement) {}

  /** Empties the list (a new session). */
  clear(): void {
    this.list.replaceChildren();
  }

  /** Appends line and returns its handle. */
  show(line: Line): LineHandle {
    const li = el("li", `msg msg-${line.kind}`);
    if (line.history) li.classList.add("msg-history");
    if (line.pending) li.classList.add("msg-pending");
    const time = el("time", "msg-time", clock(line.time));
    time.dateTime = line.time.toISOString();
    li.append(time, " ");
    if (line.kind === "text" || line.kind === "own") {
      const who = line.kind === "own" ? "You" : line.user;
      li.append(el("span", "msg-user", who === "You" ? "You:" : `[${messageLines(who).join(" ")}]:`), " ");
    }
    const body = el("span", "msg-text", PREFIX[line.kind] + messageLines(line.text).join("\n"));
    body.dir = "auto";
    li.append(body);
    if (line.pending) li.append(el("span", "msg-state", " (pending)"));
    const follow = this.atBottom();
    this.list.append(li);
    if (follow) li.scrollIntoView({ block: "end" });
    return {
      sent: () => {
        li.classList.remove("msg-pending");
        li.querySelector(".msg-state")?.remove();
      },
      failed: () => {
        li.classList.replace("msg-pending", "msg-failed");
        const state = li.querySelector(".msg-state");
        if (state) state.textContent = " (not sent)";
      },
      remove: () => li.remove(),
    };
  }

  private atBottom(): boolean {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
  }
}

/** The bar above the messages: who, where, how many, and the state. */
export class StatusBar {
  constructor(
    private readonly where: HTMLElement,
    private readonly count: HTMLElement,
    private readonly status: HTMLElement,
  ) {}

  state(state: State, name: string, room: string): void {
    this.where.textContent = `${messageLines(name).join(" ")} in ${messageLines(room).join(" ")}`;
    const words: Record<State, string> = { live: "Connected", reconnecting: "Reconnecting…", ended: "Left" };
    this.status.textContent = words[state];
    this.status.dataset.state = state;
    document.body.dataset.state = state;
  }

  members(n: number | null): void {
    this.count.textContent = n === null ? "" : n === 1 ? "1 member" : `${n} members`;
  }
}
