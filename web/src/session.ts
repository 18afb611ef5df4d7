// A chat session in the browser: one membership at a time, opened with
// Join (a server stream) and spoken into with Send, that rides out lost
// connections by the terminal clients' rules (docs/chat-protocol.md,
// "Reconnecting clients"): the same backoff, the same resume token and
// resume point, the same dedupe, and lines typed meanwhile sent once.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ChatMessage_Kind as Kind,
  ChatService,
  RefusalSchema,
  type ChatMessage,
  type JoinRequestSchema,
} from "./gen/polychat/chat/chat_pb";
import type { Transport } from "@connectrpc/connect";
import { reconnectDelay } from "./backoff";
import { MAX_PENDING_LINES } from "./chatwire";
import { parseCommand, HELP_LINES } from "./commands";
import { Dedupe } from "./dedupe";
import { isModeration, moderate } from "./moderation";

/** How the page shows a line. */
export type LineKind =
  | "own" // what this page sent: text and actions
  | "text"
  | "action"
  | "private"
  | "join"
  | "leave"
  | "system"
  | "marker" // history start and end
  | "local"; // the page's own notices and answers

/** One line to show. */
export interface Line {
  kind: LineKind;
  time: Date;
  /** The author of a text; "" for everything else. */
  user: string;
  /** The text as the server worded it (or as typed, for own lines). */
  text: string;
  /** Part of a history block. */
  history: boolean;
  /** An own line not yet taken by the server. */
  pending?: boolean;
}

/** A shown own line, updated as its send goes. */
export interface LineHandle {
  /** The server took it. */
  sent(): void;
  /** It was not sent; the page says why in another line. */
  failed(): void;
  /** It is shown another way (the echo of a private message). */
  remove(): void;
}

/** Where the session is. */
export type State = "live" | "reconnecting" | "ended";

/** What the session shows. */
export interface View {
  show(line: Line): LineHandle;
  state(state: State, name: string, room: string): void;
  /** How many members the room has; null when unknown. */
  members(count: number | null): void;
  /** The session ended; why, for the join form ("" when the user left). */
  ended(why: string, code: Code | null): void;
}

/** What a session starts with. */
export interface SessionOptions {
  name: string;
  room: string;
  /** The sign-in session token, when the server requires sign-in. */
  token?: string;
}

// Statuses that retrying cannot fix: the session ends.
const FATAL = new Set([Code.Unauthenticated, Code.InvalidArgument, Code.PermissionDenied]);
// Statuses of a Send that resending cannot fix: the line is dropped.
const REFUSED = new Set([Code.InvalidArgument, Code.FailedPrecondition, Code.OutOfRange, Code.Unimplemented]);

// Pace of sending what waited: 20 at once, then 10 a second, half the
// server's default rate limit, as the terminal clients do.
const PACE_BURST = 20;
const PACE_PER_SECOND = 10;
// How many of its own message ids the page remembers.
const OWN_IDS_KEPT = 1024;

const WELCOME = /^Welcome(?: back)?, (.+)! You are in room /s;

// The page asks the server for a heartbeat every HEARTBEAT_SECONDS on its
// Join stream, and gives up on a stream that brought nothing for
// SILENCE_MS: two heartbeats missed, and some slack. A connection that died
// without a word (a network that drops packets, no FIN) is then noticed,
// which the browser alone would not do for many minutes.
export const HEARTBEAT_SECONDS = 10;
export const SILENCE_MS = 2 * HEARTBEAT_SECONDS * 1000 + 5000;

/** The next message of a stream, or an UNAVAILABLE error after SILENCE_MS without one. */
async function nextWithin(messages: AsyncIterator<ChatMessage>): Promise<IteratorResult<ChatMessage>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectError(`no word from the server for ${SILENCE_MS / 1000} s`, Code.Unavailable)),
      SILENCE_MS,
    );
  });
  try {
    return await Promise.race([messages.next(), silence]);
  } finally {
    clearTimeout(timer);
  }
}

