/**
 * Spells of webhook pressure, as a merchant run reads the API's hints
 * (`IngestHint`, README "Performance"): while one lasts, the run holds new
 * events instead of starting their workflows. Pure bookkeeping, deterministic:
 * the workflow passes in its own clock (`now`); the test helpers replay a
 * run's history through the same rule.
 */

/** A hint keeps the route pressed for this long after it was sent. */
export const PRESSED_FOR_MS = 500;
/** A spell holds events for at most this long from its first hint (workflow time). */
export const HOLD_AT_MOST_MS = 5_000;

export class PressSpells {
  /** When the current spell began, in workflow time (0: none yet). */
  since = 0;
  /** When the latest pressure this run knows of passes, in workflow time. */
  until = 0;
  /** The latest `pressedAt` of the hints (the API's clock). */
  private latestSent: number | undefined;

  /**
   * A hint sent at `pressedAt` (the API's clock) and read at `now` (the run's).
   * Its pressure lasts PRESSED_FOR_MS from min(pressedAt, now): a hint read late
   * (the worker was away) or from a clock ahead presses no longer than that.
   *
   * Whether it begins a new spell: `byHintTime` (merchant.ts,
   * SPELLS_BY_HINT_TIME) goes by the hints' own times, so a hint sent within
   * PRESSED_FOR_MS of the latest continues its spell however late the worker
   * reads it. Without it (runs started before), by the run's clock: a hint read
   * once the pressure known had passed began a new spell, and when the worker
   * read every hint late, each began one, and the hold lasted as long as the press.
   */
  hint(pressedAt: number, now: number, byHintTime: boolean): void {
    const begins = byHintTime ? this.latestSent === undefined || pressedAt > this.latestSent + PRESSED_FOR_MS : this.until <= now;
    if (byHintTime) this.latestSent = Math.max(this.latestSent ?? pressedAt, pressedAt);
    if (begins) this.since = now;
    this.until = Math.max(this.until, Math.min(pressedAt, now) + PRESSED_FOR_MS);
  }

  /** Until when new events are held: the pressure's end, at most HOLD_AT_MOST_MS into the spell. */
  get holdsUntil(): number {
    return Math.min(this.until, this.since + HOLD_AT_MOST_MS);
  }
}
