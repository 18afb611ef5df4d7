// The moderation commands on the page: /kick, /mute, /unmute, /ban,
// /unban, /op, /topic, /mods and /bans, carried out with the moderation
// RPCs for the page's room, as the terminal clients do
// (client/chatclient/moderate.go). What the room is told comes as a
// notice; the answer line says only what the notice does not: a refusal,
// that nothing changed, and the answers of /mods and /bans.
import type { Client } from "@connectrpc/connect";
import { type ChatService, type GetRolesResponse, type ListBansResponse } from "./gen/polychat/chat/chat_pb";
import type { Command } from "./commands";

/** What a moderation command could not do, by command. */
const VERBS: Record<string, string> = {
  kick: "kick",
  mute: "mute",
  unmute: "unmute",
  ban: "ban",
  unban: "unban",
  op: "make an owner",
  topic: "set the topic",
  mods: "list the moderators",
  bans: "list the bans",
};

/** Whether c is a moderation command. */
export function isModeration(c: Command): boolean {
  return c.kind in VERBS;
}

/**
 * Carries out c in room with the caller's headers; returns the line to
 * show ("" for none). A refusal is a line too: "Cannot kick: …".
 */
export async function moderate(
  client: Client<typeof ChatService>,
  headers: Record<string, string>,
  room: string,
  c: Command,
  reason: (err: unknown) => string,
): Promise<string> {
  const opts = { headers };
  const duration = c.seconds > 0 ? { seconds: BigInt(c.seconds), nanos: 0 } : undefined;
  try {
    switch (c.kind) {
      case "kick":
        await client.kick({ room, user: c.arg, reason: c.text }, opts);
        return "";
      case "mute":
        await client.mute({ room, user: c.arg, reason: c.text, duration }, opts);
        return "";
      case "unmute":
        return (await client.unmute({ room, user: c.arg }, opts)).wasMuted ? "" : `${c.arg} is not muted in ${room}`;
      case "ban":
        await client.ban({ room, user: c.arg, reason: c.text, duration }, opts);
        return "";
      case "unban":
        return (await client.unban({ room, user: c.arg }, opts)).wasBanned ? "" : `${c.arg} is not banned from ${room}`;
      case "op":
        return (await client.op({ room, user: c.arg }, opts)).granted ? "" : `${c.arg} already owns ${room}`;
      case "topic":
        await client.setTopic({ room, topic: c.text }, opts);
        return "";
      case "mods":
        return rolesLine(room, await client.getRoles({ room }, opts));
      case "bans":
        return bansLine(room, await client.listBans({ room }, opts));
    }
  } catch (err) {
    return `Cannot ${VERBS[c.kind]}: ${reason(err)}`;
  }
  return "";
}

/** "Admins: alice. Owners of general: bob. You moderate general. Topic: …" */
export function rolesLine(room: string, r: GetRolesResponse): string {
  if (!r.moderation) return "This server has no moderators: it does not require sign-in";
  const none = (names: string[]) => (names.length === 0 ? "none" : names.join(", "));
  const parts = [`Admins: ${none(r.admins)}`, `Owners of ${room}: ${none(r.owners)}`];
  if (r.canModerate) parts.push(`You moderate ${room}`);
  if (r.topic !== "") parts.push(`Topic: ${r.topic}`);
  return parts.join(". ");
}

/** "Banned from general: bob (by alice: spam)" */
export function bansLine(room: string, r: ListBansResponse): string {
  if (r.bans.length === 0) return `Nobody is banned from ${room}`;
  const items = r.bans.map((b) => {
    let about = "by " + b.by;
    if (b.until) {
      const until = new Date(Number(b.until.seconds) * 1000);
      about += " until " + until.toLocaleString();
    }
    if (b.reason !== "") about += ": " + b.reason;
    return `${b.user} (${about})`;
  });
  return `Banned from ${room}: ${items.join(", ")}`;
}