/** An open Join stream, read up to and including its welcome. */
interface Conn {
  abort: AbortController;
  messages: AsyncIterator<ChatMessage>;
  /** What came before and with the welcome, not yet handled. */
  first: ChatMessage[];
  /** Set once the page has moved on from it: what it still brings is not shown. */
  left?: boolean;
}

/** A line waiting to be sent. */
interface Pending {
  id: string;
  kind: Kind;
  text: string;
  recipient: string;
  handle: LineHandle;
}

/** Reason is the readable part of an error, for a person. */
export function reason(err: unknown): string {
  const e = ConnectError.from(err);
  if (e.code === Code.Unknown || e.code === Code.Unavailable) {
    if (/fetch|network|load failed/i.test(e.rawMessage)) return "the server cannot be reached";
  }
  return e.rawMessage || Code[e.code];
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Joins, chats and leaves through the chat server's browser RPCs. */
export class ChatSession {
  private readonly client: Client<typeof ChatService>;
  private readonly headers: Record<string, string>;
  private readonly stop = new AbortController();
  private readonly dedupe = new Dedupe();
  private readonly ownIds = new Set<string>();
  private outbox: Pending[] = [];
  private sending = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private sendFailures = 0;
  private tokens = PACE_BURST;
  private refilled = Date.now();

  private name: string;
  private room: string;
  private memberToken = "";
  private resumeToken = "";
  private live = false;
  private ended = false;
  private conn: Conn | null = null;
  private switchTo: Conn | null = null;
  private block: ChatMessage[] | null = null;
  private countTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    transport: Transport,
    private readonly view: View,
    opts: SessionOptions,
  ) {
    this.client = createClient(ChatService, transport);
    this.headers = opts.token ? { authorization: "Bearer " + opts.token } : {};
    this.name = opts.name;
    this.room = opts.room;
  }

  /**
   * Joins the room. It rejects, with the server's error, when the first
   * Join fails: that is the join form's to show (sign-in required, say).
   */
  async start(): Promise<void> {
    const conn = await this.open(this.room, false);
    void this.run(conn);
  }

  /** Carries out one typed line. */
  input(line: string): void {
    if (this.ended) return;
    const c = parseCommand(line);
    switch (c.kind) {
      case "empty":
        return;
      case "text":
        return this.queue(Kind.TEXT, c.text, "");
      case "action":
        return this.queue(Kind.ACTION, c.text, "");
      case "private":
        return this.queue(Kind.PRIVATE, c.text, c.arg);
      case "help":
        return HELP_LINES.forEach((l) => this.local(l));
      case "invalid":
        return this.local(c.text);
      case "quit":
        void this.leave();
        return;
      case "who":
        return this.whenLive("/who", () => this.who(c.arg || this.room));
      case "rooms":
        return this.whenLive("/rooms", () => this.rooms());
      case "join":
        return this.whenLive("/join", () => this.moveTo(c.arg));
    }
    if (isModeration(c)) {
      this.whenLive("/" + c.kind, async () => {
        const line = await moderate(this.client, this.headers, this.room, c, reason);
        if (line !== "") this.local(line);
      });
    }
  }

  /** Leaves the room: the others are told at once. */
  async leave(): Promise<void> {
    if (this.ended) return;
    const token = this.live ? this.memberToken : "";
    this.end();
    if (token) {
      try {
        await this.client.leave({ memberToken: token }, { headers: this.headers, timeoutMs: 3000 });
      } catch {
        // The connection is gone: the server counts it as a drop.
      }
    }
    this.conn?.abort.abort();
    this.view.ended("", null);
  }

  /**
   * Leaves as the page goes away: a request that outlives the page, so
   * the room is told at once rather than after the grace period.
   */
  leaveOnUnload(baseUrl: string): void {
    if (this.ended || !this.live) return;
    const token = this.memberToken;
    this.end();
    void fetch(baseUrl + "/chat.ChatService/Leave", {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1", ...this.headers },
      body: JSON.stringify({ memberToken: token }),
    }).catch(() => undefined);
  }

  private end(): void {
    this.ended = true;
    this.live = false;
    this.stop.abort();
    clearTimeout(this.retryTimer);
    clearTimeout(this.countTimer);
    const dropped = this.outbox.length;
    for (const p of this.outbox) p.handle.failed();
    this.outbox = [];
    if (dropped > 0) {
      this.local(`${dropped} ${dropped === 1 ? "line" : "lines"} typed while disconnected ${dropped === 1 ? "was" : "were"} not sent`);
    }
    this.view.members(null);
  }

  // ---- the stream ------------------------------------------------------

  /** Opens a Join stream to room and reads it up to its welcome. */
  private async open(room: string, resume: boolean): Promise<Conn> {
    const req: MessageInitShape<typeof JoinRequestSchema> = {
      user: this.name,
      room,
      heartbeatSeconds: HEARTBEAT_SECONDS,
    };
    const point = this.dedupe.resumePoint();
    if (resume && this.resumeToken) req.resumeToken = this.resumeToken;
    if (resume && point) {
      req.resumeEpoch = point.epoch;
      req.resumeSeq = point.seq;
    }
    const abort = new AbortController();
    const messages = this.client.join(req, { signal: abort.signal, headers: this.headers })[Symbol.asyncIterator]();
    const first: ChatMessage[] = [];
    try {
      for (;;) {
        const r = await nextWithin(messages);
        if (r.done) throw new ConnectError("the server closed the stream before the welcome", Code.Unavailable);
        first.push(r.value);
        if (r.value.memberToken !== "") return { abort, messages, first };
      }
    } catch (err) {
      abort.abort();
      throw err;
    }
  }

  /** Reads the streams of the session, reconnecting, until it ends. */
  private async run(conn: Conn): Promise<void> {
    let current: Conn | null = conn;
    while (current && !this.ended) {
      this.conn = current;
      const err = await this.read(current);
      this.live = false;
      if (this.ended) return;
      if (this.switchTo) {
        current = this.switchTo;
        this.switchTo = null;
        continue;
      }
      if (err && FATAL.has(err.code)) {
        return this.fail(err);
      }
      this.view.members(null);
      this.view.state("reconnecting", this.name, this.room);
      this.local(`Connection lost (${err ? reason(err) : "the server closed the stream"}); reconnecting...`);
      current = await this.reconnect();
    }
  }

  /** Handles conn's messages until it ends, and returns why (null: OK). */
  private async read(conn: Conn): Promise<ConnectError | null> {
    try {
      for (const msg of conn.first) this.receive(msg);
      conn.first = [];
      for (;;) {
        const r = await nextWithin(conn.messages);
        if (r.done) return null;
        if (!conn.left) this.receive(r.value);
      }
    } catch (err) {
      return ConnectError.from(err);
    } finally {
      conn.abort.abort();
    }
  }

  /** Opens the stream again, resuming, with the terminal clients' backoff. */
  private async reconnect(): Promise<Conn | null> {
    for (let failed = 0; !this.ended; failed++) {
      await sleep(reconnectDelay(failed), this.stop.signal);
      if (this.ended) return null;
      try {
        const conn = await this.open(this.room, true);
        this.local("Reconnected");
        return conn;
      } catch (err) {
        const e = ConnectError.from(err);
        if (FATAL.has(e.code)) {
          this.fail(e);
          return null;
        }
      }
    }
    return null;
  }

  private fail(err: ConnectError): void {
    if (this.ended) return;
    this.local("Disconnected: " + reason(err));
    this.end();
    this.view.ended(reason(err), err.code);
  }

  /** Shows one message from the server, unless it was shown before. */
  private receive(msg: ChatMessage): void {
    // It only had to arrive.
    if (msg.kind === Kind.HEARTBEAT) return;
    if (msg.memberToken !== "") this.welcomed(msg);
    if (msg.kind === Kind.HISTORY_START) {
      this.block = [msg];
      return;
    }
    if (msg.kind === Kind.HISTORY_END && this.block) {
      // A block whose messages were all shown is left out whole.
      const block = this.block;
      this.block = null;
      if (block.length > 1) {
        block.push(msg);
        for (const m of block) this.view.show(this.lineOf(m, true));
      }
      return;
    }
    if (!this.dedupe.admit(msg)) return;
    if (msg.clientMsgId !== "" && this.ownIds.has(msg.clientMsgId) && msg.kind !== Kind.PRIVATE) {
      // A line of this page's that the server replays arrived: shown
      // when typed, and not to be sent again.
      this.delivered(msg.clientMsgId);
      return;
    }
    if (this.block) {
      this.block.push(msg);
      return;
    }
    this.view.show(this.lineOf(msg, false));
    if (msg.kind === Kind.JOIN || msg.kind === Kind.LEAVE || msg.kind === Kind.SYSTEM) this.countSoon();
  }

  /** Takes the membership the welcome names, and sends what waited. */
  private welcomed(msg: ChatMessage): void {
    this.memberToken = msg.memberToken;
    if (msg.resumeToken !== "") this.resumeToken = msg.resumeToken;
    const m = WELCOME.exec(msg.message);
    if (m) this.name = m[1];
    this.room = msg.room || this.room;
    this.live = true;
    this.sendFailures = 0;
    this.view.state("live", this.name, this.room);
    this.countSoon();
    void this.flush();
  }

  private lineOf(msg: ChatMessage, history: boolean): Line {
    const time = msg.sentAt
      ? new Date(Number(msg.sentAt.seconds) * 1000 + Math.floor(msg.sentAt.nanos / 1e6))
      : new Date(Number(msg.timestamp) * 1000);
    const kinds: Partial<Record<Kind, Line["kind"]>> = {
      [Kind.ACTION]: "action",
      [Kind.PRIVATE]: "private",
      [Kind.JOIN]: "join",
      [Kind.LEAVE]: "leave",
      [Kind.SYSTEM]: "system",
      [Kind.MODERATION]: "system",
      [Kind.REFUSED]: "system",
      [Kind.HISTORY_START]: "marker",
      [Kind.HISTORY_END]: "marker",
    };
    const kind = kinds[msg.kind] ?? "text";
    return { kind, time, user: kind === "text" ? msg.user : "", text: msg.message, history };
  }

  private local(text: string): void {
    this.view.show({ kind: "local", time: new Date(), user: "", text, history: false });
  }

  // ---- sending ---------------------------------------------------------

  private queue(kind: Kind, text: string, recipient: string): void {
    if (this.outbox.length >= MAX_PENDING_LINES) {
      this.local(`Not sent: ${MAX_PENDING_LINES} lines are already waiting for the connection`);
      return;
    }
    const id = crypto.randomUUID();
    this.ownIds.add(id);
    if (this.ownIds.size > OWN_IDS_KEPT) {
      this.ownIds.delete(this.ownIds.values().next().value!);
    }
    let shown = text;
    if (kind === Kind.ACTION) shown = `* ${this.name} ${text}`;
    if (kind === Kind.PRIVATE) shown = `[private to ${recipient}] ${text}`;
    const handle = this.view.show({
      kind: kind === Kind.PRIVATE ? "private" : "own",
      time: new Date(),
      user: kind === Kind.TEXT ? this.name : "",
      text: shown,
      history: false,
      pending: true,
    });
    this.outbox.push({ id, kind, text, recipient, handle });
    void this.flush();
  }

  /** Sends what waits, in order, while the membership is live. */
  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.live && this.outbox.length > 0) {
        await this.paced();
        const p = this.outbox[0];
        if (!this.live || p !== this.outbox[0]) continue;
        try {
          await this.client.send(
            {
              memberToken: this.memberToken,
              message: p.text,
              kind: p.kind,
              recipient: p.recipient,
              clientMsgId: p.id,
              clientSentAt: timestampNow(),
            },
            { headers: this.headers },
          );
          this.sendFailures = 0;
          this.delivered(p.id);
        } catch (err) {
          const e = ConnectError.from(err);
          if (REFUSED.has(e.code) || e.findDetails(RefusalSchema).length > 0) {
            // Refused for good (a mute, say): dropped, with why.
            this.remove(p);
            p.handle.failed();
            this.local(e.rawMessage.startsWith("Not sent: ") ? reason(e) : "Not sent: " + reason(e));
            continue;
          }
          if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) {
            this.fail(e);
            return;
          }
          // The membership or the connection is gone, or the server is
          // busy: the line waits, and goes again (with its id, so at
          // most once) once the stream is back, or after a pause.
          this.sendFailures++;
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.flush(), reconnectDelay(this.sendFailures));
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** The line with id arrived: it leaves the outbox, shown as sent. */
  private delivered(id: string): void {
    const p = this.outbox.find((x) => x.id === id);
    if (!p) return;
    this.remove(p);
    if (p.kind === Kind.PRIVATE) p.handle.remove(); // the echo shows it
    else p.handle.sent();
  }

  private remove(p: Pending): void {
    const i = this.outbox.indexOf(p);
    if (i >= 0) this.outbox.splice(i, 1);
  }

  /** Waits for the pace of sending to allow one more line. */
  private async paced(): Promise<void> {
    const now = Date.now();
    this.tokens = Math.min(PACE_BURST, this.tokens + ((now - this.refilled) / 1000) * PACE_PER_SECOND);
    this.refilled = now;
    if (this.tokens < 1) {
      await sleep(((1 - this.tokens) / PACE_PER_SECOND) * 1000, this.stop.signal);
      this.tokens = 1;
      this.refilled = Date.now();
    }
    this.tokens--;
  }

  // ---- commands --------------------------------------------------------

  private whenLive(command: string, run: () => Promise<void>): void {
    if (!this.live) {
      this.local(`Not connected; try ${command} again once reconnected`);
      return;
    }
    void run();
  }

  private async who(room: string): Promise<void> {
    try {
      const r = await this.client.listMembers({ room }, { headers: this.headers });
      const where = "in room " + room;
      if (r.total === 0) return this.local("Nobody is " + where);
      const names = r.members.map((m) => m.name);
      this.local(`${counted(r.total, "member", "members")} ${where}${listed(names, r.total)}`);
    } catch (err) {
      this.local("Cannot list the members: " + reason(err));
    }
  }

  private async rooms(): Promise<void> {
    try {
      const r = await this.client.listRooms({}, { headers: this.headers });
      if (r.total === 0) return this.local("No room has members");
      const rooms = r.rooms.map((x) => `${x.name} (${x.memberCount})`);
      this.local(counted(r.total, "room", "rooms") + listed(rooms, r.total));
    } catch (err) {
      this.local("Cannot list the rooms: " + reason(err));
    }
  }

  /** Moves to room: joins it first, and leaves this room only then. */
  private async moveTo(room: string): Promise<void> {
    let next: Conn;
    try {
      next = await this.open(room, false);
    } catch (err) {
      this.local(`Cannot join ${room}: ${reason(err)}`);
      return;
    }
    if (this.ended || !this.conn) {
      next.abort.abort();
      return;
    }
    const old = this.conn;
    const token = this.memberToken;
    // The resume token and the resume point belong to a room.
    this.dedupe.reset();
    this.resumeToken = "";
    this.room = room;
    this.switchTo = next;
    this.live = false;
    old.left = true;
    // Leave before dropping the stream: the server then ends the membership
    // as a leave, not first as a lost connection.
    try {
      await this.client.leave({ memberToken: token }, { headers: this.headers, timeoutMs: 3000 });
    } catch {
      // The connection is gone: the server counts it as a drop.
    }
    old.abort.abort();
  }

  /** Asks how many members the room has, once notices settle. */
  private countSoon(): void {
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => void this.count(), 200);
  }

  private async count(): Promise<void> {
    if (!this.live) return;
    try {
      const r = await this.client.listMembers({ room: this.room, pageSize: 1 }, { headers: this.headers });
      if (this.live) this.view.members(r.total);
    } catch {
      // Shown as unknown until the next notice.
      this.view.members(null);
    }
  }
}

function counted(n: number, one: string, many: string): string {
  return n === 1 ? "1 " + one : `${n} ${many}`;
}

function listed(items: string[], total: number): string {
  if (items.length < total) return `; the first ${items.length}: ${items.join(", ")}`;
  return ": " + items.join(", ");
}
