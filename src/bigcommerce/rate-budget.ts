/**
 * How much of a store's BigCommerce rate-limit quota this process may use
 * (CONTRACT §4 rule 10). BigCommerce's quota is per store and shared by every
 * app of the merchant; each response says what is left in the current window
 * (`X-Rate-Limit-Requests-Left`, `-Quota`, `-Time-Reset-Ms`). A budget keeps
 * `(1 − share) × quota` of every window for the merchant's other apps, and a
 * tenth more for live work (order and refund fetches) when the request is
 * background work (reconciliation sweeps, imports), which therefore yields.
 *
 * Requests in flight are counted before they leave, so a thousand concurrent
 * fetches cannot overshoot; until the first response tells the quota, one
 * request goes at a time.
 *
 * When a window ends, the budget guesses the next one (now + the window's
 * length) until an answer says when it ends: BigCommerce's window may have been
 * opened by another app, earlier, or by our own request when it arrives, later.
 * Each request carries the window it left in, so that a late answer from a
 * window that has passed says nothing about the current one.
 */
export type Priority = 'live' | 'background';

export interface RateHeaders {
  quota: number;
  left: number;
  resetMs: number;
  windowMs: number;
}

/** The rate-limit headers of a response, if it carries them all. */
export function rateHeaders(headers: Headers): RateHeaders | undefined {
  const n = (name: string) => {
    const v = headers.get(name);
    return v === null || v === '' ? NaN : Number(v);
  };
  const h = {
    quota: n('x-rate-limit-requests-quota'),
    left: n('x-rate-limit-requests-left'),
    resetMs: n('x-rate-limit-time-reset-ms'),
    windowMs: n('x-rate-limit-time-window-ms'),
  };
  return Object.values(h).every(Number.isFinite) && h.quota > 0 ? h : undefined;
}

/** Margin after the estimated reset, for the clock and latency between us and BigCommerce. */
const RESET_MARGIN_MS = 25;

export class RateBudget {
  private quota: number | undefined;
  private windowMs = 30_000;
  /** Requests this process may still count on in the current window, in-flight ones already taken off. */
  private left = 0;
  /** When the current window ends (our estimate: response time + reset). */
  private resetAt = 0;
  /** The current window's end (and what is left) are our guess, which its first answer replaces; so is the first window's. */
  private guessed = true;
  /** Which window is current: requests carry it, so that answers from a window that has passed are known. */
  private window = 0;
  private inflight = 0;

  constructor(
    private readonly share: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits until a request may leave, and counts it; answers the window it leaves in. Pair with `settle`. */
  async acquire(priority: Priority = 'live'): Promise<number> {
    for (;;) {
      const wait = this.tryAcquire(priority);
      if (wait === 0) return this.window;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** The window a request that leaves now leaves in. */
  get currentWindow(): number {
    return this.window;
  }

  /** 0 when the request may leave now (and it is counted), else how long to wait before asking again. */
  tryAcquire(priority: Priority): number {
    const t = this.now();
    if (this.quota === undefined) {
      if (this.inflight > 0) return 20;
      this.inflight++;
      return 0;
    }
    if (t >= this.resetAt + RESET_MARGIN_MS) {
      // A new window: assume it fresh until a response says otherwise.
      this.left = this.quota - this.inflight;
      this.resetAt = t + this.windowMs;
      this.guessed = true;
      this.window++;
    }
    const othersShare = this.quota - Math.floor(this.share * this.quota);
    const liveRoom = priority === 'background' ? Math.ceil(this.quota / 10) : 0;
    if (this.left - othersShare - liveRoom > 0) {
      this.left--;
      this.inflight++;
      return 0;
    }
    return Math.max(5, this.resetAt + RESET_MARGIN_MS - t);
  }

  /**
   * A request came back (with the rate-limit headers, if it had them) or failed.
   * `window` is what `acquire` answered for it.
   */
  settle(h: RateHeaders | undefined, window: number): void {
    this.inflight--;
    if (!h) return;
    if (window !== this.window) return; // counted in a window that has passed
    const t = this.now();
    // An answer's (now + reset) is no earlier than the end of the window it was counted in (it left BigCommerce
    // before now): the first answer of a window replaces our guess, later or earlier; the next ones can only
    // tighten it. Likewise what is left: requests still in flight may not be in BigCommerce's count yet.
    const resetAt = t + h.resetMs;
    const told = h.left - this.inflight;
    this.quota = h.quota;
    this.windowMs = h.windowMs > 0 ? h.windowMs : this.windowMs;
    this.left = this.guessed ? told : Math.min(this.left, told);
    this.resetAt = this.guessed ? resetAt : Math.min(this.resetAt, resetAt);
    this.guessed = false;
  }

  /** BigCommerce said 429: nothing more until it said to come back. */
  blockFor(ms: number): void {
    this.left = 0;
    this.resetAt = Math.max(this.resetAt, this.now() + ms);
  }
}

/** One budget per store (API base) in this process, shared by every client of that store. */
const budgets = new Map<string, RateBudget>();

export function budgetFor(apiBase: string, share: number): RateBudget {
  let b = budgets.get(apiBase);
  if (!b) budgets.set(apiBase, (b = new RateBudget(share)));
  return b;
}
