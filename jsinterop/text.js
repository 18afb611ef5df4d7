// The one rule for showing text from the network on a terminal, as internal/textsafe has it
// for Go and pykit/text.py for Python: C0 and C1 controls, DEL and the bidi overrides and
// isolates are shown escaped (`\x1b`, `\u202e`), everything else as it is. text.test.js checks
// it against the shared vectors in internal/textsafe/testdata/vectors.json.

function isUnsafe(code) {
  return (
    code <= 0x1f ||
    code === 0x7f ||
    (code >= 0x80 && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** `text` with every unsafe character escaped. */
export function sanitize(text) {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0);
    if (!isUnsafe(code)) out += char;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}
