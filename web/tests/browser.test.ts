// The chat page in a real browser (Debian's chromium, driven by
// playwright-core), with the real chat server and the real Go and Python
// terminal clients as processes, all on loopback.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { BrowserContext } from "playwright-core";
import {
  Fixture,
  joinAs,
  launchBrowser,
  openPage,
  say,
  screenshot,
  seen,
  shown,
  type ChatPage,
} from "./harness";
import { SILENCE_MS } from "../src/session";

let browser: { context: BrowserContext; close: () => Promise<void> };
let fx: Fixture;
let pages: ChatPage[] = [];

before(async () => {
  Fixture.bin();
  browser = await launchBrowser();
});
after(async () => browser?.close());
beforeEach(() => {
  fx = new Fixture();
  pages = [];
});
afterEach(async () => {
  // No page reported an error or opened a dialog.
  for (const p of pages) {
    assert.deepEqual(p.dialogs, [], "a page opened a dialog");
    assert.deepEqual(p.errors.filter((e) => !/net::ERR_|Failed to load resource/.test(e)), [], "a page reported errors");
    await p.page.close();
  }
  await fx.close();
});

async function page(url: string, opts: { clock?: boolean } = {}): Promise<ChatPage> {
  const p = await openPage(browser.context, url, opts);
  pages.push(p);
  return p;
}

