// The page's parsing and rendering rules, checked against the cases the
// terminal clients are checked against.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { reconnectDelay } from "../src/backoff";
import * as chatwire from "../src/chatwire";
import { HELP_LINES, parseCommand } from "../src/commands";
import { Dedupe } from "../src/dedupe";
import {
  ChatMessageSchema,
  ChatMessage_Kind,
  GetRolesResponseSchema,
  ListBansResponseSchema,
} from "../src/gen/polychat/chat/chat_pb";
import { bansLine, rolesLine } from "../src/moderation";
import { messageLines, sanitize } from "../src/textsafe";
import { REPO } from "./harness";

const json = (path: string) => JSON.parse(readFileSync(join(REPO, path), "utf8"));

describe("commands", () => {
  const data = json("client/chatclient/testdata/commands.json");
  it("shows the terminal clients' help", () => {
    assert.deepEqual(HELP_LINES, data.help);
  });
  for (const c of data.cases) {
    it(c.name, () => {
      assert.deepEqual(parseCommand(c.input), {
        kind: c.command,
        arg: c.arg,
        text: c.text,
        seconds: c.seconds ?? 0,
      });
    });
  }
});

describe("text", () => {
  for (const v of json("internal/textsafe/testdata/vectors.json")) {
    it(v.name, () => assert.equal(sanitize(v.input), v.sanitized));
  }
  it("splits lines as the terminal clients do", () => {
    assert.deepEqual(messageLines("one\r\ntwo\nthree\rx"), ["one", "two", "three\\x0dx"]);
  });
});

describe("chatwire", () => {
  // Every value of src/chatwire.ts equals its twin in the Go file.
  const goFile = readFileSync(join(REPO, "internal/chatwire/chatwire.go"), "utf8");
  const goValues = new Map<string, string | number>();
  for (const m of goFile.matchAll(/^\s+(\w+) = ("[^"]*"|\d+)$/gm)) {
    goValues.set(m[1], m[2].startsWith('"') ? JSON.parse(m[2]) : Number(m[2]));
  }
  const goName = (ts: string) =>
    ts
      .toLowerCase()
      .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  for (const [name, value] of Object.entries(chatwire)) {
    it(name, () => {
      assert.ok(goValues.has(goName(name)), `${goName(name)} is not in chatwire.go`);
      assert.equal(value, goValues.get(goName(name)));
    });
  }
});

describe("reconnect backoff", () => {
  it("starts at once, grows by 1.6 and stops at the cap", () => {
    const mid = () => 0.5; // no jitter
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => Math.round(reconnectDelay(n, mid))),
      [0, 1000, 1600, 2560],
    );
    assert.equal(reconnectDelay(50, mid), chatwire.RECONNECT_MAX_DELAY_MS);
  });
  it("moves each wait by at most 20 %", () => {
    assert.equal(Math.round(reconnectDelay(1, () => 0)), 800);
    assert.equal(Math.round(reconnectDelay(1, () => 1)), 1200);
  });
});

describe("dedupe", () => {
  const msg = (epoch: string, seq: number, id: number) =>
    create(ChatMessageSchema, { epoch, seq: BigInt(seq), id: BigInt(id), kind: ChatMessage_Kind.TEXT });
  it("drops what was shown and forgets it all in a new epoch", () => {
    const d = new Dedupe();
    assert.equal(d.resumePoint(), null);
    assert.ok(d.admit(msg("e1", 1, 10)));
    assert.ok(d.admit(msg("e1", 2, 11)));
    assert.ok(!d.admit(msg("e1", 2, 11)), "a text shown again");
    assert.ok(d.admit(msg("e1", 0, 12)), "a notice");
    assert.ok(!d.admit(msg("e1", 0, 12)), "a notice shown again");
    assert.deepEqual(d.resumePoint(), { epoch: "e1", seq: 2n });
    assert.ok(d.admit(msg("e2", 1, 1)), "a new epoch");
    assert.deepEqual(d.resumePoint(), { epoch: "e2", seq: 1n });
    assert.ok(d.admit(msg("", 1, 1)) && d.admit(msg("", 1, 1)), "no epoch: never dropped");
  });
});

describe("moderation", () => {
  it("words /mods as the terminal clients do", () => {
    assert.equal(
      rolesLine("general", create(GetRolesResponseSchema, {})),
      "This server has no moderators: it does not require sign-in",
    );
    const roles = create(GetRolesResponseSchema, {
      moderation: true,
      admins: ["Root"],
      owners: ["Alice"],
      canModerate: true,
      topic: "release",
    });
    assert.equal(rolesLine("general", roles), "Admins: Root. Owners of general: Alice. You moderate general. Topic: release");
  });
  it("words /bans as the terminal clients do", () => {
    assert.equal(bansLine("red", create(ListBansResponseSchema, {})), "Nobody is banned from red");
    const bans = create(ListBansResponseSchema, { bans: [{ user: "Bob", by: "Alice", reason: "spam" }] });
    assert.equal(bansLine("general", bans), "Banned from general: Bob (by Alice: spam)");
  });
});
