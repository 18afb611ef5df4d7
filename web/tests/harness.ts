// Real processes for the browser tests: the chat server and the Go and
// Python chat clients (as a person starts them, driven through stdin and
// stdout), the Python AuthService, and Debian's chromium driven by
// playwright-core. Every wait is bounded; nothing sleeps.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where screenshots go: test artifacts, not committed. */
export const ARTIFACTS = process.env.POLYCHAT_TEST_ARTIFACTS ?? join(REPO, "web", "test-results");
/** The browser: Debian's chromium (a bundled browser download cannot work here). */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Chromium's flags: without them its connections out are refused by this network. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Bounds every wait. */
export const TIMEOUT = 15_000;

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? ok(a.port) : fail(new Error("no port"))));
    });
  });
}

/** A child process whose output lines are collected as they arrive. */
export class Proc {
  readonly lines: string[] = [];
  readonly errLines: string[] = [];
  private readonly child: ChildProcess;
  private readonly events = new EventEmitter();
  exitCode: number | null = null;

  constructor(
    readonly name: string,
    argv: string[],
    env: Record<string, string> = {},
  ) {
    this.child = spawn(argv[0], argv.slice(1), {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // its own process group, killed whole
    });
    this.pump(this.child.stdout!, this.lines);
    this.pump(this.child.stderr!, this.errLines);
    this.child.on("exit", (code) => {
      this.exitCode = code ?? -1;
      this.events.emit("line");
    });
  }

  private pump(stream: NodeJS.ReadableStream, sink: string[]): void {
    let rest = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      sink.push(...parts);
      this.events.emit("line");
    });
  }

  /** Types one line into the process's stdin. */
  send(line: string): void {
    this.child.stdin!.write(line + "\n");
  }

  /** Waits for an output line matching re (stdout, or stderr) and returns it. */
  expect(re: RegExp, stream: "stdout" | "stderr" = "stdout", timeout = TIMEOUT): Promise<string> {
    const sink = stream === "stdout" ? this.lines : this.errLines;
    return new Promise((ok, fail) => {
      const check = () => {
        const hit = sink.find((l) => re.test(l));
        if (hit !== undefined) return done(() => ok(hit));
        if (this.exitCode !== null) {
          return done(() => fail(new Error(`${this.name} exited (${this.exitCode}) before printing ${re}\n${this.dump()}`)));
        }
      };
      const timer = setTimeout(() => done(() => fail(new Error(`${this.name}: no ${stream} line matching ${re} within ${timeout} ms\n${this.dump()}`))), timeout);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.events.off("line", check);
        f();
      };
      this.events.on("line", check);
      check();
    });
  }

  /** How many stdout lines match re. */
  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l)).length;
  }

  dump(): string {
    return `stdout: ${JSON.stringify(this.lines.slice(-30))}\nstderr: ${JSON.stringify(this.errLines.slice(-30))}`;
  }

  /** Sends sig to the process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.exitCode === null && this.child.pid) {
      try {
        process.kill(-this.child.pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /** Waits for the process to exit. */
  exited(timeout = TIMEOUT): Promise<number> {
    return new Promise((ok, fail) => {
      if (this.exitCode !== null) return ok(this.exitCode);
      const timer = setTimeout(() => fail(new Error(`${this.name} did not exit within ${timeout} ms`)), timeout);
      this.child.once("exit", (code) => {
        clearTimeout(timer);
        ok(code ?? -1);
      });
    });
  }

  /** Kills the process group and waits for it to be gone. */
  async stop(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited(5000).catch(() => undefined);
  }
}

/** A running chat server process. */
export interface ChatServer {
  proc: Proc;
  /** The gRPC address, host:port. */
  addr: string;
  /** The page's URL. */
  url: string;
}

/** Starts and stops everything a test uses. */
export class Fixture {
  private readonly procs: Proc[] = [];
  private readonly proxies: HoldingProxy[] = [];
  readonly tmp = mkdtempSync(join(tmpdir(), "polychat-web-"));
  private static binDir = "";

  /** The chat server and Go client, built once per run. */
  static bin(): string {
    if (!Fixture.binDir) {
      Fixture.binDir = mkdtempSync(join(tmpdir(), "polychat-bin-"));
      for (const [name, pkg] of [
        ["chat-server", "./server"],
        ["chat-client", "./client"],
      ]) {
        execFileSync("go", ["build", "-o", join(Fixture.binDir, name), pkg], { cwd: REPO, stdio: "inherit" });
      }
    }
    return Fixture.binDir;
  }

  start(name: string, argv: string[], env?: Record<string, string>): Proc {
    const p = new Proc(name, argv, env);
    this.procs.push(p);
    return p;
  }

