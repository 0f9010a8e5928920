import { RateBudget } from '../../src/bigcommerce/rate-budget';

/**
 * The budget never lets this process use more than its share of a store's
 * window, even when responses come back late and out of order, and it waits
 * no longer than BigCommerce says (CONTRACT §4 rule 10). A clock of our own;
 * BigCommerce's window starts at the first request after the last one ended,
 * as in the sandbox, unless another app of the store opened it.
 */
describe('RateBudget', () => {
  const W = 1_000;
  const headers = (left: number, resetMs: number) => ({ quota: 50, left, resetMs, windowMs: W });

  function budget() {
    let t = 0;
    const b = new RateBudget(0.8, () => t);
    /** Up to `n` requests that may leave now; the window they left in. */
    const take = (n: number) => {
      let sent = 0;
      while (sent < n && b.tryAcquire('live') === 0) sent++;
      return { sent, window: b.currentWindow };
    };
    /**
     * Store window 1 [0, 1000): the first request tells the quota, 39 more take our share of 40;
     * `answered` of those come back at 20 (the rest are still out). Answers the window of the 39.
     */
    const firstWindow = (answered = 39) => {
      const first = take(1);
      at(10);
      b.settle(headers(49, 990), first.window);
      const rest = take(100);
      expect(rest.sent).toBe(39);
      at(20);
      for (let i = 0; i < answered; i++) b.settle(headers(10, 980), rest.window);
      return rest.window;
    };
    const at = (ms: number) => (t = ms);
    /** After store window 1, at 1030 one request leaves in the window we guess (until 2030); at 1040 its answer is due. */
    const guessedWindow = () => {
      firstWindow();
      at(1_030);
      const second = take(1);
      at(1_040);
      return second.window;
    };
    /** What may leave from `from` until before `to`, asked every 10 ms. */
    const takeUntil = (from: number, to: number) => {
      let sent = 0;
      for (let ms = from; ms < to; ms += 10) {
        at(ms);
        sent += take(100).sent;
      }
      return sent;
    };
    return { b, take, at, firstWindow, guessedWindow, takeUntil };
  }

  test('a late answer from a window that has passed does not end the current window early', () => {
    const { b, take, at, firstWindow, takeUntil } = budget();
    const window1 = firstWindow(38); // one request of window 1 is still out
    // The store's window 2 begins with our next request, at 1030.
    at(1_030);
    const second = take(100);
    expect(second.sent).toBeGreaterThan(0);
    at(1_040);
    for (let i = 0; i < second.sent; i++) b.settle(headers(50 - 1 - i, 990), second.window);
    // The answer to window 1's last request arrives now, late: its reset (10 ms from when it was counted) is window 1's.
    at(1_050);
    b.settle(headers(10, 10), window1);
    // Still inside the store's window 2 [1030, 2030): nothing more may leave.
    expect(second.sent + takeUntil(1_060, 2_030)).toBeLessThanOrEqual(40);
  });

  test('a window that starts with our request is not taken to end before its answers say', () => {
    const { b, take, at, firstWindow, takeUntil } = budget();
    firstWindow();
    // At 1030 we guess a new window of 1 s; the store counts our requests from 1080 (50 ms away), so its window ends at 2080.
    at(1_030);
    const second = take(100);
    at(1_130);
    for (let i = 0; i < second.sent; i++) b.settle(headers(50 - 1 - i, 950), second.window); // 1130 + 950 = 2080
    expect(second.sent + takeUntil(1_140, 2_080)).toBeLessThanOrEqual(40);
  });

  test('a window that another app opened before ours ends when its answers say, not when we guessed', () => {
    const { b, take, at, guessedWindow } = budget();
    // We guess a window until 2030; another app opened the store's at 340, so it ends at 1340.
    b.settle(headers(20, 300), guessedWindow());
    const third = take(100);
    at(1_050);
    for (let i = 0; i < third.sent; i++) b.settle(headers(19 - i, 290), third.window);
    expect(third.sent).toBe(20 - 10); // what was left after our first request, less the others' share
    at(1_300);
    expect(take(100).sent).toBe(0);
    at(1_400); // the store's next window: our share again
    expect(take(100).sent).toBe(40);
  });

  test('after a 429, requests leave again once the wait BigCommerce asked for has passed', () => {
    const { b, take, at, guessedWindow } = budget();
    // Another app used up the store's window, which it opened: 429, the window ends in 300 ms, Retry-After 0.5 s.
    b.settle(headers(0, 300), guessedWindow());
    b.blockFor(500);
    at(1_500);
    expect(take(100).sent).toBe(0);
    at(1_600); // not at 2030, when we had guessed the window would end
    expect(take(100).sent).toBe(40);
  });
});
