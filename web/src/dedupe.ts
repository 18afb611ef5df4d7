// What the page has shown, so that nothing is shown twice after a resume:
// the terminal clients' rule (client/chatclient/dedupe.go).
import type { ChatMessage } from "./gen/polychat/chat/chat_pb";

// How many notice ids are remembered.
const NOTICE_MEMORY = 256;

/** The resume point a reconnecting Join names. */
export interface ResumePoint {
  epoch: string;
  seq: bigint;
}

/**
 * Dedupe drops a message whose epoch is the one it knows and that was
 * already shown: a text whose seq is not above the last one shown, or a
 * notice whose id is among the last 256. A new epoch forgets everything.
 */
export class Dedupe {
  private epoch = "";
  private lastSeq = 0n;
  private notices = new Set<bigint>();
  private ring: bigint[] = [];

  /** Forgets everything: the page moved to another room. */
  reset(): void {
    this.epoch = "";
    this.lastSeq = 0n;
    this.notices.clear();
    this.ring = [];
  }

  /** Reports whether msg is to be shown, and remembers it. */
  admit(msg: ChatMessage): boolean {
    if (msg.epoch === "") return true;
    if (msg.epoch !== this.epoch) {
      this.reset();
      this.epoch = msg.epoch;
    }
    if (msg.seq > 0n) {
      if (msg.seq <= this.lastSeq) return false;
      this.lastSeq = msg.seq;
      return true;
    }
    if (msg.id === 0n) return true;
    if (this.notices.has(msg.id)) return false;
    this.notices.add(msg.id);
    this.ring.push(msg.id);
    if (this.ring.length > NOTICE_MEMORY) {
      this.notices.delete(this.ring.shift()!);
    }
    return true;
  }

  /** The point to resume from, or null before the server named an epoch. */
  resumePoint(): ResumePoint | null {
    return this.epoch === "" ? null : { epoch: this.epoch, seq: this.lastSeq };
  }
}
