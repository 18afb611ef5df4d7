// The chat wire's names and defaults the page uses: a copy of
// internal/chatwire/chatwire.go, where each has its one home. A test
// (tests/unit.test.ts) checks every value here against the Go file.

/** The room of a client that names none. */
export const DEFAULT_ROOM = "general";
/** The default limit on a user or room name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;
/** The default limit on the text of one message, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 4096;
/** The wait before the second attempt to reconnect (the first is at once). */
export const RECONNECT_BASE_DELAY_MS = 1000;
/** How much each further wait grows, in percent of the one before. */
export const RECONNECT_MULTIPLIER_PERCENT = 160;
/** How far each wait is randomised either way, in percent. */
export const RECONNECT_JITTER_PERCENT = 20;
/** The longest wait between two attempts to reconnect. */
export const RECONNECT_MAX_DELAY_MS = 30000;
/** How many lines typed while disconnected wait to be sent. */
export const MAX_PENDING_LINES = 100;
