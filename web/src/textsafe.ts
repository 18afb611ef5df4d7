// The unsafe-character rule of internal/textsafe (and pykit/text.py),
// checked against the same vectors: control characters and bidirectional
// overrides in text from the network are shown as visible escapes, so a
// message can neither hide part of itself nor reorder what is shown.

/** Reports whether the code point c is never shown as it is. */
export function isUnsafe(c: number): boolean {
  return (
    c <= 0x1f ||
    c === 0x7f ||
    (c >= 0x80 && c <= 0x9f) ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** Returns s with each unsafe character replaced by \xNN or \uNNNN. */
export function sanitize(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (!isUnsafe(c)) out += ch;
    else if (c < 0x100) out += "\\x" + hex(c, 2);
    else out += "\\u" + hex(c, 4);
  }
  return out;
}

/**
 * Returns the lines of a message as the terminal clients show them: split
 * at "\r\n" and "\n", each line neutralised.
 */
export function messageLines(text: string): string[] {
  return text.split(/\r?\n/).map(sanitize);
}
