// The reconnect schedule of both terminal clients (gRPC's connection
// backoff): the first attempt at once, then 1 s × 1.6ⁿ, capped, each wait
// moved at random by up to ±20 %.
import {
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_JITTER_PERCENT,
  RECONNECT_MAX_DELAY_MS,
  RECONNECT_MULTIPLIER_PERCENT,
} from "./chatwire";

/** The wait in milliseconds before the next attempt after `failed` failed ones. */
export function reconnectDelay(
  failed: number,
  random: () => number = Math.random,
  maxDelayMs: number = RECONNECT_MAX_DELAY_MS,
): number {
  if (failed <= 0) {
    return 0;
  }
  let d = RECONNECT_BASE_DELAY_MS;
  for (let i = 1; i < failed && d < maxDelayMs; i++) {
    d *= RECONNECT_MULTIPLIER_PERCENT / 100;
  }
  d = Math.min(d, maxDelayMs);
  d *= 1 + (RECONNECT_JITTER_PERCENT / 100) * (2 * random() - 1);
  return Math.max(0, d);
}