describe("the chat page", () => {
  it("chats with another page, a Go client and a Python client, each line seen once by the others", async () => {
    const srv = await fx.server();
    const ann = await page(srv.url);
    const ben = await page(srv.url);
    await joinAs(ann, "Ann", "lobby");
    await joinAs(ben, "Ben", "lobby");
    const gus = await fx.client("go", srv, "Gus", "lobby");
    const pia = await fx.client("py", srv, "Pia", "lobby");
    await seen(ann, "Pia joined the room");
    await ann.page.locator("#members", { hasText: "4 members" }).waitFor();

    await say(ann, "from Ann");
    await say(ben, "from Ben");
    gus.send("from Gus");
    pia.send("from Pia");
    // Gus has seen every line before he says "done"; the room's order is
    // the same for everyone, so whoever sees "done" has had the rest.
    for (const l of ["[Ann]: from Ann", "[Ben]: from Ben", "[Pia]: from Pia"]) await gus.expect(new RegExp(escape(l)));
    gus.send("done");
    await pia.expect(/\[Gus\]: done/);
    await seen(ann, "done");
    await seen(ben, "done");

    for (const [p, me] of [[ann, "Ann"], [ben, "Ben"]] as const) {
      for (const who of ["Ann", "Ben", "Gus", "Pia"]) {
        const n = await shown(p, `from ${who}`);
        assert.equal(n, 1, `${me}'s page shows "from ${who}" ${n} times`);
      }
      assert.equal(await shown(p, `from ${me}`, ".msg-own"), 1, `${me}'s own line`);
      assert.equal(await shown(p, `from ${me}`, ".msg-pending"), 0, `${me}'s line still pending`);
    }
    for (const [c, me] of [[gus, "Gus"], [pia, "Pia"]] as const) {
      for (const who of ["Ann", "Ben", "Gus", "Pia"].filter((w) => w !== me)) {
        assert.equal(c.count(new RegExp(`^\\[${who}\\]: from ${who}$`)), 1, `${me} shows "from ${who}"`);
      }
    }
    await screenshot(ann, "chat-four-clients");
  });

  it("shows the room's history on joining, marked as history", async () => {
    const srv = await fx.server();
    const gus = await fx.client("go", srv, "Gus", "lobby");
    const pia = await fx.client("py", srv, "Pia", "lobby");
    gus.send("said before you came");
    await pia.expect(/\[Gus\]: said before you came/); // relayed, so kept
    const ann = await page(srv.url);
    await joinAs(ann, "Ann", "lobby");
    await seen(ann, "--- Recent messages in lobby ---", ".msg-marker");
    await seen(ann, "said before you came", ".msg-history");
    await seen(ann, "--- End of history ---", ".msg-marker");
    assert.equal(await shown(ann, "said before you came"), 1);
  });

  it("shows markup from the network as text and runs none of it", async () => {
    const srv = await fx.server();
    const ann = await page(srv.url);
    const ben = await page(srv.url);
    await joinAs(ann, "Ann", "lobby");
    await joinAs(ben, "Ben", "lobby");
    const gus = await fx.client("go", srv, "<b>Gus</b>", "lobby");
    const attack = "<img src=x onerror=alert(1)>";
    await say(ann, attack);
    gus.send(`<script>alert(2)</script> ${attack}`);
    await seen(ben, `[<b>Gus</b>]: <script>alert(2)</script> ${attack}`);
    const texts = await ben.page.locator(".msg-text").allTextContents();
    assert.ok(texts.includes(attack), `${JSON.stringify(texts)} lacks the text as sent`);
    assert.equal(await ben.page.locator("#messages img, #messages script, #messages b").count(), 0, "markup became elements");
    await seen(ann, "<script>alert(2)</script>");
    // The dialog check after each test proves nothing ran; so does this.
    assert.equal(await ben.page.evaluate(() => document.querySelectorAll("img").length), 0);
    await screenshot(ben, "markup-as-text");
  });

  it("resumes after the server restarts under it, losing and repeating nothing", async () => {
    const srv = await fx.server();
    const ann = await page(srv.url);
    await joinAs(ann, "Ann", "lobby");
    const gus = await fx.client("go", srv, "Gus", "lobby");
    gus.send("before the crash");
    await seen(ann, "before the crash");

    srv.proc.signal("SIGKILL"); // a crash: no goodbye to anyone
    await srv.proc.exited();
    await seen(ann, "Connection lost");
    await ann.page.locator("#state", { hasText: "Reconnecting" }).waitFor();
    await say(ann, "typed while it was down");
    await seen(ann, "typed while it was down", ".msg-pending");
    await screenshot(ann, "reconnecting");

    const again = await fx.server({ port: srv.port, webPort: srv.webPort, dataDir: srv.dataDir });
    await seen(ann, "Reconnected");
    await seen(ann, "Welcome back, Ann!");
    await gus.expect(/\[Ann\]: typed while it was down/, "stdout", 30_000);
    await ann.page.locator(".msg-own:not(.msg-pending)", { hasText: "typed while it was down" }).waitFor();
    gus.send("after the restart");
    await seen(ann, "after the restart");

    assert.equal(await shown(ann, "before the crash"), 1);
    assert.equal(await shown(ann, "after the restart"), 1);
    assert.equal(await shown(ann, "typed while it was down"), 1);
    assert.equal(gus.count(/\[Ann\]: typed while it was down/), 1);
    // She kept her name and never left: the room saw no leave or join.
    assert.equal(gus.count(/Ann (left|joined) the room|Ann\(2\)/), 0, gus.dump());
    assert.equal(await ann.page.locator("#where").textContent(), "Ann in lobby");
    void again;
  });

  it("notices a connection that went silent, and resumes, losing and repeating nothing", async () => {
    const srv = await fx.server();
    const proxy = await fx.proxy(srv);
    const ann = await page(proxy.url, { clock: true });
    await joinAs(ann, "Ann", "lobby");
    const gus = await fx.client("go", srv, "Gus", "lobby");
    const bo = await fx.client("go", srv, "Bo", "lobby");
    gus.send("before the silence");
    await seen(ann, "before the silence");

    // The Join stream's connection stops carrying anything, and is not closed.
    assert.equal(proxy.hold("/chat.ChatService/Join"), 1);
    gus.send("during the silence");
    await bo.expect(/\[Gus\]: during the silence/); // relayed while Ann's connection was silent
    // Nothing arrives, not even a heartbeat: once the page's clock has gone
    // past the silence it allows, it gives up on the stream.
    await ann.page.clock.fastForward(SILENCE_MS);
    await seen(ann, `Connection lost (no word from the server for ${SILENCE_MS / 1000} s); reconnecting...`);
    await seen(ann, "Reconnected");
    await seen(ann, "Welcome back, Ann!");
    await seen(ann, "during the silence");
    await say(ann, "after the silence");
    await gus.expect(/\[Ann\]: after the silence/);

    for (const line of ["before the silence", "during the silence", "after the silence"]) {
      assert.equal(await shown(ann, line), 1, `Ann's page shows "${line}"`);
    }
    assert.equal(gus.count(/\[Ann\]: after the silence/), 1);
    // She kept her name and never left: the room saw no leave or join.
    assert.equal(gus.count(/Ann (left|joined) the room|Ann\(2\)/), 0, gus.dump());
  });

  it("signs in when the server requires it, refusing a wrong password", async () => {
    const auth = await fx.authService();
    const srv = await fx.server({ args: ["-auth-server", auth] });
    const p = await page(srv.url);
    await p.page.locator("#name").fill("user1");
    await p.page.locator("#room").fill("lobby");
    await p.page.locator("#join").click();
    await p.page.locator("#join-error", { hasText: "This server requires sign-in" }).waitFor();
    const password = p.page.locator("#password");
    assert.ok(await password.isVisible());
    assert.equal(await p.page.evaluate(() => document.activeElement?.id), "password");

    await password.fill("not the password");
    await password.press("Enter");
    await p.page.locator("#join-error", { hasText: "Sign-in failed: invalid username or password" }).waitFor();
    assert.ok(await p.page.locator("#chat").isHidden());
    await screenshot(p, "sign-in-refused");

    await password.fill("password1");
    await password.press("Enter");
    await seen(p, "Welcome, user1! You are in room lobby.");
    await say(p, "signed in");
    const gus = await fx.client("go", srv, "Gus", "lobby").catch((e: Error) => e);
    // A terminal client without a session is refused: sign-in holds for all.
    assert.ok(gus instanceof Error && /exited/.test(gus.message), String(gus));
  });

  it("moderates with the terminal clients' commands, and shows the topic on joining", async () => {
    const auth = await fx.authService();
    const srv = await fx.server({ args: ["-auth-server", auth, "-admins", "user1"] });
    const p = await page(srv.url);
    await p.page.locator("#name").fill("user1");
    await p.page.locator("#room").fill("lobby");
    await p.page.locator("#join").click();
    const password = p.page.locator("#password");
    await password.waitFor();
    await password.fill("password1");
    await password.press("Enter");
    await seen(p, "Welcome, user1! You are in room lobby.");

    await say(p, "/mods");
    await seen(p, "Admins: user1. Owners of lobby: user1. You moderate lobby");
    await say(p, "/topic release on Friday");
    await seen(p, "Topic: release on Friday (set by user1)");
    await say(p, "/mute user1 10m");
    await seen(p, "Cannot mute: you cannot mute yourself");
    await say(p, "/ban someone 1h spam");
    await seen(p, "user1 banned someone for 1h: spam");
    await say(p, "/bans");
    await seen(p, "Banned from lobby: someone (by user1");
    await say(p, "/mute someone");
    await seen(p, "usage: /mute NAME TIME [WHY], TIME like 10m, 1h30m or 2d");
    await screenshot(p, "moderation");

    // Who joins now is told the topic in the welcome.
    const q = await page(srv.url);
    await q.page.locator("#name").fill("user1");
    await q.page.locator("#room").fill("lobby");
    await q.page.locator("#join").click();
    await q.page.locator("#password").waitFor();
    await q.page.locator("#password").fill("password1");
    await q.page.locator("#password").press("Enter");
    await seen(q, "You are in room lobby. Topic: release on Friday");
  });

  it("keeps a second room apart, and moves there with /join", async () => {
    const srv = await fx.server();
    const ann = await page(srv.url);
    const ben = await page(srv.url);
    await joinAs(ann, "Ann", "red");
    await joinAs(ben, "Ben", "blue");
    const gus = await fx.client("go", srv, "Gus", "red");
    const pia = await fx.client("py", srv, "Pia", "blue");
    await say(ann, "red only");
    await say(ben, "blue only");
    await gus.expect(/\[Ann\]: red only/);
    await pia.expect(/\[Ben\]: blue only/);
    gus.send("red sync");
    pia.send("blue sync");
    await seen(ann, "red sync");
    await seen(ben, "blue sync");
    assert.equal(await shown(ann, "blue"), 0, "red saw blue's traffic");
    assert.equal(await shown(ben, "red"), 0, "blue saw red's traffic");
    assert.equal(gus.count(/blue/), 0);
    assert.equal(pia.count(/red/), 0);

    // The terminal clients' commands, answered on the page.
    await say(ann, "/dance");
    await seen(ann, "unknown command /dance; /help lists them", ".msg-local");
    await say(ann, "/who");
    await seen(ann, "2 members in room red: Ann, Gus", ".msg-local");
    await say(ann, "/rooms");
    await seen(ann, "2 rooms: blue (2), red (2)", ".msg-local");
    await say(ann, "/join blue");
    await seen(ann, "Welcome, Ann! You are in room blue.");
    await seen(ann, "blue only", ".msg-history");
    await gus.expect(/Ann left the room/);
    await seen(ben, "Ann joined the room");
    await say(ann, "/me waves");
    await seen(ben, "* Ann waves", ".msg-action");
    await say(ann, "/msg Ben psst");
    await seen(ben, "[private from Ann] psst", ".msg-private");
    await seen(ann, "[private to Ben] psst", ".msg-private");
    assert.equal(pia.count(/psst/), 0, "Pia saw a private message");
    assert.equal(await ann.page.locator("#where").textContent(), "Ann in blue");
  });

  it("is usable at phone width, by keyboard", async () => {
    const srv = await fx.server();
    const p = await page(srv.url);
    await p.page.setViewportSize({ width: 360, height: 740 });
    // The name field has the focus; Tab reaches the room, Enter joins.
    await p.page.keyboard.type("Ann");
    await p.page.keyboard.press("Tab");
    await p.page.keyboard.press("Enter");
    await seen(p, "Welcome, Ann!");
    assert.equal(await p.page.evaluate(() => document.activeElement?.id), "line");
    await p.page.keyboard.type("a line that is long enough to need wrapping on a narrow phone screen, twice over");
    await p.page.keyboard.press("Enter");
    await seen(p, "twice over", ".msg-own");
    const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "the page scrolls sideways");
    for (const label of ["Name", "Room", "Message"]) {
      assert.ok((await p.page.getByLabel(label, { exact: false }).count()) > 0, `no control labelled ${label}`);
    }
    await screenshot(p, "phone");
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