  /**
   * Starts a chat server; ports and data dir may be given to restart one.
   * Without them the server picks its own ports (port 0) and says which in
   * its "listening" line: a port found free and then handed to the server
   * could be taken by another process in between.
   */
  async server(opts: { args?: string[]; port?: number; webPort?: number; dataDir?: string } = {}): Promise<ChatServer & { port: number; webPort: number; dataDir: string }> {
    const dataDir = opts.dataDir ?? join(this.tmp, "chat-data");
    const proc = this.start("chat-server", [
      join(Fixture.bin(), "chat-server"),
      "-addr", `127.0.0.1:${opts.port ?? 0}`,
      "-web-addr", `127.0.0.1:${opts.webPort ?? 0}`,
      "-data-dir", dataDir,
      "-metrics-addr", "",
      ...(opts.args ?? []),
    ]);
    // Logged once both ports listen.
    const line = await proc.expect(/msg="chat server listening"/, "stderr", 30_000);
    const addr = /\baddr=(127\.0\.0\.1:(\d+))/.exec(line);
    const page = /\bpage=(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(line);
    if (!addr || !page) {
      throw new Error(`the chat server is not serving both gRPC and the page: ${line}`);
    }
    return { proc, addr: addr[1], url: page[1], port: Number(addr[2]), webPort: Number(page[2]), dataDir };
  }

  /** A Go ("go") or Python ("py") chat client, as a person starts it. */
  async client(kind: "go" | "py", server: ChatServer, name: string, room: string): Promise<Proc> {
    const argv =
      kind === "go"
        ? [join(Fixture.bin(), "chat-client"), name, room, server.addr]
        : [join(REPO, ".venv", "bin", "python"), "pyclient/client.py", name, room, server.addr];
    const p = this.start(`${kind}-client ${name}`, argv);
    await p.expect(/\*\*\* Welcome/, "stdout", 30_000);
    return p;
  }

  /** The Python AuthService (and the LoggerService it reports to). */
  async authService(): Promise<string> {
    const auth = `127.0.0.1:${await freePort()}`;
    const logger = `127.0.0.1:${await freePort()}`;
    const p = this.start("auth+logger", [
      join(REPO, ".venv", "bin", "python"), "-m", "pyservices", "auth", "logger",
      "--data-dir", join(this.tmp, "py"),
      "--auth-addr", auth,
      "--logger-addr", logger,
      "--metrics-addr", "",
    ]);
    for (const [svc, addr] of [["auth", auth], ["logger", logger]]) {
      await p.expect(new RegExp(`listening service=${svc} address=${addr.replace(/\./g, "\\.")} `), "stderr", 60_000);
    }
    return auth;
  }

  /** A proxy to the page port of srv, that a test can make stop forwarding. */
  async proxy(srv: { webPort: number }): Promise<HoldingProxy> {
    const p = new HoldingProxy(srv.webPort);
    this.proxies.push(p);
    await p.listen();
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
    await Promise.all(this.procs.map((p) => p.stop()));
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** One browser connection through a HoldingProxy. */
interface Link {
  client: Socket;
  upstream: Socket;
  /** The path of the last HTTP/1.1 request the browser sent on it. */
  path: string;
  /** Nothing more is forwarded either way; the sockets stay open. */
  held: boolean;
}

/**
 * A TCP proxy in front of the chat server's page port. hold(path) makes the
 * connections whose last request went to path go silent, as a network that
 * drops packets would: nothing is forwarded either way, and nothing is
 * closed. Other and new connections are forwarded as before.
 */
export class HoldingProxy {
  private readonly links = new Set<Link>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly upstreamPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  listen(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    return new Promise((ok, fail) => {
      this.server!.once("error", fail);
      this.server!.listen(0, "127.0.0.1", () => {
        const a = this.server!.address();
        this.port = typeof a === "object" && a ? a.port : 0;
        ok();
      });
    });
  }

  private accept(client: Socket): void {
    const upstream = connect(this.upstreamPort, "127.0.0.1");
    const link: Link = { client, upstream, path: "", held: false };
    this.links.add(link);
    client.on("data", (chunk: Buffer) => {
      const m = /^(?:GET|POST) (\S+) HTTP\/1\.1\r\n/m.exec(chunk.toString("latin1"));
      if (m) link.path = m[1];
      if (!link.held) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!link.held) client.write(chunk);
    });
    const drop = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", drop).on("error", drop);
    upstream.on("close", drop).on("error", drop);
  }

  /** Silences the open connections whose last request went to path; returns how many. */
  hold(path: string): number {
    let n = 0;
    for (const link of this.links) {
      if (link.path === path && !link.held) {
        link.held = true;
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}

/** Chromium with a fresh profile, for one test file. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "polychat-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1000, height: 640 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A chat page, with what it reported to the console and any dialog it opened. */
export interface ChatPage {
  page: Page;
  dialogs: string[];
  errors: string[];
}

/** Opens the page at url, ready to join. */
export async function openPage(context: BrowserContext, url: string, opts: { clock?: boolean } = {}): Promise<ChatPage> {
  const page = await context.newPage();
  // A clock the test moves on (page.clock.fastForward); it runs as time does until then.
  if (opts.clock) await page.clock.install();
  page.setDefaultTimeout(TIMEOUT);
  const cp: ChatPage = { page, dialogs: [], errors: [] };
  page.on("dialog", (d) => {
    cp.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => cp.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") cp.errors.push(m.text());
  });
  await page.goto(url);
  return cp;
}

/** Joins room as name from the join form, by keyboard. */
export async function joinAs(cp: ChatPage, name: string, room: string): Promise<void> {
  const { page } = cp;
  await page.locator("#name").fill(name);
  await page.locator("#room").fill(room);
  await page.locator("#room").press("Enter");
  await page.locator("#chat").waitFor({ state: "visible" });
  await page.locator(".msg-system", { hasText: `You are in room ${room}.` }).first().waitFor();
}

/** Types line into the input and sends it with Enter. */
export async function say(cp: ChatPage, line: string): Promise<void> {
  await cp.page.locator("#line").fill(line);
  await cp.page.locator("#line").press("Enter");
}

/** Waits until a message line containing text is shown. */
export async function seen(cp: ChatPage, text: string, cls = ".msg"): Promise<void> {
  await cp.page.locator(cls, { hasText: text }).first().waitFor();
}

/** How many message lines of the page contain text. */
export function shown(cp: ChatPage, text: string, cls = ".msg"): Promise<number> {
  return cp.page.locator(cls, { hasText: text }).count();
}

/** Saves a screenshot of the page as a test artifact. */
export async function screenshot(cp: ChatPage, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await cp.page.screenshot({ path: join(ARTIFACTS, name + ".png") });
}
